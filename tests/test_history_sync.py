"""Background history sync end to end: statistics, panel detection, sensor, repair issue."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.coordinator.energy import EnergyCoordinator
from custom_components.enphase_enlighten.history import sync as history_sync
from custom_components.enphase_enlighten.history.panel_health import DetectionResult, FlaggedPanel
from custom_components.enphase_enlighten.history.panel_statistics import (
    async_get_panel_history,
    async_import_panel_history,
    backfill_window,
)
from custom_components.enphase_enlighten.history.statistics import (
    RESTART_CHECK_DAYS,
    ImportResult,
    day_start,
    inverter_statistic_id,
    lifetime_rows,
    site_statistic_id,
)
from custom_components.enphase_enlighten.history.sync import (
    DETECTION_MARGIN_DAYS,
    PANEL_BACKFILL_DAYS,
    REFETCH_DAYS,
    history_store_key,
    panel_health,
)
from tests.helpers import create_entry, setup_integration
from tests.history_helpers import ZoneLoadGuard
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

pytestmark = [pytest.mark.usefixtures("recorder_mock", "socket_enabled"), pytest.mark.history_sync]

SITE = "1000001"
WINDOW = 3 + DETECTION_MARGIN_DAYS  # default underperformance_days + margin


async def _setup(
    hass: HomeAssistant, simulator: EnlightenSimulator, site_id: str = SITE
) -> MockConfigEntry:
    if site_id == SITE:
        entry = await create_entry(hass, simulator)
    else:
        entry = await create_entry(
            hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id=site_id
        )
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def _energy(entry: MockConfigEntry) -> EnergyCoordinator:
    energy: EnergyCoordinator = entry.runtime_data.energy
    return energy


def _panel_state(hass: HomeAssistant, serial: str) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{serial}_underperforming"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def _our_issues(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    return {
        issue_id: issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.active
    }


def _backfill_days(simulator: EnlightenSimulator) -> set[str]:
    """Days asked for one by one in the past (2.14), i.e. by the panel backfill."""
    today = simulator.site(1000001).today().isoformat()
    return {
        r.query["start_date"]
        for r in simulator.requests_to("inverter_data_x")
        if r.query.get("start_date") == r.query.get("end_date") != today
    }


async def test_shaded_panel_flagged_then_recovers(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A shaded panel: statistics imported, sensor on, repair issue; gone once it recovers."""
    freezer.move_to(simulator.now)
    site = simulator.site(1000001)
    shaded = next(inv.serial for inv in site.inverters if inv.array_name == "North")
    site.inverter_daily_factor[shaded] = 0.55
    simulator.clear_requests()
    entry = await _setup(hass, simulator)
    energy = _energy(entry)

    # 1. The lifetime buckets are statistics with the sums of the payload.
    await async_wait_recording_done(hass)
    lifetime = energy.data.lifetime
    assert lifetime is not None
    production = site_statistic_id(SITE, "production")
    stored = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        site.local_midnight(lifetime.start_date),
        None,
        {production},
        "hour",
        None,
        {"sum"},
    )
    expected = sum(v or 0 for v in lifetime.series["production"]) / 1000
    assert stored[production][-1]["sum"] == pytest.approx(expected)

    # 2. Thirty days of panel history, one request per day, no extra 2.15 request.
    assert len(_backfill_days(simulator)) == PANEL_BACKFILL_DAYS
    assert len(simulator.requests_to("inverter_status_x")) == 1  # the refresh's own

    # 3. The shaded panel is flagged, its peers are not.
    state = _panel_state(hass, shaded)
    assert state.state == STATE_ON
    assert state.attributes["device_class"] == "problem"
    assert state.attributes["array_name"] == "North"
    assert state.attributes["days"] == WINDOW
    assert state.attributes["deficit_pct"] == pytest.approx(45, abs=1)
    for inv in site.inverters:
        if inv.serial != shaded:
            assert _panel_state(hass, inv.serial).state == STATE_OFF
    issues = _our_issues(hass)
    assert set(issues) == {f"underperforming_{shaded}"}
    issue = issues[f"underperforming_{shaded}"]
    assert issue.translation_key == "underperforming_panel"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["serial"] == shaded
    assert issue.translation_placeholders["array"] == "North"
    assert issue.translation_placeholders["days"] == str(WINDOW)
    assert issue.translation_placeholders["panel"].endswith(shaded[-6:])

    # 4. The same payload again: nothing runs.
    simulator.clear_requests()
    energy.history.async_schedule(lifetime)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests == []

    # 5. The shade is gone and a new day passes: one request, the flag and issue go away.
    site.inverter_daily_factor.clear()
    simulator.advance(86400)
    freezer.move_to(simulator.now)
    simulator.clear_requests()
    await energy.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(_backfill_days(simulator)) == 1
    assert _panel_state(hass, shaded).state == STATE_OFF
    assert _our_issues(hass) == {}


async def test_uniformly_cloudy_days_stay_quiet(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Every panel drops together on cloudy days: judged, nothing flagged, no issue."""
    site = simulator.site(1000001)
    days = backfill_window(simulator.now, site.tz, WINDOW)
    for day in days[-4:]:
        site.cloudy_days[day] = 0.2
    entry = await _setup(hass, simulator)

    serials = [inv.serial for inv in site.inverters]
    history = await async_get_panel_history(hass, serials, days[0], days[-1], time_zone=site.tz)
    sunny, cloudy = history[days[0]], history[days[-1]]
    assert sum(cloudy.values()) < 0.5 * sum(sunny.values())  # the scenario is real
    result = _energy(entry).underperformance
    assert result is not None
    assert result.flagged == {}
    assert result.judged == frozenset(serials)
    for serial in serials:
        assert _panel_state(hass, serial).state == STATE_OFF
    assert _our_issues(hass) == {}


async def test_not_reporting_panel_is_not_judged_and_unload_clears_issues(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A panel that does not report is excluded; the issues of an entry go with it."""
    site = simulator.site(1000001)
    west = [inv for inv in site.inverters if inv.array_name == "West"]
    silent, shaded = west[0], west[1]
    silent.status = "not_reporting"
    site.inverter_daily_factor[silent.serial] = 0.1
    site.inverter_daily_factor[shaded.serial] = 0.5
    entry = await _setup(hass, simulator)

    assert _panel_state(hass, silent.serial).state == STATE_UNAVAILABLE
    assert _panel_state(hass, shaded.serial).state == STATE_ON
    assert set(_our_issues(hass)) == {f"underperforming_{shaded.serial}"}

    history = _energy(entry).history
    lifetime = _energy(entry).data.lifetime
    assert lifetime is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert _our_issues(hass) == {}
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert await history._async_inventory() is None
    # A sync that finds the entry gone imports the statistics and stops there.
    simulator.clear_requests()
    await history.async_run(lifetime)
    assert history.last_import is not None
    assert history.last_import.total_rows == 0
    assert simulator.requests == []
    assert _our_issues(hass) == {}
    assert history._panel_name("999") == "Microinverter 999"  # no such device


async def test_late_panel_days_are_read_again_once(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Recent days stored without a reporting panel are fetched again, once each."""
    site = simulator.site(1000001)
    late = site.inverters[3].serial
    days = backfill_window(simulator.now, site.tz, WINDOW)
    partial = {
        day: {inv.serial: 1500.0 for inv in site.inverters if inv.serial != late}
        for day in days[-2:]
    }
    await async_import_panel_history(hass, SITE, partial, time_zone=site.tz)
    simulator.clear_requests()
    entry = await _setup(hass, simulator)

    assert len(_backfill_days(simulator)) == PANEL_BACKFILL_DAYS
    history = await async_get_panel_history(hass, [late], days[-2], days[-1], time_zone=site.tz)
    assert all(late in history[day] for day in days[-2:])

    # A changed payload runs the sync again, but those days are not read a third time.
    energy = _energy(entry)
    assert energy.data.lifetime is not None
    simulator.clear_requests()
    await energy.history.async_run(energy.data.lifetime)
    assert _backfill_days(simulator) == set()


async def test_failures_are_logged_and_retried(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failing backfill never fails the refresh; it warns once and retries."""
    simulator.inject_fault("inverter_data_x", status=503)
    entry = await _setup(hass, simulator)
    energy = _energy(entry)
    assert entry.state is ConfigEntryState.LOADED
    assert energy.last_update_success
    assert energy.underperformance is None
    serial = simulator.site(1000001).inverters[0].serial
    assert _panel_state(hass, serial).state == STATE_UNAVAILABLE
    warnings = [r for r in caplog.records if "history backfill" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]

    # Not synced: the same payload is tried again, logged at debug level only.
    lifetime = energy.data.lifetime
    assert lifetime is not None
    caplog.clear()
    energy.history.async_schedule(lifetime)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == history_sync.__name__
    ]

    simulator.clear_faults()
    energy.history.async_schedule(lifetime)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert energy.underperformance is not None
    assert "up to date again" in caplog.text
    assert _panel_state(hass, serial).state == STATE_OFF

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(history_sync, "async_import_lifetime_statistics", broken)
    await energy.history.async_run(lifetime)
    assert "Updating the Enlighten energy history failed" in caplog.text


async def test_sites_without_micros_only_import_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
) -> None:
    """With the microinverter family off, only the site statistics are imported."""
    entry = await create_entry(hass, simulator, options={"device_families": ["ev", "battery"]})
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _backfill_days(simulator) == set()
    assert _energy(entry).underperformance is None
    await async_wait_recording_done(hass)
    stored = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        simulator.site(1000001).local_midnight(date.today() - timedelta(days=3)),
        None,
        {site_statistic_id(SITE, "production")},
        "hour",
        None,
        {"sum"},
    )
    assert stored[site_statistic_id(SITE, "production")]
    assert inverter_statistic_id("x") == f"{DOMAIN}:inverter_x_energy"


async def test_new_site_without_statuses_or_complete_days(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """No panel statuses yet, then no complete day yet: statistics only, no backfill."""
    site = simulator.site(1000001)
    site.start_date = site.today()  # commissioned today
    simulator.inject_fault("inverter_status_x", status=503)
    entry = await create_entry(hass, simulator)
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = _energy(entry)
    assert energy.data.inverter_status == {}
    first = energy.history.last_import
    assert first is not None
    assert set(first.rows_written.values()) == {1}  # today's row of each flow

    simulator.clear_faults()
    simulator.advance(900)
    await energy.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert energy.data.inverter_status
    assert _backfill_days(simulator) == set()
    assert energy.underperformance is None


def test_panel_health_views() -> None:
    """The sensor source: none before detection, flagged, judged, not judged."""
    assert panel_health(None, "A") is None
    day = date(2026, 3, 1)
    flagged = FlaggedPanel(
        serial="A",
        array_name="",
        days=4,
        first_day=day,
        last_day=day,
        deficit_pct=33.333,
        latest_deficit_pct=30.0,
    )
    result = DetectionResult(flagged={"A": flagged}, judged=frozenset({"A", "B"}), days=(day,))
    health = panel_health(result, "A")
    assert health is not None
    assert (health.flagged, health.judged, health.deficit_pct, health.days) == (True, True, 33.3, 4)
    assert health.array_name is None
    other = panel_health(result, "B")
    assert other is not None
    assert (other.flagged, other.judged, other.deficit_pct, other.days) == (False, True, None, 0)
    unknown = panel_health(result, "C")
    assert unknown is not None
    assert not unknown.judged


# Site noon (Australia/Sydney, UTC+10 in June): today's buckets grow on every refresh and
# the refreshes below stay within one site day whatever the hour the suite runs.
NOON = datetime(2026, 6, 15, 2, tzinfo=UTC)
NO_MICROS = {"device_families": ["ev", "battery"]}  # statistics only, no panel backfill


@pytest.fixture
async def noon_simulator(
    freezer: FrozenDateTimeFactory, socket_enabled: Any
) -> AsyncIterator[EnlightenSimulator]:
    """A simulator whose clock, like Home Assistant's, starts at the site's noon."""
    freezer.move_to(NOON)
    async with EnlightenSimulator(start=NOON) as sim:
        yield sim


async def _refresh_after(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    energy: EnergyCoordinator,
    seconds: float,
) -> ImportResult:
    """Let time pass, refresh the energy data and return what the sync imported."""
    simulator.advance(seconds)
    freezer.move_to(simulator.now)
    await energy.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    result = energy.history.last_import
    assert result is not None
    return result


async def _assert_full_rebuild(hass: HomeAssistant, energy: EnergyCoordinator) -> None:
    """The stored rows of every flow equal a full rebuild of the current payload."""
    lifetime = energy.data.lifetime
    assert lifetime is not None
    tz = energy.history.time_zone
    assert tz is not None
    ids = {site_statistic_id(SITE, flow): flow for flow in lifetime.series}
    await async_wait_recording_done(hass)
    stored = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        day_start(lifetime.start_date, tz),
        None,
        set(ids),
        "hour",
        None,
        {"state", "sum"},
    )
    assert energy.history.last_import is not None
    assert set(stored) == set(energy.history.last_import.statistic_ids)
    for statistic_id, rows in stored.items():
        full = lifetime_rows(lifetime.start_date, lifetime.series[ids[statistic_id]], tz)
        assert [row["start"] for row in rows] == [row["start"].timestamp() for row in full]
        assert [row["sum"] for row in rows] == pytest.approx([row.get("sum") for row in full])
        assert rows[-1]["sum"] == pytest.approx(
            sum(v or 0 for v in lifetime.series[ids[statistic_id]]) / 1000
        )


async def test_intraday_and_late_buckets_rewrite_from_the_changed_day(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    noon_simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After the first full import only the rows from the earliest changed day are written."""
    simulator = noon_simulator
    site = simulator.site(1000001)
    entry = await create_entry(hass, simulator, options=NO_MICROS)
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = _energy(entry)
    first = energy.history.last_import
    assert first is not None
    production = site_statistic_id(SITE, "production")
    days = first.rows_written[production]
    assert days >= 1000  # three years of history, written once

    # (a) A quarter of an hour later only today's buckets grew: one row per grown flow,
    # today's, continuing from the remembered sum of yesterday; nothing read back.
    today = site.today()
    intraday = await _refresh_after(hass, simulator, freezer, energy, 900)
    assert intraday.rows_read == 0
    assert production in intraday.rows_written
    assert set(intraday.rows_written.values()) == {1}
    assert set(intraday.rewritten_from.values()) == {today}
    assert intraday.total_rows <= len(first.statistic_ids)  # was: all rows rebuilt and read
    await _assert_full_rebuild(hass, energy)

    # (b) A bucket arrives late, four days back: production and consumption are
    # rewritten from that day on, the other flows only today.
    late = today - timedelta(days=4)
    site.extra_energy[late] = {"production": 2500.0, "consumption": 1200.0}
    revised = await _refresh_after(hass, simulator, freezer, energy, 900)
    consumption = site_statistic_id(SITE, "consumption")
    assert revised.rows_read == 0
    assert revised.rewritten_from[production] == late
    assert revised.rewritten_from[consumption] == late
    assert revised.rows_written[production] == revised.rows_written[consumption] == 5
    others = set(revised.rows_written) - {production, consumption}
    assert others
    assert {revised.rewritten_from[sid] for sid in others} == {today}
    await _assert_full_rebuild(hass, energy)

    # Nothing new: the same payload imports no rows.
    lifetime = energy.data.lifetime
    assert lifetime is not None
    await energy.history.async_run(lifetime)
    assert energy.history.last_import is not None
    assert energy.history.last_import.total_rows == 0


async def test_incremental_import_after_restart(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    noon_simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A new load has no memory: it checks the last stored days and sums as a full rebuild."""
    simulator = noon_simulator
    site = simulator.site(1000001)
    entry = await create_entry(hass, simulator, options=NO_MICROS)
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    before = _energy(entry).history
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    # Home Assistant is down for a day; meanwhile a bucket three days back is revised.
    simulator.advance(86400)
    freezer.move_to(simulator.now)
    today = site.today()
    site.revise_bucket(3, "production", 9_876)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = _energy(entry)
    assert energy.history is not before
    result = energy.history.last_import
    assert result is not None
    production = site_statistic_id(SITE, "production")
    flows = len(result.statistic_ids)
    assert 0 < result.rows_read <= flows * RESTART_CHECK_DAYS  # the last days, not years
    assert result.rewritten_from[production] == today - timedelta(days=3)
    assert result.rows_written[production] == 4
    # Yesterday's buckets were still growing when Home Assistant stopped (consumption
    # always does); today's are new.
    yesterday = today - timedelta(days=1)
    assert result.rewritten_from[site_statistic_id(SITE, "consumption")] == yesterday
    for statistic_id in set(result.rows_written) - {production}:
        assert result.rewritten_from[statistic_id] in (yesterday, today)
        assert (
            result.rows_written[statistic_id]
            == (today - result.rewritten_from[statistic_id]).days + 1
        )
    await _assert_full_rebuild(hass, energy)

    # From now on the memory is back: an intraday refresh reads nothing.
    intraday = await _refresh_after(hass, simulator, freezer, energy, 900)
    assert intraday.rows_read == 0
    assert set(intraday.rewritten_from.values()) == {today}
    await _assert_full_rebuild(hass, energy)


def _answer_without_panels(simulator: EnlightenSimulator, day: date) -> None:
    """The cloud answers the per-panel energy (2.14) of `day` with no panel at all."""
    iso = day.isoformat()
    simulator.inject_fault(
        f"inverter_data_x/energy.json?start_date={iso}&end_date={iso}",
        status=200,
        body=json.dumps({"production": {}, "start_date": iso, "end_date": iso}),
    )


def _asked(simulator: EnlightenSimulator, day: date) -> int:
    """How often the per-panel energy of that single day was asked for."""
    iso = day.isoformat()
    return sum(
        1
        for r in simulator.requests_to("inverter_data_x")
        if r.query.get("start_date") == iso == r.query.get("end_date")
    )


async def test_days_answered_without_panels_are_not_asked_every_sync(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """An empty answer is an answer: asked once, a recent day re-read once, kept over restarts."""
    site = simulator.site(1000001)
    window = backfill_window(simulator.now, site.tz, WINDOW)
    older, recent = window[-REFETCH_DAYS - 2], window[-1]
    for day in (older, recent):
        _answer_without_panels(simulator, day)
    simulator.clear_requests()
    entry = await _setup(hass, simulator)  # the first sync
    energy = _energy(entry)
    lifetime = energy.data.lifetime
    assert lifetime is not None
    assert (_asked(simulator, older), _asked(simulator, recent)) == (1, 1)
    for _sync in range(2):  # two more syncs: was one request per sync and day
        await energy.history.async_run(lifetime)
    assert _asked(simulator, older) == 1
    assert _asked(simulator, recent) == 2  # the late-upload re-read, once
    assert energy.underperformance is not None
    stored = hass_storage[history_store_key(SITE)]["data"]
    assert stored["empty_days"] == sorted([older.isoformat(), recent.isoformat()])
    assert stored["refetched"] == [recent.isoformat()]

    # After a restart neither day is asked for again, nor any other.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    simulator.clear_requests()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _energy(entry).history.last_import is not None
    assert _backfill_days(simulator) == set()


async def test_late_upload_of_an_empty_day_is_stored(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A recent day first answered without panels gets its data on the one re-read."""
    site = simulator.site(1000001)
    recent = backfill_window(simulator.now, site.tz, WINDOW)[-1]
    _answer_without_panels(simulator, recent)
    entry = await _setup(hass, simulator)
    serials = [inv.serial for inv in site.inverters]
    before = await async_get_panel_history(hass, serials, recent, recent, time_zone=site.tz)
    assert before[recent] == {}
    simulator.clear_faults()
    energy = _energy(entry)
    assert energy.data.lifetime is not None
    await energy.history.async_run(energy.data.lifetime)
    after = await async_get_panel_history(hass, serials, recent, recent, time_zone=site.tz)
    assert set(after[recent]) == set(serials)


async def test_stored_history_state_tolerates_bad_values(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """Unreadable stored days are dropped; the stored zone is used as it is."""
    hass_storage[history_store_key(SITE)] = {
        "version": 1,
        "key": history_store_key(SITE),
        "data": {"time_zone": "Asia/Kolkata", "empty_days": ["no", 5, None], "refetched": 7},
    }
    entry = await _setup(hass, simulator)
    history = _energy(entry).history
    assert str(history.time_zone) == "Asia/Kolkata"
    data = hass_storage[history_store_key(SITE)]["data"]
    assert data["time_zone"] == "Asia/Kolkata"
    assert data["empty_days"] == data["refetched"] == []


async def test_sync_and_actions_load_no_zone_in_the_event_loop(
    recorder_mock: Recorder, hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The zone is looked up asynchronously once; nothing history does loads one in the loop."""
    with ZoneLoadGuard() as guard:
        entry = await _setup(hass, simulator)
        energy = _energy(entry)
        assert energy.data.lifetime is not None
        simulator.advance(900)
        await energy.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
        await energy.history.async_run(energy.data.lifetime)
    assert energy.underperformance is not None
    assert energy.history.time_zone is not None
    assert guard.loads == []


async def test_debug_logs_name_panels_by_alias(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No microinverter serial in the history's debug logs; statistic ids carry aliases."""
    caplog.set_level(logging.DEBUG, "custom_components.enphase_enlighten")
    site = simulator.site(1000001)
    site.inverter_daily_factor[site.inverters[0].serial] = 0.5  # an issue is raised too
    recent = backfill_window(simulator.now, site.tz, WINDOW)[-1]
    _answer_without_panels(simulator, recent)
    entry = await _setup(hass, simulator)
    energy = _energy(entry)
    assert energy.data.lifetime is not None
    await energy.history.async_run(energy.data.lifetime)
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.enphase_enlighten.history")
    ]
    assert f"Writing {PANEL_BACKFILL_DAYS - 1} rows of {DOMAIN}:inverter_device_1_energy" in (
        messages
    )
    serials = {inv.serial for inv in site.inverters}
    assert not [m for m in messages if any(serial in m for serial in serials)]


# Cabin (1000002) has no battery and no charger, so its zone (America/Denver) is only
# known from the events feed; until then the coordinator reports Home Assistant's.
CABIN = "1000002"


async def _stored_rows(
    hass: HomeAssistant, statistic_ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    await async_wait_recording_done(hass)
    rows: dict[str, list[dict[str, Any]]] = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        statistic_ids,
        "hour",
        None,
        {"state", "sum"},
    )
    return rows


def _midnights(first: date, last: date, tz: Any) -> set[float]:
    return {
        day_start(first + timedelta(days=i), tz).timestamp() for i in range((last - first).days + 1)
    }


async def _assert_rows_in_zone(
    hass: HomeAssistant, energy: EnergyCoordinator, serials: list[str], tz: Any
) -> dict[str, list[dict[str, Any]]]:
    """Every site and panel row starts at a midnight of `tz`; sums run on without a jump."""
    lifetime = energy.data.lifetime
    assert lifetime is not None
    ids = {site_statistic_id(CABIN, flow) for flow in lifetime.series}
    ids |= {inverter_statistic_id(serial) for serial in serials}
    stored = await _stored_rows(hass, ids)
    midnights = _midnights(lifetime.start_date - timedelta(days=1), date.today() + timedelta(1), tz)
    production = site_statistic_id(CABIN, "production")
    assert len(stored[production]) > 300
    for statistic_id, rows in stored.items():
        assert {row["start"] for row in rows} <= midnights, statistic_id
        assert rows[0]["sum"] == pytest.approx(rows[0]["state"])
        for before, row in itertools.pairwise(rows):
            assert row["sum"] - before["sum"] == pytest.approx(row["state"], abs=1e-6)
    full = lifetime_rows(lifetime.start_date, lifetime.series["production"], tz)
    assert [row["start"] for row in stored[production]] == [
        row["start"].timestamp() for row in full
    ]
    assert stored[production][-1]["sum"] == pytest.approx(full[-1].get("sum"))
    return stored


async def test_statistics_keep_their_zone_until_migrated(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    noon_simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """First import in zone A; the coordinator then learns zone B: rows stay at A's midnights.

    Only the explicit migration moves them (cleared, imported again at B's midnights).
    """
    simulator = noon_simulator
    site = simulator.site(CABIN)
    serials = sorted(inv.serial for inv in site.inverters)
    simulator.inject_fault("events/homeowner", status=503)
    entry = await _setup(hass, simulator, CABIN)
    energy = _energy(entry)
    zone_a = energy.history.time_zone
    assert zone_a is not None
    assert str(zone_a) == hass.config.time_zone != site.timezone
    zone_b = site.tz
    assert day_start(date.today(), zone_a) != day_start(date.today(), zone_b)
    await _assert_rows_in_zone(hass, energy, serials, zone_a)
    assert hass_storage[history_store_key(CABIN)]["data"]["time_zone"] == str(zone_a)

    # The events feed answers now: the coordinator reports B, the statistics stay in A.
    simulator.clear_faults()
    result = await _refresh_after(hass, simulator, freezer, energy, 900)
    assert energy.timezone == site.timezone
    assert energy.history.time_zone is zone_a
    assert set(result.rows_written.values()) == {1}  # today's rows only, at A's midnight
    await _assert_rows_in_zone(hass, energy, serials, zone_a)

    # A restart: the coordinator knows B from the start, the statistics keep A.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    simulator.advance(900)
    freezer.move_to(simulator.now)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = _energy(entry)
    assert energy.timezone == site.timezone
    assert str(energy.history.time_zone) == str(zone_a)
    last = energy.history.last_import
    assert last is not None
    assert last.total_rows <= len(last.statistic_ids) * 2  # yesterday/today, not years
    panels_a = await async_get_panel_history(
        hass, serials, date.today() - timedelta(days=40), date.today(), time_zone=zone_a
    )
    await _assert_rows_in_zone(hass, energy, serials, zone_a)

    # The migration: everything cleared and imported again at B's midnights.
    moved = await energy.history.async_migrate_time_zone()
    assert moved is not None
    assert (moved.old_zone, moved.new_zone) == (str(zone_a), site.timezone)
    assert moved.lifetime.rows_written[site_statistic_id(CABIN, "production")] > 300
    assert moved.panels.total_rows == sum(len(day) for day in panels_a.values())
    assert str(energy.history.time_zone) == site.timezone
    assert hass_storage[history_store_key(CABIN)]["data"]["time_zone"] == site.timezone
    await _assert_rows_in_zone(hass, energy, serials, zone_b)
    panels_b = await async_get_panel_history(
        hass, serials, date.today() - timedelta(days=40), date.today(), time_zone=zone_b
    )
    assert panels_b == panels_a
    assert await energy.history.async_migrate_time_zone(site.timezone) is None

    # From here on the syncs write in B: today's rows only.
    after = await _refresh_after(hass, simulator, freezer, energy, 900)
    assert set(after.rows_written.values()) == {1}
    await _assert_rows_in_zone(hass, energy, serials, zone_b)
