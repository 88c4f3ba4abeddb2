"""Per-microinverter energy history as Home Assistant long-term statistics.

``enphase_enlighten:inverter_<serial>_energy`` for every microinverter, built from the
per-day inverter production (one request per day) joined to serials, with the same daily
rows as the site statistics of `statistics` (one row per day at local midnight of the site,
``state`` in kWh, ``sum`` the running total). Per-panel imports read back what the recorder
holds and compare every row, so only what changed is written.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..api import EnlightenError
from .aliases import inverter_log_ids, serial_aliases
from .statistics import (
    WH_PER_KWH,
    ImportResult,
    async_read_rows,
    async_resolve_time_zone,
    day_start,
    energy_wh,
    inverter_statistic_id,
    metadata,
    rows_from_states,
    write,
)

if TYPE_CHECKING:
    from ..api import EnlightenClient

_LOGGER = logging.getLogger(__name__)

DEFAULT_PANEL_BACKFILL_DAYS = 30
"""Days of per-panel history fetched on first setup (one request per day)."""

MAX_PANEL_BACKFILL_DAYS = 366
"""Upper bound of the per-panel backfill window, whatever is asked."""

DEFAULT_SETTLE_HOURS = 6
"""A day's per-panel energy is fetched only this long after the site's midnight.

Gateways on a cellular link upload every six hours, so a day is complete by then."""

_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PanelBackfillResult:
    """What one per-panel backfill fetched and wrote."""

    days_fetched: tuple[date, ...] = ()
    requests: int = 0
    """Cloud requests made: one per fetched day, plus one for the id-to-serial map."""
    history: dict[date, dict[str, float]] = field(default_factory=dict)
    """Fetched energy in Wh per day and serial."""
    imported: ImportResult = field(default_factory=ImportResult)
    empty_days: tuple[date, ...] = ()
    """Fetched days the cloud answered without any panel of the site (nothing stored)."""


async def async_import_panel_history(
    hass: HomeAssistant,
    site_id: str,
    history: Mapping[date, Mapping[str, float | None]],
    *,
    time_zone: str | tzinfo | None = None,
    names: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import per-microinverter daily energy (Wh by serial, per day) as statistics.

    Days may arrive in any order and overlap what is stored: the stored days and the new
    ones are merged and the running sums recomputed, so importing an older day later shifts
    the sums of the days after it. A panel missing (or None) on a day gets no row that day.
    Logs name the panels by `aliases` (serial to alias; by default numbered over the
    serials of `history`), never by serial.
    """
    tz = await async_resolve_time_zone(hass, time_zone)
    serials = sorted({serial for values in history.values() for serial in values})
    if not serials:
        return ImportResult()
    ids = {serial: inverter_statistic_id(serial) for serial in serials}
    stored = await async_read_rows(hass, ids.values(), _EPOCH)
    wanted: dict[str, tuple[StatisticMetaData, list[StatisticData]]] = {}
    for serial in serials:
        statistic_id = ids[serial]
        states: dict[datetime, float] = {
            datetime.fromtimestamp(start, UTC): state or 0.0
            for start, (state, _sum) in stored.get(statistic_id, {}).items()
        }
        for day, values in history.items():
            value = energy_wh(values.get(serial))
            if value is not None:
                states[day_start(day, tz)] = value / WH_PER_KWH
        name = (names or {}).get(serial) or f"Microinverter {serial}"
        wanted[statistic_id] = (
            metadata(statistic_id, f"{name} energy"),
            rows_from_states(states),
        )
    _LOGGER.debug("Importing panel history of site %s for %s days", site_id, len(history))
    log_ids = inverter_log_ids(serials, aliases or serial_aliases(serials))
    return write(hass, wanted, stored, log_ids=log_ids)


async def async_import_panel_statistics(
    hass: HomeAssistant,
    site_id: str,
    day: date,
    energy_by_serial: Mapping[str, float | None],
    *,
    time_zone: str | tzinfo | None = None,
    names: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import one day of per-microinverter energy (Wh by serial) as statistics."""
    return await async_import_panel_history(
        hass, site_id, {day: energy_by_serial}, time_zone=time_zone, names=names
    )


async def async_get_panel_history(
    hass: HomeAssistant,
    serials: Iterable[str],
    first_day: date,
    last_day: date,
    *,
    time_zone: str | tzinfo | None = None,
) -> dict[date, dict[str, float]]:
    """Read stored per-panel daily energy back, in Wh per day and serial.

    Days on which a panel has no row are absent for that panel (did not report).
    """
    tz = await async_resolve_time_zone(hass, time_zone)
    by_start = {
        day_start(first_day + timedelta(days=offset), tz).timestamp(): first_day
        + timedelta(days=offset)
        for offset in range((last_day - first_day).days + 1)
    }
    ids = {inverter_statistic_id(serial): serial for serial in serials}
    stored = await async_read_rows(hass, ids, day_start(first_day, tz))
    history: dict[date, dict[str, float]] = {day: {} for day in by_start.values()}
    for statistic_id, rows in stored.items():
        for start, (state, _sum) in rows.items():
            if (day := by_start.get(start)) is not None and state is not None:
                history[day][ids[statistic_id]] = state * WH_PER_KWH
    return history


def _day_of_start(start: float, tz: tzinfo) -> date | None:
    """The day whose row starts at `start` in zone `tz` (None: no day's row starts there).

    A row starts at the day's local midnight or up to an hour before it (zones whose
    midnight is not on a UTC hour), so the day is that of the hour after the start.
    """
    day = (datetime.fromtimestamp(start, tz) + timedelta(hours=1)).date()
    return day if day_start(day, tz).timestamp() == start else None


async def async_read_all_panel_history(
    hass: HomeAssistant, serials: Iterable[str], tz: tzinfo
) -> dict[date, dict[str, float]]:
    """Read every stored per-panel row back, in Wh per day and serial, the days in `tz`.

    Rows that start at no midnight of `tz` (written in another zone) are left out.
    """
    ids = {inverter_statistic_id(serial): serial for serial in serials}
    stored = await async_read_rows(hass, ids, _EPOCH)
    history: dict[date, dict[str, float]] = {}
    for statistic_id, rows in stored.items():
        for start, (state, _sum) in rows.items():
            if state is not None and (day := _day_of_start(start, tz)) is not None:
                history.setdefault(day, {})[ids[statistic_id]] = state * WH_PER_KWH
    return history


def backfill_window(
    now: datetime,
    tz: tzinfo,
    days: int,
    settle_hours: float = DEFAULT_SETTLE_HOURS,
    not_before: date | None = None,
) -> list[date]:
    """Return the complete days to hold per-panel history for, oldest first.

    The newest day is the latest one that ended at least `settle_hours` ago in the site's
    time zone; the window is `days` long, bounded by `MAX_PANEL_BACKFILL_DAYS`, and starts
    no earlier than `not_before` (the site's first day).
    """
    days = max(0, min(days, MAX_PANEL_BACKFILL_DAYS))
    newest = (now.astimezone(tz) - timedelta(hours=settle_hours)).date() - timedelta(days=1)
    window = [newest - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    return [day for day in window if not_before is None or day >= not_before]


async def async_backfill_panel_history(
    hass: HomeAssistant,
    client: EnlightenClient,
    site_id: str,
    *,
    days: int = DEFAULT_PANEL_BACKFILL_DAYS,
    serial_by_id: Mapping[str, str] | None = None,
    time_zone: str | tzinfo | None = None,
    names: Mapping[str, str] | None = None,
    now: datetime | None = None,
    settle_hours: float = DEFAULT_SETTLE_HOURS,
    not_before: date | None = None,
    refetch: Iterable[date] = (),
    answered: Collection[date] = (),
    aliases: Mapping[str, str] | None = None,
) -> PanelBackfillResult:
    """Fetch and import the per-panel days of the window that are not stored yet.

    Request cost: one inverter production request (spec 2.14, a single-day range) per
    missing day, plus one inverter status request (2.15) for the id-to-serial join when
    `serial_by_id` is not given. With nothing missing and a map given, no request is made.
    A day the cloud answered without any panel stores nothing; it is reported in
    `empty_days`, and passed back in `answered` it is not missing: an empty answer is an
    answer. Days in `refetch` are fetched again, stored or answered (late data); pass the
    site's first day as `not_before` so days before it are never asked for. When a request
    fails, the days fetched so far are imported before the error is raised.
    """
    tz = await async_resolve_time_zone(hass, time_zone)
    window = backfill_window(now or dt_util.utcnow(), tz, days, settle_hours, not_before)
    if not window:
        return PanelBackfillResult()
    requests = 0
    if serial_by_id is None:
        statuses = await client.inverter_status(site_id)
        requests += 1
        serial_by_id = {inverter_id: status.serial for inverter_id, status in statuses.items()}
    stored = await async_get_panel_history(
        hass, serial_by_id.values(), window[0], window[-1], time_zone=tz
    )
    again = set(refetch)
    missing = [
        day for day in window if day in again or (not stored.get(day) and day not in answered)
    ]
    if aliases is None:
        aliases = serial_aliases(serial_by_id.values())
    history: dict[date, dict[str, float]] = {}
    try:
        for day in missing:
            production = await client.inverter_energy(site_id, day, day)
            requests += 1
            history[day] = {
                serial_by_id[inverter_id]: value
                for inverter_id, value in production.items()
                if inverter_id in serial_by_id
            }
    except EnlightenError:
        if history:
            await async_import_panel_history(
                hass, site_id, history, time_zone=tz, names=names, aliases=aliases
            )
        raise
    imported = await async_import_panel_history(
        hass, site_id, history, time_zone=tz, names=names, aliases=aliases
    )
    empty = tuple(day for day, values in history.items() if not values)
    if empty:
        _LOGGER.debug("Enlighten answered no panel for %s", ", ".join(map(str, empty)))
    return PanelBackfillResult(
        days_fetched=tuple(history),
        requests=requests,
        history=history,
        imported=imported,
        empty_days=empty,
    )
