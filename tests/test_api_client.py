"""Every endpoint method of EnlightenClient against the running simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest

from custom_components.enphase_enlighten.api import (
    CommandRejected,
    EnlightenClient,
    ForbiddenError,
    LiveStreamNotSupported,
    NotFoundError,
    ScheduleSlot,
)
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator, RecordedRequest

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL, MICROS, LEGACY, LARGE = "1000001", "1000002", "1000003", "1000004"
EV = "EV0000000001"


@pytest.fixture
async def client(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> AsyncIterator[EnlightenClient]:
    """A logged-in client of the account that sees all four sites."""
    api = EnlightenClient(client_session, MULTI_EMAIL, MULTI_PASSWORD, base_url=simulator.url)
    await api.login()
    simulator.clear_requests()
    yield api


def last(simulator: EnlightenSimulator, fragment: str) -> RecordedRequest:
    """The last recorded request whose path contains ``fragment``."""
    return [r for r in simulator.requests if fragment in r.path][-1]


async def test_search_sites(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """All sites of the account, ids as strings."""
    sites = await client.search_sites()
    assert [s.site_id for s in sites] == [FULL, MICROS, LEGACY, LARGE]
    assert sites[0].name == "Demo Home"
    request = last(simulator, "search_sites")
    assert request.query == {"searchText": "", "favourite": "false"}
    assert request.headers["e-auth-token"] == client.session_id
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"
    assert "_enlighten_4_session=" in request.headers["Cookie"]


async def test_ev_status_both_shapes(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """Modern and legacy status shapes; a site without charger has none."""
    simulator.site(FULL).chargers[EV].plugged_in = True
    status = await client.ev_status(FULL)
    assert not status.legacy
    charger = status.get(EV)
    assert charger is not None
    assert charger.plugged_in is True
    assert charger.connector_status in {"SUSPENDED_EVSE", "SUSPENDED_EV", "CHARGING"}
    assert charger.safe_limit_state is not None
    assert charger.last_reported is not None
    legacy = await client.ev_status(LEGACY)
    assert legacy.legacy
    assert len(legacy.chargers) == 1
    micros = await client.ev_status(MICROS)
    assert micros.chargers == []


async def test_ev_summary(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """List and per-charger summaries."""
    summaries = await client.ev_summary(FULL)
    assert [s.serial for s in summaries] == [EV]
    assert summaries[0].charge_min is not None and summaries[0].charge_max is not None
    assert last(simulator, "summary").query == {"filter_retired": "true"}
    one = await client.ev_charger_summary(FULL, EV)
    assert one.serial == EV
    assert one.supports_use_battery is not None
    assert one.operating_voltage
    assert await client.ev_summary(MICROS) == []


async def test_live_stream(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Start/stop the live stream; a site without charger cannot."""
    stream = await client.start_live_stream(FULL)
    assert stream.status == "accepted"
    assert stream.duration_s == 900
    assert simulator.site(FULL).live_stream_until is not None
    await client.stop_live_stream(FULL)
    assert simulator.site(FULL).live_stream_until is None
    with pytest.raises(LiveStreamNotSupported):
        await client.start_live_stream(MICROS)


async def test_session_auth(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Read and change the app/RFID session authentication settings."""
    items = await client.session_auth(FULL, EV)
    assert {i.key for i in items} == {"rfidSessionAuthentication", "sessionAuthentication"}
    request = last(simulator, "ev_charger_config")
    assert request.headers["Authorization"] == f"Bearer {client.export_session()['manager_token']}"
    assert json.loads(request.body) == [
        {"key": "rfidSessionAuthentication"},
        {"key": "sessionAuthentication"},
    ]
    updated = await client.set_session_auth(FULL, EV, "sessionAuthentication", True)
    assert updated[0].requested_value == "enabled"
    assert json.loads(last(simulator, "ev_charger_config").body) == [
        {"key": "sessionAuthentication", "value": "enabled"}
    ]
    assert simulator.site(FULL).chargers[EV].session_auth == "enabled"
    await client.set_session_auth(FULL, EV, "rfidSessionAuthentication", False)
    assert simulator.site(FULL).chargers[EV].rfid_auth == "disabled"
    with pytest.raises(ValueError, match="unknown"):
        await client.set_session_auth(FULL, EV, "bogus", True)


async def test_session_history(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Filter criteria and a page of sessions with DD-MM-YYYY dates and headers."""
    criteria = await client.session_filter_criteria(FULL)
    assert [c["id"] for c in criteria] == [EV]
    request = last(simulator, "filter_criteria")
    assert request.query["source"] == "evse"
    assert request.query["username"] == client.user_id
    assert request.headers["username"] == client.user_id
    assert request.headers["requestid"]
    today = simulator.now.date()
    page = await client.session_history(
        FULL, EV, today - timedelta(days=60), today, limit=5, timezone="Europe/Paris"
    )
    body = json.loads(last(simulator, "history").body)
    assert body["source"] == "evse"
    assert body["params"]["startDate"] == (today - timedelta(days=60)).strftime("%d-%m-%Y")
    assert body["params"]["limit"] == 5
    assert body["params"]["timezone"] == "Europe/Paris"
    assert len(page.sessions) <= 5
    for session in page.sessions:
        assert session.energy_kwh is not None
        assert session.start is not None
    if page.has_more:
        second = await client.session_history(
            FULL, EV, today - timedelta(days=60), today, offset=5, limit=5
        )
        assert second.offset == 5
    assert await client.session_filter_criteria(MICROS) == []


async def test_ev_controls(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Start (with amps) and stop charging; unplugged and bad amps are rejected."""
    charger = simulator.site(FULL).chargers[EV]
    charger.plugged_in = False
    with pytest.raises(CommandRejected) as rejected:
        await client.start_charging(FULL, EV, 16)
    assert rejected.value.status == 409
    charger.plugged_in = True
    simulator.clear_requests()
    await client.start_charging(FULL, EV, 16)
    start = last(simulator, "start_charging")
    assert start.method == "POST"
    assert "/ev_chargers/" in start.path
    assert json.loads(start.body) == {"chargingLevel": 16, "connectorId": 1}
    simulator.advance(30)
    assert (await client.ev_status(FULL)).chargers[0].charging is True
    await client.stop_charging(FULL, EV)
    stop = last(simulator, "stop_charging")
    assert stop.method == "PUT"
    await client.start_charging(FULL, EV)
    assert json.loads(last(simulator, "start_charging").body) == {"connectorId": 1}
    with pytest.raises(CommandRejected) as bad_amps:
        await client.start_charging(FULL, EV, 99)
    assert bad_amps.value.status == 400


async def test_trigger_message(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """OCPP trigger message."""
    answer = await client.trigger_message(FULL, EV, "MeterValues")
    assert answer["status"] == "accepted"
    assert simulator.site(FULL).chargers[EV].last_trigger == "MeterValues"
    assert "/ev_charger/" in last(simulator, "trigger_message").path
    with pytest.raises(CommandRejected):
        await client.trigger_message(FULL, EV, "Nonsense")


async def test_charge_mode(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Read and set the charge mode and the green use-battery flag."""
    assert await client.charge_mode(FULL, EV) == "MANUAL_CHARGING"
    assert last(simulator, "preference").headers["Authorization"].startswith("Bearer ")
    await client.set_charge_mode(FULL, EV, "GREEN_CHARGING")
    assert json.loads(last(simulator, "preference").body) == {"mode": "GREEN_CHARGING"}
    assert await client.charge_mode(FULL, EV) == "GREEN_CHARGING"
    with pytest.raises(ValueError, match="charge mode"):
        await client.set_charge_mode(FULL, EV, "TURBO")
    assert await client.green_use_battery(FULL, EV) is True
    await client.set_green_use_battery(FULL, EV, False)
    body = json.loads(last(simulator, "settings").body)
    assert body["chargerSettingList"][0]["chargerSettingName"] == (
        "USE_BATTERY_FOR_SELF_CONSUMPTION"
    )
    assert await client.green_use_battery(FULL, EV) is False


async def test_schedules_round_trip(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Schedules read, edited and written back in full."""
    schedules = await client.schedules(FULL, EV)
    assert schedules.config
    slots = schedules.slots
    custom = ScheduleSlot(
        id=None,
        schedule_type="CUSTOM",
        start_time="22:00",
        end_time="05:30",
        charging_level=16,
        charging_level_amp=16,
        days=[1, 2, 3],
        enabled=True,
    )
    await client.set_schedules(FULL, EV, [*slots, custom])
    body = json.loads(last(simulator, "schedules").body)
    assert body["meta"]["rowCount"] == len(slots) + 1
    assert body["data"][-1]["startTime"] == "22:00"
    again = await client.schedules(FULL, EV)
    assert len(again.slots) == len(slots) + 1
    added = again.slots[-1]
    assert added.id is not None
    assert (added.start_time, added.end_time, added.days) == ("22:00", "05:30", [1, 2, 3])
    await client.set_schedules(FULL, EV, [replace(added, enabled=False)])
    final = await client.schedules(FULL, EV)
    assert [s.enabled for s in final.slots] == [False]
    with pytest.raises(CommandRejected):
        await client.set_schedules(FULL, EV, [replace(added, start_time="25:99")])


async def test_site_endpoints(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Lifetime energy, devices, events (paged), backup history."""
    energy = await client.lifetime_energy(FULL)
    assert "production" in energy.series
    assert energy.latest() is not None
    micros_energy = await client.lifetime_energy(MICROS)
    assert "charge" not in micros_energy.series  # all-null flows count as absent
    inventory = await client.devices(FULL)
    assert len(inventory.gateways) == 1
    assert len(inventory.batteries) == 2
    assert len(inventory.controllers) == 1
    assert len(inventory.meters) == 2
    assert len(inventory.chargers) == 1
    assert inventory.site_date is not None
    micros_inventory = await client.devices(MICROS)
    assert micros_inventory.batteries == micros_inventory.chargers == []
    first = await client.events(FULL, page_size=2)
    assert len(first.events) <= 2
    request = last(simulator, "homeowner")
    assert request.query["page_size"] == "2"
    assert "next" not in request.query
    if first.next_cursor:
        second = await client.events(FULL, first.next_cursor, page_size=2)
        assert last(simulator, "homeowner").query["next"] == first.next_cursor
        assert {e.id for e in second.events}.isdisjoint({e.id for e in first.events})
    history = await client.backup_history(FULL)
    assert history.total_records == len(history.events)


async def test_inverters(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Inventory pages, all_inverters, energy and the micro-only status map."""
    page = await client.inverters(FULL, limit=5, offset=2, search="")
    assert page.total == 16
    assert len(page.inverters) == 5
    assert last(simulator, "inverters.json").query == {
        "limit": "5",
        "offset": "2",
        "search": "",
    }
    everything = await client.all_inverters(LARGE, page_size=30)
    assert len(everything.inverters) == 100
    assert len({i.serial for i in everything.inverters}) == 100
    assert sum(1 for r in simulator.requests if "inverters.json" in r.path) == 1 + 4
    north = await client.inverters(FULL, search="north")
    assert north.total == 8
    today = simulator.now.date()
    produced = await client.inverter_energy(FULL, today - timedelta(days=1), today)
    request = last(simulator, "energy.json")
    assert request.query == {
        "start_date": (today - timedelta(days=1)).isoformat(),
        "end_date": today.isoformat(),
    }
    statuses = await client.inverter_status(FULL)
    assert len(statuses) == 16
    assert set(produced) <= set(statuses) | set(produced)
    assert {s.serial for s in statuses.values()} == {
        i.serial for i in (await client.all_inverters(FULL)).inverters
    }


async def test_battery_status(client: EnlightenClient) -> None:
    """Battery card with percent strings normalised."""
    status = await client.battery_status(FULL)
    assert status.current_charge_pct is not None
    assert 0 <= status.current_charge_pct <= 100
    assert len(status.storages) == 2
    assert status.storages[0].soh_pct is not None


async def test_battery_config(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Site settings, profile (pending, cancel, apply), settings and storm guard."""
    settings = await client.site_settings(FULL)
    assert settings.has_encharge and settings.has_enpower
    request = last(simulator, "siteSettings")
    assert request.query == {"userId": client.user_id}
    assert request.headers["Username"] == client.user_id
    assert not (await client.site_settings(MICROS)).has_encharge

    profile = await client.profile(FULL)
    assert profile.profile == "self-consumption"
    assert not profile.has_pending_change
    await client.set_profile(FULL, "backup_only", 100)
    request = last(simulator, "profile")
    assert request.method == "PUT"
    assert request.headers["X-XSRF-Token"]
    assert json.loads(request.body) == {"profile": "backup_only", "batteryBackupPercentage": 100}
    pending = await client.profile(FULL)
    assert pending.pending_profile == "backup_only"
    await client.cancel_profile_change(FULL)
    assert json.loads(last(simulator, "cancel").body) == {}
    assert not (await client.profile(FULL)).has_pending_change
    await client.set_profile(
        FULL, "cost_savings", 30, operation_mode_sub_type="prioritize-energy", devices=[]
    )
    simulator.advance(120)
    applied = await client.profile(FULL)
    assert (applied.profile, applied.reserve) == ("cost_savings", 30.0)
    with pytest.raises(ValueError, match="reserve"):
        await client.set_profile(FULL, "self-consumption", 101)
    with pytest.raises(CommandRejected):
        await client.set_profile(FULL, "self-consumption", 5)

    battery = await client.battery_settings(FULL)
    assert battery.very_low_soc is not None
    await client.set_battery_settings(
        FULL,
        charge_from_grid=True,
        accepted_itc_disclaimer="2026-01-01T00:00:00Z",
        charge_begin_minutes=60,
        chargeEndTime=240,
    )
    assert json.loads(last(simulator, "batterySettings").body) == {
        "chargeFromGrid": True,
        "acceptedItcDisclaimer": "2026-01-01T00:00:00Z",
        "chargeBeginTime": 60,
        "chargeEndTime": 240,
    }
    changed = await client.battery_settings(FULL)
    assert changed.charge_from_grid is True
    assert (changed.charge_begin_minutes, changed.charge_end_minutes) == (60, 240)
    await client.set_battery_settings(FULL, very_low_soc=20)
    assert (await client.battery_settings(FULL)).very_low_soc == 20.0
    with pytest.raises(ValueError, match="no battery setting"):
        await client.set_battery_settings(FULL)
    with pytest.raises(ValueError, match="unknown battery setting"):
        await client.set_battery_settings(FULL, turbo_mode=True)

    alert = await client.storm_alert(FULL)
    assert alert.alerts == []
    await client.set_storm_guard(FULL, True, True)
    assert json.loads(last(simulator, "toggle").body) == {
        "stormGuardState": "enabled",
        "evseStormEnabled": True,
    }
    guarded = await client.profile(FULL)
    assert guarded.storm_guard_enabled
    assert guarded.evse_storm_enabled is True
    with pytest.raises(NotFoundError):
        await client.profile(MICROS)


async def test_mqtt_signed_url(client: EnlightenClient) -> None:
    """The MQTT bootstrap is returned as a dict."""
    bootstrap = await client.mqtt_signed_url(FULL)
    assert bootstrap["stream_duration"] == 900


async def test_grid_toggle(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """Check, OTP, refused and accepted relay commands, audit log, outage context."""
    check = await client.grid_control_check(FULL)
    assert check.allowed
    simulator.site(FULL).grid.disable_grid_control = True
    assert not (await client.grid_control_check(FULL)).allowed
    simulator.site(FULL).grid.disable_grid_control = False
    envoy = (await client.devices(FULL)).gateways[0].serial
    assert envoy is not None

    with pytest.raises(ForbiddenError):
        await client.set_grid_state(envoy, True)
    old_otp = simulator.grid_otp
    await client.request_grid_otp(FULL)
    assert simulator.grid_otp != old_otp
    assert (
        await client.verify_grid_otp(FULL, "0000" if simulator.grid_otp != "0000" else "1111")
        is False
    )
    assert await client.verify_grid_otp(FULL, simulator.grid_otp) is True
    verify = last(simulator, "grid_toggle_otp.json")
    assert verify.headers["X-CSRF-Token"]
    assert verify.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    result = await client.set_grid_state(envoy, True)
    assert result.request_id
    assert simulator.site(FULL).grid.off_grid
    assert "state=1" in last(simulator, "grid_state").body
    await client.log_grid_change(envoy, "OPER_RELAY_CLOSED", "OPER_RELAY_OFFGRID_AC_GRID_PRESENT")
    assert simulator.site(FULL).grid.change_log
    status = await client.off_grid_status(FULL)
    assert status.is_grid_outage is True
    await client.set_grid_state(envoy, False)
    assert not simulator.site(FULL).grid.off_grid
    assert (await client.off_grid_status(FULL)).is_grid_outage is False


async def test_xsrf_rotation_under_load(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """Rotated XSRF cookies are followed, also with writes racing reads."""
    for _ in range(3):
        await asyncio.gather(
            *(client.battery_status(FULL) for _ in range(7)),
            client.set_storm_guard(FULL, False, False),
            client.set_battery_settings(FULL, very_low_soc=15),
            client.verify_grid_otp(FULL, simulator.grid_otp),
            *(client.site_settings(FULL) for _ in range(5)),
        )
    writes = [r for r in simulator.requests if r.method != "GET"]
    assert len(writes) == 9


async def test_access_errors(client: EnlightenClient) -> None:
    """A foreign or unknown site is refused."""
    with pytest.raises(NotFoundError):
        await client.devices("9999999")
    with pytest.raises(ForbiddenError):
        await client.ev_status("9999999")  # 468 INVALID_SYSTEM_ID
