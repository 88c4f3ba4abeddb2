"""Buttons against the simulator: EV live stream and cancelling a pending profile change."""

from __future__ import annotations

import json

import pytest
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.enphase_enlighten.const import EV_FAST_INTERVAL
from tests.controls import (
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

LIVE = "button.demo_home_start_ev_live_updates"
CANCEL = "button.demo_home_cancel_pending_profile_change"
PROFILE = "select.demo_home_battery_profile"


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def test_live_stream_polls_fast(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The stream is started and the charger status is polled fast for its duration."""
    entry = await setup_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    assert ev.update_interval != EV_FAST_INTERVAL
    simulator.clear_requests()
    await _press(hass, LIVE)
    assert simulator.requests_to("start_live_stream", "GET")
    assert simulator.site(SITE).live_stream_until is not None
    assert ev.update_interval == EV_FAST_INTERVAL
    assert ev.data.live_stream_until is not None


async def test_live_stream_not_supported(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """472 becomes a clear message."""
    await setup_site(hass, simulator)
    simulator.inject_fault("start_live_stream", status=472)
    with pytest.raises(HomeAssistantError) as err:
        await _press(hass, LIVE)
    assert err.value.translation_key == "live_stream_not_supported"


async def test_cancel_pending_profile_change(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A pending change is withdrawn; the profile stays as it was."""
    await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: PROFILE, ATTR_OPTION: "full_backup"},
        blocking=True,
    )
    assert battery.requested is not None
    simulator.clear_requests()
    await _press(hass, CANCEL)
    [put] = simulator.requests_to("cancel/profile", "PUT")
    assert json.loads(put.body) == {}
    assert battery.requested is None
    state = hass.states.get(PROFILE)
    assert state is not None
    assert (state.state, state.attributes["pending_change"]) == ("self_consumption", False)
    simulator.advance(120)
    assert battery.profile == "self-consumption"


async def test_cancel_without_pending_change(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Nothing pending: refused before any request."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _press(hass, CANCEL)
    assert err.value.translation_key == "no_pending_profile_change"
    assert simulator.requests_to("cancel/profile") == []


async def test_site_without_charger_has_no_live_stream_button(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The live stream button only exists where a charger does."""
    await setup_site(hass, simulator, "1000002")
    assert hass.states.async_entity_ids(BUTTON_DOMAIN) == []
