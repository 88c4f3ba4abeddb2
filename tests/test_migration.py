"""Config entry migration: entries of version 1.1 lose the former polling interval options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten import async_migrate_entry
from custom_components.enphase_enlighten.config_flow import EnlightenConfigFlow
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_DEVICE_FAMILIES,
    CONF_ENERGY_INTERVAL,
    CONF_EV_INTERVAL,
    CONF_INVENTORY_INTERVAL,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_SITE_INTERVAL,
    CONF_SITE_NAME,
    CONF_UNDERPERFORMANCE_DAYS,
    CONF_UNDERPERFORMANCE_THRESHOLD,
    CONF_USER_ID,
    DOMAIN,
)
from tests.helpers import SITE_NAMES, setup_integration, simulator_session
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

# The options an entry of version 1.1 could hold, interval options included.
OLD_OPTIONS: dict[str, Any] = {
    CONF_EV_INTERVAL: 120,
    CONF_SITE_INTERVAL: 600,
    CONF_ENERGY_INTERVAL: 1800,
    CONF_INVENTORY_INTERVAL: 7200,
    CONF_DEVICE_FAMILIES: ["battery", "microinverters"],
    CONF_UNDERPERFORMANCE_THRESHOLD: 4.2,
    CONF_UNDERPERFORMANCE_DAYS: 5,
}
KEPT_OPTIONS: dict[str, Any] = {
    CONF_DEVICE_FAMILIES: ["battery", "microinverters"],
    CONF_UNDERPERFORMANCE_THRESHOLD: 4.2,
    CONF_UNDERPERFORMANCE_DAYS: 5,
}


async def _entry(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    *,
    version: int = 1,
    minor_version: int = 1,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A logged-in entry of the demo site stored at ``version``.``minor_version``."""
    session, user_id = await simulator_session(simulator, DEMO_EMAIL, DEMO_PASSWORD)
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=version,
        minor_version=minor_version,
        unique_id="1000001",
        title=SITE_NAMES["1000001"],
        data={
            CONF_EMAIL: DEMO_EMAIL,
            CONF_PASSWORD: DEMO_PASSWORD,
            CONF_BASE_URL: simulator.url,
            CONF_SITE_ID: "1000001",
            CONF_SITE_NAME: SITE_NAMES["1000001"],
            CONF_USER_ID: user_id,
            CONF_SESSION: session,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


def test_flow_version() -> None:
    """Entries are now created at version 1.2."""
    assert (EnlightenConfigFlow.VERSION, EnlightenConfigFlow.MINOR_VERSION) == (1, 2)


@pytest.mark.parametrize(
    ("options", "expected"),
    [(OLD_OPTIONS, KEPT_OPTIONS), ({}, {})],
    ids=["interval_options", "no_options"],
)
async def test_migrate_drops_interval_options(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    """A 1.1 entry loads, drops the interval options and keeps the others."""
    entry = await _entry(hass, simulator, options=options)
    assert await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert dict(entry.options) == expected


async def test_current_entry_left_alone(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """An entry of a newer minor version of the same major version is not changed."""
    entry = await _entry(hass, simulator, minor_version=3, options=OLD_OPTIONS)
    assert await async_migrate_entry(hass, entry)
    assert (entry.version, entry.minor_version) == (1, 3)
    assert dict(entry.options) == OLD_OPTIONS


async def test_newer_major_version_refused(
    hass: HomeAssistant, simulator: EnlightenSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry written by a newer major version (a downgrade) is not loaded."""
    entry = await _entry(hass, simulator, version=2, options=OLD_OPTIONS)
    assert not await async_migrate_entry(hass, entry)
    assert "is newer than this version of the integration supports" in caplog.text
    assert not await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert (entry.version, entry.minor_version) == (2, 1)
    assert dict(entry.options) == OLD_OPTIONS
