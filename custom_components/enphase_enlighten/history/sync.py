"""Keep the statistics current and judge the panels, in the background.

When an energy refresh brings a lifetime payload that differs from the last one synced,
one background task (never two at a time) runs three steps:

1. import the lifetime energy buckets as external statistics (no cloud request: the
   payload is already there). The import is incremental: the sync keeps a memory of what
   it last wrote, so only the rows from the earliest new or changed day on are rebuilt
   and written (one row per grown flow on an intraday refresh, none for an unchanged
   payload), without reading the recorder; after a restart the first import checks the
   last stored days instead (see ``statistics.RESTART_CHECK_DAYS``);
2. backfill the per-panel daily energy: on first setup ``PANEL_BACKFILL_DAYS`` requests
   of spec 2.14 (one per day, one after the other), afterwards one request per new day,
   plus at most one re-read of each of the last ``REFETCH_DAYS`` days when a panel that
   reports was missing from it (late uploads). A day the cloud answered without any
   panel counts as answered: it is asked for again only by that re-read rule;
3. read the last ``underperformance_days + DETECTION_MARGIN_DAYS`` days back and run the
   under-performance detector; the result is kept on the energy coordinator, its
   listeners are told, and a repair issue is raised per flagged panel.

A failing step is logged and retried with the next refresh; it never fails the refresh.

Every row starts at a midnight of one time zone, the statistics zone: the site's zone
as the energy coordinator knew it at the first import, looked up once (asynchronously)
and stored with the site (``history_store_key``). The coordinator may learn the site's
zone later (from the events feed); the statistics stay in their zone, since rows at the
midnights of a second zone would interleave with the first ones. Only
`HistorySync.async_migrate_time_zone` moves them: it clears them and imports them again
in the new zone. The store also keeps the recent days answered without any panel and the
days re-read once, so a restart asks for neither again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..api import EnlightenError, LifetimeEnergy
from ..const import CONF_SITE_NAME, DOMAIN, device_identifier
from .aliases import serial_aliases
from .panel_health import DetectionResult, detect_underperforming
from .panel_statistics import (
    MAX_PANEL_BACKFILL_DAYS,
    async_backfill_panel_history,
    async_get_panel_history,
    async_import_panel_history,
    async_read_all_panel_history,
    backfill_window,
)
from .statistics import (
    FLOW_LABELS,
    ImportResult,
    LifetimeImportMemory,
    async_clear_statistics,
    async_import_lifetime_statistics,
    async_resolve_time_zone,
    inverter_statistic_id,
    site_statistic_id,
    time_zone_key,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..api import EnlightenClient, InverterStatus
    from ..coordinator.data import EnlightenOptions, InventoryData, SiteCapabilities

_LOGGER = logging.getLogger(__name__)


PANEL_BACKFILL_DAYS: Final = 30
"""Days of per-panel history held in statistics: 30 requests on first setup."""

DETECTION_MARGIN_DAYS: Final = 7
"""Days read before the run the detector asks for, so short gaps do not hide a run."""

REFETCH_DAYS: Final = 3
"""Recent days re-read (once each) when a reporting panel is missing from them."""

ISSUE_PREFIX: Final = "underperforming_"
NOT_REPORTING: Final = "not_reporting"

HISTORY_STORAGE_VERSION: Final = 1


def history_store_key(site_id: str) -> str:
    """The storage key of what the history keeps of a site.

    Keyed by site, like the statistic ids: the statistics outlive a removed entry, so an
    entry added again for the site finds the zone they were written in.
    """
    return f"{DOMAIN}.history.{site_id}"


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What one move of the statistics to another time zone did."""

    old_zone: str
    new_zone: str
    cleared: tuple[str, ...] = ()
    """The statistic ids cleared (site flows and panels) before the new import."""
    lifetime: ImportResult = field(default_factory=ImportResult)
    """The site statistics imported again in the new zone."""
    panels: ImportResult = field(default_factory=ImportResult)
    """The per-panel rows read back and imported again in the new zone."""


@dataclass(frozen=True, slots=True)
class PanelHealth:
    """What the detector found for one panel (the source of its problem sensor)."""

    judged: bool
    flagged: bool
    deficit_pct: float | None
    days: int
    array_name: str | None


def panel_health(result: DetectionResult | None, serial: str) -> PanelHealth | None:
    """The detector's view of one panel; None before the first detection."""
    if result is None:
        return None
    flagged = result.flagged.get(serial)
    if flagged is not None:
        return PanelHealth(
            judged=True,
            flagged=True,
            deficit_pct=round(flagged.deficit_pct, 1),
            days=flagged.days,
            array_name=flagged.array_name or None,
        )
    latest = next(
        (
            result.deviations[day][serial]
            for day in reversed(result.days)
            if serial in result.deviations.get(day, {})
        ),
        None,
    )
    return PanelHealth(
        judged=serial in result.judged,
        flagged=False,
        deficit_pct=round(latest.deficit_pct, 1) if latest is not None else None,
        days=0,
        array_name=(latest.array_name or None) if latest is not None else None,
    )


def _dates(values: object) -> set[date]:
    """The days of a stored list of ISO dates (anything else is left out)."""
    days: set[date] = set()
    if isinstance(values, Iterable) and not isinstance(values, str | bytes):
        for value in values:
            try:
                days.add(date.fromisoformat(value))
            except TypeError, ValueError:
                continue
    return days


def _not_reporting(status: str | None) -> bool:
    return (status or "").strip().lower().replace(" ", "_").replace("-", "_") == NOT_REPORTING


class EnergySource(Protocol):
    """What the sync reads of the energy coordinator that drives it."""

    site_id: str
    client: EnlightenClient
    capabilities: SiteCapabilities

    @property
    def timezone(self) -> str:
        """The site's time zone."""

    @property
    def inverter_status(self) -> Mapping[str, InverterStatus]:
        """The last microinverter status by serial (empty before the first read)."""

    def async_update_listeners(self) -> None:
        """Tell the coordinator's entities that the detection result changed."""


class HistorySync:
    """The background statistics import and panel detection of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        coordinator: EnergySource,
        options: EnlightenOptions,
    ) -> None:
        """Bind the sync to the energy coordinator that triggers it."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.options = options
        self.result: DetectionResult | None = None
        self._lock = asyncio.Lock()
        self._synced: LifetimeEnergy | None = None
        self._statistics = LifetimeImportMemory()
        self.last_import: ImportResult | None = None
        """What the last lifetime statistics import wrote (and read back)."""
        self._latest: LifetimeEnergy | None = None
        self._store: Store[dict[str, Any]] = Store(
            hass, HISTORY_STORAGE_VERSION, history_store_key(coordinator.site_id)
        )
        self._saved: dict[str, Any] | None = None
        self._zone: tzinfo | None = None
        self._zone_key: str | None = None
        self._zone_notice: str | None = None
        self._refetched: set[date] = set()
        self._empty_days: set[date] = set()
        self._issues: set[str] = set()
        self._failing = False
        entry.async_on_unload(self._async_clear_issues)

    @property
    def window_days(self) -> int:
        """Days read back for the detector."""
        return self.options.underperformance_days + DETECTION_MARGIN_DAYS

    @callback
    def async_schedule(self, lifetime: LifetimeEnergy | None) -> None:
        """Start a sync when the payload changed and none is running."""
        if lifetime is None or lifetime == self._synced or self._lock.locked():
            return
        self.entry.async_create_background_task(
            self.hass, self.async_run(lifetime), f"{DOMAIN} history sync {self.entry.entry_id}"
        )

    @property
    def time_zone(self) -> tzinfo | None:
        """The zone whose midnights the statistics rows start at (None before first use)."""
        return self._zone

    async def async_run(self, lifetime: LifetimeEnergy) -> None:
        """Run the three steps once; the payload counts as synced when all worked."""
        async with self._lock:
            self._latest = lifetime
            try:
                await self._async_steps(lifetime)
            except EnlightenError as err:
                self._log_failure("Enlighten did not answer the history backfill: %s", err)
            except Exception:
                _LOGGER.exception("Updating the Enlighten energy history failed")
            else:
                self._synced = lifetime
                if self._failing:
                    _LOGGER.info("Enlighten energy history is up to date again")
                self._failing = False

    def _log_failure(self, message: str, err: EnlightenError) -> None:
        """Warn once per failing streak, then only at debug level."""
        if self._failing:
            _LOGGER.debug(message, err)
        else:
            _LOGGER.warning(message, err)
        self._failing = True

    async def _async_steps(self, lifetime: LifetimeEnergy) -> None:
        coordinator = self.coordinator
        tz = await self._async_zone()
        self.last_import = await async_import_lifetime_statistics(
            self.hass,
            coordinator.site_id,
            lifetime,
            time_zone=tz,
            site_name=self._site_name,
            memory=self._statistics,
        )
        if not coordinator.capabilities.has_microinverters:
            return
        inventory = await self._async_inventory()
        if inventory is None:
            return
        statuses = coordinator.inverter_status
        if not statuses:
            return
        await self._async_panels(lifetime, inventory, statuses, tz)

    @property
    def _site_name(self) -> str:
        return str(self.entry.data.get(CONF_SITE_NAME) or self.entry.title)

    # -- what is kept of the site ---------------------------------------------------------

    async def _async_load(self) -> None:
        """Read the stored zone and day sets (at the first use of the zone)."""
        data = await self._store.async_load() or {}
        zone = data.get("time_zone")
        self._zone_key = zone if isinstance(zone, str) and zone else None
        self._empty_days |= _dates(data.get("empty_days"))
        self._refetched |= _dates(data.get("refetched"))
        self._saved = data or None  # what is stored, also when unreadable

    def _payload(self) -> dict[str, Any]:
        return {
            "time_zone": self._zone_key,
            "empty_days": sorted(day.isoformat() for day in self._empty_days),
            "refetched": sorted(day.isoformat() for day in self._refetched),
        }

    async def _async_save(self) -> None:
        payload = self._payload()
        if payload != self._saved:
            await self._store.async_save(payload)
            self._saved = payload

    async def _async_zone(self) -> tzinfo:
        """The statistics zone: the stored one, else the coordinator's now (then stored).

        Looked up once; later zones of the coordinator are only noted in the log.
        """
        if self._zone is None:
            await self._async_load()
            stored = self._zone_key
            self._zone = await async_resolve_time_zone(
                self.hass, stored or self.coordinator.timezone
            )
            if stored is None:
                self._zone_key = time_zone_key(self._zone)
                await self._async_save()
                _LOGGER.debug("Energy statistics start at midnight in %s", self._zone_key)
        site_zone = self.coordinator.timezone
        if site_zone not in (self._zone_key, self._zone_notice):
            self._zone_notice = site_zone
            _LOGGER.info(
                "The site's time zone is now %s; its energy statistics stay in %s, the zone "
                "they were first imported in",
                site_zone,
                self._zone_key,
            )
        return self._zone

    async def async_migrate_time_zone(
        self, time_zone: str | tzinfo | None = None
    ) -> MigrationResult | None:
        """Move the statistics to another zone: clear them, import them again there.

        The zone defaults to the one the energy coordinator reports now. The site
        statistics are imported again from the last payload a sync ran with (else by the
        next sync); the per-panel rows are read back and imported again at the same days. The
        new zone is stored as soon as the old rows are cleared, so a failure after that
        leaves statistics of the new zone only (the panel backfill fetches the recent days
        again). Returns None when the statistics are already in that zone.
        """
        async with self._lock:
            hass, coordinator = self.hass, self.coordinator
            old = await self._async_zone()
            new = await async_resolve_time_zone(hass, time_zone or coordinator.timezone)
            old_key, new_key = time_zone_key(old), time_zone_key(new)
            if new_key == self._zone_key:
                return None
            serials = sorted(coordinator.inverter_status)
            panels = await async_read_all_panel_history(hass, serials, old)
            lifetime = self._latest
            flows = {*FLOW_LABELS, *(lifetime.series if lifetime is not None else ())}
            cleared = {
                *(site_statistic_id(coordinator.site_id, flow) for flow in flows),
                *self._statistics.flows,
                *(inverter_statistic_id(serial) for serial in serials),
            }
            async_clear_statistics(hass, cleared)
            self._statistics = LifetimeImportMemory()
            self._synced = None
            self._zone, self._zone_key, self._zone_notice = new, new_key, None
            await self._async_save()
            _LOGGER.info("Moving the energy statistics from %s to %s", old_key, new_key)
            imported = ImportResult()
            if lifetime is not None:
                imported = self.last_import = await async_import_lifetime_statistics(
                    hass,
                    coordinator.site_id,
                    lifetime,
                    time_zone=new,
                    site_name=self._site_name,
                    memory=self._statistics,
                )
            moved = await async_import_panel_history(
                hass,
                coordinator.site_id,
                panels,
                time_zone=new,
                names={serial: self._panel_name(serial) for serial in serials},
                aliases=serial_aliases(serials),
            )
            return MigrationResult(
                old_zone=old_key,
                new_zone=new_key,
                cleared=tuple(sorted(cleared)),
                lifetime=imported,
                panels=moved,
            )

    async def _async_inventory(self) -> InventoryData | None:
        """The inventory data, once the entry finished loading (None if it never does).

        The first sync starts during setup, before the entry holds its runtime data.
        """
        if self.entry.state is ConfigEntryState.SETUP_IN_PROGRESS:
            changed = asyncio.Event()
            unsub = self.entry.async_on_state_change(changed.set)
            try:
                while self._state() is ConfigEntryState.SETUP_IN_PROGRESS:
                    changed.clear()
                    await changed.wait()
            finally:
                unsub()
        if self._state() is not ConfigEntryState.LOADED:
            return None
        inventory: InventoryData | None = self.entry.runtime_data.inventory.data
        return inventory

    def _state(self) -> ConfigEntryState:
        return self.entry.state

    async def _async_panels(
        self,
        lifetime: LifetimeEnergy,
        inventory: InventoryData,
        statuses: Mapping[str, InverterStatus],
        tz: tzinfo,
    ) -> None:
        coordinator, hass = self.coordinator, self.hass
        now = dt_util.utcnow()
        serial_by_id = {status.inverter_id: serial for serial, status in statuses.items()}
        names = {serial: self._panel_name(serial) for serial in statuses}
        exclude = {
            serial for serial, status in statuses.items() if _not_reporting(status.status_code)
        } | {serial for serial, inv in inventory.inverters.items() if _not_reporting(inv.status)}
        window = backfill_window(now, tz, self.window_days, not_before=lifetime.start_date)
        if not window:
            return
        backfill_days = max(PANEL_BACKFILL_DAYS, self.window_days)
        reporting = set(statuses) - exclude
        stored = await async_get_panel_history(hass, statuses, window[0], window[-1], time_zone=tz)
        # Late uploads: a recent day stored (or answered) without a panel that reports is
        # read once more, and only once.
        refetch = [
            day
            for day in window[-REFETCH_DAYS:]
            if (stored.get(day) or day in self._empty_days)
            and not reporting <= set(stored.get(day, ()))
            and day not in self._refetched
        ]
        backfill = await async_backfill_panel_history(
            hass,
            coordinator.client,
            coordinator.site_id,
            days=backfill_days,
            serial_by_id=serial_by_id,
            time_zone=tz,
            names=names,
            now=now,
            not_before=lifetime.start_date,
            refetch=refetch,
            answered=self._empty_days,
            aliases=serial_aliases(statuses),
        )
        self._refetched.update(refetch)
        self._empty_days -= set(backfill.days_fetched)
        self._empty_days.update(backfill.empty_days)
        # Days before the backfill window are never asked for again: forget them.
        horizon = window[-1] - timedelta(days=min(backfill_days, MAX_PANEL_BACKFILL_DAYS) - 1)
        self._refetched = {day for day in self._refetched if day >= horizon}
        self._empty_days = {day for day in self._empty_days if day >= horizon}
        await self._async_save()
        history = await async_get_panel_history(hass, statuses, window[0], window[-1], time_zone=tz)
        arrays = {serial: inv.array_name for serial, inv in inventory.inverters.items()}
        result = detect_underperforming(
            history,
            arrays,
            threshold=self.options.underperformance_threshold,
            days=self.options.underperformance_days,
            exclude=exclude,
        )
        self.result = result
        self._async_update_issues(result, names)
        coordinator.async_update_listeners()

    def _panel_name(self, serial: str) -> str:
        """The panel's device name as the user sees it, else its serial."""
        device = dr.async_get(self.hass).async_get_device_by_identifier(
            device_identifier(serial), self.entry.entry_id
        )
        if device is not None and (name := device.name_by_user or device.name):
            return name
        return f"Microinverter {serial}"

    @callback
    def _async_update_issues(self, result: DetectionResult, names: dict[str, str]) -> None:
        """One repair issue per flagged panel; issues of recovered panels go away."""
        wanted: set[str] = set()
        for serial, flagged in result.flagged.items():
            issue_id = f"{ISSUE_PREFIX}{serial}"
            wanted.add(issue_id)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="underperforming_panel",
                translation_placeholders={
                    "panel": names.get(serial) or serial,
                    "serial": serial,
                    "array": flagged.array_name or "-",
                    "deficit": f"{flagged.deficit_pct:.0f}",
                    "days": str(flagged.days),
                    "site": self.entry.title,
                },
            )
        for issue_id in self._issues - wanted:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._issues = wanted

    @callback
    def _async_clear_issues(self) -> None:
        """Remove the entry's issues when it unloads (they return with the next sync)."""
        for issue_id in self._issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        self._issues = set()
