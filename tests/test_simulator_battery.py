"""Battery profile/settings/storm guard, battery status and grid control in the simulator."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator
from tests.simulator.driver import SimDriver

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL = 1000001
BC = "/service/batteryConfig/api/v1"
PROFILE = f"{BC}/profile/{FULL}?userId=4000001"
SETTINGS = f"{BC}/batterySettings/{FULL}?userId=4000001"
GRID_STATE = "/pv/settings/grid_state.json"
ENVOY = "GW0000000001"


async def _driver(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    await driver.login(DEMO_EMAIL, DEMO_PASSWORD)
    return driver


async def _profile(driver: SimDriver) -> dict[str, Any]:
    data: dict[str, Any] = (await driver.get(PROFILE)).json["data"]
    return data


async def test_profile_change_is_pending_then_applied(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A profile change shows in requestedConfig and applies after 60 s of simulated time."""
    driver = await _driver(simulator, client_session)
    assert (await _profile(driver))["requestedConfig"] == {}
    body = {"profile": "cost_savings", "batteryBackupPercentage": 30}
    assert (await driver.call("PUT", PROFILE, json=body)).json == {"message": "success"}
    pending = await _profile(driver)
    assert (pending["profile"], pending["batteryBackupPercentage"]) == ("self-consumption", 20)
    assert pending["requestedConfig"] == body
    simulator.advance(59)
    assert (await _profile(driver))["requestedConfig"] == body
    simulator.advance(1)
    applied = await _profile(driver)
    assert (applied["profile"], applied["batteryBackupPercentage"]) == ("cost_savings", 30)
    assert applied["requestedConfig"] == {}
    battery = simulator.site(FULL).battery
    assert battery is not None
    assert (battery.profile, battery.reserve) == ("cost_savings", 30)
    status = (await driver.get(f"/pv/settings/{FULL}/battery_status.json")).json
    assert status["storages"][0]["battery_mode"] == "Savings Mode"
    settings = (await driver.get(SETTINGS)).json["data"]
    assert (settings["profile"], settings["batteryBackupPercentage"]) == ("cost_savings", 30)


async def test_profile_validation_and_backup_only(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Reserve below 10 (or above 100) is refused; Full Backup forces 100."""
    driver = await _driver(simulator, client_session)
    for body in (
        {"profile": "self-consumption", "batteryBackupPercentage": 9},
        {"profile": "cost_savings", "batteryBackupPercentage": 5},
        {"profile": "self-consumption", "batteryBackupPercentage": 101},
        {"profile": "self-consumption"},
        {"profile": "eco", "batteryBackupPercentage": 20},
    ):
        assert (await driver.call("PUT", PROFILE, json=body)).status == 400, body
    evse_uuid = simulator.site(FULL).chargers["EV0000000001"].uuid
    backup = {
        "profile": "backup_only",
        "batteryBackupPercentage": 50,
        "devices": [
            {"uuid": evse_uuid, "chargeMode": "GREEN", "deviceType": "iqEvse", "enable": False}
        ],
    }
    assert (await driver.call("PUT", PROFILE, json=backup)).status == 200
    pending = await _profile(driver)
    assert pending["requestedConfig"] == {"profile": "backup_only", "batteryBackupPercentage": 100}
    assert pending["devices"]["iqEvse"][0]["chargeMode"] == "GREEN"
    assert simulator.site(FULL).chargers["EV0000000001"].mode == "GREEN_CHARGING"


async def test_cancel_clears_pending_change(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Cancelling keeps the old profile after the delay passes."""
    driver = await _driver(simulator, client_session)
    body = {"profile": "backup_only", "batteryBackupPercentage": 100}
    await driver.call("PUT", PROFILE, json=body)
    cancel = f"{BC}/cancel/profile/{FULL}?userId=4000001"
    assert (await driver.call("PUT", cancel, json={})).json == {"message": "success"}
    assert (await _profile(driver))["requestedConfig"] == {}
    simulator.advance(120)
    assert (await _profile(driver))["profile"] == "self-consumption"
    assert (await driver.call("PUT", cancel, json={"x": 1})).status == 400


async def test_battery_settings_partial_updates(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """PUT changes only the fields sent; shutdown level and ITC disclaimer are enforced."""
    driver = await _driver(simulator, client_session)
    initial = (await driver.get(SETTINGS)).json["data"]
    assert initial["chargeFromGrid"] is False
    assert initial["acceptedItcDisclaimer"] is None
    assert (await driver.call("PUT", SETTINGS, json={"veryLowSoc": 20})).status == 200
    for bad in (
        {"veryLowSoc": 5},
        {"veryLowSoc": 26},
        {"veryLowSoc": "20"},
        {"chargeFromGrid": True},
        {"chargeBeginTime": 1440},
        {"batteryBackupPercentage": 50},
        {},
    ):
        assert (await driver.call("PUT", SETTINGS, json=bad)).status == 400, bad
    enable = {
        "chargeFromGrid": True,
        "acceptedItcDisclaimer": "2025-01-01T00:00:00.000Z",
        "chargeBeginTime": 60,
        "chargeEndTime": 240,
        "chargeFromGridScheduleEnabled": True,
    }
    assert (await driver.call("PUT", SETTINGS, json=enable)).status == 200
    assert (await driver.call("PUT", SETTINGS, json={"chargeFromGrid": False})).status == 200
    assert (await driver.call("PUT", SETTINGS, json={"chargeFromGrid": True})).status == 200
    after = (await driver.get(SETTINGS)).json["data"]
    assert after["veryLowSoc"] == 20
    assert after["chargeFromGrid"] is True
    assert (after["chargeBeginTime"], after["chargeEndTime"]) == (60, 240)
    assert after["acceptedItcDisclaimer"] == "2025-01-01T00:00:00.000Z"
    assert (await _profile(driver))["cfgControl"]["forceScheduleOpted"] is True


async def test_storm_guard_toggle(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Storm guard and its EV option round-trip through the profile payload."""
    driver = await _driver(simulator, client_session)
    toggle = f"{BC}/stormGuard/toggle/{FULL}?userId=4000001"
    body = {"stormGuardState": "enabled", "evseStormEnabled": True}
    assert (await driver.call("PUT", toggle, json=body)).status == 200
    profile = await _profile(driver)
    assert profile["stormGuardState"] == "enabled"
    assert profile["evseStormEnabled"] is True
    assert profile["acceptedStormGuardDisclaimer"] is True
    bad = {"stormGuardState": "on", "evseStormEnabled": True}
    assert (await driver.call("PUT", toggle, json=bad)).status == 400
    battery = simulator.site(FULL).battery
    assert battery is not None
    battery.storm_alerts.append({"id": "storm-1", "type": "Severe Thunderstorm"})
    battery.critical_alert_active = True
    alert = (await driver.get(f"{BC}/stormGuard/{FULL}/stormAlert")).json
    assert alert["criticalAlertActive"] is True
    assert alert["stormAlerts"] == [{"id": "storm-1", "type": "Severe Thunderstorm"}]


async def test_battery_status_strings_and_exclusion(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Percentages are strings; excluded batteries leave the totals."""
    driver = await _driver(simulator, client_session)
    path = f"/pv/settings/{FULL}/battery_status.json"
    body = (await driver.get(path)).json
    assert body["current_charge"] == "48%"
    assert [s["current_charge"] for s in body["storages"]] == ["48%", "47%"]
    assert body["storages"][1]["battery_soh"] == "99%"
    assert (body["max_capacity"], body["included_count"], body["excluded_count"]) == (10, 2, 0)
    battery = simulator.site(FULL).battery
    assert battery is not None
    battery.storages[1].excluded = True
    battery.storages[0].soc = 80
    after = (await driver.get(path)).json
    assert (after["included_count"], after["excluded_count"]) == (1, 1)
    assert after["current_charge"] == "80%"
    assert after["max_capacity"] == 5
    assert after["available_energy"] == 4.0


async def _verify(driver: SimDriver, otp: str) -> bool:
    reply = await driver.call(
        "POST", "/app-api/grid_toggle_otp.json", data={"otp": otp, "site_id": str(FULL)}
    )
    valid: bool = reply.json["valid"]
    return valid


async def test_grid_toggle_needs_fresh_otp(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The relay command needs a verified OTP from the last 5 minutes, then moves the relay."""
    driver = await _driver(simulator, client_session)
    off = {"envoy_serial_number": ENVOY, "state": "1"}
    refused = await driver.call("POST", GRID_STATE, data=off)
    assert (refused.status, refused.json) == (403, {"message": "OTP not verified"})
    old = simulator.grid_otp
    sent = await driver.get(f"/app-api/{FULL}/grid_toggle_otp.json")
    assert sent.json == {"success": "email sent successfully"}
    assert simulator.grid_otp != old
    assert len(simulator.grid_otp) == 4
    assert await _verify(driver, old) is False
    assert (await driver.call("POST", GRID_STATE, data=off)).status == 403
    assert await _verify(driver, simulator.grid_otp) is True
    moved = await driver.call("POST", GRID_STATE, data=off)
    assert moved.status == 200
    assert moved.json["request_id"].startswith("req_")
    grid = simulator.site(FULL).grid
    assert grid.off_grid is True
    assert grid.relay_state == "OPER_RELAY_OFFGRID_AC_GRID_PRESENT"
    context = (await driver.get(f"/app-api/{FULL}/off_grid_due_to_grid_outage")).json
    assert context["is_grid_outage"] is True
    assert context["has_battery"] is True
    status = (await driver.get(f"/service/evse_controller/{FULL}/ev_chargers/status")).json
    assert status["data"]["chargers"][0]["offGrid"] == "OFF_GRID"
    simulator.advance(301)
    on = {"envoy_serial_number": ENVOY, "state": "2"}
    assert (await driver.call("POST", GRID_STATE, data=on)).status == 403
    assert await _verify(driver, simulator.grid_otp) is True
    assert (await driver.call("POST", GRID_STATE, data=on)).status == 200
    assert simulator.site(FULL).grid.off_grid is False
    bad = {"envoy_serial_number": "GW-NOPE", "state": "1"}
    assert (await driver.call("POST", GRID_STATE, data=bad)).status == 400


async def test_grid_log_and_control_check(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The audit log echoes valid relay states; disable_grid_control shows in the check."""
    driver = await _driver(simulator, client_session)
    log = {
        "envoy_serial_number": ENVOY,
        "old_state": "OPER_RELAY_OFFGRID_READY_FOR_RESYNC_CMD",
        "new_state": "OPER_RELAY_CLOSED",
    }
    reply = await driver.call("POST", "/pv/settings/log_grid_change.json", data=log)
    assert reply.json == {
        "status": "Grid Change Logged",
        "old_state": log["old_state"],
        "new_state": log["new_state"],
    }
    assert len(simulator.site(FULL).grid.change_log) == 1
    bad = log | {"new_state": "SOMETHING"}
    assert (await driver.call("POST", "/pv/settings/log_grid_change.json", data=bad)).status == 400
    check = f"/app-api/{FULL}/grid_control_check.json"
    assert (await driver.get(check)).json["disableGridControl"] is False
    simulator.site(FULL).grid.disable_grid_control = True
    assert (await driver.get(check)).json["disableGridControl"] is True
    assert await _verify(driver, simulator.grid_otp) is True
    data = {"envoy_serial_number": ENVOY, "state": "1"}
    assert (await driver.call("POST", GRID_STATE, data=data)).status == 422
