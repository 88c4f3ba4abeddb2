"""Energy history as Home Assistant long-term statistics.

Two kinds of external statistics (source ``enphase_enlighten``), both with one row per day
at local midnight of the site, ``state`` = that day's energy in kWh and ``sum`` the running
total since the first row:

* ``enphase_enlighten:site_<site_id>_<flow>_energy`` for every flow of the lifetime energy
  buckets (production, consumption, import, export, charge, discharge, evse, ...), so the
  Energy dashboard shows the whole history of the site from its first day;
* ``enphase_enlighten:inverter_<serial>_energy`` for every microinverter, built from the
  per-day inverter production (one request per day) joined to serials.

Every import reads back what the recorder holds and writes only the rows whose state or
sum differ, so a repeated import adds nothing and a bucket revised late rewrites that day
and the sums of the days after it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    statistics_during_period,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter

from .api import EnlightenError
from .const import DOMAIN

if TYPE_CHECKING:
    from .api import EnlightenClient, LifetimeEnergy

_LOGGER = logging.getLogger(__name__)

DEFAULT_PANEL_BACKFILL_DAYS = 30
"""Days of per-panel history fetched on first setup (one request per day)."""

MAX_PANEL_BACKFILL_DAYS = 366
"""Upper bound of the per-panel backfill window, whatever is asked."""

DEFAULT_SETTLE_HOURS = 6
"""A day's per-panel energy is fetched only this long after the site's midnight.

Gateways on a cellular link upload every six hours, so a day is complete by then."""

RECORDER_WAIT_SECONDS = 60
"""How long an import waits for earlier writes to reach the database before reading."""

FLOW_LABELS: dict[str, str] = {
    "production": "solar production",
    "consumption": "consumption",
    "import": "grid import",
    "export": "grid export",
    "charge": "battery charge",
    "discharge": "battery discharge",
    "evse": "EV charging",
    "solar_home": "solar to home",
    "solar_grid": "solar to grid",
    "solar_battery": "solar to battery",
    "grid_home": "grid to home",
    "grid_battery": "grid to battery",
    "battery_home": "battery to home",
    "battery_grid": "battery to grid",
    "heatpump": "heat pump",
    "water_heater": "water heater",
}

_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_WH_PER_KWH = 1000.0


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one statistics import wrote."""

    rows_written: dict[str, int] = field(default_factory=dict)
    """Rows handed to the recorder, per statistic id (ids without changes are absent)."""
    statistic_ids: tuple[str, ...] = ()
    """Every statistic id this import covers, changed or not."""

    @property
    def total_rows(self) -> int:
        """Total number of rows written."""
        return sum(self.rows_written.values())


@dataclass(frozen=True, slots=True)
class PanelBackfillResult:
    """What one per-panel backfill fetched and wrote."""

    days_fetched: tuple[date, ...] = ()
    requests: int = 0
    """Cloud requests made: one per fetched day, plus one for the id-to-serial map."""
    history: dict[date, dict[str, float]] = field(default_factory=dict)
    """Fetched energy in Wh per day and serial."""
    imported: ImportResult = field(default_factory=ImportResult)


def _slug(text: str) -> str:
    """Lower-case text reduced to letters, digits and single underscores."""
    return _NOT_SLUG.sub("_", text.lower()).strip("_")


def site_statistic_id(site_id: str, flow: str) -> str:
    """Return the external statistic id of one lifetime energy flow of a site."""
    return f"{DOMAIN}:site_{_slug(str(site_id))}_{_slug(flow)}_energy"


def inverter_statistic_id(serial: str) -> str:
    """Return the external statistic id of one microinverter's daily energy."""
    return f"{DOMAIN}:inverter_{_slug(serial)}_energy"


def resolve_time_zone(hass: HomeAssistant, time_zone: str | tzinfo | None) -> tzinfo:
    """Return the site's time zone, falling back to Home Assistant's."""
    if isinstance(time_zone, tzinfo):
        return time_zone
    if time_zone:
        try:
            return ZoneInfo(time_zone)
        except ValueError, KeyError:
            _LOGGER.warning("Unknown site time zone %s, using Home Assistant's", time_zone)
    return dt_util.get_time_zone(hass.config.time_zone) or dt_util.get_default_time_zone()


def day_start(day: date, tz: tzinfo) -> datetime:
    """Return the row start of a day: its local midnight, in UTC, on the hour.

    Local midnight in zones with a half-hour offset is not on a UTC hour, which the
    recorder requires; the row then starts at the hour before.
    """
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    return start.replace(minute=0, second=0, microsecond=0)


def _energy_wh(value: float | None) -> float | None:
    """Return a bucket value in Wh: None when missing, 0 for NaN or negative."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or number < 0 or math.isinf(number):
        return 0.0
    return number


def _same(stored: float | None, wanted: float | None) -> bool:
    """Compare a stored value with the wanted one, with a tolerance for float round trips."""
    return (
        stored is not None
        and wanted is not None
        and math.isclose(stored, wanted, rel_tol=1e-9, abs_tol=1e-6)
    )


def _metadata(statistic_id: str, name: str) -> StatisticMetaData:
    """Metadata of one daily energy statistic in kWh."""
    return StatisticMetaData(
        has_sum=True,
        mean_type=StatisticMeanType.NONE,
        name=name,
        source=DOMAIN,
        statistic_id=statistic_id,
        unit_class=EnergyConverter.UNIT_CLASS,
        unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    )


def _rows_from_states(states: Mapping[datetime, float]) -> list[StatisticData]:
    """Build rows with a running sum from per-row kWh states."""
    rows: list[StatisticData] = []
    total = 0.0
    for start in sorted(states):
        total += states[start]
        rows.append(StatisticData(start=start, state=states[start], sum=total))
    return rows


def lifetime_rows(
    start_date: date, buckets_wh: Sequence[float | None], tz: tzinfo
) -> list[StatisticData]:
    """Build the daily rows of one lifetime flow.

    Rows run from `start_date` to the last bucket that holds a value; missing, NaN or
    negative buckets before it count as 0 and trailing missing buckets (not reported yet)
    are left out. A flow without any energy yields no rows.
    """
    values = [_energy_wh(value) for value in buckets_wh]
    while values and values[-1] is None:
        values.pop()
    if not any(values):
        return []
    return _rows_from_states(
        {
            day_start(start_date + timedelta(days=index), tz): (value or 0.0) / _WH_PER_KWH
            for index, value in enumerate(values)
        }
    )


type _StoredRows = dict[str, dict[float, tuple[float | None, float | None]]]


async def _async_read_rows(
    hass: HomeAssistant, statistic_ids: Iterable[str], start: datetime
) -> _StoredRows:
    """Read the stored state and sum of every row from `start` on, per statistic id.

    Rows handed to the recorder earlier are only visible once its queue has run, so wait
    for that first (bounded: a late read is corrected by the next import, since sums are
    always recomputed from the stored states).
    """
    ids = set(statistic_ids)
    if not ids:
        return {}
    recorder = get_instance(hass)
    try:
        async with asyncio.timeout(RECORDER_WAIT_SECONDS):
            await recorder.async_block_till_done()
    except TimeoutError:
        _LOGGER.debug("Recorder still busy; reading statistics that may lag behind")
    stats = await recorder.async_add_executor_job(
        statistics_during_period, hass, start, None, ids, "hour", None, {"state", "sum"}
    )
    return {
        statistic_id: {row["start"]: (row.get("state"), row.get("sum")) for row in rows}
        for statistic_id, rows in stats.items()
    }


def _changed_rows(
    rows: Iterable[StatisticData], stored: Mapping[float, tuple[float | None, float | None]]
) -> list[StatisticData]:
    """Return the rows that are new or whose state or sum differ from the stored row."""
    changed: list[StatisticData] = []
    for row in rows:
        old = stored.get(row["start"].timestamp())
        if old is None or not (_same(old[0], row.get("state")) and _same(old[1], row.get("sum"))):
            changed.append(row)
    return changed


def _write(
    hass: HomeAssistant,
    wanted: Mapping[str, tuple[StatisticMetaData, list[StatisticData]]],
    stored: _StoredRows,
) -> ImportResult:
    """Hand the changed rows of every statistic to the recorder."""
    written: dict[str, int] = {}
    for statistic_id, (metadata, rows) in wanted.items():
        changed = _changed_rows(rows, stored.get(statistic_id, {}))
        if not changed:
            continue
        _LOGGER.debug("Writing %s rows of %s", len(changed), statistic_id)
        async_add_external_statistics(hass, metadata, changed)
        written[statistic_id] = len(changed)
    return ImportResult(rows_written=written, statistic_ids=tuple(wanted))


async def async_import_lifetime_statistics(
    hass: HomeAssistant,
    site_id: str,
    lifetime: LifetimeEnergy,
    *,
    time_zone: str | tzinfo | None = None,
    site_name: str | None = None,
) -> ImportResult:
    """Import the daily lifetime energy buckets of a site as external statistics.

    One statistic per flow that carries energy. Safe to call on every energy refresh:
    only rows that are new or changed since the last import are written.
    """
    tz = resolve_time_zone(hass, time_zone)
    prefix = site_name or f"Enphase site {site_id}"
    wanted: dict[str, tuple[StatisticMetaData, list[StatisticData]]] = {}
    for flow, buckets in lifetime.series.items():
        rows = lifetime_rows(lifetime.start_date, buckets, tz)
        if not rows:
            continue
        statistic_id = site_statistic_id(site_id, flow)
        label = FLOW_LABELS.get(flow, flow.replace("_", " "))
        wanted[statistic_id] = (_metadata(statistic_id, f"{prefix} {label}"), rows)
    if not wanted:
        return ImportResult()
    stored = await _async_read_rows(hass, wanted, day_start(lifetime.start_date, tz))
    return _write(hass, wanted, stored)


async def async_import_panel_history(
    hass: HomeAssistant,
    site_id: str,
    history: Mapping[date, Mapping[str, float | None]],
    *,
    time_zone: str | tzinfo | None = None,
    names: Mapping[str, str] | None = None,
) -> ImportResult:
    """Import per-microinverter daily energy (Wh by serial, per day) as statistics.

    Days may arrive in any order and overlap what is stored: the stored days and the new
    ones are merged and the running sums recomputed, so importing an older day later shifts
    the sums of the days after it. A panel missing (or None) on a day gets no row that day.
    """
    tz = resolve_time_zone(hass, time_zone)
    serials = sorted({serial for values in history.values() for serial in values})
    if not serials:
        return ImportResult()
    ids = {serial: inverter_statistic_id(serial) for serial in serials}
    stored = await _async_read_rows(hass, ids.values(), _EPOCH)
    wanted: dict[str, tuple[StatisticMetaData, list[StatisticData]]] = {}
    for serial in serials:
        statistic_id = ids[serial]
        states: dict[datetime, float] = {
            datetime.fromtimestamp(start, UTC): state or 0.0
            for start, (state, _sum) in stored.get(statistic_id, {}).items()
        }
        for day, values in history.items():
            value = _energy_wh(values.get(serial))
            if value is not None:
                states[day_start(day, tz)] = value / _WH_PER_KWH
        name = (names or {}).get(serial) or f"Microinverter {serial}"
        wanted[statistic_id] = (
            _metadata(statistic_id, f"{name} energy"),
            _rows_from_states(states),
        )
    _LOGGER.debug("Importing panel history of site %s for %s days", site_id, len(history))
    return _write(hass, wanted, stored)


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
    tz = resolve_time_zone(hass, time_zone)
    by_start = {
        day_start(first_day + timedelta(days=offset), tz).timestamp(): first_day
        + timedelta(days=offset)
        for offset in range((last_day - first_day).days + 1)
    }
    ids = {inverter_statistic_id(serial): serial for serial in serials}
    stored = await _async_read_rows(hass, ids, day_start(first_day, tz))
    history: dict[date, dict[str, float]] = {day: {} for day in by_start.values()}
    for statistic_id, rows in stored.items():
        for start, (state, _sum) in rows.items():
            if (day := by_start.get(start)) is not None and state is not None:
                history[day][ids[statistic_id]] = state * _WH_PER_KWH
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
) -> PanelBackfillResult:
    """Fetch and import the per-panel days of the window that are not stored yet.

    Request cost: one inverter production request (spec 2.14, a single-day range) per
    missing day, plus one inverter status request (2.15) for the id-to-serial join when
    `serial_by_id` is not given. With nothing missing and a map given, no request is made.
    Days in `refetch` are fetched again even when stored (late data); pass the site's
    first day as `not_before` so days before it are never asked for. When a request fails,
    the days fetched so far are imported before the error is raised.
    """
    tz = resolve_time_zone(hass, time_zone)
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
    missing = [day for day in window if not stored.get(day) or day in again]
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
            await async_import_panel_history(hass, site_id, history, time_zone=tz, names=names)
        raise
    imported = await async_import_panel_history(hass, site_id, history, time_zone=tz, names=names)
    return PanelBackfillResult(
        days_fetched=tuple(history),
        requests=requests,
        history=history,
        imported=imported,
    )
