"""Numbers against the simulator: charging current, backup reserve, shutdown level."""

from __future__ import annotations

import json

import pytest
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, EVENT_STATE_CHANGED, SERVICE_TURN_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from tests.controls import (
    EV_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
    state_of,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

CURRENT = "number.iq_ev_charger_000001_charging_current"
RESERVE = "number.demo_home_battery_backup_reserve"
SHUTDOWN = "number.demo_home_battery_shutdown_level"
PROFILE = "select.demo_home_battery_profile"


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def test_current_bounds_come_from_the_charger(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """min/max/step are chargeLevelDetails of the charger summary."""
    simulator.site(SITE).chargers[EV_SN].granularity = 2
    await setup_site(hass, simulator)
    state = hass.states.get(CURRENT)
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"], state.attributes["step"]) == (
        6,
        32,
        2,
    )
    assert state.attributes["unit_of_measurement"] == "A"


async def test_current_while_idle_is_sent_with_the_next_start(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Not charging: nothing is sent until charging starts, then with the chosen amps."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _set(hass, CURRENT, 16)
    assert simulator.requests_to("start_charging") == []
    assert float(state_of(hass, CURRENT)) == 16

    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON,
        {ATTR_ENTITY_ID: "switch.iq_ev_charger_000001_charging"},
        blocking=True,
    )
    [start] = simulator.requests_to("start_charging", "POST")
    assert json.loads(start.body) == {"connectorId": 1, "chargingLevel": 16}
    assert simulator.site(SITE).chargers[EV_SN].charging_level == 16
    assert float(state_of(hass, CURRENT)) == 16


async def _start_charging(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON,
        {ATTR_ENTITY_ID: "switch.iq_ev_charger_000001_charging"},
        blocking=True,
    )


async def test_chosen_current_survives_a_reload(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The current chosen while idle is restored and still goes out with the next start."""
    entry = await setup_site(hass, simulator)
    await _set(hass, CURRENT, 16)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    assert settings.desired_amps == {EV_SN: 16}
    assert float(state_of(hass, CURRENT)) == 16
    simulator.clear_requests()
    await _start_charging(hass)
    [start] = simulator.requests_to("start_charging", "POST")
    assert json.loads(start.body)["chargingLevel"] == 16


def _restored_current(amps: float | None) -> tuple[State, dict[str, float | str | None]]:
    return State(CURRENT, str(amps)), {
        "native_max_value": 32,
        "native_min_value": 6,
        "native_step": 1,
        "native_unit_of_measurement": "A",
        "native_value": amps,
    }


@pytest.mark.parametrize(("restored", "expected"), [(20, {EV_SN: 20}), (40, {}), (None, {})])
async def test_restored_current_must_fit_the_charger(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    restored: float | None,
    expected: dict[str, int],
) -> None:
    """Only a current within the charger's limits comes back; none chosen stays none."""
    mock_restore_cache_with_extra_data(hass, [_restored_current(restored)])
    entry = await setup_site(hass, simulator)
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    assert settings.desired_amps == expected


async def test_current_while_charging_is_applied_at_once(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Charging: the new current goes out with a start command right away."""
    entry = await setup_site(hass, simulator)
    charger = simulator.site(SITE).chargers[EV_SN]
    charger.charging = True
    ev = entry.runtime_data.ev
    assert ev is not None
    await ev.async_refresh()
    simulator.clear_requests()
    await _set(hass, CURRENT, 20)
    [start] = simulator.requests_to("start_charging", "POST")
    assert json.loads(start.body)["chargingLevel"] == 20
    assert charger.charging_level == 20
    assert float(state_of(hass, CURRENT)) == 20
    await ev.async_refresh()
    assert float(state_of(hass, CURRENT)) == 20


async def test_a_current_change_writes_one_state(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The logbook sees one change: the written value and the confirmed one look alike."""
    entry = await setup_site(hass, simulator)
    simulator.site(SITE).chargers[EV_SN].charging = True
    ev = entry.runtime_data.ev
    assert ev is not None
    await ev.async_refresh()
    await hass.async_block_till_done()
    seen: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == CURRENT and (new := event.data["new_state"]) is not None:
            seen.append(new.state)

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    await _set(hass, CURRENT, 20)
    await ev.async_refresh()
    await hass.async_block_till_done()
    unsub()
    assert seen == ["20"]


async def test_current_out_of_range_is_refused_before_any_request(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Outside min..max or off the step: a validation error, nothing sent."""
    simulator.site(SITE).chargers[EV_SN].granularity = 2
    await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError):
        await _set(hass, CURRENT, 40)
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, CURRENT, 7)
    assert err.value.translation_key == "invalid_charging_current"
    with pytest.raises(ServiceValidationError):
        await _set(hass, CURRENT, 8.5)
    assert simulator.requests_to("start_charging") == []


async def test_current_refused_by_the_cloud(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The cloud's own range check (400) becomes a translated error."""
    entry = await setup_site(hass, simulator)
    simulator.site(SITE).chargers[EV_SN].charging = True
    simulator.site(SITE).chargers[EV_SN].max_amps = 16
    ev = entry.runtime_data.ev
    assert ev is not None
    await ev.async_refresh()
    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, CURRENT, 24)
    assert err.value.translation_key == "command_rejected"
    assert simulator.site(SITE).chargers[EV_SN].charging_level == 32


async def test_backup_reserve_shows_pending_then_applied(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The reserve goes out with the current profile and shows as pending until applied."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert float(state_of(hass, RESERVE)) == 20
    simulator.clear_requests()
    await _set(hass, RESERVE, 35)
    [put] = simulator.requests_to("batteryConfig/api/v1/profile", "PUT")
    assert json.loads(put.body) == {"profile": "self-consumption", "batteryBackupPercentage": 35}
    assert battery.reserve == 20  # Enlighten applies it after a minute
    assert float(state_of(hass, RESERVE)) == 35
    profile = hass.states.get(PROFILE)
    assert profile is not None
    assert profile.attributes["pending_change"] is True
    assert profile.attributes["active_reserve"] == 20

    simulator.advance(61)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    assert battery.reserve == 35
    assert float(state_of(hass, RESERVE)) == 35
    profile = hass.states.get(PROFILE)
    assert profile is not None
    assert profile.attributes["pending_change"] is False


async def test_reserve_without_a_profile_is_a_clear_error(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The reserve goes out with the profile: unknown profile, a translated error, not silence."""
    entry = await setup_site(hass, simulator)
    body = json.dumps({"data": {"batteryBackupPercentage": 20}})
    simulator.inject_fault("batteryConfig/api/v1/profile/", method="GET", status=200, body=body)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    assert float(state_of(hass, RESERVE)) == 20
    simulator.clear_requests()
    with pytest.raises(HomeAssistantError) as err:
        await _set(hass, RESERVE, 35)
    assert err.value.translation_key == "reserve_profile_unknown"
    assert simulator.requests_to("profile", "PUT") == []


async def test_reserve_below_ten_is_refused(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The reserve has a 10 % floor; nothing is sent below it."""
    await setup_site(hass, simulator)
    state = hass.states.get(RESERVE)
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"]) == (10, 100)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError):
        await _set(hass, RESERVE, 5)
    assert simulator.requests_to("profile", "PUT") == []


async def test_full_backup_keeps_one_hundred(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Under Full backup only 100 % is accepted."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.profile, battery.reserve = "backup_only", 100
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, RESERVE, 50)
    assert err.value.translation_key == "full_backup_reserve"
    assert simulator.requests_to("profile", "PUT") == []
    await _set(hass, RESERVE, 100)
    [put] = simulator.requests_to("profile", "PUT")
    assert json.loads(put.body) == {"profile": "backup_only", "batteryBackupPercentage": 100}


async def test_shutdown_level_clamped_to_cloud_limits(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The limits are veryLowSocMin..Max; a valid level is sent as veryLowSoc."""
    await setup_site(hass, simulator)
    state = hass.states.get(SHUTDOWN)
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"]) == (10, 25)
    assert float(state.state) == 15
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError):
        await _set(hass, SHUTDOWN, 30)
    assert simulator.requests_to("batterySettings", "PUT") == []
    await _set(hass, SHUTDOWN, 20)
    [put] = simulator.requests_to("batterySettings", "PUT")
    assert json.loads(put.body) == {"veryLowSoc": 20}
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.very_low_soc == 20
    assert float(state_of(hass, SHUTDOWN)) == 20
