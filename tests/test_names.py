"""Names a new user meets: devices and entities that explain themselves.

Every entity of a site has a friendly name no sibling of its entry shares, and an
entity id made from that name alone: none got a ``_2`` from Home Assistant's
de-duplication, also with several sites (each with its own gateway and meters) in
one Home Assistant.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from homeassistant.const import ATTR_FRIENDLY_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.const import DOMAIN, device_identifier
from custom_components.enphase_enlighten.devices import RETIRED_SITE_ENTITIES
from tests.entity_setup import SITE_FULL, all_entities_enabled, setup_site
from tests.gateway_helpers import BATTERY, METERED, TokenService, align_cloud, gateway_entry
from tests.gateway_sim.testing import SimulatorPool
from tests.helpers import setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

SITE_LARGE = "1000004"
# Every scenario of the simulator, the 100-microinverter site included.
ALL_SITES = ("1000001", "1000002", "1000003", SITE_LARGE)
EV_SN = "EV0000000001"
# What Home Assistant appends to an entity id that is taken.
DEDUPLICATED = re.compile(r"_\d+$")


def _problems(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Friendly names shared within the entry, entity ids not made from their name."""
    by_name: defaultdict[str, list[str]] = defaultdict(list)
    wrong: list[str] = []
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entries
    for entity in entries:
        state = hass.states.get(entity.entity_id)
        assert state is not None, f"{entity.entity_id} has no state"
        name = state.attributes.get(ATTR_FRIENDLY_NAME)
        assert isinstance(name, str) and name, f"{entity.entity_id} has no friendly name"
        by_name[name].append(entity.entity_id)
        expected = f"{entity.domain}.{slugify(name)}"
        if entity.entity_id != expected:
            wrong.append(f"{entity.entity_id} (named {name!r}, expected {expected})")
        object_id = entity.entity_id.split(".", 1)[1]
        if DEDUPLICATED.search(object_id) and not DEDUPLICATED.search(slugify(name)):
            wrong.append(f"{entity.entity_id}: a de-duplication suffix")
    shared = [f"{name!r}: {ids}" for name, ids in by_name.items() if len(ids) > 1]
    return shared + wrong


def _device_names(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    return [
        device.name or ""
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    ]


def _device_name(hass: HomeAssistant, entry: MockConfigEntry, serial: str) -> str | None:
    device = dr.async_get(hass).async_get_device_by_identifier(
        device_identifier(serial), entry.entry_id
    )
    assert device is not None, serial
    return device.name


@pytest.mark.parametrize("site_id", ALL_SITES)
async def test_each_scenario(hass: HomeAssistant, sim: EnlightenSimulator, site_id: str) -> None:
    """One site: every entity (disabled ones too) has a name of its own."""
    with all_entities_enabled():
        entry = await setup_site(hass, sim, site_id)
    assert _problems(hass, entry) == []
    names = _device_names(hass, entry)
    assert len(names) == len(set(names)), names


async def test_every_site_in_one_home_assistant(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """Four sites side by side: four gateways, meters of one model, and no ``_2``."""
    with all_entities_enabled():
        entries = [await setup_site(hass, sim, site_id) for site_id in ALL_SITES]
    for entry in entries:
        assert _problems(hass, entry) == [], entry.title
    names = [name for entry in entries for name in _device_names(hass, entry)]
    assert len(names) == len(set(names)), sorted(names)


async def test_device_names(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Product names get the end of the serial; a name the owner chose stays as it is."""
    full = await setup_site(hass, sim)
    legacy = await setup_site(hass, sim, "1000003")
    assert _device_name(hass, full, "GW0000000001") == "IQ Gateway 000001"
    assert _device_name(hass, full, "BT0000000001") == "IQ Battery 5P 000001"
    assert _device_name(hass, full, "BT0000000002") == "IQ Battery 5P 000002"
    assert _device_name(hass, full, "SC0000000001") == "IQ System Controller 3 000001"
    assert _device_name(hass, full, "GW0000000001EIM1") == "Production CT 01EIM1"
    assert _device_name(hass, full, EV_SN) == "IQ EV Charger 000001"
    assert _device_name(hass, full, "121000001001") == "IQ8M 001001"
    assert _device_name(hass, legacy, "GW0000000003") == "Envoy-S Metered 000003"
    # The owner named this charger in the app.
    assert _device_name(hass, legacy, "EV0000000003") == "Barn Charger"


async def test_chargers_named_alike(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Two chargers the owner gave one name get the serial suffix; a unique name stays."""
    chargers = sim.site(1000001).chargers
    chargers[EV_SN].name = "Garage"
    second = "EV0000000009"
    chargers[second] = replace(
        chargers[EV_SN], sn=second, uuid="0f8e1a62-8d4b-4c57-9a44-5b1d2e3f4a09"
    )
    with all_entities_enabled():
        entry = await setup_site(hass, sim)
    assert _device_name(hass, entry, EV_SN) == "Garage 000001"
    assert _device_name(hass, entry, second) == "Garage 000009"
    assert _problems(hass, entry) == []


async def test_retired_duplicates_are_removed(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Registry entries of the sensors that only repeated a control go at setup."""
    entry = await setup_site(hass, sim)
    registry = er.async_get(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    for platform, key in RETIRED_SITE_ENTITIES:
        registry.async_get_or_create(
            platform, DOMAIN, f"{SITE_FULL}_{key}", config_entry=entry, suggested_object_id=key
        )
    kept = registry.async_get_or_create(
        "sensor", DOMAIN, f"{SITE_FULL}_battery_level", config_entry=entry
    )
    assert await setup_integration(hass, entry)
    for platform, key in RETIRED_SITE_ENTITIES:
        assert registry.async_get_entity_id(platform, DOMAIN, f"{SITE_FULL}_{key}") is None
    # The controls with the same keys stay.
    assert registry.async_get_entity_id("select", DOMAIN, f"{SITE_FULL}_battery_profile")
    assert registry.async_get_entity_id("switch", DOMAIN, f"{SITE_FULL}_storm_guard")
    assert registry.async_get_entity_id("time", DOMAIN, f"{SITE_FULL}_charge_from_grid_start")
    assert registry.async_get(kept.entity_id) is not None


# -- with the local gateway -------------------------------------------------------------


@pytest.fixture
async def pool() -> AsyncIterator[SimulatorPool]:
    """Local gateway simulators on 127.0.0.1."""
    gateways = SimulatorPool()
    try:
        yield gateways
    finally:
        await gateways.close()


@pytest.mark.parametrize("firmware", [METERED, BATTERY])
async def test_with_local_gateway(
    hass: HomeAssistant, sim: EnlightenSimulator, pool: SimulatorPool, firmware: str
) -> None:
    """The local readings join the cloud's devices without a name two entities share."""
    gateway = await pool.start(firmware)
    align_cloud(sim, gateway, inverters=7)
    token_service = TokenService(gateway)
    await token_service.start()
    try:
        entry = await gateway_entry(hass, sim, gateway, token_service.url)
        with all_entities_enabled():
            assert await setup_integration(hass, entry)
            await hass.async_block_till_done(wait_background_tasks=True)
        registry = er.async_get(hass)
        local = [
            e
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if "_local_" in e.unique_id
        ]
        assert local
        assert _problems(hass, entry) == []
    finally:
        await token_service.stop()
