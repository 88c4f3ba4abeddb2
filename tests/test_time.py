"""Time entities against the simulator: custom schedule and charge-from-grid window."""

from __future__ import annotations

import json
from datetime import time

import pytest
from homeassistant.components.time import ATTR_TIME, SERVICE_SET_VALUE
from homeassistant.components.time import DOMAIN as TIME_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_platform

from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.time import ScheduleTime, format_hhmm, parse_hhmm
from tests.controls import (
    EV_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
    state_of,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

START = "time.iq_ev_charger_000001_start_charging"
END = "time.iq_ev_charger_000001_stop_charging"
CFG_START = "time.demo_home_start_grid_charging"
CFG_END = "time.demo_home_stop_grid_charging"


async def _set(hass: HomeAssistant, entity_id: str, value: time) -> None:
    await hass.services.async_call(
        TIME_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity_id, ATTR_TIME: value}, blocking=True
    )


async def test_schedule_time_sends_the_full_list(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Changing the start keeps every other slot and field, and enables the slot."""
    await setup_site(hass, simulator)
    charger = simulator.site(SITE).chargers[EV_SN]
    charger.schedules[0]["enabled"] = False
    before = [dict(slot) for slot in charger.schedules]
    assert state_of(hass, START) == "23:00:00"
    assert state_of(hass, END) == "06:00:00"
    simulator.clear_requests()

    await _set(hass, START, time(22, 30))
    [patch] = simulator.requests_to("schedules", "PATCH")
    body = json.loads(patch.body)
    assert body["meta"]["rowCount"] == 2
    custom, off_peak = body["data"]
    assert custom["id"] == before[0]["id"]
    assert (custom["startTime"], custom["endTime"], custom["enabled"]) == ("22:30", "06:00", True)
    assert custom["sourceType"] == before[0]["sourceType"]
    assert custom["days"] == before[0]["days"]
    assert off_peak["id"] == before[1]["id"]
    assert off_peak["scheduleType"] == "OFF_PEAK"
    assert charger.schedules[0]["startTime"] == "22:30"
    assert state_of(hass, START) == "22:30:00"

    await _set(hass, END, time(5, 15))
    assert charger.schedules[0]["endTime"] == "05:15"
    assert state_of(hass, END) == "05:15:00"
    assert len(charger.schedules) == 2


async def test_schedule_time_unavailable_without_custom_slot(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Without a custom schedule there is nothing to show or change."""
    simulator.site(SITE).chargers[EV_SN].schedules = []
    await setup_site(hass, simulator)
    assert state_of(hass, START) == STATE_UNAVAILABLE
    assert state_of(hass, END) == STATE_UNAVAILABLE


async def test_schedule_removed_meanwhile_is_a_clear_error(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A change arriving after the slot went away says so instead of doing nothing."""
    entry = await setup_site(hass, simulator)
    [platform] = [
        p for p in entity_platform.async_get_platforms(hass, DOMAIN) if p.domain == TIME_DOMAIN
    ]
    entity = platform.entities[START]
    assert isinstance(entity, ScheduleTime)
    # Removed in the Enphase app; the change was already on its way.
    simulator.site(SITE).chargers[EV_SN].schedules = []
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    await settings.async_refresh()
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await entity.async_set_value(time(21, 0))
    assert err.value.translation_key == "no_custom_schedule"
    assert simulator.requests_to("schedules", "PATCH") == []


async def test_schedule_time_refused(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A refused schedule change keeps the old time."""
    await setup_site(hass, simulator)
    simulator.inject_fault("schedules", method="PATCH", status=400, body='{"message": "bad"}')
    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, START, time(21, 0))
    assert err.value.translation_key == "command_rejected"
    assert state_of(hass, START) == "23:00:00"


async def test_charge_from_grid_window(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The window is sent as minutes after local midnight."""
    await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert state_of(hass, CFG_START) == "02:00:00"
    assert state_of(hass, CFG_END) == "05:00:00"
    simulator.clear_requests()
    await _set(hass, CFG_START, time(1, 30))
    [put] = simulator.requests_to("batterySettings", "PUT")
    assert json.loads(put.body) == {"chargeBeginTime": 90}
    assert battery.charge_begin_time == 90
    assert state_of(hass, CFG_START) == "01:30:00"
    simulator.clear_requests()
    await _set(hass, CFG_END, time(6, 45))
    [put] = simulator.requests_to("batterySettings", "PUT")
    assert json.loads(put.body) == {"chargeEndTime": 405}
    assert battery.charge_end_time == 405
    assert state_of(hass, CFG_END) == "06:45:00"


def test_hhmm_helpers() -> None:
    """HH:MM parsing is tolerant of missing or malformed values."""
    assert parse_hhmm("23:05") == time(23, 5)
    assert parse_hhmm(None) is None
    assert parse_hhmm("") is None
    assert parse_hhmm("25:00") is None
    assert parse_hhmm("noon") is None
    assert format_hhmm(time(7, 5)) == "07:05"
