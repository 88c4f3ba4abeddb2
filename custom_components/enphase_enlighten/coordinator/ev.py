"""EV charger status (fast while busy) and the charger settings (site cadence)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..api import (
    ChargerConfigItem,
    ChargerSummary,
    EnlightenClient,
    EvStatus,
    ScheduleList,
)
from ..const import (
    DEFAULT_EV_INTERVAL,
    DEFAULT_SITE_INTERVAL,
    EV_BOOST_DURATION,
    EV_FAST_INTERVAL,
)
from .base import (
    EV_SETTINGS_PHASE,
    RARE_PART_INTERVAL,
    SLOW_PART_INTERVAL,
    EnlightenCoordinator,
)
from .data import EnlightenOptions, EvData, SiteCapabilities


class EvCoordinator(EnlightenCoordinator[EvData]):
    """EV charger status: once a minute while idle, every 15 s while busy."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the EV coordinator."""
        self._idle_interval = timedelta(seconds=DEFAULT_EV_INTERVAL)
        super().__init__(hass, entry, client, capabilities, name="ev", interval=self._idle_interval)
        self._boost_until: datetime | None = None
        self._live_until: datetime | None = None

    @callback
    def boost(self, duration: timedelta = EV_BOOST_DURATION) -> None:
        """Poll fast for a while, e.g. after a command, to show its effect quickly."""
        until = dt_util.utcnow() + duration
        if self._boost_until is None or until > self._boost_until:
            self._boost_until = until
        self._apply_interval(fast=True)

    async def async_start_live_stream(self) -> None:
        """Ask the cloud for a burst of live updates and poll fast meanwhile."""
        stream = await self.client.start_live_stream(self.site_id)
        self._live_until = dt_util.utcnow() + timedelta(seconds=stream.duration_s or 900)
        self._apply_interval(fast=True)
        await self.async_request_refresh()

    async def async_stop_live_stream(self) -> None:
        """End the live stream burst."""
        await self.client.stop_live_stream(self.site_id)
        self._live_until = None

    async def _read_status(self) -> EvStatus:
        return await self.client.ev_status(self.site_id)

    def _window_active(self, until: datetime | None) -> bool:
        return until is not None and dt_util.utcnow() < until

    @callback
    def _apply_interval(self, *, fast: bool) -> None:
        """Set the cadence; it applies from the next refresh on (callers ask for one)."""
        self.update_interval = EV_FAST_INTERVAL if fast else self._idle_interval

    @override
    async def _async_fetch(self, read_all: bool) -> EvData:
        status: EvStatus = (await self._async_gather({"status": self._read_status}))["status"]
        chargers = {c.sn: c for c in status.chargers}
        live = self._window_active(self._live_until)
        fast = (
            any(c.charging for c in chargers.values())
            or self._window_active(self._boost_until)
            or live
        )
        self.update_interval = EV_FAST_INTERVAL if fast else self._idle_interval
        return EvData(
            chargers=chargers,
            legacy_shape=status.legacy,
            fast_polling=fast,
            live_stream_until=self._live_until if live else None,
        )


@dataclass(frozen=True, slots=True)
class ChargerSettings:
    """The settings of one charger; a part is None until it was read once."""

    charge_mode: str | None = None
    use_battery: bool | None = None
    session_auth: dict[str, ChargerConfigItem] = field(default_factory=dict)
    schedules: ScheduleList | None = None


@dataclass(frozen=True, slots=True)
class EvSettingsData:
    """Settings keyed by charger serial."""

    chargers: dict[str, ChargerSettings]


class EvSettingsCoordinator(EnlightenCoordinator[EvSettingsData]):
    """Charger settings of every charger of the site (site cadence, 5 min by default)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the coordinator for the chargers found at setup."""
        super().__init__(
            hass,
            entry,
            client,
            capabilities,
            name="ev_settings",
            interval=timedelta(seconds=DEFAULT_SITE_INTERVAL),
            phase=EV_SETTINGS_PHASE,
        )
        self.summaries: dict[str, ChargerSummary] = {c.serial: c for c in capabilities.chargers}
        # Charging current chosen while not charging; sent with the next start.
        self.desired_amps: dict[str, int] = {}
        self._summary_read: set[str] = set()

    @property
    def serials(self) -> list[str]:
        """Serials of the chargers."""
        return list(self.summaries)

    def supports_use_battery(self, serial: str) -> bool:
        """Whether the charger offers the green-mode 'use battery' option."""
        summary = self.summaries.get(serial)
        return bool(summary and summary.supports_use_battery)

    @override
    async def _async_fetch(self, read_all: bool) -> EvSettingsData:
        client, sid = self.client, self.site_id
        calls: dict[str, Callable[[], Awaitable[Any]]] = {}
        rare: dict[str, Callable[[], Awaitable[Any]]] = {}
        for sn in self.serials:
            # The charge mode every 15 min, the rest hourly (every part after a command).
            calls.update(
                self._due_parts(
                    {f"{sn}|mode": partial(client.charge_mode, sid, sn)},
                    SLOW_PART_INTERVAL,
                    read_all,
                )
            )
            rare[f"{sn}|auth"] = partial(client.session_auth, sid, sn)
            rare[f"{sn}|schedules"] = partial(client.schedules, sid, sn)
            if self.summaries[sn].supports_use_battery is None and sn not in self._summary_read:
                # The list left ``supportsUseBattery`` out: the charger's own summary has it.
                rare[f"{sn}|summary"] = partial(client.ev_charger_summary, sid, sn)
            if self.supports_use_battery(sn):
                rare[f"{sn}|battery"] = partial(client.green_use_battery, sid, sn)
        calls.update(self._due_parts(rare, RARE_PART_INTERVAL, read_all))
        results = await self._async_gather(calls)
        for sn in self.serials:
            if (summary := results.get(f"{sn}|summary")) is not None:
                self.summaries[sn] = summary
                self._summary_read.add(sn)
        previous = self.data.chargers if self.data else {}
        chargers: dict[str, ChargerSettings] = {}
        for sn in self.serials:
            old = previous.get(sn, ChargerSettings())
            auth: list[ChargerConfigItem] | None = results.get(f"{sn}|auth")
            chargers[sn] = ChargerSettings(
                charge_mode=results.get(f"{sn}|mode", old.charge_mode),
                use_battery=results.get(f"{sn}|battery", old.use_battery),
                session_auth={i.key: i for i in auth} if auth is not None else old.session_auth,
                schedules=results.get(f"{sn}|schedules", old.schedules),
            )
        return EvSettingsData(chargers=chargers)
