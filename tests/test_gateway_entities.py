"""Entities of the local gateway: values from the simulated firmware payloads, devices,
relays and flags, availability, entities that appear later."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.const import (
    CONF_DEVICE_FAMILIES,
    DOMAIN,
    FAMILY_BATTERY,
    FAMILY_EV,
    FAMILY_GATEWAY_DEVICES,
)
from custom_components.enphase_enlighten.coordinator.gateway import GatewayCoordinator
from custom_components.enphase_enlighten.descriptions.gateway import (
    CONSUMPTION_SENSORS,
    FLAG_BINARY_SENSORS,
    INVERTER_SENSORS,
    PRODUCTION_SENSORS,
    RELAY_BINARY_SENSORS,
    gateway_binary_sensors,
    gateway_sensors,
)
from tests.entity_setup import advance, only_platforms
from tests.gateway_helpers import (
    BATTERY,
    LEGACY,
    METERED,
    TokenService,
    align_cloud,
    cloud_devices,
    gateway_entry,
)
from tests.gateway_sim import RELAY_SERIAL, GatewaySimulator
from tests.gateway_sim.testing import SimulatorPool
from tests.helpers import setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")


@pytest.fixture(autouse=True)
def local_platforms() -> Iterator[None]:
    """Only the platforms that carry gateway entities."""
    with only_platforms(Platform.SENSOR, Platform.BINARY_SENSOR):
        yield


@pytest.fixture
async def pool() -> AsyncIterator[SimulatorPool]:
    """Local gateway simulators on 127.0.0.1."""
    gateways = SimulatorPool()
    try:
        yield gateways
    finally:
        await gateways.close()


@pytest.fixture
async def service(pool: SimulatorPool) -> AsyncIterator[list[TokenService]]:
    """Token services of the tests (stopped at the end)."""
    started: list[TokenService] = []
    try:
        yield started
    finally:
        for item in started:
            await item.stop()


async def _setup(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    gateway: GatewaySimulator,
    services: list[TokenService],
    *,
    site_id: str = "1000001",
    options: dict[str, Any] | None = None,
) -> tuple[MockConfigEntry, GatewayCoordinator]:
    token_service = TokenService(gateway)
    await token_service.start()
    services.append(token_service)
    entry = await gateway_entry(
        hass, sim, gateway, token_service.url, site_id=site_id, options=options
    )
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.gateway
    assert coordinator is not None
    return entry, coordinator


def _entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)


def _state(hass: HomeAssistant, platform: str, serial: str, key: str) -> State:
    entity_id = _entity_id(hass, platform, f"{serial}_{key}")
    assert entity_id is not None, f"{serial}_{key}"
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def _local_unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        e.unique_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if "_local_" in e.unique_id
    }


def _device_of(hass: HomeAssistant, platform: str, unique_id: str) -> dr.DeviceEntry:
    entity_id = _entity_id(hass, platform, unique_id)
    assert entity_id is not None
    entity = er.async_get(hass).async_get(entity_id)
    assert entity is not None and entity.device_id is not None
    device = dr.async_get(hass).async_get(entity.device_id)
    assert device is not None
    return device


def _eim(gateway: GatewaySimulator, section: str, measurement: str) -> dict[str, Any]:
    doc = gateway.fixture_json("production.json")
    return next(
        item
        for item in doc[section]
        if item.get("type") == "eim" and item.get("measurementType") == measurement
    )


async def _cloud_lists_relay(sim: EnlightenSimulator, site_id: str) -> None:
    """Make the cloud inventory of ``site_id`` list the simulated relay."""
    payload = await cloud_devices(sim, site_id)
    payload["result"].insert(
        1,
        {
            "type": "enrelay",
            "devices": [{"name": "IQ Relay", "serial_number": RELAY_SERIAL, "status": "normal"}],
        },
    )
    sim.inject_fault("devices.json", status=200, body=json.dumps(payload))


# -- values ---------------------------------------------------------------------------


async def test_metered_gateway(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """Firmware 7 with CTs: production and consumption now/today/7 days/lifetime,
    per-inverter reports and flags, on the devices the cloud created."""
    gateway = await pool.start(METERED)
    inverters = align_cloud(sim, gateway, inverters=7)
    entry, _coordinator = await _setup(hass, sim, gateway, service)
    serial = gateway.serial

    for section, measurement, kind in (
        ("production", "production", "production"),
        ("consumption", "total-consumption", "consumption"),
    ):
        captured = _eim(gateway, section, measurement)
        power = _state(hass, "sensor", serial, f"local_{kind}_power")
        assert float(power.state) == round(captured["wNow"])
        assert power.attributes[ATTR_UNIT_OF_MEASUREMENT] == "W"
        assert power.attributes[ATTR_DEVICE_CLASS] == "power"
        assert power.attributes["state_class"] == SensorStateClass.MEASUREMENT
        today = _state(hass, "sensor", serial, f"local_{kind}_today")
        assert today.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
        assert today.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        assert float(today.state) == pytest.approx(round(captured["whToday"]) / 1000)
        week = _state(hass, "sensor", serial, f"local_{kind}_last_7_days")
        assert "state_class" not in week.attributes
        assert float(week.state) == pytest.approx(round(captured["whLastSevenDays"]) / 1000)
        lifetime = _state(hass, "sensor", serial, f"local_{kind}_lifetime")
        assert lifetime.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
        assert lifetime.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        assert float(lifetime.state) == pytest.approx(round(captured["whLifetime"]) / 1000)
    assert _state(hass, "sensor", serial, "local_production_power").state == "488"
    assert _entity_id(hass, "sensor", f"{serial}_local_battery_level") is None

    gateway_device = _device_of(hass, "sensor", f"{serial}_local_production_power")
    assert (DOMAIN, serial) in gateway_device.identifiers

    reports = {i["serialNumber"]: i for i in gateway.fixture_json("api_v1_production_inverters")}
    for inverter in inverters:
        last = _state(hass, "sensor", inverter, "local_last_report_power")
        assert float(last.state) == reports[inverter]["lastReportWatts"]
        best = _state(hass, "sensor", inverter, "local_max_report_power")
        assert float(best.state) == reports[inverter]["maxReportWatts"]
        when = _state(hass, "sensor", inverter, "local_last_report")
        assert when.attributes[ATTR_DEVICE_CLASS] == "timestamp"
        for flag in ("producing", "communicating", "provisioned", "operating"):
            assert _state(hass, "binary_sensor", inverter, f"local_{flag}").state in (
                STATE_ON,
                STATE_OFF,
            )
        # Same device as the cloud's entities of that inverter.
        device = _device_of(hass, "sensor", f"{inverter}_local_last_report_power")
        assert (DOMAIN, inverter) in device.identifiers
        assert device.via_device_id == gateway_device.id
    assert len(_local_unique_ids(hass, entry)) == 8 + 7 * 3 + 7 * 4


async def test_legacy_unmetered_gateway_with_relay(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Firmware 5, no CTs: production only; the relay contact and its lines follow
    the gateway; inverters the cloud does not list get no local entities."""
    gateway = await pool.start(LEGACY)
    relay = gateway.add_relay()
    inverters = align_cloud(sim, gateway, 1000002, inverters=8)
    await _cloud_lists_relay(sim, "1000002")
    entry, _coordinator = await _setup(hass, sim, gateway, service, site_id="1000002")
    serial = gateway.serial

    assert _state(hass, "sensor", serial, "local_production_power").state == "7907"
    assert _entity_id(hass, "sensor", f"{serial}_local_consumption_power") is None
    local = _local_unique_ids(hass, entry)
    assert {u.split("_", 1)[0] for u in local} == {serial, RELAY_SERIAL, *inverters}

    contact = _state(hass, "binary_sensor", RELAY_SERIAL, "local_relay_closed")
    assert contact.state == STATE_ON and contact.attributes["reason"] == "ok"
    for line in (1, 2, 3):
        assert _state(hass, "binary_sensor", RELAY_SERIAL, f"local_line{line}_connected").state == (
            STATE_ON
        )
    assert _state(hass, "binary_sensor", RELAY_SERIAL, "local_producing").state == STATE_OFF
    relay_device = _device_of(hass, "binary_sensor", f"{RELAY_SERIAL}_local_relay_closed")
    assert relay_device.name == f"IQ Relay {RELAY_SERIAL[-6:]}"

    relay.closed = False
    relay.lines = [True, False, True]
    relay.reason = "grid-fault"
    await advance(hass, sim, freezer, 60)
    contact = _state(hass, "binary_sensor", RELAY_SERIAL, "local_relay_closed")
    assert contact.state == STATE_OFF and contact.attributes["reason"] == "grid-fault"
    assert _state(hass, "binary_sensor", RELAY_SERIAL, "local_line2_connected").state == STATE_OFF


async def test_two_line_relay(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """A relay with two lines has no line 3 entity."""
    gateway = await pool.start(LEGACY)
    gateway.add_relay(line_count=2, lines=[True, True])
    align_cloud(sim, gateway, 1000002)
    await _cloud_lists_relay(sim, "1000002")
    await _setup(hass, sim, gateway, service, site_id="1000002")
    assert _entity_id(hass, "binary_sensor", f"{RELAY_SERIAL}_local_line2_connected")
    assert _entity_id(hass, "binary_sensor", f"{RELAY_SERIAL}_local_line3_connected") is None


async def test_battery_level(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """Firmware 8 with IQ Batteries: the live battery level."""
    gateway = await pool.start(BATTERY)
    align_cloud(sim, gateway)
    await _setup(hass, sim, gateway, service)
    level = _state(hass, "sensor", gateway.serial, "local_battery_level")
    assert level.state == "21"
    assert level.attributes[ATTR_UNIT_OF_MEASUREMENT] == "%"
    assert level.attributes[ATTR_DEVICE_CLASS] == "battery"


# -- devices follow the cloud inventory and the options ----------------------------------


async def test_device_families_turned_off(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """No microinverter or relay devices wanted: no local entities for them."""
    gateway = await pool.start(LEGACY)
    gateway.add_relay()
    align_cloud(sim, gateway, 1000002, inverters=8)
    await _cloud_lists_relay(sim, "1000002")
    entry, _coordinator = await _setup(
        hass,
        sim,
        gateway,
        service,
        site_id="1000002",
        options={CONF_DEVICE_FAMILIES: [FAMILY_EV, FAMILY_BATTERY]},
    )
    assert {u.split("_", 1)[0] for u in _local_unique_ids(hass, entry)} == {gateway.serial}


async def test_relay_unknown_to_the_cloud(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """A relay the cloud does not list would be pruned as stale: not represented."""
    gateway = await pool.start(LEGACY)
    gateway.add_relay()
    align_cloud(sim, gateway, 1000002)
    entry, _coordinator = await _setup(
        hass,
        sim,
        gateway,
        service,
        site_id="1000002",
        options={CONF_DEVICE_FAMILIES: [FAMILY_GATEWAY_DEVICES]},
    )
    assert {u.split("_", 1)[0] for u in _local_unique_ids(hass, entry)} == {gateway.serial}


async def test_gateway_unknown_to_the_cloud(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """The cloud lists another gateway: the local values go to the site device."""
    gateway = await pool.start(METERED)
    await _setup(hass, sim, gateway, service)
    device = _device_of(hass, "sensor", f"{gateway.serial}_local_production_power")
    assert (DOMAIN, "site_1000001") in device.identifiers


async def test_cloud_inventory_not_known_yet(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
) -> None:
    """While the cloud inventory is incomplete nothing is pruned: local devices are
    created from the gateway's own data."""
    gateway = await pool.start(METERED)
    gateway.add_relay()
    sim.inject_fault("inverters.json", status=500)
    entry, coordinator = await _setup(hass, sim, gateway, service)
    assert entry.runtime_data.inventory.data.inverter_summary is None
    assert coordinator.data is not None

    gateway_device = _device_of(hass, "sensor", f"{gateway.serial}_local_production_power")
    assert gateway_device.name == f"IQ Gateway {gateway.serial[-6:]}"
    assert gateway_device.sw_version == "7.6.175"
    inverter = next(iter(coordinator.data.inverters))
    device = _device_of(hass, "sensor", f"{inverter}_local_last_report_power")
    assert device.name == f"Microinverter {inverter[-6:]}"
    assert device.via_device_id == gateway_device.id
    relay = _device_of(hass, "binary_sensor", f"{RELAY_SERIAL}_local_relay_closed")
    assert relay.name == f"IQ Relay {RELAY_SERIAL[-6:]}"


# -- availability, late entities --------------------------------------------------------


async def test_entities_follow_gateway_availability(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unreachable gateway makes its entities unavailable after three misses."""
    gateway = await pool.start(METERED)
    align_cloud(sim, gateway)
    await _setup(hass, sim, gateway, service)
    power = _entity_id(hass, "sensor", f"{gateway.serial}_local_production_power")
    assert power is not None
    gateway.inject_fault("/production", status=503)
    await advance(hass, sim, freezer, 60)
    await advance(hass, sim, freezer, 60)
    assert hass.states.get(power).state == "488"  # type: ignore[union-attr]
    await advance(hass, sim, freezer, 60)
    assert hass.states.get(power).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    gateway.clear_faults()
    await advance(hass, sim, freezer, 60)
    assert hass.states.get(power).state == "488"  # type: ignore[union-attr]


async def test_entities_appear_with_the_first_data(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    pool: SimulatorPool,
    service: list[TokenService],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Gateway down at startup: no local entities; they come with its data, and a
    relay installed later gets its entities without a reload."""
    gateway = await pool.start(LEGACY)
    align_cloud(sim, gateway, 1000002)
    gateway.inject_fault("/production", status=503)
    entry, coordinator = await _setup(hass, sim, gateway, service, site_id="1000002")
    assert coordinator.data is None and _local_unique_ids(hass, entry) == set()
    assert gateway_sensors(hass, entry) == [] and gateway_binary_sensors(hass, entry) == []

    gateway.clear_faults()
    await advance(hass, sim, freezer, 60)
    assert _entity_id(hass, "sensor", f"{gateway.serial}_local_production_power")

    gateway.add_relay()
    await advance(hass, sim, freezer, 60)
    # The cloud does not list it, but its inventory is complete: still nothing for it.
    assert _entity_id(hass, "binary_sensor", f"{RELAY_SERIAL}_local_relay_closed") is None


def test_descriptions_use_local_keys() -> None:
    """Local keys never clash with the cloud entities of the same device."""
    descriptions = (
        *PRODUCTION_SENSORS,
        *CONSUMPTION_SENSORS,
        *INVERTER_SENSORS,
        *RELAY_BINARY_SENSORS,
        *FLAG_BINARY_SENSORS,
    )
    assert all(d.key.startswith("local_") for d in descriptions)
    assert len({d.key for d in descriptions}) == len(descriptions)


def test_translations_and_icons() -> None:
    """Every local entity has a name, and an icon unless its device class gives one."""
    from pathlib import Path

    from custom_components.enphase_enlighten.descriptions.gateway import BATTERY_SENSORS

    root = Path(__file__).parent.parent / "custom_components" / DOMAIN
    en = json.loads((root / "translations" / "en.json").read_text())
    icons = json.loads((root / "icons.json").read_text())
    sensors = {
        d.translation_key
        for d in (*PRODUCTION_SENSORS, *CONSUMPTION_SENSORS, *INVERTER_SENSORS, *BATTERY_SENSORS)
    }
    binaries = {d.translation_key for d in (*RELAY_BINARY_SENSORS, *FLAG_BINARY_SENSORS)}
    assert sensors <= set(en["entity"]["sensor"])
    assert binaries <= set(en["entity"]["binary_sensor"])
    assert sensors - {"local_battery_level"} <= set(icons["entity"]["sensor"])
    assert binaries <= set(icons["entity"]["binary_sensor"])
    for key in ("gateway_unavailable", "gateway_auth_failed", "gateway_token_expired"):
        assert key in en["exceptions"]
    assert "gateway_token_expired" in en["issues"]
