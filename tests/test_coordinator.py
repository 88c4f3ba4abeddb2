"""Coordinator behaviour against the simulator: partial failures, errors, cadence, energy."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.enphase_enlighten.api import AuthError, EnlightenClient
from custom_components.enphase_enlighten.const import DOMAIN, EV_FAST_INTERVAL
from scripts.bench_lib.harness import SITE_FULL, LocalSim, start_at_site_morning
from tests.helpers import create_entry, setup_integration
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

EV_SN = "EV0000000001"


async def _full_site(hass: HomeAssistant, simulator: EnlightenSimulator) -> MockConfigEntry:
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    return entry


async def test_failing_optional_endpoint_keeps_the_rest(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """One failing site endpoint keeps its previous data; the others update."""
    entry = await _full_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    before = site.data
    assert before.battery_status is not None
    assert before.profile is not None
    assert before.profile.profile == "self-consumption"

    battery = simulator.site(1000001).battery
    assert battery is not None
    battery.profile = "backup_only"
    battery.reserve = 100
    simulator.inject_fault("battery_status.json", status=503)
    simulator.clear_requests()
    await site.async_refresh()
    assert site.last_update_success
    assert simulator.requests_to("battery_status.json")
    assert site.data.battery_status == before.battery_status
    assert site.data.profile is not None
    assert site.data.profile.profile == "backup_only"
    # The energy sensors (another coordinator) are unaffected.
    state = hass.states.get("sensor.demo_home_lifetime_production")
    assert state is not None
    assert state.state != "unavailable"


async def test_all_endpoints_failing_fails_the_refresh(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When every endpoint of a refresh fails, the refresh fails."""
    entry = await _full_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    for path in ("battery_status", "batteryConfig", "grid_control_check", "off_grid"):
        simulator.inject_fault(path, status=502)
    await site.async_refresh()
    assert not site.last_update_success
    assert isinstance(site.last_exception, UpdateFailed)
    assert site.last_exception.translation_key == "service_unavailable"
    simulator.clear_faults()
    await site.async_refresh()
    assert site.last_update_success


async def test_rate_limit_sets_retry_after(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A 429 fails the refresh with the server's Retry-After."""
    entry = await _full_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    simulator.inject_fault("ev_chargers/status", status=429, headers={"Retry-After": "120"})
    await ev.async_refresh()
    assert not ev.last_update_success
    assert isinstance(ev.last_exception, UpdateFailed)
    assert ev.last_exception.retry_after == 120
    assert ev.last_exception.translation_key == "rate_limited"


async def test_rate_limit_in_one_part_fails_refresh(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A 429 on any endpoint backs off the whole refresh."""
    entry = await _full_site(hass, simulator)
    inventory = entry.runtime_data.inventory
    simulator.inject_fault("battery_backup_history", status=429)
    await inventory.async_refresh()
    assert not inventory.last_update_success
    assert isinstance(inventory.last_exception, UpdateFailed)
    assert inventory.last_exception.translation_key == "rate_limited"


async def test_invalid_response(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A malformed answer is reported with its own translation key."""
    entry = await _full_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    simulator.inject_fault("ev_chargers/status", status=200, body="[]")
    await ev.async_refresh()
    assert isinstance(ev.last_exception, UpdateFailed)
    assert ev.last_exception.translation_key == "invalid_response"


async def test_auth_error_in_a_part_starts_reauth(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """An auth failure in one part of a refresh starts reauthentication."""
    entry = await create_entry(hass, simulator, store_password=False)
    assert await setup_integration(hass, entry)
    site = entry.runtime_data.site
    assert site is not None
    simulator.inject_fault("stormAlert", status=401, body='{"message": "Not Authorized"}')
    await site.async_refresh()
    await hass.async_block_till_done()
    assert not site.last_update_success
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


async def test_ev_cadence(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Idle 60 s; 15 s while charging, after a command and during a live stream."""
    entry = await _full_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    idle = timedelta(seconds=60)
    assert ev.update_interval == idle
    assert ev.data.chargers[EV_SN].plugged_in
    assert not ev.data.fast_polling

    charger = simulator.site(1000001).chargers[EV_SN]
    charger.charging = True
    simulator.advance(1)
    await ev.async_refresh()
    assert ev.data.chargers[EV_SN].charging
    assert ev.data.fast_polling
    assert ev.update_interval == EV_FAST_INTERVAL

    charger.charging = False
    simulator.advance(1)
    await ev.async_refresh()
    assert ev.update_interval == idle

    ev.boost()
    assert ev.update_interval == EV_FAST_INTERVAL
    await ev.async_refresh()
    assert ev.data.fast_polling
    freezer.tick(timedelta(minutes=6))
    await ev.async_refresh()
    assert ev.update_interval == idle

    await ev.async_start_live_stream()
    assert ev.update_interval == EV_FAST_INTERVAL
    await ev.async_refresh()
    assert ev.data.live_stream_until is not None
    await ev.async_stop_live_stream()
    await ev.async_refresh()
    assert ev.update_interval == idle
    assert ev.data.live_stream_until is None


async def test_fixed_cadences_are_staggered(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Cadences are not options: stored interval options are ignored, and the first
    scheduled refresh of each cadence is put off by its own phase."""
    options = {"ev_interval": 120, "site_interval": 600}
    entry = await create_entry(hass, simulator, options=options)
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    assert runtime.ev is not None
    assert runtime.site is not None
    assert runtime.ev_settings is not None
    assert runtime.ev.update_interval == timedelta(seconds=60)
    assert runtime.site.nominal_interval == timedelta(seconds=300)
    assert runtime.energy.nominal_interval == timedelta(seconds=900)
    assert runtime.inventory.nominal_interval == timedelta(seconds=900)
    firsts = {
        c.name: c.update_interval - c.nominal_interval
        for c in (runtime.site, runtime.ev_settings, runtime.energy, runtime.inventory)
    }
    assert len(set(firsts.values())) == len(firsts)
    assert all(phase > timedelta() for phase in firsts.values())
    # Each phase is no multiple of the fast EV cadence, so they miss its polls too.
    assert all(phase % timedelta(seconds=15) for phase in firsts.values())


async def test_energy_never_goes_backwards(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Lower or broken lifetime data never lowers a total."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    totals_before = energy.data.totals
    totals = totals_before["production"]
    assert totals.lifetime_kwh is not None
    assert totals.today_kwh is not None
    lifetime = totals.lifetime_kwh
    state = hass.states.get("sensor.demo_home_lifetime_production")
    assert state is not None
    shown = float(state.state)

    today = energy.data.site_date.isoformat()
    truncated = {
        "system_id": 1000001,
        "start_date": today,
        "last_report_date": 0,
        "production": [1.0, None, "NaN"],
        "consumption": [None],
    }
    simulator.inject_fault("lifetime_energy", status=200, body=json.dumps(truncated))
    await energy.async_refresh()
    await hass.async_block_till_done()
    assert energy.last_update_success
    assert energy.data.totals["production"].lifetime_kwh == lifetime
    assert energy.data.totals["production"].today_kwh == totals.today_kwh
    # A flow missing from the payload keeps its last totals.
    assert energy.data.totals["consumption"] == totals_before["consumption"]
    state = hass.states.get("sensor.demo_home_lifetime_production")
    assert state is not None
    assert float(state.state) == shown

    simulator.clear_faults()
    simulator.advance(3600)
    await energy.async_refresh()
    assert energy.data.totals["production"].lifetime_kwh >= lifetime


async def test_energy_guard_survives_restart(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The last totals are persisted, so a lower total after a restart is ignored."""
    entry = await _full_site(hass, simulator)
    lifetime = entry.runtime_data.energy.data.totals["production"].lifetime_kwh
    assert lifetime is not None
    today = entry.runtime_data.energy.data.site_date.isoformat()
    small = {"start_date": today, "production": [5.0]}
    simulator.inject_fault("lifetime_energy", status=200, body=json.dumps(small))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.energy.data.totals["production"].lifetime_kwh == lifetime


async def test_inverter_today_guard_survives_restart(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Today's per-inverter energy is persisted: a dip after a restart is no reset."""
    await start_at_site_morning(LocalSim(simulator), freezer, SITE_FULL)
    freezer.tick(timedelta(hours=3))
    simulator.advance(3 * 3600)
    entry = await _full_site(hass, simulator)
    data = entry.runtime_data.energy.data
    serial, wh = next((s, v) for s, v in sorted(data.inverter_today_wh.items()) if v > 0)
    inverter_id = data.inverter_status[serial].inverter_id
    today = data.site_date.isoformat()
    lower = {"production": {inverter_id: wh / 2}, "start_date": today, "end_date": today}
    simulator.inject_fault("inverter_data_x", status=200, body=json.dumps(lower))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.energy.data.inverter_today_wh[serial] == wh


async def test_today_window_in_site_timezone(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Today's inverter energy is a single-day window of the site's local date."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    site_today = simulator.site(1000001).today().isoformat()
    assert energy.data.site_date.isoformat() == site_today
    windows = [r.query for r in simulator.requests_to("inverter_data_x")]
    assert {"start_date": site_today, "end_date": site_today} in [
        {k: q[k] for k in ("start_date", "end_date")} for q in windows
    ]
    data = energy.data
    assert len(data.inverter_today_wh) == 16
    assert set(data.inverter_today_wh) == set(entry.runtime_data.inventory.data.inverters)
    assert set(data.inverter_lifetime_wh) == set(data.inverter_today_wh)
    assert set(data.inverter_status) == set(data.inverter_today_wh)


async def test_inverter_parts_fail_keep_previous(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Failing inverter endpoints keep the previous inverter data."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    before = energy.data
    simulator.inject_fault("inverter_data_x", status=503)
    simulator.inject_fault("inverter_status_x", status=503)
    await energy.async_refresh()
    assert energy.last_update_success
    assert energy.data.inverter_today_wh == before.inverter_today_wh
    assert energy.data.inverter_lifetime_wh == before.inverter_lifetime_wh
    assert energy.data.inverter_status == before.inverter_status


async def test_events_are_not_replayed(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Existing events are not new; a new one is reported once; a restart replays nothing."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    assert energy.data.events
    assert energy.data.new_events == ()

    site = simulator.site(1000001)
    site.add_event("evse_unplugged", EV_SN, "IQ EV Charger", at=simulator.now)
    await energy.async_refresh()
    assert [e.event_key for e in energy.data.new_events] == ["evse_unplugged"]
    await energy.async_refresh()
    assert energy.data.new_events == ()

    site.add_event("evse_plugged_in", EV_SN, "IQ EV Charger", at=simulator.now)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    energy = entry.runtime_data.energy
    assert [e.event_key for e in energy.data.new_events] == ["evse_plugged_in"]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.energy.data.new_events == ()


async def test_many_new_events_page_through(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When a whole page is new, the next page is read too (bounded)."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    site = simulator.site(1000001)
    for _ in range(40):
        site.add_event("evse_plugged_in", EV_SN, "IQ EV Charger", at=simulator.now)
    simulator.clear_requests()
    await energy.async_refresh()
    assert len(simulator.requests_to("events/homeowner")) >= 2
    assert len(energy.data.new_events) == 40
    stamps = [e.date for e in energy.data.new_events]
    assert stamps == sorted(stamps)


async def test_events_failure_keeps_previous(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A failing events endpoint keeps the last page and reports nothing new."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    events = energy.data.events
    simulator.inject_fault("events/homeowner", status=503)
    await energy.async_refresh()
    assert energy.last_update_success
    assert energy.data.events == events
    assert energy.data.new_events == ()


async def test_micros_only_timezone_from_events(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Without site settings, the site time zone comes from the events feed."""
    entry = await create_entry(
        hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id="1000002"
    )
    assert await setup_integration(hass, entry)
    energy = entry.runtime_data.energy
    assert entry.runtime_data.capabilities.timezone is None
    await energy.async_refresh()
    assert energy.timezone == simulator.site(1000002).timezone
    assert energy.data.site_date == simulator.site(1000002).today()


async def test_inventory_refresh(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The inventory holds devices, paged inverters, chargers and backup history."""
    entry = await _full_site(hass, simulator)
    inventory = entry.runtime_data.inventory
    simulator.clear_requests()
    await inventory.async_refresh()
    data = inventory.data
    assert data.devices is not None
    assert [g.serial for g in data.devices.gateways] == ["GW0000000001"]
    assert len(data.inverters) == 16
    assert list(data.chargers) == [EV_SN]
    assert data.backup_history is not None
    assert simulator.requests_to("devices.json")
    assert simulator.requests_to("ev_chargers/summary")


async def test_large_site_pages_inverters(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A 100-inverter site gets every inverter."""
    entry = await create_entry(
        hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id="1000004"
    )
    assert await setup_integration(hass, entry)
    assert len(entry.runtime_data.inventory.data.inverters) == 100


async def test_legacy_site(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The legacy-shape site has a charger but no battery."""
    entry = await create_entry(
        hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id="1000003"
    )
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    assert runtime.site is None
    assert runtime.ev is not None
    assert runtime.ev.data.legacy_shape
    assert len(runtime.ev.data.chargers) == 1
    assert runtime.capabilities.has_charger
    assert not runtime.capabilities.has_battery


async def test_scheduled_refresh_after_interval(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Coordinators with listeners poll again once their interval has passed; the
    hourly inventory parts come when they are due, not with every 15-minute run."""
    await _full_site(hass, simulator)
    simulator.clear_requests()
    for _ in range(4):
        freezer.tick(timedelta(seconds=240))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests_to("lifetime_energy")
    assert not simulator.requests_to("devices.json")
    for _ in range(12):
        freezer.tick(timedelta(seconds=300))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert len(simulator.requests_to("devices.json")) == 1


async def test_ev_boost_reschedules(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Boosting a polled coordinator reschedules its next refresh at the fast cadence."""
    entry = await _full_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    unsub = ev.async_add_listener(lambda: None)
    ev.boost()
    ev.boost()
    assert ev.update_interval == EV_FAST_INTERVAL
    # As the controls do after a command: the refresh they ask for keeps the fast cadence.
    await ev.async_request_refresh()
    simulator.clear_requests()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=16))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests_to("ev_chargers/status")
    unsub()


async def test_first_refresh_without_lifetime_energy(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A failing lifetime endpoint at setup still loads the entry with the other parts."""
    entry = await create_entry(hass, simulator)
    simulator.inject_fault("lifetime_energy", status=503)
    simulator.inject_fault("events/homeowner", status=200, body='{"events": []}')
    assert await setup_integration(hass, entry)
    energy = entry.runtime_data.energy
    assert energy.data.lifetime is None
    assert energy.data.totals == {}
    assert energy.data.inverter_today_wh
    assert hass.states.get("sensor.demo_home_lifetime_production") is None

    simulator.clear_faults()
    simulator.site(1000001).add_event(
        "evse_unplugged", EV_SN, "IQ EV Charger", at=dt_util.utcnow() + timedelta(minutes=1)
    )
    await energy.async_refresh()
    refreshed = energy.data
    assert refreshed.lifetime is not None
    # The first event page was empty: older events are not replayed, newer ones are new.
    assert [e.event_key for e in refreshed.new_events] == ["evse_unplugged"]


async def test_lifetime_failure_keeps_previous(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A failing lifetime endpoint keeps the previous buckets and totals."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    before = energy.data
    simulator.inject_fault("lifetime_energy", status=503)
    await energy.async_refresh()
    assert energy.last_update_success
    assert energy.data.lifetime == before.lifetime
    assert energy.data.totals == before.totals


async def test_auth_error_in_inverter_lifetime(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """An auth failure in the second-stage lifetime inverter read still fails the refresh."""
    entry = await _full_site(hass, simulator)
    energy = entry.runtime_data.energy
    today = energy.data.inverter_today_wh
    ids = {s.serial: s.inverter_id for s in energy.data.inverter_status.values()}
    by_id = {ids[serial]: value for serial, value in today.items()}
    # Closed days are read once per site day: make the next refresh read them again.
    energy._closed_days_read_on = None
    with patch.object(EnlightenClient, "inverter_energy", side_effect=[by_id, AuthError("lost")]):
        await energy.async_refresh()
    assert not energy.last_update_success


async def test_unexpected_exception_in_a_part(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A programming error in a part is not swallowed as a partial failure."""
    entry = await _full_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    with patch.object(EnlightenClient, "storm_alert", side_effect=RuntimeError("bug")):
        await site.async_refresh()
    assert not site.last_update_success
    assert isinstance(site.last_exception, RuntimeError)


async def test_new_hardware_kind_reloads(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A charger appearing in the inventory reloads the entry once to add it."""
    entry = await create_entry(
        hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id="1000002"
    )
    assert await setup_integration(hass, entry)
    assert not entry.runtime_data.capabilities.has_charger
    devices = {
        "result": [
            {"type": "envoy", "devices": [{"serial_number": "GW0000000002", "name": "IQ Gateway"}]},
            {"type": "iqevse", "devices": [{"serial_number": "EV0000000009", "name": "New"}]},
        ]
    }
    simulator.inject_fault("devices.json", status=200, body=json.dumps(devices))
    inventory = entry.runtime_data.inventory
    await inventory.async_refresh()
    await hass.async_block_till_done()
    assert entry.runtime_data.inventory is not inventory
    assert entry.runtime_data.capabilities.inventory.chargers
    # The summary still lists no charger, so there is nothing to poll and no reload loop.
    assert entry.runtime_data.ev is None
    reloaded = entry.runtime_data.inventory
    await reloaded.async_refresh()
    await hass.async_block_till_done()
    assert entry.runtime_data.inventory is reloaded


async def test_failing_charger_setting_is_not_silent(
    hass: HomeAssistant, simulator: EnlightenSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A charger setting that keeps failing is recorded on its part, its control goes
    unavailable with a warning, and it comes back when the endpoint does."""
    entry = await _full_site(hass, simulator)
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    mode = er.async_get(hass).async_get_entity_id("select", DOMAIN, f"{EV_SN}_charge_mode")
    assert mode is not None
    assert hass.states.get(mode).state != STATE_UNAVAILABLE
    simulator.inject_fault("preference", status=503)
    for _ in range(3):
        await settings.async_refresh()
    await hass.async_block_till_done()
    part = next(p for name, p in settings.parts.items() if name.endswith("|mode"))
    assert part.failures == 3
    assert part.last_error
    assert not settings.part_fresh(part.name)
    assert hass.states.get(mode).state == STATE_UNAVAILABLE
    assert "mode of enphase_enlighten ev_settings has not been read" in caplog.text
    simulator.clear_faults()
    await settings.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(mode).state != STATE_UNAVAILABLE
    assert "mode of enphase_enlighten ev_settings is read again" in caplog.text
