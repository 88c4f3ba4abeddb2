"""Service actions against the simulator: OCPP messages, schedules, grid connection."""

from __future__ import annotations

import json
from typing import Any

import probatio as vol
import pytest
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.enphase_enlighten.const import DOMAIN, device_identifier, site_identifier
from tests.controls import (
    EV_SN,
    GATEWAY_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")


async def _call(
    hass: HomeAssistant, name: str, data: dict[str, Any], context: Context | None = None
) -> None:
    await hass.services.async_call(DOMAIN, name, data, blocking=True, context=context)


def _charger_device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        device_identifier(EV_SN), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_services_exist_without_entries(hass: HomeAssistant) -> None:
    """Actions are registered when the integration is set up, before any entry."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    for name in (
        "trigger_message",
        "set_charge_schedules",
        "request_grid_otp",
        "set_grid_connection",
        "battery_command",
        "cancel_battery_command",
    ):
        assert hass.services.has_service(DOMAIN, name)


# -- trigger_message ---------------------------------------------------------------------


async def test_trigger_message_by_device(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The message goes to the charger the device stands for."""
    entry = await setup_site(hass, simulator)
    simulator.clear_requests()
    await _call(
        hass,
        "trigger_message",
        {ATTR_DEVICE_ID: _charger_device(hass, entry), "message": "MeterValues"},
    )
    [post] = simulator.requests_to(f"/ev_charger/{EV_SN}/trigger_message", "POST")
    assert json.loads(post.body) == {"requestedMessage": "MeterValues"}
    assert simulator.site(SITE).chargers[EV_SN].last_trigger == "MeterValues"


async def test_trigger_message_single_charger_by_entry(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """With one charger the site is enough (and even that may be left out)."""
    entry = await setup_site(hass, simulator)
    await _call(
        hass, "trigger_message", {"config_entry_id": entry.entry_id, "message": "Heartbeat"}
    )
    assert simulator.site(SITE).chargers[EV_SN].last_trigger == "Heartbeat"
    await _call(hass, "trigger_message", {"message": "StatusNotification"})
    assert simulator.site(SITE).chargers[EV_SN].last_trigger == "StatusNotification"


async def test_trigger_message_refusals(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Unknown messages and devices are refused before any request."""
    entry = await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "trigger_message", {"message": "Reset"})
    assert err.value.translation_key == "invalid_ocpp_message"
    site_device = dr.async_get(hass).async_get_device_by_identifier(
        site_identifier(str(SITE)), entry.entry_id
    )
    assert site_device is not None
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "trigger_message", {ATTR_DEVICE_ID: site_device.id, "message": "Heartbeat"}
        )
    assert err.value.translation_key == "not_a_charger"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "trigger_message", {ATTR_DEVICE_ID: "missing", "message": "Heartbeat"})
    assert err.value.translation_key == "invalid_device"
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other", "x")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "trigger_message", {ATTR_DEVICE_ID: other.id, "message": "Heartbeat"})
    assert err.value.translation_key == "invalid_device"
    with pytest.raises(vol.Invalid):
        await _call(hass, "trigger_message", {})
    assert simulator.requests_to("trigger_message") == []


async def test_trigger_message_needs_a_charger(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A site without charger cannot be asked for OCPP messages."""
    await setup_site(hass, simulator, "1000002")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "trigger_message", {"message": "Heartbeat"})
    assert err.value.translation_key == "charger_required"


async def test_actions_need_an_admin(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_read_only_user: MockUser,
    hass_admin_user: MockUser,
) -> None:
    """A non-admin user may not control hardware; an admin and automations may."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    for name, data in (
        ("trigger_message", {"message": "Heartbeat"}),
        ("request_grid_otp", {}),
        ("set_grid_connection", {"mode": "off", "otp": "1234"}),
        ("set_charge_schedules", {"schedules": [{"start": "01:00", "end": "02:00"}]}),
        ("battery_command", {"mode": "discharge", "target_reserve": 20, "duration": "01:00:00"}),
        ("cancel_battery_command", {}),
    ):
        with pytest.raises(Unauthorized):
            await _call(hass, name, data, Context(user_id=hass_read_only_user.id))
    with pytest.raises(Unauthorized):
        await _call(hass, "trigger_message", {"message": "Heartbeat"}, Context(user_id="nobody"))
    assert simulator.requests == []
    await _call(
        hass, "trigger_message", {"message": "Heartbeat"}, Context(user_id=hass_admin_user.id)
    )
    assert simulator.requests_to("trigger_message")


# -- set_charge_schedules ----------------------------------------------------------------


async def test_set_schedules_replaces_custom_and_keeps_off_peak(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The full list is sent: new custom slots, an updated one, the off-peak slot kept."""
    entry = await setup_site(hass, simulator)
    charger = simulator.site(SITE).chargers[EV_SN]
    custom_id = charger.schedules[0]["id"]
    off_peak = dict(charger.schedules[1])
    simulator.clear_requests()
    await _call(
        hass,
        "set_charge_schedules",
        {
            ATTR_DEVICE_ID: _charger_device(hass, entry),
            "schedules": [
                {"id": custom_id, "start": "22:00", "end": "05:00", "days": [1, 2, 3, 4, 5]},
                {"start": "10:00:00", "end": "14:00", "days": [6, 7], "charging_level": 16},
            ],
        },
    )
    [patch] = simulator.requests_to("schedules", "PATCH")
    sent = json.loads(patch.body)["data"]
    assert [s["scheduleType"] for s in sent] == ["CUSTOM", "CUSTOM", "OFF_PEAK"]
    assert sent[0]["id"] == custom_id
    assert (sent[0]["startTime"], sent[0]["endTime"], sent[0]["days"]) == (
        "22:00",
        "05:00",
        [1, 2, 3, 4, 5],
    )
    assert sent[0]["chargingLevel"] == 32  # kept from the existing slot
    assert sent[1]["id"] is None
    assert (sent[1]["startTime"], sent[1]["chargingLevel"], sent[1]["days"]) == (
        "10:00",
        16,
        [6, 7],
    )
    assert sent[2]["id"] == off_peak["id"]
    assert len(charger.schedules) == 3
    assert charger.schedules[2] == off_peak
    # Only the owning coordinator refreshed: its data shows the new list.
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    schedules = settings.data.chargers[EV_SN].schedules
    assert schedules is not None
    assert len(schedules.slots) == 3


@pytest.mark.parametrize(
    ("slot", "key"),
    [
        ({"start": "01:00", "end": "02:00", "days": [0, 1]}, "invalid_schedule_days"),
        ({"start": "01:00", "end": "02:00", "days": [8]}, "invalid_schedule_days"),
        ({"start": "01:00", "end": "02:00", "days": []}, "invalid_schedule_days"),
        ({"start": "01:00", "end": "01:00"}, "invalid_schedule_times"),
        ({"start": "01:00", "end": "02:00", "charging_level": 40}, "invalid_charging_current"),
        ({"start": "01:00", "end": "02:00", "charging_level": 5}, "invalid_charging_current"),
    ],
)
async def test_set_schedules_refusals(
    hass: HomeAssistant, simulator: EnlightenSimulator, slot: dict[str, Any], key: str
) -> None:
    """Days 1-7, distinct times and a valid current are checked before any request."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_charge_schedules", {"schedules": [slot]})
    assert err.value.translation_key == key
    assert simulator.requests_to("schedules") == []


# -- grid connection ---------------------------------------------------------------------


async def test_request_grid_otp(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The guard is checked first, then the code is e-mailed."""
    await setup_site(hass, simulator)
    before = simulator.grid_otp
    simulator.clear_requests()
    await _call(hass, "request_grid_otp", {})
    assert [r.path.rsplit("/", 1)[-1] for r in simulator.requests] == [
        "grid_control_check.json",
        "grid_toggle_otp.json",
    ]
    assert simulator.grid_otp != before


@pytest.mark.parametrize(("mode", "state", "off_grid"), [("off", "1", True), ("on", "2", False)])
async def test_set_grid_connection(
    hass: HomeAssistant, simulator: EnlightenSimulator, mode: str, state: str, off_grid: bool
) -> None:
    """Check, verify the code, send the relay command, then log the change."""
    site = simulator.site(SITE)
    site.grid.off_grid = not off_grid
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _call(hass, "set_grid_connection", {"mode": mode, "otp": simulator.grid_otp})
    paths = [r.path for r in simulator.requests]
    order = [
        next(i for i, p in enumerate(paths) if p.endswith(name))
        for name in (
            "grid_control_check.json",
            "/app-api/grid_toggle_otp.json",
            "grid_state.json",
            "log_grid_change.json",
        )
    ]
    assert order == sorted(order)
    [verify] = simulator.requests_to("/app-api/grid_toggle_otp.json", "POST")
    assert f"otp={simulator.grid_otp}" in verify.body
    [command] = simulator.requests_to("grid_state.json", "POST")
    assert f"state={state}" in command.body
    assert f"envoy_serial_number={GATEWAY_SN}" in command.body
    assert site.grid.off_grid is off_grid
    [logged] = site.grid.change_log
    expected = (
        ("OPER_RELAY_CLOSED", "OPER_RELAY_OFFGRID_AC_GRID_PRESENT")
        if off_grid
        else ("OPER_RELAY_OFFGRID_READY_FOR_RESYNC_CMD", "OPER_RELAY_CLOSED")
    )
    assert (logged["old_state"], logged["new_state"]) == expected


async def test_wrong_grid_otp_changes_nothing(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A wrong code is refused after verification; no relay command is sent."""
    await setup_site(hass, simulator)
    wrong = "0000" if simulator.grid_otp != "0000" else "1111"
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_grid_connection", {"mode": "off", "otp": wrong})
    assert err.value.translation_key == "invalid_grid_otp"
    assert simulator.requests_to("/app-api/grid_toggle_otp.json", "POST")
    assert simulator.requests_to("grid_state.json") == []
    assert simulator.site(SITE).grid.off_grid is False


@pytest.mark.parametrize("otp", ["12", "12345", "abcd", ""])
async def test_malformed_grid_otp_is_refused_before_any_request(
    hass: HomeAssistant, simulator: EnlightenSimulator, otp: str
) -> None:
    """The code must be 4 digits."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_grid_connection", {"mode": "off", "otp": otp})
    assert err.value.translation_key == "invalid_grid_otp_format"
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        ("disable_grid_control", "grid_control_disabled"),
        ("user_initiated_grid_toggle", "grid_toggle_in_progress"),
        ("active_download", "grid_control_blocked"),
    ],
)
async def test_grid_guard_refuses(
    hass: HomeAssistant, simulator: EnlightenSimulator, flag: str, key: str
) -> None:
    """When 2.12 blocks a toggle, neither the code nor the relay command is sent."""
    await setup_site(hass, simulator)
    setattr(simulator.site(SITE).grid, flag, True)
    simulator.clear_requests()
    for name, data in (
        ("request_grid_otp", {}),
        ("set_grid_connection", {"mode": "off", "otp": simulator.grid_otp}),
    ):
        with pytest.raises(HomeAssistantError) as err:
            await _call(hass, name, data)
        assert err.value.translation_key == key
    assert simulator.requests_to("grid_toggle_otp") == []
    assert simulator.requests_to("grid_state.json") == []
    assert simulator.site(SITE).grid.off_grid is False


async def test_grid_control_needs_a_system_controller(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Sites without an IQ System Controller cannot toggle the grid."""
    await setup_site(hass, simulator, "1000003")
    simulator.clear_requests()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "request_grid_otp", {})
    assert err.value.translation_key == "grid_control_unsupported"
    assert simulator.requests == []


async def test_relay_command_refused_by_cloud(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The cloud's own OTP gate (403) is reported; nothing is logged."""
    await setup_site(hass, simulator)
    simulator.inject_fault("grid_state.json", status=403, body='{"message": "OTP not verified"}')
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "set_grid_connection", {"mode": "off", "otp": simulator.grid_otp})
    assert err.value.translation_key == "command_forbidden"
    assert simulator.requests_to("log_grid_change") == []


async def test_audit_log_failure_does_not_hide_the_change(
    hass: HomeAssistant, simulator: EnlightenSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The relay command went through; a failing log call is only a warning."""
    await setup_site(hass, simulator)
    simulator.inject_fault("log_grid_change", status=500)
    await _call(hass, "set_grid_connection", {"mode": "off", "otp": simulator.grid_otp})
    assert simulator.site(SITE).grid.off_grid is True
    assert "could not be logged" in caplog.text
