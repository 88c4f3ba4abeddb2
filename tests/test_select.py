"""Selects against the simulator: charge mode and battery profile (with its pending state)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.enphase_enlighten.select import profile_options
from tests.controls import (
    EV_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
    state_of,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

MODE = "select.iq_ev_charger_000001_charge_mode"
PROFILE = "select.demo_home_battery_profile"


async def _select(hass: HomeAssistant, entity_id: str, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


async def test_charge_mode(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Each option sends its scheduler mode; the state follows."""
    await setup_site(hass, simulator)
    assert state_of(hass, MODE) == "manual"
    for option, api in (("green", "GREEN_CHARGING"), ("scheduled", "SCHEDULED_CHARGING")):
        simulator.clear_requests()
        await _select(hass, MODE, option)
        [put] = simulator.requests_to("preference", "PUT")
        assert json.loads(put.body) == {"mode": api}
        assert simulator.site(SITE).chargers[EV_SN].mode == api
        assert state_of(hass, MODE) == option


async def test_charge_mode_refused(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A refusal keeps the previous mode and explains why."""
    await setup_site(hass, simulator)
    simulator.inject_fault("preference", method="PUT", status=409, body='{"message": "busy"}')
    with pytest.raises(HomeAssistantError) as err:
        await _select(hass, MODE, "green")
    assert err.value.translation_key == "charger_not_ready"
    assert state_of(hass, MODE) == "manual"


async def test_profile_pending_until_applied(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Full backup is requested with 100 %; shown as pending, then applied after a minute."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    simulator.clear_requests()
    await _select(hass, PROFILE, "full_backup")
    [put] = simulator.requests_to("batteryConfig/api/v1/profile", "PUT")
    assert json.loads(put.body) == {"profile": "backup_only", "batteryBackupPercentage": 100}
    state = hass.states.get(PROFILE)
    assert state is not None
    assert state.state == "full_backup"
    assert state.attributes["pending_change"] is True
    assert state.attributes["active_profile"] == "self_consumption"
    assert battery.profile == "self-consumption"

    simulator.advance(61)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    state = hass.states.get(PROFILE)
    assert state is not None
    assert state.state == "full_backup"
    assert state.attributes["pending_change"] is False
    assert battery.profile == "backup_only"
    assert float(state_of(hass, "number.demo_home_battery_backup_reserve")) == 100


async def test_profile_optimistic_when_cloud_is_silent(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """If the cloud does not echo the request, it shows as pending for a while only."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    await _select(hass, PROFILE, "savings")
    battery.requested = None  # the cloud lost or hid the request
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    state = hass.states.get(PROFILE)
    assert state is not None
    assert (state.state, state.attributes["pending_change"]) == ("savings", True)
    freezer.tick(timedelta(minutes=11))
    await site.async_refresh()
    state = hass.states.get(PROFILE)
    assert state is not None
    assert (state.state, state.attributes["pending_change"]) == ("self_consumption", False)


async def test_profile_keeps_reserve(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Switching between profiles other than full backup keeps the reserve."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    await _select(hass, PROFILE, "savings")
    [put] = simulator.requests_to("profile", "PUT")
    assert json.loads(put.body) == {"profile": "cost_savings", "batteryBackupPercentage": 20}


async def test_profile_keeps_a_zero_reserve(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A site at 0 % keeps 0 % with the new profile (not the 10 % floor of user input)."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.reserve = 0
    await setup_site(hass, simulator)
    # The simulator's own floor is 10 %: let it take this one as the cloud of the site would.
    simulator.inject_fault(
        "batteryConfig/api/v1/profile/",
        method="PUT",
        status=200,
        body='{"message": "success"}',
        count=1,
    )
    simulator.clear_requests()
    await _select(hass, PROFILE, "savings")
    [put] = simulator.requests_to("profile", "PUT")
    assert json.loads(put.body) == {"profile": "cost_savings", "batteryBackupPercentage": 0}


async def test_profile_options_follow_site_settings(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Profiles the site settings hide are not offered."""
    entry = await setup_site(hass, simulator)
    caps = entry.runtime_data.capabilities
    assert profile_options(caps) == ["self_consumption", "savings", "full_backup"]
    assert caps.settings is not None
    hidden = replace(caps, settings=replace(caps.settings, show_savings_mode=False))
    assert profile_options(hidden) == ["self_consumption", "full_backup"]
    hidden = replace(caps, settings=replace(caps.settings, show_full_backup=False))
    assert profile_options(hidden) == ["self_consumption", "savings"]
    assert profile_options(replace(caps, settings=None)) == [
        "self_consumption",
        "savings",
        "full_backup",
    ]
