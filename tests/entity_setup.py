"""Shared setup of the entity platform tests: a frozen clock, the simulator, one site."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.enphase_enlighten.const import DOMAIN
from tests.helpers import create_entry, setup_integration
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

# Midday in Sydney (site 1000001), evening of the day before in the US sites.
FROZEN_TIME = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)

SITE_FULL = "1000001"
SITE_MICROS = "1000002"
SITE_LEGACY = "1000003"
SCENARIOS = (SITE_FULL, SITE_MICROS, SITE_LEGACY)

# Paths only battery / system controller or EV charger sites may call.
BATTERY_OR_EV_PATHS = (
    "batteryConfig",
    "battery_status",
    "battery_backup_history",
    "grid_control_check",
    "off_grid_due_to_grid_outage",
    "evse_controller",
    "evse_scheduler",
    "ev_charger",
)


async def start_simulator(freezer: FrozenDateTimeFactory) -> EnlightenSimulator:
    """Freeze Home Assistant's clock and start a simulator at the same instant."""
    freezer.move_to(FROZEN_TIME)
    simulator = EnlightenSimulator(start=FROZEN_TIME)
    await simulator.start(port=0)
    return simulator


def ha_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """``snapshot`` with Home Assistant's serializer (stable ids, files in snapshots/)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@contextmanager
def only_platforms(*platforms: Platform) -> Iterator[None]:
    """Forward only ``platforms`` (snapshot_platform wants one platform at a time)."""
    with patch("custom_components.enphase_enlighten.PLATFORMS", list(platforms)):
        yield


@contextmanager
def all_entities_enabled() -> Iterator[None]:
    """Create disabled-by-default entities enabled (as core's fixture does)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


async def setup_site(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    site_id: str = SITE_FULL,
    *,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Create and set up the entry of ``site_id`` (an account that sees every site)."""
    entry = await create_entry(
        hass,
        simulator,
        email=MULTI_EMAIL,
        password=MULTI_PASSWORD,
        site_id=site_id,
        options=options,
    )
    assert await setup_integration(hass, entry)
    return entry


async def advance(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    seconds: float,
) -> None:
    """Move both clocks; let every coordinator whose interval passed refresh."""
    simulator.advance(seconds)
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def entity_ids(hass: HomeAssistant, entry: MockConfigEntry, domain: str) -> list[str]:
    """Entity ids of ``domain`` registered for the entry."""
    return sorted(
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == domain and e.platform == DOMAIN
    )


def state_value(hass: HomeAssistant, entity_id: str) -> str:
    """The state string of ``entity_id`` (which must exist)."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state
