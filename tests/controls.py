"""Shared fixtures and helpers of the control tests (switch, number, select, ...)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.helpers import create_entry, setup_integration
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

SITE = 1000001
EV_SN = "EV0000000001"
GATEWAY_SN = "GW0000000001"


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    """The integration depends on the recorder: prepare it before `hass`."""


async def setup_site(
    hass: HomeAssistant, simulator: EnlightenSimulator, site_id: str = "1000001"
) -> MockConfigEntry:
    """Set up one site of the simulator and return its loaded entry."""
    if site_id == "1000001":
        entry = await create_entry(hass, simulator)
    else:
        entry = await create_entry(
            hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id=site_id
        )
    assert await setup_integration(hass, entry)
    return entry


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state
