"""Switches against the simulator: the request sent, the state after, the refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.repairs import itc_issue_id
from tests.controls import (
    EV_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
    state_of,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

CHARGING = "switch.iq_ev_charger_000001_charging"
USE_BATTERY = "switch.iq_ev_charger_000001_use_battery_for_green_charging"
APP_AUTH = "switch.iq_ev_charger_000001_app_authentication"
RFID_AUTH = "switch.iq_ev_charger_000001_rfid_authentication"
CFG = "switch.demo_home_charge_battery_from_grid"
CFG_SCHEDULE = "switch.demo_home_charge_from_grid_on_schedule"
STORM = "switch.demo_home_storm_guard"
STORM_EV = "switch.demo_home_ev_charging_during_storm_alerts"


async def _switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


async def test_start_and_stop_charging(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Start sends the canonical POST; stop the canonical PUT; the state follows."""
    await setup_site(hass, simulator)
    charger = simulator.site(SITE).chargers[EV_SN]
    assert state_of(hass, CHARGING) == "off"
    simulator.clear_requests()

    await _switch(hass, CHARGING, True)
    [start] = simulator.requests_to(f"/ev_chargers/{EV_SN}/start_charging", "POST")
    assert json.loads(start.body) == {"connectorId": 1}
    assert charger.charging
    assert state_of(hass, CHARGING) == "on"

    simulator.clear_requests()
    await _switch(hass, CHARGING, False)
    assert simulator.requests_to(f"/ev_chargers/{EV_SN}/stop_charging", "PUT")
    assert not charger.charging
    assert state_of(hass, CHARGING) == "off"


async def test_start_uses_the_fallback_variant(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A charger that only takes the singular path still starts."""
    simulator.site(SITE).chargers[EV_SN].accepted_variant = "singular"
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _switch(hass, CHARGING, True)
    paths = [r.path for r in simulator.requests if r.path.endswith("start_charging")]
    assert paths[-1].endswith(f"/ev_charger/{EV_SN}/start_charging")
    assert simulator.site(SITE).chargers[EV_SN].charging
    assert state_of(hass, CHARGING) == "on"


async def test_unplugged_charger_is_a_clear_error(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """409 'not plugged in' becomes a translated error; the switch stays off."""
    await setup_site(hass, simulator)
    simulator.site(SITE).chargers[EV_SN].plugged_in = False
    simulator.clear_requests()
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, CHARGING, True)
    assert err.value.translation_key == "charger_not_ready"
    assert "not plugged in" in (err.value.translation_placeholders or {})["message"]
    assert simulator.requests_to("start_charging")
    assert state_of(hass, CHARGING) == "off"


@pytest.mark.parametrize(
    ("status", "key"),
    [
        (400, "command_rejected"),
        (403, "command_forbidden"),
        (422, "charger_not_ready"),
        (429, "command_rate_limited"),
        (473, "gateway_not_reporting"),
        (503, "command_failed"),
    ],
)
async def test_cloud_errors_are_translated(
    hass: HomeAssistant, simulator: EnlightenSimulator, status: int, key: str
) -> None:
    """Every kind of refusal maps to its own message."""
    await setup_site(hass, simulator)
    simulator.inject_fault("stop_charging", status=status, body='{"message": "nope"}')
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, CHARGING, False)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key


async def test_lost_session_starts_reauth(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When the session cannot be renewed the command fails and reauth starts."""
    entry = await setup_site(hass, simulator)
    simulator.inject_fault("storm", status=401, body='{"message": "Not Authorized"}')
    with pytest.raises(HomeAssistantError) as err:
        await _switch(hass, STORM, True)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == entry.entry_id


async def test_charging_is_optimistic_until_confirmed(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A slow cloud: the requested state shows for a while, then the status wins."""
    entry = await setup_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    # The cloud has not caught up yet: its status still says not charging.
    stale = {"data": {"chargers": [{"sn": EV_SN, "charging": False, "pluggedIn": True}]}}
    simulator.inject_fault("ev_chargers/status", status=200, body=json.dumps(stale), count=2)
    await _switch(hass, CHARGING, True)
    assert state_of(hass, CHARGING) == "on"
    await ev.async_refresh()
    assert state_of(hass, CHARGING) == "on"
    # After the optimistic window the reported status wins.
    freezer.tick(timedelta(minutes=3))
    simulator.site(SITE).chargers[EV_SN].charging = False
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, CHARGING) == "off"


async def test_green_use_battery(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The 'use battery' setting is sent with the scheduler's setting list."""
    await setup_site(hass, simulator)
    assert state_of(hass, USE_BATTERY) == "on"
    simulator.clear_requests()
    await _switch(hass, USE_BATTERY, False)
    [put] = simulator.requests_to("GREEN_CHARGING", "PUT")
    body = json.loads(put.body)
    assert body["chargerSettingList"][0]["chargerSettingName"] == "USE_BATTERY_FOR_SELF_CONSUMPTION"
    assert body["chargerSettingList"][0]["enabled"] is False
    assert simulator.site(SITE).chargers[EV_SN].green_use_battery is False
    assert state_of(hass, USE_BATTERY) == "off"


async def test_no_use_battery_switch_when_unsupported(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Only chargers with supportsUseBattery get the switch, and it is never read."""
    simulator.site(SITE).chargers[EV_SN].supports_use_battery = False
    simulator.clear_requests()
    await setup_site(hass, simulator)
    assert hass.states.get(USE_BATTERY) is None
    assert not simulator.requests_to("GREEN_CHARGING")


LIST_WITHOUT_USE_BATTERY = {
    "data": [
        {
            "serialNumber": EV_SN,
            "displayName": "IQ EV Charger",
            "chargeLevelDetails": {"min": "6", "max": "32", "granularity": "1"},
        }
    ]
}


@pytest.mark.parametrize(("detail_status", "expected"), [(None, True), (503, False)])
async def test_use_battery_support_from_charger_summary(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    detail_status: int | None,
    expected: bool,
) -> None:
    """When the list leaves supportsUseBattery out, the per-charger summary decides."""
    simulator.inject_fault(
        "ev_chargers/summary", status=200, body=json.dumps(LIST_WITHOUT_USE_BATTERY)
    )
    if detail_status is not None:
        simulator.inject_fault(f"ev_chargers/{EV_SN}/summary", status=detail_status)
    await setup_site(hass, simulator)
    assert simulator.requests_to(f"ev_chargers/{EV_SN}/summary", "GET")
    assert (hass.states.get(USE_BATTERY) is not None) is expected


@pytest.mark.parametrize(
    ("entity_id", "key", "attr"),
    [
        (APP_AUTH, "sessionAuthentication", "session_auth"),
        (RFID_AUTH, "rfidSessionAuthentication", "rfid_auth"),
    ],
)
async def test_session_authentication(
    hass: HomeAssistant, simulator: EnlightenSimulator, entity_id: str, key: str, attr: str
) -> None:
    """App and RFID authentication are written one key at a time."""
    await setup_site(hass, simulator)
    charger = simulator.site(SITE).chargers[EV_SN]
    assert state_of(hass, entity_id) == "off"
    simulator.clear_requests()
    await _switch(hass, entity_id, True)
    [put] = simulator.requests_to("ev_charger_config", "PUT")
    assert json.loads(put.body) == [{"key": key, "value": "enabled"}]
    assert getattr(charger, attr) == "enabled"
    assert state_of(hass, entity_id) == "on"
    await _switch(hass, entity_id, False)
    assert getattr(charger, attr) == "disabled"


async def test_session_auth_shows_requested_value(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """While the charger has not applied a change, the requested value is shown."""
    entry = await setup_site(hass, simulator)
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    simulator.inject_fault(
        "ev_charger_config",
        method="POST",
        body=json.dumps(
            {
                "data": [
                    {
                        "key": "rfidSessionAuthentication",
                        "value": "disabled",
                        "reqValue": "enabled",
                    },
                ]
            }
        ),
        status=200,
    )
    await settings.async_refresh()
    assert state_of(hass, RFID_AUTH) == "on"
    # A setting the answer leaves out cannot be shown.
    assert state_of(hass, APP_AUTH) == STATE_UNAVAILABLE


def _settings_puts(simulator: EnlightenSimulator) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in simulator.requests_to("batterySettings", "PUT")]


def _itc_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, itc_issue_id(entry.entry_id))


async def _refuse_without_disclaimer(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> MockConfigEntry:
    entry = await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _switch(hass, CFG, True)
    assert err.value.translation_key == "itc_disclaimer_required"
    return entry


async def test_charge_from_grid_is_refused_without_the_disclaimer(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The disclaimer is never accepted for the user: refused, and a repair explains it."""
    entry = await _refuse_without_disclaimer(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert _settings_puts(simulator) == []
    assert battery.accepted_itc_disclaimer is None
    assert not battery.charge_from_grid
    assert state_of(hass, CFG) == "off"
    issue = _itc_issue(hass, entry)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "itc_disclaimer"
    assert issue.translation_placeholders == {"site_name": "Demo Home"}


async def test_repair_flow_accepts_the_disclaimer_and_turns_on(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Only the user's confirmation sends the acceptance (at that time) and turns it on."""
    entry = await _refuse_without_disclaimer(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    manager = hass.data[REPAIRS_DOMAIN]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": itc_issue_id(entry.entry_id)})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"site_name": "Demo Home"}
    assert _settings_puts(simulator) == []

    before = dt_util.utcnow()
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [put] = _settings_puts(simulator)
    assert put["chargeFromGrid"] is True
    accepted = dt_util.parse_datetime(put["acceptedItcDisclaimer"])
    assert accepted is not None
    assert before - timedelta(seconds=1) <= accepted <= dt_util.utcnow()
    assert battery.charge_from_grid
    assert battery.accepted_itc_disclaimer == put["acceptedItcDisclaimer"]
    await hass.async_block_till_done()
    assert _itc_issue(hass, entry) is None
    assert state_of(hass, CFG) == "on"


async def test_repair_flow_shows_a_refused_acceptance(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When Enlighten does not take it, the form says so and the issue stays."""
    entry = await _refuse_without_disclaimer(hass, simulator)
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    manager = hass.data[REPAIRS_DOMAIN]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": itc_issue_id(entry.entry_id)})
    simulator.inject_fault("batterySettings", method="PUT", status=503, count=1)
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "send_failed"}
    assert "error" in result["description_placeholders"]
    assert _itc_issue(hass, entry) is not None
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.accepted_itc_disclaimer is None


async def test_repair_flow_of_an_unloaded_entry_aborts(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Nothing can be sent for an entry that is not loaded."""
    entry = await _refuse_without_disclaimer(hass, simulator)
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    assert await hass.config_entries.async_unload(entry.entry_id)
    simulator.clear_requests()
    manager = hass.data[REPAIRS_DOMAIN]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": itc_issue_id(entry.entry_id)})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert _settings_puts(simulator) == []


async def test_disclaimer_accepted_in_the_app_clears_the_issue(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Once the battery settings carry an acceptance, the repair goes away by itself."""
    entry = await _refuse_without_disclaimer(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.accepted_itc_disclaimer = "2025-10-16T08:45:14.230Z"
    site = entry.runtime_data.site
    assert site is not None
    site.async_update_listeners()
    assert _itc_issue(hass, entry) is not None
    await site.async_request_refresh()
    await hass.async_block_till_done()
    assert _itc_issue(hass, entry) is None


async def test_disclaimer_accepted_meanwhile_is_read_fresh(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Accepted in the app after the last read: the switch turns on with that acceptance."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.accepted_itc_disclaimer = "2025-10-16T08:45:14.230Z"
    simulator.clear_requests()
    await _switch(hass, CFG, True)
    assert _settings_puts(simulator) == [
        {"chargeFromGrid": True, "acceptedItcDisclaimer": "2025-10-16T08:45:14.230Z"}
    ]
    assert battery.charge_from_grid
    assert state_of(hass, CFG) == "on"
    assert _itc_issue(hass, entry) is None


async def test_charge_from_grid_with_the_disclaimer_accepted_before(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """An acceptance the site gave earlier is sent back with on; off sends one key."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.accepted_itc_disclaimer = "2025-10-16T08:45:14.230Z"
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _switch(hass, CFG, True)
    assert _settings_puts(simulator) == [
        {"chargeFromGrid": True, "acceptedItcDisclaimer": "2025-10-16T08:45:14.230Z"}
    ]
    assert battery.charge_from_grid
    assert state_of(hass, CFG) == "on"

    simulator.clear_requests()
    await _switch(hass, CFG, False)
    assert _settings_puts(simulator) == [{"chargeFromGrid": False}]
    assert not battery.charge_from_grid
    assert battery.accepted_itc_disclaimer == "2025-10-16T08:45:14.230Z"


async def test_charge_from_grid_schedule(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The schedule checkbox is its own setting."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _switch(hass, CFG_SCHEDULE, True)
    [put] = simulator.requests_to("batterySettings", "PUT")
    assert json.loads(put.body) == {"chargeFromGridScheduleEnabled": True}
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.charge_from_grid_schedule_enabled
    assert state_of(hass, CFG_SCHEDULE) == "on"


async def test_storm_guard_and_its_ev_option(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Both switches send the full toggle body, keeping the other value."""
    await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    simulator.clear_requests()
    await _switch(hass, STORM, True)
    [put] = simulator.requests_to("stormGuard/toggle", "PUT")
    assert json.loads(put.body) == {"stormGuardState": "enabled", "evseStormEnabled": False}
    assert battery.storm_guard_state == "enabled"
    assert state_of(hass, STORM) == "on"

    simulator.clear_requests()
    await _switch(hass, STORM_EV, True)
    [put] = simulator.requests_to("stormGuard/toggle", "PUT")
    assert json.loads(put.body) == {"stormGuardState": "enabled", "evseStormEnabled": True}
    assert battery.evse_storm_enabled
    assert state_of(hass, STORM_EV) == "on"
    # The debounced refresh confirms it a little later.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=15))
    await hass.async_block_till_done()
    assert state_of(hass, STORM_EV) == "on"
    assert state_of(hass, STORM) == "on"


async def test_site_without_battery_or_charger_has_no_switches(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A micros-only site gets no control entities."""
    await setup_site(hass, simulator, "1000002")
    assert hass.states.async_entity_ids(SWITCH_DOMAIN) == []
