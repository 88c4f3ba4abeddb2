"""Energy history as Home Assistant long-term statistics.

External statistics (source ``enphase_enlighten``), each with one row per day at local
midnight of the site, ``state`` = that day's energy in kWh and ``sum`` the running total
since the first row. This module holds the helpers they share and the site statistics,
``enphase_enlighten:site_<site_id>_<flow>_energy`` for every flow of the lifetime energy
buckets (production, consumption, import, export, charge, discharge, evse, ...), so the
Energy dashboard shows the whole history of the site from its first day; the
per-microinverter statistics are in `panel_statistics`.

Every import writes only what changed, so a repeated import adds nothing and a bucket
revised late rewrites that day and the sums of the days after it. Lifetime imports are
incremental: a `LifetimeImportMemory` keeps the daily states and running sums the last
import wrote, and the next import rebuilds rows only from the earliest day whose bucket
changed (or is new), continuing from the remembered sum of the day before; nothing is read
from the recorder. Without that memory (after a restart) the last `RESTART_CHECK_DAYS`
stored rows are read and must agree with the payload on their first day; only when they do
not is the whole history read and compared. For a three-year site with 13 flows (about
14,000 rows) an intraday refresh, where only today's buckets grow, rebuilds and writes one
row per changed flow (about a dozen) and reads none; before, every refresh rebuilt all
14,000 rows and read the same number back to find those dozen.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import accumulate
from typing import TYPE_CHECKING

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    statistics_during_period,
)
from homeassistant.components.recorder.tasks import SynchronizeTask
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter

from ..const import DOMAIN

if TYPE_CHECKING:
    from ..api import LifetimeEnergy

_LOGGER = logging.getLogger(__name__)

RECORDER_WAIT_SECONDS = 60
"""How long an import waits for earlier writes to reach the database before reading."""

RESTART_CHECK_DAYS = 31
"""Stored days a lifetime import reads back when it has no memory of the last import.

They must agree with the payload on their first day (state and running sum), which
vouches for every day before; a bucket revised further back than this (or a first
import) makes the import read and compare the whole history instead."""

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

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
WH_PER_KWH = 1000.0


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one statistics import wrote."""

    rows_written: dict[str, int] = field(default_factory=dict)
    """Rows handed to the recorder, per statistic id (ids without changes are absent)."""
    statistic_ids: tuple[str, ...] = ()
    """Every statistic id this import covers, changed or not."""
    rewritten_from: dict[str, date] = field(default_factory=dict)
    """Lifetime imports: the first day written, per statistic id with rows written."""
    rows_read: int = 0
    """Lifetime imports: stored rows read back from the recorder to decide what to write."""

    @property
    def total_rows(self) -> int:
        """Total number of rows written."""
        return sum(self.rows_written.values())


def _slug(text: str) -> str:
    """Lower-case text reduced to letters, digits and single underscores."""
    return _NOT_SLUG.sub("_", text.lower()).strip("_")


def site_statistic_id(site_id: str, flow: str) -> str:
    """Return the external statistic id of one lifetime energy flow of a site."""
    return f"{DOMAIN}:site_{_slug(str(site_id))}_{_slug(flow)}_energy"


def inverter_statistic_id(serial: str) -> str:
    """Return the external statistic id of one microinverter's daily energy."""
    return f"{DOMAIN}:inverter_{_slug(serial)}_energy"


async def async_resolve_time_zone(hass: HomeAssistant, time_zone: str | tzinfo | None) -> tzinfo:
    """Return the site's time zone, falling back to Home Assistant's.

    A zone given by name is looked up with Home Assistant's async lookup, which loads it
    from disk in the executor, never in the event loop. Look a zone up once and pass the
    `tzinfo` on: every lookup by name is an executor job.
    """
    if isinstance(time_zone, tzinfo):
        return time_zone
    if time_zone:
        try:
            zone = await dt_util.async_get_time_zone(time_zone)
        except ValueError:
            zone = None
        if zone is not None:
            return zone
        _LOGGER.warning("Unknown site time zone %s, using Home Assistant's", time_zone)
    return (
        await dt_util.async_get_time_zone(hass.config.time_zone) or dt_util.get_default_time_zone()
    )


def time_zone_key(tz: tzinfo) -> str:
    """The name a zone is stored under (and looked up again by)."""
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) and key else str(tz)


def day_start(day: date, tz: tzinfo) -> datetime:
    """Return the row start of a day: its local midnight, in UTC, on the hour.

    Local midnight in zones with a half-hour offset is not on a UTC hour, which the
    recorder requires; the row then starts at the hour before.
    """
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    return start.replace(minute=0, second=0, microsecond=0)


def energy_wh(value: float | None) -> float | None:
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


def metadata(statistic_id: str, name: str) -> StatisticMetaData:
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


def rows_from_states(states: Mapping[datetime, float]) -> list[StatisticData]:
    """Build rows with a running sum from per-row kWh states."""
    rows: list[StatisticData] = []
    total = 0.0
    for start in sorted(states):
        total += states[start]
        rows.append(StatisticData(start=start, state=states[start], sum=total))
    return rows


def _flow_states(buckets_wh: Sequence[float | None]) -> list[float]:
    """Return the daily states (kWh) of one lifetime flow, from its first bucket.

    Missing, NaN or negative buckets count as 0; trailing missing buckets (not reported
    yet) are left out. A flow without any energy has no states.
    """
    values = [energy_wh(value) for value in buckets_wh]
    while values and values[-1] is None:
        values.pop()
    if not any(values):
        return []
    return [(value or 0.0) / WH_PER_KWH for value in values]


class _DayStarts:
    """Row starts of the days counted from a site's first day, each computed once."""

    __slots__ = ("_starts", "first_day", "tz")

    def __init__(self, first_day: date, tz: tzinfo) -> None:
        self.first_day = first_day
        self.tz = tz
        self._starts: dict[int, datetime] = {}

    def __getitem__(self, index: int) -> datetime:
        start = self._starts.get(index)
        if start is None:
            start = day_start(self.first_day + timedelta(days=index), self.tz)
            self._starts[index] = start
        return start


def _day_rows(
    starts: _DayStarts, states: Sequence[float], first_index: int, base: float
) -> tuple[list[StatisticData], list[float]]:
    """Build the rows from day `first_index` on, the running sum continuing from `base`."""
    rows: list[StatisticData] = []
    sums: list[float] = []
    total = base
    for index in range(first_index, len(states)):
        total += states[index]
        sums.append(total)
        rows.append(StatisticData(start=starts[index], state=states[index], sum=total))
    return rows, sums


def lifetime_rows(
    start_date: date, buckets_wh: Sequence[float | None], tz: tzinfo
) -> list[StatisticData]:
    """Build all daily rows of one lifetime flow (a full rebuild).

    Rows run from `start_date` to the last bucket that holds a value; missing, NaN or
    negative buckets before it count as 0 and trailing missing buckets (not reported yet)
    are left out. A flow without any energy yields no rows.
    """
    return _day_rows(_DayStarts(start_date, tz), _flow_states(buckets_wh), 0, 0.0)[0]


@dataclass(frozen=True, slots=True)
class _FlowRecord:
    """One lifetime statistic as an import left it in the recorder."""

    first_day: date
    tz: tzinfo
    states: array[float]
    """Daily states in kWh from `first_day` (C doubles: some 9 kB a year per flow)."""
    sums: array[float]
    """The running sum after each day, as written."""


@dataclass(slots=True)
class LifetimeImportMemory:
    """What the lifetime imports of one site last wrote, kept from one import to the next.

    Memory only: after a restart it is empty, and the next import checks the stored rows
    instead (see `RESTART_CHECK_DAYS`). Imports sharing it run one at a time. It trusts
    that the recorder stored what it was handed, as the recorder's own queue does.
    """

    flows: dict[str, _FlowRecord] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True, slots=True)
class _FlowPlan:
    """The rows one lifetime import writes for one statistic, and what it leaves stored."""

    rows: list[StatisticData]
    first_index: int
    record: _FlowRecord


def _first_difference(old: array[float], new: array[float]) -> int:
    """Index of the first day whose state differs; days only in `new` differ too."""
    common = min(len(old), len(new))
    if old[:common] == new[:common]:
        return common
    return next(index for index in range(common) if old[index] != new[index])


def _plan_from_record(starts: _DayStarts, states: array[float], record: _FlowRecord) -> _FlowPlan:
    """Rows from the first day that differs from the last import (no recorder read)."""
    first = _first_difference(record.states, states)
    base = record.sums[first - 1] if first else 0.0
    rows, sums = _day_rows(starts, states, first, base)
    sums_now = record.sums[:first] + array("d", sums)
    return _FlowPlan(rows, first, _FlowRecord(record.first_day, record.tz, states, sums_now))


def _plan_from_stored(
    starts: _DayStarts,
    states: array[float],
    stored: Mapping[float, tuple[float | None, float | None]],
    check_from: int,
) -> _FlowPlan | None:
    """Rows from the first day on or after `check_from` that the recorder lacks or differs on.

    With `check_from` > 0 the stored row of that day must match the payload, state and
    running sum, or None is returned: something before it changed, read everything.
    The running sums continue from the stored sum of the day before the first one written.
    """
    if check_from and check_from >= len(states):
        return None
    wanted = list(accumulate(states))
    first = len(states)
    for index in range(check_from, len(states)):
        old = stored.get(starts[index].timestamp())
        if old is None or not (_same(old[0], states[index]) and _same(old[1], wanted[index])):
            first = index
            break
    if check_from and first == check_from:
        return None
    base = 0.0
    if first:
        base = stored[starts[first - 1].timestamp()][1] or 0.0
    rows, sums = _day_rows(starts, states, first, base)
    record = _FlowRecord(starts.first_day, starts.tz, states, array("d", wanted[:first] + sums))
    return _FlowPlan(rows, first, record)


type _StoredRows = dict[str, dict[float, tuple[float | None, float | None]]]


async def _async_recorder_caught_up(hass: HomeAssistant) -> None:
    """Wait until the recorder ran every task queued before (imports, clears).

    Not `Recorder.async_block_till_done`: it returns at once when the queue is empty,
    also while the recorder thread still runs the last task it took from it.
    """
    future: asyncio.Future[None] = hass.loop.create_future()
    get_instance(hass).queue_task(SynchronizeTask(future))
    await future


async def async_read_rows(
    hass: HomeAssistant, statistic_ids: Iterable[str], start: datetime
) -> _StoredRows:
    """Read the stored state and sum of every row from `start` on, per statistic id.

    Rows handed to the recorder earlier are only visible once its queue has run, so wait
    for that first (bounded: a row a late read misses only looks new and is written
    again, which changes nothing).
    """
    ids = set(statistic_ids)
    if not ids:
        return {}
    recorder = get_instance(hass)
    try:
        async with asyncio.timeout(RECORDER_WAIT_SECONDS):
            await _async_recorder_caught_up(hass)
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


def write(
    hass: HomeAssistant,
    wanted: Mapping[str, tuple[StatisticMetaData, list[StatisticData]]],
    stored: _StoredRows,
    *,
    log_ids: Mapping[str, str] | None = None,
) -> ImportResult:
    """Hand the changed rows of every statistic to the recorder.

    `log_ids` gives the name each statistic id is logged under (an alias for ids that
    hold a hardware serial); ids missing from it are logged as they are.
    """
    written: dict[str, int] = {}
    for statistic_id, (metadata, rows) in wanted.items():
        changed = _changed_rows(rows, stored.get(statistic_id, {}))
        if not changed:
            continue
        _LOGGER.debug(
            "Writing %s rows of %s", len(changed), (log_ids or {}).get(statistic_id, statistic_id)
        )
        async_add_external_statistics(hass, metadata, changed)
        written[statistic_id] = len(changed)
    return ImportResult(rows_written=written, statistic_ids=tuple(wanted))


@callback
def async_clear_statistics(hass: HomeAssistant, statistic_ids: Iterable[str]) -> None:
    """Delete every row and the metadata of these statistics (queued in the recorder).

    Rows handed to the recorder afterwards are written after the deletion, and reads
    through `async_read_rows` wait for it.
    """
    if ids := sorted(set(statistic_ids)):
        get_instance(hass).async_clear_statistics(ids)


def _plan_lifetime(
    starts: _DayStarts,
    series: Mapping[str, Sequence[float | None]],
    records: Mapping[str, _FlowRecord],
    stored: _StoredRows,
    check_from: int,
) -> dict[str, _FlowPlan | None]:
    """Plan the rows of every flow (run in the executor; reads nothing shared).

    Flows with a record are compared with it, the others with the `stored` rows from day
    `check_from` on (None: those rows disagree, read everything). Flows without energy
    get no plan.
    """
    plans: dict[str, _FlowPlan | None] = {}
    for statistic_id, buckets in series.items():
        states = array("d", _flow_states(buckets))
        if not states:
            continue
        record = records.get(statistic_id)
        if record is not None:
            plans[statistic_id] = _plan_from_record(starts, states, record)
        else:
            plans[statistic_id] = _plan_from_stored(
                starts, states, stored.get(statistic_id, {}), check_from
            )
    return plans


async def async_import_lifetime_statistics(
    hass: HomeAssistant,
    site_id: str,
    lifetime: LifetimeEnergy,
    *,
    time_zone: str | tzinfo | None = None,
    site_name: str | None = None,
    memory: LifetimeImportMemory | None = None,
) -> ImportResult:
    """Import the daily lifetime energy buckets of a site as external statistics.

    One statistic per flow that carries energy. Safe to call on every energy refresh:
    only the rows from the earliest new or changed day on are written. Pass the same
    `memory` to every import of the site so that they compare with the last import
    instead of reading the recorder (see the module docstring for the row counts).
    """
    tz = await async_resolve_time_zone(hass, time_zone)
    if memory is None:
        memory = LifetimeImportMemory()
    first_day = lifetime.start_date
    prefix = site_name or f"Enphase site {site_id}"
    series: dict[str, Sequence[float | None]] = {}
    names: dict[str, str] = {}
    for flow, buckets in lifetime.series.items():
        statistic_id = site_statistic_id(site_id, flow)
        series[statistic_id] = buckets
        names[statistic_id] = f"{prefix} {FLOW_LABELS.get(flow, flow.replace('_', ' '))}"
    async with memory.lock:
        records = {
            statistic_id: record
            for statistic_id in series
            if (record := memory.flows.get(statistic_id)) is not None
            and record.first_day == first_day
            and record.tz == tz
        }
        unknown = [statistic_id for statistic_id in series if statistic_id not in records]
        stored: _StoredRows = {}
        check_from = 0
        if unknown:
            days = max(len(series[statistic_id]) for statistic_id in unknown)
            check_from = max(0, days - RESTART_CHECK_DAYS)
            start = day_start(first_day + timedelta(days=check_from), tz)
            stored = await async_read_rows(hass, unknown, start)
        starts = _DayStarts(first_day, tz)
        plans = await hass.async_add_executor_job(
            _plan_lifetime, starts, series, records, stored, check_from
        )
        rows_read = sum(len(rows) for rows in stored.values())
        if again := {sid: series[sid] for sid, plan in plans.items() if plan is None}:
            _LOGGER.debug("Stored statistics disagree before the last days, reading all")
            stored = await async_read_rows(hass, again, day_start(first_day, tz))
            rows_read += sum(len(rows) for rows in stored.values())
            plans |= await hass.async_add_executor_job(_plan_lifetime, starts, again, {}, stored, 0)
        ready = {sid: plan for sid, plan in plans.items() if plan is not None}
        return _write_lifetime(hass, memory, names, ready, rows_read)


def _write_lifetime(
    hass: HomeAssistant,
    memory: LifetimeImportMemory,
    names: Mapping[str, str],
    plans: Mapping[str, _FlowPlan],
    rows_read: int,
) -> ImportResult:
    """Hand the planned rows to the recorder and remember what is stored now."""
    written: dict[str, int] = {}
    rewritten_from: dict[str, date] = {}
    for statistic_id, plan in plans.items():
        if plan.rows:
            day = plan.record.first_day + timedelta(days=plan.first_index)
            _LOGGER.debug("Writing %s rows of %s from %s", len(plan.rows), statistic_id, day)
            async_add_external_statistics(
                hass, metadata(statistic_id, names[statistic_id]), plan.rows
            )
            written[statistic_id] = len(plan.rows)
            rewritten_from[statistic_id] = day
        memory.flows[statistic_id] = plan.record
    return ImportResult(
        rows_written=written,
        statistic_ids=tuple(plans),
        rewritten_from=rewritten_from,
        rows_read=rows_read,
    )
