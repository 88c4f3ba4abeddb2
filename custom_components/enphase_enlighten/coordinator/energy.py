"""Energy coordinator: lifetime buckets with a monotonic guard, inverter energy, events."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeIs, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..api import (
    AuthError,
    EnlightenClient,
    EnlightenError,
    HomeownerEvent,
    InverterStatus,
    LifetimeEnergy,
    MfaRequired,
    RateLimited,
)
from ..const import DEFAULT_ENERGY_INTERVAL, DOMAIN, STORAGE_VERSION
from ..history.panel_health import DetectionResult
from ..history.sync import HistorySync
from .base import ENERGY_PHASE, EnlightenCoordinator
from .data import EnlightenOptions, SiteCapabilities

_LOGGER = logging.getLogger(__name__)

# Pages of homeowner events read per refresh when many new events arrived.
MAX_EVENT_PAGES = 3
# Event ids remembered to recognise events that were already reported.
MAX_SEEN_EVENT_IDS = 300


@dataclass(frozen=True, slots=True)
class FlowTotals:
    """Energy of one flow in kWh: today (site-local day) and lifetime."""

    today_kwh: float | None
    lifetime_kwh: float | None


@dataclass(frozen=True, slots=True)
class EnergyData:
    """Energy buckets, microinverter energy and homeowner events (15 min cadence).

    ``totals`` is keyed by lifetime_energy flow name (``production``,
    ``consumption``, ``import``, ``export``, ``charge``, ``discharge``, ``evse``…);
    its values never decrease within a day (today) or ever (lifetime).
    ``inverter_today_wh``/``inverter_lifetime_wh``/``inverter_status`` are keyed by
    microinverter serial. ``new_events`` holds the events first seen in this
    refresh, oldest first (empty after a restart for events already reported).
    """

    site_date: date
    timezone: str
    lifetime: LifetimeEnergy | None = None
    totals: dict[str, FlowTotals] = field(default_factory=dict)
    inverter_today_wh: dict[str, float] = field(default_factory=dict)
    inverter_lifetime_wh: dict[str, float] = field(default_factory=dict)
    inverter_status: dict[str, InverterStatus] = field(default_factory=dict)
    events: tuple[HomeownerEvent, ...] = ()
    new_events: tuple[HomeownerEvent, ...] = ()


class EnergyCoordinator(EnlightenCoordinator[EnergyData]):
    """Lifetime energy buckets, microinverter energy/status and events (15 min).

    The event cursor and the last energy totals are persisted so that a restart
    neither replays old events nor lets a total go backwards.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the energy coordinator."""
        super().__init__(
            hass,
            entry,
            client,
            capabilities,
            name="energy",
            interval=timedelta(seconds=DEFAULT_ENERGY_INTERVAL),
            phase=ENERGY_PHASE,
        )
        self.store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._timezone: str | None = capabilities.timezone
        self._lifetime_kwh: dict[str, float] = {}
        self._today: dict[str, tuple[str, float]] = {}
        self._inverter_lifetime: dict[str, float] = {}
        # Today's Wh per microinverter serial and the site day they belong to.
        self._inverter_today: dict[str, float] = {}
        self._inverter_today_date: date | None = None
        # Wh per inverter id over the closed days (first day to yesterday), and
        # the site day it was read on: read once a day, not every refresh.
        self._closed_days_wh: dict[str, float] = {}
        self._closed_days_read_on: date | None = None
        self._event_watermark: float | None = None
        self._seen_event_ids: list[str] = []
        self._saved_payload: dict[str, Any] | None = None
        # What the running refresh produced, committed only when it succeeds.
        self._pending_events: _EventCursor | None = None
        self._pending_lifetime: LifetimeEnergy | None = None
        # Statistics import and panel detection, run in the background (history_sync).
        self.history = HistorySync(hass, entry, self, options)

    @override
    async def _async_setup(self) -> None:
        stored = await self.store.async_load() or {}
        self._timezone = self._timezone or stored.get("timezone")
        await self._async_resolve_zone()
        self._lifetime_kwh = {
            k: float(v) for k, v in stored.get("lifetime_kwh", {}).items() if _finite(v)
        }
        self._today = {
            k: (str(v[0]), float(v[1]))
            for k, v in stored.get("today_kwh", {}).items()
            if isinstance(v, list) and len(v) == 2 and _finite(v[1])
        }
        self._inverter_lifetime = {
            k: float(v) for k, v in stored.get("inverter_lifetime_wh", {}).items() if _finite(v)
        }
        guard = stored.get("inverter_today") or {}
        if isinstance(guard, dict) and isinstance(guard.get("date"), str):
            try:
                self._inverter_today_date = date.fromisoformat(guard["date"])
            except ValueError:
                self._inverter_today_date = None
            else:
                self._inverter_today = {
                    k: float(v) for k, v in (guard.get("wh") or {}).items() if _finite(v)
                }
        events = stored.get("events") or {}
        watermark = events.get("watermark")
        self._event_watermark = float(watermark) if _finite(watermark) else None
        self._seen_event_ids = [str(i) for i in events.get("seen_ids", [])]

    def _storage_payload(self) -> dict[str, Any]:
        return {
            "timezone": self._timezone,
            "lifetime_kwh": dict(self._lifetime_kwh),
            "today_kwh": {k: list(v) for k, v in self._today.items()},
            "inverter_lifetime_wh": dict(self._inverter_lifetime),
            "inverter_today": {
                "date": self._inverter_today_date.isoformat()
                if self._inverter_today_date
                else None,
                "wh": dict(self._inverter_today),
            },
            "events": {
                "watermark": self._event_watermark,
                "seen_ids": list(self._seen_event_ids),
            },
        }

    @property
    def inverter_status(self) -> Mapping[str, InverterStatus]:
        """The last microinverter status by serial (empty before the first read)."""
        return self.data.inverter_status if self.data is not None else {}

    @property
    def underperformance(self) -> DetectionResult | None:
        """The last under-performing panel detection; None until the first one ran."""
        return self.history.result

    @property
    def timezone(self) -> str:
        """The site's time zone (settings, events or charger), else Home Assistant's."""
        return self._timezone or self.hass.config.time_zone

    @override
    async def _async_fetch(self, read_all: bool) -> EnergyData:
        client, sid = self.client, self.site_id
        today = self.site_today()
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "lifetime": lambda: client.lifetime_energy(sid),
            "events": self._async_fetch_events,
        }
        if self.capabilities.has_microinverters:
            calls["inverter_status"] = lambda: client.inverter_status(sid)
            calls["inverter_today"] = lambda: client.inverter_energy(sid, today, today)
        results = await self._async_gather(calls)
        previous = self.data
        lifetime: LifetimeEnergy | None = results.get("lifetime")
        if lifetime is None and previous is not None:
            lifetime = previous.lifetime
        statuses: dict[str, InverterStatus] | None = results.get("inverter_status")
        if statuses is None:
            known = previous.inverter_status.values() if previous else ()
            statuses = {s.inverter_id: s for s in known}
        today_by_id: dict[str, float] | None = results.get("inverter_today")
        inverter_today = self._guarded_inverter_today(
            _join_serials(today_by_id, statuses) if today_by_id is not None else {}, today
        )
        inverter_lifetime = await self._async_inverter_lifetime(
            lifetime, today, today_by_id, statuses
        )
        cursor: _EventCursor | None = results.get("events")
        self._pending_events = cursor
        self._pending_lifetime = lifetime
        totals = self._guarded_totals(lifetime, today)
        return EnergyData(
            site_date=today,
            timezone=self.timezone,
            lifetime=lifetime,
            totals=totals,
            inverter_today_wh=inverter_today,
            inverter_lifetime_wh=inverter_lifetime,
            inverter_status={s.serial: s for s in statuses.values()},
            events=(cursor.latest if cursor else ()) or (previous.events if previous else ()),
            new_events=cursor.new if cursor else (),
        )

    @override
    async def _async_commit(self) -> None:
        """Move the event cursor, store the guards, start the history sync."""
        if (cursor := self._pending_events) is not None:
            self._event_watermark = cursor.watermark
            self._seen_event_ids = list(cursor.seen_ids)
            learned = cursor.timezone
            if learned and not self.capabilities.timezone and learned != self._timezone:
                self._timezone = learned
                await self._async_resolve_zone()
        self._pending_events = None
        payload = self._storage_payload()
        if payload != self._saved_payload:
            await self.store.async_save(payload)
            self._saved_payload = payload
        lifetime, self._pending_lifetime = self._pending_lifetime, None
        self.history.async_schedule(lifetime)

    def _guarded_inverter_today(self, fresh: Mapping[str, float], today: date) -> dict[str, float]:
        """Today's Wh per microinverter: never lower within a site day, and an
        inverter missing from one answer keeps its value; a new day starts empty."""
        if self._inverter_today_date != today:
            self._inverter_today_date = today
            self._inverter_today = {}
        for serial, value in fresh.items():
            self._inverter_today[serial] = max(value, self._inverter_today.get(serial, 0.0))
        return dict(self._inverter_today)

    async def _async_inverter_lifetime(
        self,
        lifetime: LifetimeEnergy | None,
        today: date,
        today_by_id: Mapping[str, float] | None,
        statuses: Mapping[str, InverterStatus],
    ) -> dict[str, float]:
        """Lifetime Wh per microinverter serial, guarded so that it never decreases.

        Lifetime = the closed days (2.14 from the first day to yesterday, read
        once per site day) + today's window, which every refresh reads anyway.
        """
        if not self.capabilities.has_microinverters or lifetime is None or today_by_id is None:
            return dict(self._inverter_lifetime)
        if self._closed_days_read_on != today:
            yesterday = today - timedelta(days=1)
            closed: dict[str, float] = {}
            if lifetime.start_date <= yesterday:
                try:
                    closed = await self.client.inverter_energy(
                        self.site_id, lifetime.start_date, yesterday
                    )
                except AuthError, MfaRequired, RateLimited:
                    raise
                except EnlightenError as err:
                    _LOGGER.debug("Enlighten inverter lifetime energy failed: %s", err)
                    return dict(self._inverter_lifetime)
            self._closed_days_wh = {k: v for k, v in closed.items() if _finite(v)}
            self._closed_days_read_on = today
        by_id = {
            inverter_id: self._closed_days_wh.get(inverter_id, 0.0)
            + today_by_id.get(inverter_id, 0.0)
            for inverter_id in {*self._closed_days_wh, *today_by_id}
        }
        for serial, value in _join_serials(by_id, statuses).items():
            self._inverter_lifetime[serial] = max(value, self._inverter_lifetime.get(serial, 0.0))
        return dict(self._inverter_lifetime)

    def _guarded_totals(
        self, lifetime: LifetimeEnergy | None, today: date
    ) -> dict[str, FlowTotals]:
        """Per-flow today/lifetime kWh that never decrease and are never NaN."""
        if lifetime is None:
            return {}
        today_key = today.isoformat()
        totals: dict[str, FlowTotals] = {}
        # Flows known from earlier refreshes keep their totals when a payload lacks them.
        # Years of daily buckets per flow: summed without a Python-level loop (None and
        # zero buckets add nothing), checked once per sum, and today's bucket indexed
        # directly (per-value checks and a date map cost ~20 ms a refresh).
        today_index = (today - lifetime.start_date).days
        for flow in dict.fromkeys([*lifetime.series, *self._lifetime_kwh]):
            values = lifetime.series.get(flow, [])
            known = values.count(None) < len(values)
            total = sum(filter(None, values))
            if not math.isfinite(total):
                # Skip what is not a number; a sum that still overflows is no total.
                finite = [v for v in values if _finite(v)]
                total = sum(finite)
                known = bool(finite) and math.isfinite(total)
            lifetime_kwh: float | None = None
            if known:
                lifetime_kwh = max(total / 1000, self._lifetime_kwh.get(flow, 0.0))
                self._lifetime_kwh[flow] = lifetime_kwh
            elif flow in self._lifetime_kwh:
                lifetime_kwh = self._lifetime_kwh[flow]
            today_kwh: float | None = None
            if known or flow in self._today:
                bucket = values[today_index] if 0 <= today_index < len(values) else None
                value = bucket / 1000 if bucket is not None and _finite(bucket) else 0.0
                last_day, last_value = self._today.get(flow, (today_key, 0.0))
                today_kwh = max(value, last_value) if last_day == today_key else value
                self._today[flow] = (today_key, today_kwh)
            totals[flow] = FlowTotals(today_kwh=today_kwh, lifetime_kwh=lifetime_kwh)
        return totals

    async def _async_fetch_events(self) -> _EventCursor:
        """Read the newest events; return what the cursor becomes if the refresh succeeds.

        Nothing is moved here: a refresh that fails after this read (a rate limit on
        another endpoint) must leave the cursor where it was, so that its events are
        reported by the next refresh.
        """
        page = await self.client.events(self.site_id)
        latest = tuple(page.events)
        watermark = self._event_watermark
        first_run = watermark is None
        seen = set(self._seen_event_ids)
        fresh = [e for e in page.events if _is_new_event(e, seen, watermark)]
        timezone = page.site_timezone
        pages = 1
        while (
            not first_run
            and page.next_cursor
            and pages < MAX_EVENT_PAGES
            and len(fresh) == len(page.events)
            and page.events
        ):
            page = await self.client.events(self.site_id, cursor=page.next_cursor)
            pages += 1
            fresh.extend(e for e in page.events if _is_new_event(e, seen, watermark))
        stamps = [e.date.timestamp() for e in latest if e.date is not None]
        if stamps:
            new_watermark: float | None = max([*stamps, watermark or 0.0])
        elif first_run:
            # Nothing to anchor on yet: only events from now on count as new.
            new_watermark = dt_util.utcnow().timestamp()
        else:
            new_watermark = watermark
        ids = [e.id for e in (*fresh, *latest) if e.id is not None]
        seen_ids = tuple(dict.fromkeys([*ids, *self._seen_event_ids]))[:MAX_SEEN_EVENT_IDS]
        fresh.sort(key=lambda e: e.date.timestamp() if e.date else 0.0)
        return _EventCursor(
            latest=latest,
            new=() if first_run else tuple(fresh),
            watermark=new_watermark,
            seen_ids=seen_ids,
            timezone=timezone,
        )


def _is_new_event(event: HomeownerEvent, seen: set[str], watermark: float | None) -> bool:
    if event.id is not None and event.id in seen:
        return False
    if event.date is None or watermark is None:
        return event.id is not None
    return event.date.timestamp() >= watermark


@dataclass(frozen=True, slots=True)
class _EventCursor:
    """One events read: the latest page, the new events, and the cursor after them."""

    latest: tuple[HomeownerEvent, ...]
    new: tuple[HomeownerEvent, ...]
    watermark: float | None
    seen_ids: tuple[str, ...]
    timezone: str | None


def _finite(value: object) -> TypeIs[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _join_serials(
    by_id: Mapping[str, float], statuses: Mapping[str, InverterStatus]
) -> dict[str, float]:
    """Re-key inverter energy (by inverter id) by serial through the status map."""
    return {
        statuses[inverter_id].serial: value
        for inverter_id, value in by_id.items()
        if inverter_id in statuses and _finite(value)
    }
