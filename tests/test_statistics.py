"""Energy history backfill into long-term statistics (site flows and per panel)."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.components.recorder.tasks import SynchronizeTask
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.enphase_enlighten.api import (
    EnlightenClient,
    InverterStatus,
    LifetimeEnergy,
    UnavailableError,
)
from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.history.aliases import (
    alias,
    inverter_log_ids,
    serial_aliases,
)
from custom_components.enphase_enlighten.history.panel_health import detect_underperforming
from custom_components.enphase_enlighten.history.panel_statistics import (
    MAX_PANEL_BACKFILL_DAYS,
    async_backfill_panel_history,
    async_get_panel_history,
    async_import_panel_history,
    async_import_panel_statistics,
    async_read_all_panel_history,
    backfill_window,
)
from custom_components.enphase_enlighten.history.statistics import (
    RESTART_CHECK_DAYS,
    LifetimeImportMemory,
    async_clear_statistics,
    async_import_lifetime_statistics,
    async_resolve_time_zone,
    day_start,
    inverter_statistic_id,
    lifetime_rows,
    site_statistic_id,
    time_zone_key,
)
from tests.history_helpers import ZoneLoadGuard
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator
from tests.simulator.energy import lifetime_payload

pytestmark = pytest.mark.usefixtures("socket_enabled")

SITE = "1000001"
SYDNEY = ZoneInfo("Australia/Sydney")
_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


async def _client(simulator: EnlightenSimulator, session: aiohttp.ClientSession) -> EnlightenClient:
    client = EnlightenClient(session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url)
    await client.login()
    return client


async def _stored(hass: HomeAssistant, ids: set[str] | Mapping[str, Any]) -> dict[str, list[Any]]:
    await async_wait_recording_done(hass)
    return await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, _EPOCH, None, set(ids), "hour", None, {"state", "sum"}
    )


def _expected_from_simulator(simulator: EnlightenSimulator) -> dict[str, tuple[int, float]]:
    """Rows and final sum (kWh) per statistic id, from the simulator's own buckets."""
    payload = lifetime_payload(simulator.site(1000001), simulator.now)
    expected: dict[str, tuple[int, float]] = {}
    for flow, values in payload.items():
        if not isinstance(values, list):
            continue
        reported = list(values)
        while reported and reported[-1] is None:
            reported.pop()
        if any(reported):
            total = sum(v or 0 for v in reported) / 1000
            expected[site_statistic_id(SITE, flow)] = (len(reported), total)
    return expected


async def test_backfill_full_site_idempotent_and_late_bucket(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
) -> None:
    """Three years of buckets: expected sums, a re-run adds nothing, a late bucket fixes."""
    site = simulator.site(1000001)
    client = await _client(simulator, client_session)
    lifetime = await client.lifetime_energy(SITE)
    expected = _expected_from_simulator(simulator)
    assert len(expected) >= 10  # production, consumption, grid, battery, evse flows
    assert site_statistic_id(SITE, "production") in expected

    result = await async_import_lifetime_statistics(
        hass, SITE, lifetime, time_zone=site.timezone, site_name="Demo Home"
    )
    assert result.rows_written == {sid: rows for sid, (rows, _total) in expected.items()}
    assert result.total_rows == sum(rows for rows, _total in expected.values())
    assert set(result.statistic_ids) == set(expected)
    stored = await _stored(hass, expected)
    first_start = datetime.combine(lifetime.start_date, time.min, tzinfo=SYDNEY).timestamp()
    for statistic_id, (rows, total) in expected.items():
        series = stored[statistic_id]
        assert len(series) == rows
        assert series[0]["start"] == first_start
        assert series[-1]["sum"] == pytest.approx(total)
        assert series[0]["sum"] == pytest.approx(series[0]["state"])
        for before, row in itertools.pairwise(series):
            assert row["sum"] - before["sum"] == pytest.approx(row["state"], abs=1e-6)
    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={site_statistic_id(SITE, "production")})
    )
    _meta_id, meta = metadata[site_statistic_id(SITE, "production")]
    assert meta["source"] == DOMAIN
    assert meta["unit_of_measurement"] == "kWh"
    assert meta["unit_class"] == "energy"
    assert meta["has_sum"] is True
    assert meta["mean_type"] is StatisticMeanType.NONE
    assert meta["name"] == "Demo Home solar production"

    # A second run with the same data writes nothing and changes nothing.
    again = await async_import_lifetime_statistics(
        hass, SITE, await client.lifetime_energy(SITE), time_zone=site.timezone
    )
    assert again.total_rows == 0
    assert again.rows_written == {}
    assert await _stored(hass, expected) == stored

    # The cloud revises the production bucket of ten days ago.
    production_id = site_statistic_id(SITE, "production")
    old_bucket = stored[production_id][-11]["state"]
    site.revise_bucket(10, "production", 12_345)
    fixed = await async_import_lifetime_statistics(
        hass, SITE, await client.lifetime_energy(SITE), time_zone=site.timezone
    )
    assert fixed.rows_written == {production_id: 11}  # that day and every day after it
    revised = (await _stored(hass, {production_id}))[production_id]
    assert revised[-11]["state"] == pytest.approx(12.345)
    assert revised[-1]["sum"] == pytest.approx(expected[production_id][1] - old_bucket + 12.345)
    assert revised[:-11] == stored[production_id][:-11]


def test_lifetime_rows_nulls_nan_negative_and_trailing() -> None:
    """Missing, NaN and negative buckets count 0; trailing missing ones are not written."""
    rows = lifetime_rows(
        date(2024, 1, 1), [1000.0, None, math.nan, -50.0, math.inf, 2500.0, None, None], SYDNEY
    )
    assert [row.get("state") for row in rows] == [1.0, 0.0, 0.0, 0.0, 0.0, 2.5]
    assert [row.get("sum") for row in rows] == [1.0, 1.0, 1.0, 1.0, 1.0, 3.5]
    assert rows[0]["start"] == datetime(2024, 1, 1, tzinfo=SYDNEY)
    assert rows[0]["start"].tzinfo is UTC
    assert lifetime_rows(date(2024, 1, 1), [None, None], SYDNEY) == []
    assert lifetime_rows(date(2024, 1, 1), [0.0, 0.0, None], SYDNEY) == []
    assert lifetime_rows(date(2024, 1, 1), [], SYDNEY) == []


def test_day_start_is_hour_aligned_in_any_zone() -> None:
    """Local midnight on the hour; half-hour zones start at the hour before; DST days."""
    assert day_start(date(2024, 6, 1), ZoneInfo("Asia/Kolkata")) == datetime(
        2024, 5, 31, 18, tzinfo=UTC
    )
    # Sydney DST ends 2024-04-07: midnights are 13:00 UTC before and 14:00 UTC after.
    assert day_start(date(2024, 4, 7), SYDNEY) == datetime(2024, 4, 6, 13, tzinfo=UTC)
    assert day_start(date(2024, 4, 8), SYDNEY) == datetime(2024, 4, 7, 14, tzinfo=UTC)


async def test_import_half_hour_zone_and_statistic_ids(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """Rows are accepted by the recorder in a +05:30 zone; ids are valid slugs."""
    lifetime = LifetimeEnergy(
        start_date=date(2025, 3, 1),
        last_report=None,
        update_pending=None,
        series={"production": [1000.0, 2000.0, None], "Solar-Home": [500.0], "import": [None]},
    )
    result = await async_import_lifetime_statistics(
        hass, "12 34", lifetime, time_zone="Asia/Kolkata"
    )
    assert result.rows_written == {
        "enphase_enlighten:site_12_34_production_energy": 2,
        "enphase_enlighten:site_12_34_solar_home_energy": 1,
    }
    stored = await _stored(hass, result.rows_written)
    assert stored["enphase_enlighten:site_12_34_production_energy"][-1]["sum"] == 3.0
    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=set(result.rows_written))
    )
    names = {meta["name"] for _id, meta in metadata.values()}
    assert names == {"Enphase site 12 34 solar production", "Enphase site 12 34 Solar-Home"}
    empty = LifetimeEnergy(date(2025, 3, 1), None, None, {"import": [None, None]})
    assert (await async_import_lifetime_statistics(hass, "1", empty)).total_rows == 0


async def test_resolve_time_zone(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """A site zone wins; an unknown one falls back to Home Assistant's with a warning."""
    await hass.config.async_set_time_zone("Europe/Paris")
    assert await async_resolve_time_zone(hass, SYDNEY) is SYDNEY
    assert await async_resolve_time_zone(hass, "Australia/Sydney") == SYDNEY
    assert await async_resolve_time_zone(hass, None) == ZoneInfo("Europe/Paris")
    assert await async_resolve_time_zone(hass, "Mars/Olympus") == ZoneInfo("Europe/Paris")
    assert "Unknown site time zone" in caplog.text
    caplog.clear()
    assert await async_resolve_time_zone(hass, "../etc/passwd") == ZoneInfo("Europe/Paris")
    assert "Unknown site time zone" in caplog.text
    assert time_zone_key(SYDNEY) == "Australia/Sydney"
    assert time_zone_key(UTC) == "UTC"


async def test_panel_statistics_day_by_day_out_of_order_and_idempotent(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """Per-inverter rows: continuous sums, older days merged in, re-imports add nothing."""
    day = date(2026, 1, 10)
    first = await async_import_panel_statistics(
        hass, SITE, day, {"A1": 1000.0, "B2": 800.0, "C3": None}, time_zone=SYDNEY
    )
    assert first.rows_written == {inverter_statistic_id("A1"): 1, inverter_statistic_id("B2"): 1}
    await async_import_panel_statistics(
        hass, SITE, day + timedelta(days=1), {"A1": 1500.0, "B2": 700.0}, time_zone=SYDNEY
    )
    ids = {inverter_statistic_id(s): s for s in ("A1", "B2")}
    stored = await _stored(hass, ids)
    assert [r["sum"] for r in stored[inverter_statistic_id("A1")]] == [1.0, 2.5]

    # An older day arrives later: it is inserted and the later sums move up.
    late = await async_import_panel_statistics(
        hass, SITE, day - timedelta(days=2), {"A1": 400.0}, time_zone=SYDNEY, names={"A1": "Roof 1"}
    )
    assert late.rows_written == {inverter_statistic_id("A1"): 3}
    stored = await _stored(hass, ids)
    assert [r["state"] for r in stored[inverter_statistic_id("A1")]] == [0.4, 1.0, 1.5]
    assert [r["sum"] for r in stored[inverter_statistic_id("A1")]] == pytest.approx([0.4, 1.4, 2.9])
    assert [r["sum"] for r in stored[inverter_statistic_id("B2")]] == [0.8, 1.5]

    # Same data again: nothing written.
    again = await async_import_panel_history(
        hass,
        SITE,
        {day: {"A1": 1000.0, "B2": 800.0}, day + timedelta(days=1): {"A1": 1500.0}},
        time_zone=SYDNEY,
    )
    assert again.total_rows == 0
    assert set(again.statistic_ids) == set(ids)
    assert (await async_import_panel_history(hass, SITE, {day: {}})).total_rows == 0

    history = await async_get_panel_history(
        hass, ["A1", "B2"], day - timedelta(days=2), day + timedelta(days=2), time_zone=SYDNEY
    )
    assert history[day] == {"A1": 1000.0, "B2": 800.0}
    assert history[day - timedelta(days=2)] == {"A1": 400.0}
    assert history[day - timedelta(days=1)] == {}
    assert history[day + timedelta(days=2)] == {}


def test_backfill_window_bounds() -> None:
    """Only settled days; bounded length; never before the site's first day."""
    now = datetime(2026, 3, 10, 3, tzinfo=SYDNEY)  # 03:00 local: the 9th is not settled
    window = backfill_window(now, SYDNEY, 5)
    assert window == [date(2026, 3, 4) + timedelta(days=i) for i in range(5)]
    later = backfill_window(now + timedelta(hours=4), SYDNEY, 5)
    assert later[-1] == date(2026, 3, 9)
    assert len(backfill_window(now, SYDNEY, 10_000)) == MAX_PANEL_BACKFILL_DAYS
    assert backfill_window(now, SYDNEY, 0) == []
    assert backfill_window(now, SYDNEY, 5, not_before=date(2026, 3, 7)) == [
        date(2026, 3, 7),
        date(2026, 3, 8),
    ]


async def test_panel_backfill_from_simulator_then_detect(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
) -> None:
    """One 2.14 request per missing day (plus 2.15 once), none when complete; detection."""
    site = simulator.site(1000001)
    shaded = next(inv.serial for inv in site.inverters if inv.array_name == "North")
    site.inverter_daily_factor[shaded] = 0.6
    client = await _client(simulator, client_session)
    simulator.clear_requests()

    result = await async_backfill_panel_history(
        hass, client, SITE, days=5, time_zone=site.timezone, now=simulator.now
    )
    assert result.requests == 6
    assert len(simulator.requests_to("inverter_data_x")) == 5
    assert len(simulator.requests_to("inverter_status_x")) == 1
    assert len(result.days_fetched) == 5
    assert result.imported.total_rows == 5 * len(site.inverters)
    days = list(result.days_fetched)
    by_serial = {inv.inverter_id: inv.serial for inv in site.inverters}
    ids = {inverter_statistic_id(inv.serial) for inv in site.inverters}
    stored = await _stored(hass, ids)
    totals = await client.inverter_energy(SITE, days[0], days[-1])
    for inverter_id, wh in totals.items():
        rows = stored[inverter_statistic_id(by_serial[inverter_id])]
        assert len(rows) == 5
        assert rows[-1]["sum"] == pytest.approx(wh / 1000, abs=0.01)

    # Nothing missing and the id map known: no request at all.
    serial_by_id = {inv.inverter_id: inv.serial for inv in site.inverters}
    simulator.clear_requests()
    again = await async_backfill_panel_history(
        hass,
        client,
        SITE,
        days=5,
        serial_by_id=serial_by_id,
        time_zone=site.timezone,
        now=simulator.now,
    )
    assert again.requests == 0
    assert again.imported.total_rows == 0
    assert simulator.requests_to("inverter_data_x") == []

    # Late data for the newest day: refetch it; the shade got worse, so that row changes.
    site.inverter_daily_factor[shaded] = 0.5
    late = await async_backfill_panel_history(
        hass,
        client,
        SITE,
        days=5,
        serial_by_id=serial_by_id,
        time_zone=site.timezone,
        now=simulator.now,
        refetch=[days[-1]],
    )
    assert late.requests == 1
    assert late.imported.rows_written == {inverter_statistic_id(shaded): 1}

    # The stored history feeds the detector: the shaded panel is flagged.
    history = await async_get_panel_history(
        hass, serial_by_id.values(), days[0], days[-1], time_zone=site.timezone
    )
    arrays = {inv.serial: inv.array_name for inv in site.inverters}
    found = detect_underperforming(history, arrays, days=3)
    assert set(found.flagged) == {shaded}
    assert found.flagged[shaded].days == 5


class _FlakyClient:
    """Answers 2.15 and two days of 2.14, then fails."""

    def __init__(self) -> None:
        self.calls = 0

    async def inverter_status(self, site_id: str) -> dict[str, InverterStatus]:
        return {"1": InverterStatus(inverter_id="1", serial="S1")}

    async def inverter_energy(self, site_id: str, start: date, end: date) -> dict[str, float]:
        self.calls += 1
        if self.calls > 2:
            raise UnavailableError("down", status=503)
        return {"1": 1000.0 * self.calls, "99": 5.0}


async def test_panel_backfill_keeps_fetched_days_on_error(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """A failing request still imports the days fetched before it, then raises."""
    now = datetime(2026, 3, 10, 12, tzinfo=SYDNEY)
    with pytest.raises(UnavailableError):
        await async_backfill_panel_history(
            hass,
            _FlakyClient(),
            SITE,
            days=4,
            time_zone=SYDNEY,
            now=now,  # type: ignore[arg-type]
        )
    stored = await _stored(hass, {inverter_statistic_id("S1")})
    assert [r["state"] for r in stored[inverter_statistic_id("S1")]] == [1.0, 2.0]

    flaky = _FlakyClient()
    flaky.calls = 5
    with pytest.raises(UnavailableError):
        await async_backfill_panel_history(
            hass,
            flaky,
            SITE,
            days=6,
            time_zone=SYDNEY,
            now=now,  # type: ignore[arg-type]
        )
    empty = await async_backfill_panel_history(
        hass,
        flaky,
        SITE,
        days=0,
        time_zone=SYDNEY,
        now=now,  # type: ignore[arg-type]
    )
    assert empty.requests == 0
    assert empty.days_fetched == ()


async def test_read_waits_for_recorder_but_not_forever(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stuck recorder queue delays an import by a bounded time only."""
    queue = recorder_mock.queue_task
    # The recorder never gets to the task a read waits for.
    monkeypatch.setattr(
        recorder_mock,
        "queue_task",
        lambda task: None if isinstance(task, SynchronizeTask) else queue(task),
    )
    monkeypatch.setattr(
        "custom_components.enphase_enlighten.history.statistics.RECORDER_WAIT_SECONDS", 0.01
    )
    caplog.set_level(logging.DEBUG, "custom_components.enphase_enlighten.history.statistics")
    result = await async_import_panel_statistics(hass, SITE, date(2026, 1, 1), {"A1": 5.0})
    assert result.total_rows == 1
    assert "Recorder still busy" in caplog.text
    assert await async_get_panel_history(hass, [], date(2026, 1, 1), date(2026, 1, 1)) == {
        date(2026, 1, 1): {}
    }


async def _assert_full_rebuild(
    hass: HomeAssistant, site_id: str, lifetime: LifetimeEnergy, tz: ZoneInfo
) -> None:
    """Every stored row of every flow equals what a full rebuild of the payload gives."""
    ids = {site_statistic_id(site_id, flow): flow for flow in lifetime.series}
    stored = await _stored(hass, ids)
    for statistic_id, flow in ids.items():
        full = lifetime_rows(lifetime.start_date, lifetime.series[flow], tz)
        rows = stored.get(statistic_id, [])
        assert [row["start"] for row in rows] == [row["start"].timestamp() for row in full]
        assert [row["state"] for row in rows] == pytest.approx([row.get("state") for row in full])
        assert [row["sum"] for row in rows] == pytest.approx([row.get("sum") for row in full])


async def test_lifetime_memory_incremental_and_restart_fallback(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
) -> None:
    """With a memory nothing is read back; without one, a revision older than the window."""
    site = simulator.site(1000001)
    client = await _client(simulator, client_session)
    memory = LifetimeImportMemory()
    production = site_statistic_id(SITE, "production")

    first = await async_import_lifetime_statistics(
        hass, SITE, await client.lifetime_energy(SITE), time_zone=SYDNEY, memory=memory
    )
    days = first.rows_written[production]
    assert days > 3 * RESTART_CHECK_DAYS
    assert first.rows_read == 0  # an empty database: nothing to read back
    again = await async_import_lifetime_statistics(
        hass, SITE, await client.lifetime_energy(SITE), time_zone=SYDNEY, memory=memory
    )
    assert (again.total_rows, again.rows_read) == (0, 0)

    # The first day is revised: every row of that flow, from a zero sum, no read.
    site.revise_bucket(days - 1, "production", 777)
    lifetime = await client.lifetime_energy(SITE)
    oldest = await async_import_lifetime_statistics(
        hass, SITE, lifetime, time_zone=SYDNEY, memory=memory
    )
    assert oldest.rows_written == {production: days}
    assert oldest.rewritten_from == {production: lifetime.start_date}
    assert oldest.rows_read == 0
    await _assert_full_rebuild(hass, SITE, lifetime, SYDNEY)

    # After a restart (no memory) a revision older than the checked days: the last days
    # are read, disagree on their first day, and the whole history is read and compared.
    site.revise_bucket(RESTART_CHECK_DAYS + 9, "production", 4321)
    lifetime = await client.lifetime_energy(SITE)
    restarted = await async_import_lifetime_statistics(
        hass, SITE, lifetime, time_zone=SYDNEY, memory=LifetimeImportMemory()
    )
    assert restarted.rows_written == {production: RESTART_CHECK_DAYS + 10}
    assert restarted.rewritten_from == {production: site.today() - timedelta(days=40)}
    flows = len(first.statistic_ids)
    assert restarted.rows_read == flows * RESTART_CHECK_DAYS + days
    await _assert_full_rebuild(hass, SITE, lifetime, SYDNEY)


async def test_lifetime_memory_edges(recorder_mock: Recorder, hass: HomeAssistant) -> None:
    """Flows that stop reporting, trailing days withdrawn, a new first day or time zone."""
    start = date(2025, 1, 1)

    def payload(first: date, production: list[float | None]) -> LifetimeEnergy:
        evse: list[float | None] = [500.0] * 5 + [None] * (len(production) - 5)
        return LifetimeEnergy(first, None, None, {"production": production, "evse": evse})

    memory = LifetimeImportMemory()
    production = site_statistic_id(SITE, "production")
    evse = site_statistic_id(SITE, "evse")
    full = payload(start, [1000.0] * 40)
    first = await async_import_lifetime_statistics(hass, SITE, full, time_zone=SYDNEY)
    assert first.rows_written == {production: 40, evse: 5}

    # No memory: the evse flow ended before the checked days, so it is read in full.
    again = await async_import_lifetime_statistics(hass, SITE, full, time_zone=SYDNEY)
    assert again.total_rows == 0
    assert again.rows_read == RESTART_CHECK_DAYS + 5

    # Remembered from here on. The last two days are withdrawn, then come back.
    await async_import_lifetime_statistics(hass, SITE, full, time_zone=SYDNEY, memory=memory)
    withdrawn = payload(start, [1000.0] * 38 + [None, None])
    result = await async_import_lifetime_statistics(
        hass, SITE, withdrawn, time_zone=SYDNEY, memory=memory
    )
    assert (result.total_rows, result.rows_read) == (0, 0)
    back = await async_import_lifetime_statistics(hass, SITE, full, time_zone=SYDNEY, memory=memory)
    assert back.rows_written == {production: 2}
    assert back.rewritten_from == {production: start + timedelta(days=38)}
    await _assert_full_rebuild(hass, SITE, full, SYDNEY)

    # Another time zone: the memory does not apply, the rows move, all are written.
    moved = await async_import_lifetime_statistics(
        hass, SITE, full, time_zone="Asia/Kolkata", memory=memory
    )
    assert moved.rows_written == {production: 40, evse: 5}
    assert moved.rows_read > 0


class _EmptyDayClient:
    """2.14 answers every day but `empty` with one panel, `empty` without any."""

    def __init__(self, empty: date) -> None:
        self.empty = empty
        self.asked: list[date] = []

    async def inverter_energy(self, site_id: str, start: date, end: date) -> dict[str, float]:
        self.asked.append(start)
        return {} if start == self.empty else {"1": 1000.0}


async def test_panel_backfill_days_answered_without_panels(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """An empty answer stores nothing, is reported, and passed back is not asked again."""
    now = datetime(2026, 3, 10, 12, tzinfo=SYDNEY)
    window = backfill_window(now, SYDNEY, 4)
    cloud = _EmptyDayClient(window[1])
    client: Any = cloud
    kwargs: dict[str, Any] = {"days": 4, "serial_by_id": {"1": "S1"}, "time_zone": SYDNEY}
    first = await async_backfill_panel_history(hass, client, SITE, now=now, **kwargs)
    assert first.days_fetched == tuple(window)
    assert first.empty_days == (window[1],)
    assert first.history[window[1]] == {}

    # Without the answer remembered the day looks missing; with it, nothing is asked.
    cloud.asked.clear()
    again = await async_backfill_panel_history(hass, client, SITE, now=now, **kwargs)
    assert cloud.asked == [window[1]]
    assert again.empty_days == (window[1],)
    cloud.asked.clear()
    answered = await async_backfill_panel_history(
        hass, client, SITE, now=now, answered={window[1]}, **kwargs
    )
    assert (cloud.asked, answered.requests, answered.empty_days) == ([], 0, ())
    # A re-read asks again, answered or not; late data arrived, so the day is stored now.
    cloud.empty = date.min
    late = await async_backfill_panel_history(
        hass, client, SITE, now=now, answered={window[1]}, refetch=[window[1]], **kwargs
    )
    assert cloud.asked == [window[1]]
    assert late.empty_days == ()
    assert late.imported.rows_written == {inverter_statistic_id("S1"): 3}  # that day, the sums


def _load_zone(key: str) -> object:
    return ZoneInfo(key)


async def test_zone_names_are_looked_up_off_the_event_loop(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """Zones given by name are loaded in the executor, never in the event loop."""
    zone = "America/St_Johns"
    lifetime = LifetimeEnergy(date(2025, 3, 1), None, None, {"production": [1000.0, 2000.0]})
    day = date(2025, 3, 1)
    client: Any = _EmptyDayClient(day)
    now = datetime(2025, 3, 5, 12, tzinfo=UTC)
    with ZoneLoadGuard() as guard:
        await async_import_lifetime_statistics(hass, "9", lifetime, time_zone=zone)
        await async_import_lifetime_statistics(hass, "9", lifetime)  # Home Assistant's
        await async_import_panel_statistics(hass, "9", day, {"Z1": 500.0}, time_zone=zone)
        await async_get_panel_history(hass, ["Z1"], day, day, time_zone=zone)
        await async_backfill_panel_history(
            hass, client, "9", days=2, serial_by_id={"1": "Z1"}, time_zone=zone, now=now
        )
    assert guard.loads == []

    # The guard itself: a load in the loop is seen, the same load in the executor is not.
    with ZoneLoadGuard(watch=(_load_zone,)) as guard:
        _load_zone(zone)
        await hass.async_add_executor_job(_load_zone, zone)
    assert guard.loads == [("_load_zone", zone)]


def test_serial_aliases_and_logged_ids() -> None:
    """Serials become device_<n> in sorted order, as in the diagnostics."""
    aliases = serial_aliases(["482B", "482A", "482B"])
    assert aliases == {"482A": "device_1", "482B": "device_2"}
    assert alias("482C", aliases) == "device_?"
    assert inverter_log_ids(["482B"], aliases) == {
        inverter_statistic_id("482B"): f"{DOMAIN}:inverter_device_2_energy"
    }


async def test_panel_import_logs_aliases_not_serials(
    recorder_mock: Recorder, hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The debug log of a per-panel import names statistic ids by alias."""
    caplog.set_level(logging.DEBUG, "custom_components.enphase_enlighten.history")
    day = date(2026, 1, 10)
    await async_import_panel_statistics(
        hass, SITE, day, {"482200001": 1000.0, "482200002": 900.0}, time_zone=SYDNEY
    )
    await async_import_panel_history(
        hass, SITE, {day: {"482200003": 1.0}}, time_zone=SYDNEY, aliases={"482200003": "device_7"}
    )
    history = "custom_components.enphase_enlighten.history"
    messages = [r.getMessage() for r in caplog.records if r.name.startswith(history)]
    assert f"Writing 1 rows of {DOMAIN}:inverter_device_1_energy" in messages
    assert f"Writing 1 rows of {DOMAIN}:inverter_device_2_energy" in messages
    assert f"Writing 1 rows of {DOMAIN}:inverter_device_7_energy" in messages
    assert not [m for m in messages if "4822000" in m]


async def test_read_all_panel_history_and_clear(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    """All stored per-panel days read back in their zone; rows of another zone left out."""
    kolkata = ZoneInfo("Asia/Kolkata")  # midnight not on a UTC hour: rows start before it
    days = {date(2026, 1, 10): {"A1": 1000.0, "B2": 500.0}, date(2026, 1, 12): {"A1": 250.0}}
    await async_import_panel_history(hass, SITE, days, time_zone=kolkata)
    assert await async_read_all_panel_history(hass, ["A1", "B2"], kolkata) == days
    assert await async_read_all_panel_history(hass, ["A1", "B2"], SYDNEY) == {}
    async_clear_statistics(hass, [inverter_statistic_id("A1")])
    async_clear_statistics(hass, [])
    assert await async_read_all_panel_history(hass, ["A1", "B2"], kolkata) == {
        date(2026, 1, 10): {"B2": 500.0}
    }
