"""Devices: the hierarchy, new hardware without a reload, stale devices removed."""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.enphase_enlighten.const import (
    CONF_DEVICE_FAMILIES,
    DOMAIN,
    FAMILY_BATTERY,
    FAMILY_EV,
    FAMILY_GATEWAY_DEVICES,
    device_identifier,
    site_identifier,
)
from custom_components.enphase_enlighten.devices import (
    async_add_dynamic_entities,
    async_remove_stale_devices,
    charger_serials,
    expected_identifiers,
)
from tests.entity_setup import (
    SCENARIOS,
    SITE_FULL,
    advance,
    setup_site,
    state_value,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

GATEWAY = "GW0000000001"
NEW_INVERTER = "121000001017"


def _device(hass: HomeAssistant, entry: MockConfigEntry, serial: str) -> dr.DeviceEntry | None:
    return dr.async_get(hass).async_get_device_by_identifier(
        device_identifier(serial), entry.entry_id
    )


def _serials(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        identifier
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        for _, identifier in device.identifiers
    }


async def _every_inventory_part_read(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Let two hours pass in 15-minute runs: each hourly inventory part is read again.

    The inventory's hourly parts have their own slots in the hour, so the first
    re-read of one may come up to 45 minutes after the hour since setup.
    """
    for _ in range(8):
        await advance(hass, sim, freezer, 901)


@pytest.mark.parametrize("site_id", SCENARIOS)
async def test_device_snapshots(
    hass: HomeAssistant, sim: EnlightenSimulator, snapshot: SnapshotAssertion, site_id: str
) -> None:
    """The devices of each scenario, with model, firmware and parent."""
    entry = await setup_site(hass, sim, site_id)
    devices = sorted(
        dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id),
        key=lambda d: sorted(d.identifiers),
    )
    # The simulator's port is in the site's configuration URL.
    assert devices == snapshot(exclude=props("configuration_url"))


async def test_hierarchy(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Site -> gateway -> batteries, controller, meters, inverters; charger under the site."""
    entry = await setup_site(hass, sim)
    registry = dr.async_get(hass)
    site = registry.async_get_device_by_identifier(site_identifier(SITE_FULL), entry.entry_id)
    gateway = _device(hass, entry, GATEWAY)
    assert site is not None
    assert gateway is not None
    assert site.via_device_id is None
    assert gateway.via_device_id == site.id
    children = ["BT0000000001", "SC0000000001", "GW0000000001EIM1", "121000001001"]
    for serial in children:
        device = _device(hass, entry, serial)
        assert device is not None, serial
        assert device.via_device_id == gateway.id, serial
    charger = _device(hass, entry, "EV0000000001")
    assert charger is not None
    assert charger.via_device_id == site.id
    assert charger.sw_version == "25.37.1.14"
    assert charger.model == "IQ-EVSE-EU-3032"
    assert len(dr.async_entries_for_config_entry(registry, entry.entry_id)) == 24


async def test_new_inverter_appears_without_reload(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A microinverter added to the site gets its device and entities at the next inventory."""
    entry = await setup_site(hass, sim)
    runtime = entry.runtime_data
    site = sim.site(1000001)
    site.inverters.append(
        replace(site.inverters[-1], inverter_id="671000001017", serial=NEW_INVERTER, device_id=1)
    )
    assert _device(hass, entry, NEW_INVERTER) is None
    await _every_inventory_part_read(hass, sim, freezer)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is runtime
    device = _device(hass, entry, NEW_INVERTER)
    assert device is not None
    gateway = _device(hass, entry, GATEWAY)
    assert gateway is not None
    assert device.via_device_id == gateway.id
    entities = er.async_entries_for_device(
        er.async_get(hass), device.id, include_disabled_entities=True
    )
    assert {e.translation_key for e in entities} == {
        "energy_today",
        "lifetime_energy",
        "status",
        "last_reported",
        "underperforming",
    }
    assert float(state_value(hass, "sensor.iq8m_001017_energy_today")) >= 0


async def test_removed_hardware_is_removed(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """An inverter and a battery that left the site lose their devices and entities."""
    entry = await setup_site(hass, sim)
    site = sim.site(1000001)
    assert site.battery is not None
    gone_inverter = site.inverters.pop(0)
    gone_battery = site.battery.storages.pop(1)
    battery_device = _device(hass, entry, gone_battery.serial)
    assert battery_device is not None
    await _every_inventory_part_read(hass, sim, freezer)
    assert entry.state is ConfigEntryState.LOADED
    assert _device(hass, entry, gone_inverter.serial) is None
    assert _device(hass, entry, gone_battery.serial) is None
    assert (
        er.async_entries_for_device(
            er.async_get(hass), battery_device.id, include_disabled_entities=True
        )
        == []
    )
    assert hass.states.get("sensor.iq8m_001001_energy_today") is None
    assert _device(hass, entry, "BT0000000001") is not None

    # The inverter comes back (a swapped unit re-registered): so do its entities.
    site.inverters.insert(0, gone_inverter)
    await _every_inventory_part_read(hass, sim, freezer)
    device = _device(hass, entry, gone_inverter.serial)
    assert device is not None
    assert (
        len(
            er.async_entries_for_device(
                er.async_get(hass), device.id, include_disabled_entities=True
            )
        )
        == 5
    )


async def test_no_removal_while_inventory_unknown(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """While the inverter list was never read, nothing is removed; then stale devices go."""
    sim.inject_fault("inverters.json", status=503)
    entry = await setup_site(hass, sim)
    registry = dr.async_get(hass)
    stale = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={device_identifier("OLD0000001")}
    )
    foreign = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("other_domain", "X1")}
    )
    assert expected_identifiers(entry) is None
    async_remove_stale_devices(hass, entry)
    assert registry.async_get(stale.id) is not None

    sim.clear_faults()
    await _every_inventory_part_read(hass, sim, freezer)
    assert registry.async_get(stale.id) is None
    assert registry.async_get(foreign.id) is not None
    assert len([s for s in _serials(hass, entry) if s.startswith("121000001")]) == 16


async def test_device_families_option(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Turning a family off removes its devices at the next start."""
    entry = await setup_site(hass, sim)
    assert "121000001001" in _serials(hass, entry)
    hass.config_entries.async_update_entry(
        entry, options={CONF_DEVICE_FAMILIES: [FAMILY_EV, FAMILY_BATTERY]}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    serials = _serials(hass, entry)
    assert not [s for s in serials if s.startswith("121000001")]
    assert "GW0000000001EIM1" not in serials
    assert {GATEWAY, "BT0000000001", "SC0000000001", "EV0000000001"} <= serials
    assert state_value(hass, "sensor.iq_gateway_000001_status") == "normal"
    assert hass.states.get("sensor.production_ct_01eim1_status") is None

    hass.config_entries.async_update_entry(
        entry, options={CONF_DEVICE_FAMILIES: [FAMILY_GATEWAY_DEVICES]}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    serials = _serials(hass, entry)
    assert {GATEWAY, "GW0000000001EIM1"} <= serials
    assert not {"BT0000000001", "SC0000000001", "EV0000000001"} & serials
    assert entry.runtime_data.site is None
    assert charger_serials(entry.runtime_data) == []


async def test_charger_serials_from_summary(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """A charger listed by the summary but not the status is still part of the site."""
    entry = await setup_site(hass, sim)
    runtime = entry.runtime_data
    assert runtime.ev is not None
    runtime.ev.data.chargers.clear()
    assert charger_serials(runtime) == ["EV0000000001"]
    identifiers = expected_identifiers(entry)
    assert identifiers is not None
    assert (DOMAIN, "EV0000000001") in identifiers


class _Thing(Entity):
    def __init__(self, unique_id: str) -> None:
        self._attr_unique_id = unique_id


async def test_dynamic_entities_build_when_the_keys_change(hass: HomeAssistant) -> None:
    """Refreshes with the same keys build nothing; new keys or a forgotten entity build."""
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    coordinator: DataUpdateCoordinator[None] = DataUpdateCoordinator(
        hass, logging.getLogger(__name__), config_entry=entry, name="test"
    )
    serials = ["A"]
    builds: list[list[str]] = []
    added: list[str] = []

    def build() -> list[Entity]:
        builds.append(list(serials))
        return [_Thing(serial) for serial in serials]

    def add(entities: Any, update_before_add: bool = False) -> None:
        for entity in entities:
            added.append(entity.unique_id)
            registry.async_get_or_create(
                Platform.SENSOR, DOMAIN, entity.unique_id, config_entry=entry
            )

    def keys() -> Hashable:
        return frozenset(serials)

    async_add_dynamic_entities(
        hass,
        entry,
        Platform.SENSOR,
        add,
        coordinator=coordinator,
        build=build,
        keys=keys,
    )
    assert builds == [["A"]]
    assert added == ["A"]
    for _ in range(3):
        coordinator.async_update_listeners()
    assert builds == [["A"]]

    serials.append("B")
    coordinator.async_update_listeners()
    coordinator.async_update_listeners()
    assert builds == [["A"], ["A", "B"]]
    assert added == ["A", "B"]

    # Its registry entry went away (the device was removed): forgotten, built again.
    entity_id = registry.async_get_entity_id(Platform.SENSOR, DOMAIN, "A")
    assert entity_id is not None
    registry.async_remove(entity_id)
    coordinator.async_update_listeners()
    assert builds == [["A"], ["A", "B"], ["A", "B"]]
    assert added == ["A", "B", "A"]
    coordinator.async_update_listeners()
    assert len(builds) == 3

    # A device that leaves and comes back is added again.
    serials.remove("B")
    entity_id = registry.async_get_entity_id(Platform.SENSOR, DOMAIN, "B")
    assert entity_id is not None
    registry.async_remove(entity_id)
    coordinator.async_update_listeners()
    serials.append("B")
    coordinator.async_update_listeners()
    assert added == ["A", "B", "A", "B"]


async def test_dynamic_entities_without_keys_build_every_refresh(hass: HomeAssistant) -> None:
    """The former call (no ``keys``) still works: every refresh builds, only new ones are added."""
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    coordinator: DataUpdateCoordinator[None] = DataUpdateCoordinator(
        hass, logging.getLogger(__name__), config_entry=entry, name="test"
    )
    builds: list[int] = []
    added: list[str] = []

    def build() -> list[Entity]:
        builds.append(1)
        return [_Thing("A")]

    def add(entities: Any, update_before_add: bool = False) -> None:
        for entity in entities:
            added.append(entity.unique_id)
            er.async_get(hass).async_get_or_create(
                Platform.SENSOR, DOMAIN, entity.unique_id, config_entry=entry
            )

    async_add_dynamic_entities(
        hass,
        entry,
        Platform.SENSOR,
        add,
        coordinator=coordinator,
        build=build,
    )
    coordinator.async_update_listeners()
    coordinator.async_update_listeners()
    assert len(builds) == 3
    assert added == ["A"]
