"""Binary sensor platform: snapshots per scenario and state changes from the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from tests.entity_setup import (
    SCENARIOS,
    SITE_LEGACY,
    SITE_MICROS,
    advance,
    all_entities_enabled,
    entity_ids,
    only_platforms,
    setup_site,
    state_value,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

EV_SN = "EV0000000001"


@pytest.fixture(autouse=True)
def binary_sensors_only() -> Iterator[None]:
    """Load the binary sensor platform only."""
    with only_platforms(Platform.BINARY_SENSOR):
        yield


@pytest.mark.parametrize("site_id", SCENARIOS)
async def test_snapshots(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    site_id: str,
) -> None:
    """Every binary sensor of each scenario: registry entry and state."""
    with all_entities_enabled():
        entry = await setup_site(hass, sim, site_id)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_scenario_entities(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Micros-only: the gateway connection and panel health; legacy: no DLB details."""
    micros = await setup_site(hass, sim, SITE_MICROS)
    ids = entity_ids(hass, micros, "binary_sensor")
    assert [e for e in ids if not e.endswith("_underperforming")] == [
        "binary_sensor.iq_gateway_000002_connection"
    ]
    assert len([e for e in ids if e.endswith("_underperforming")]) == 8
    legacy = await setup_site(hass, sim, SITE_LEGACY)
    charger = [e for e in entity_ids(hass, legacy, "binary_sensor") if "barn_charger" in e]
    assert charger == [
        "binary_sensor.barn_charger_charging_active",
        "binary_sensor.barn_charger_cloud_connection",
        "binary_sensor.barn_charger_fault",
        "binary_sensor.barn_charger_plugged_in",
    ]


async def test_charger_states(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Plug, charging, fault and safe-limit states follow the charger."""
    entry = await setup_site(hass, sim)
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_plugged_in") == STATE_ON
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_charging_active") == STATE_OFF
    charger = sim.site(1000001).chargers[EV_SN]
    charger.charging = True
    charger.safe_limit_state = 1
    charger.dlb_active = True
    sim.tick()
    ev = entry.runtime_data.ev
    assert ev is not None
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_charging_active") == STATE_ON
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_safe_current_limit") == STATE_ON
    assert (
        state_value(hass, "binary_sensor.iq_ev_charger_000001_dynamic_load_balancing_active")
        == STATE_ON
    )
    charger.faulted = True
    charger.connected = False
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_fault") == STATE_ON
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_cloud_connection") == STATE_OFF
    assert state_value(hass, "binary_sensor.iq_ev_charger_000001_charging_active") == STATE_OFF


async def test_pending_profile_change(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A requested profile shows as pending (with what was asked) until the cloud applies it."""
    entry = await setup_site(hass, sim)
    entity_id = "binary_sensor.demo_home_profile_change_pending"
    assert state_value(hass, entity_id) == STATE_OFF
    await entry.runtime_data.client.set_profile("1000001", "backup_only", 100)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_ON
    assert state.attributes["requested_profile"] == "backup_only"
    assert state.attributes["requested_reserve"] == 100
    await advance(hass, sim, freezer, 301)
    assert state_value(hass, entity_id) == STATE_OFF


async def test_grid_guards_and_outage(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Grid control guards are attributes; an outage turns the off-grid sensor on."""
    entry = await setup_site(hass, sim)
    allowed = "binary_sensor.demo_home_grid_control_allowed"
    assert state_value(hass, allowed) == STATE_ON
    grid = sim.site(1000001).grid
    grid.active_download = True
    grid.outage = True
    battery = sim.site(1000001).battery
    assert battery is not None
    battery.storm_alerts = [{"id": "s1"}]
    battery.storm_guard_state = "enabled"
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await hass.async_block_till_done()
    state = hass.states.get(allowed)
    assert state is not None
    assert state.state == STATE_OFF
    assert state.attributes["blocked_reasons"] == ["active_download"]
    assert state_value(hass, "binary_sensor.demo_home_off_grid") == STATE_ON
    assert state_value(hass, "binary_sensor.demo_home_storm_alert") == STATE_ON


async def test_failing_part_makes_only_its_sensors_unavailable(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """Without grid data at setup, grid sensors are unavailable and the others work."""
    sim.inject_fault("grid_control_check", status=503)
    await setup_site(hass, sim)
    assert state_value(hass, "binary_sensor.demo_home_grid_control_allowed") == STATE_UNAVAILABLE
    assert state_value(hass, "binary_sensor.demo_home_off_grid") == STATE_OFF
    assert state_value(hass, "binary_sensor.iq_gateway_000001_connection") == STATE_ON
