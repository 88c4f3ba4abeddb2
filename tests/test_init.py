"""Entry setup, restart, errors and unload against the simulator."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.enphase_enlighten import async_remove_config_entry_device
from custom_components.enphase_enlighten.const import CONF_SESSION, CONF_USER_ID, DOMAIN
from custom_components.enphase_enlighten.coordinator.energy import EnergyData
from custom_components.enphase_enlighten.entity import (
    charger_device_info,
    device_identifier,
    gateway_child_device_info,
    inverter_device_info,
    site_identifier,
)
from custom_components.enphase_enlighten.sensor import SITE_ENERGY_SENSORS
from tests.helpers import create_entry, setup_integration
from tests.simulator import (
    MFA_EMAIL,
    MFA_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    EnlightenSimulator,
)

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

# Paths that only battery/system-controller or EV charger sites may call.
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


def _logins(simulator: EnlightenSimulator) -> list[str]:
    return [
        r.path
        for r in simulator.requests
        if r.path in ("/login/login.json", "/app-api/validate_login_otp")
    ]


async def test_setup_full_site(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The battery + charger site gets every coordinator, the sensors and the hierarchy."""
    entry = await create_entry(hass, simulator)
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    caps = runtime.capabilities
    assert (caps.has_battery, caps.has_charger, caps.has_microinverters) == (True, True, True)
    assert caps.timezone == "Australia/Sydney"
    assert runtime.site is not None
    assert runtime.ev is not None
    assert {runtime.inventory, runtime.energy, runtime.site, runtime.ev} <= set(
        runtime.coordinators
    )
    # The restored session is used as is: no login at setup.
    assert _logins(simulator) == []

    state = hass.states.get("sensor.demo_home_lifetime_production")
    assert state is not None
    assert float(state.state) > 0
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert state.attributes["state_class"] == "total_increasing"
    assert hass.states.get("sensor.demo_home_production_today") is not None
    assert hass.states.get("sensor.demo_home_lifetime_grid_import") is not None

    devices = dr.async_get(hass)
    site = devices.async_get_device_by_identifier(site_identifier("1000001"), entry.entry_id)
    gateway = devices.async_get_device_by_identifier(
        device_identifier("GW0000000001"), entry.entry_id
    )
    assert site is not None
    assert gateway is not None
    assert site.name == "Demo Home"
    assert gateway.via_device_id == site.id
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert {e.unique_id for e in entities} >= {
        "1000001_production_today",
        "1000001_production_lifetime",
    }


async def test_restart_without_new_otp(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """An MFA account restarts from the stored session: no login, no code."""
    entry = await create_entry(
        hass, simulator, email=MFA_EMAIL, password=MFA_PASSWORD, store_password=False
    )
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _logins(simulator) == []
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_setup_logs_in_and_stores_session(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Without a stored session, setup logs in and stores the new session."""
    entry = await create_entry(hass, simulator, logged_in=False)
    assert entry.data[CONF_SESSION] == {}
    assert await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert _logins(simulator) == ["/login/login.json"]
    assert entry.data[CONF_SESSION]["session_id"]
    assert entry.data[CONF_USER_ID]


async def test_relogin_writes_session_back(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A silent re-login during a refresh updates the stored session (once)."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    old = entry.data[CONF_SESSION]["session_id"]
    simulator.expire_sessions()
    simulator.clear_requests()
    energy = entry.runtime_data.energy
    await energy.async_refresh()
    assert energy.last_update_success
    assert _logins(simulator) == ["/login/login.json"]
    new = entry.data[CONF_SESSION]["session_id"]
    assert new != old
    # A refresh without a new login leaves the stored session alone.
    await energy.async_refresh()
    assert entry.data[CONF_SESSION]["session_id"] == new


async def test_setup_not_ready(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A cloud outage at setup retries later."""
    entry = await create_entry(hass, simulator)
    simulator.inject_fault("devices.json", status=503)
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 429, "headers": {"Retry-After": "30"}}, "rate_limited"),
        ({"status": 200, "body": "[]"}, "invalid_response"),
    ],
)
async def test_setup_not_ready_reasons(
    hass: HomeAssistant, simulator: EnlightenSimulator, fault: dict[str, Any], reason: str
) -> None:
    """Rate limits and malformed answers at setup retry later too."""
    entry = await create_entry(hass, simulator)
    simulator.inject_fault("devices.json", **fault)
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None


async def test_setup_first_refresh_fails(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A failing first refresh (after capabilities) retries later."""
    entry = await create_entry(hass, simulator)
    simulator.inject_fault("lifetime_energy", status=503)
    simulator.inject_fault("events/homeowner", status=503)
    simulator.inject_fault("inverter_status_x", status=503)
    simulator.inject_fault("inverter_data_x", status=503)
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_auth_failed_without_password(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """An expired session without a stored password asks for reauthentication."""
    entry = await create_entry(hass, simulator, store_password=False)
    simulator.expire_sessions()
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


async def test_setup_auth_failed_wrong_password(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A password that no longer works asks for reauthentication."""
    entry = await create_entry(
        hass, simulator, logged_in=False, data={CONF_PASSWORD: "changed-since"}
    )
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_runtime_auth_failure_starts_reauth(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A session lost at runtime without a password starts reauth."""
    entry = await create_entry(hass, simulator, store_password=False)
    assert await setup_integration(hass, entry)
    simulator.expire_sessions()
    inventory = entry.runtime_data.inventory
    await inventory.async_refresh()
    await hass.async_block_till_done()
    assert not inventory.last_update_success
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


async def test_unload_leaves_nothing_behind(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """After unload no timer fires and no request is made."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    coordinators = entry.runtime_data.coordinators
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    for coordinator in coordinators:
        assert coordinator._unsub_refresh is None
    state = hass.states.get("sensor.demo_home_lifetime_production")
    assert state is not None
    assert state.state == "unavailable"
    simulator.clear_requests()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(days=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests == []


async def test_micros_only_site_never_calls_battery_or_ev(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A site without battery or charger makes zero battery/EV requests, even over time."""
    entry = await create_entry(
        hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id="1000002"
    )
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    assert runtime.site is None
    assert runtime.ev is None
    simulator.clear_requests()
    for _ in range(3 * 12):
        freezer.tick(timedelta(minutes=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    paths = [r.path for r in simulator.requests]
    assert any("lifetime_energy" in p for p in paths)
    assert any("devices.json" in p for p in paths)
    assert [p for p in paths if any(part in p for part in BATTERY_OR_EV_PATHS)] == []


async def test_device_families_limit_polling(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Families left out in the options are neither polled nor detected."""
    entry = await create_entry(hass, simulator, options={"device_families": ["gateway_devices"]})
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    assert runtime.site is None
    assert runtime.ev is None
    assert not runtime.capabilities.has_microinverters
    paths = [r.path for r in simulator.requests]
    assert [p for p in paths if any(part in p for part in BATTERY_OR_EV_PATHS)] == []
    assert [p for p in paths if "inverter" in p] == []


async def test_remove_entry_deletes_store(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """Removing the entry deletes the stored event cursor and energy guard."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    key = f"{DOMAIN}.{entry.entry_id}"
    assert key in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_remove_config_entry_device(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Only devices that left the site can be removed by the user."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    registry = dr.async_get(hass)
    gateway = registry.async_get_device_by_identifier(
        device_identifier("GW0000000001"), entry.entry_id
    )
    site = registry.async_get_device_by_identifier(site_identifier("1000001"), entry.entry_id)
    assert gateway is not None
    assert site is not None
    assert not await async_remove_config_entry_device(hass, entry, gateway)
    assert not await async_remove_config_entry_device(hass, entry, site)
    gone = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={device_identifier("OLD000000001")}
    )
    assert await async_remove_config_entry_device(hass, entry, gone)


async def test_device_hierarchy_builders(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Batteries, meters and inverters hang under the gateway, the charger under the site."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    registry = dr.async_get(hass)
    site = registry.async_get_device_by_identifier(site_identifier("1000001"), entry.entry_id)
    gateway = registry.async_get_device_by_identifier(
        device_identifier("GW0000000001"), entry.entry_id
    )
    assert site is not None
    assert gateway is not None
    devices = runtime.inventory.data.devices
    assert devices is not None
    gateway_serial = runtime.capabilities.gateway_serial

    battery_info = gateway_child_device_info(hass, entry, devices.batteries[0], gateway_serial)
    assert battery_info["via_device_id"] == gateway.id
    assert battery_info["model"] == "IQ Battery"
    assert battery_info["model_id"] == "B05-T02-ROW00-1-2"
    assert battery_info["sw_version"]
    meter_info = gateway_child_device_info(hass, entry, devices.meters[0], None)
    assert meter_info["via_device_id"] == site.id

    inverter = next(iter(runtime.inventory.data.inverters.values()))
    inverter_info = inverter_device_info(hass, entry, inverter, gateway_serial)
    assert inverter_info["via_device_id"] == gateway.id
    assert inverter_info["serial_number"] == inverter.serial
    assert inverter_device_info(hass, entry, inverter, None)["via_device_id"] == site.id

    summary = runtime.inventory.data.chargers["EV0000000001"]
    assert runtime.ev is not None
    status = runtime.ev.data.chargers["EV0000000001"]
    charger_info = charger_device_info(hass, entry, "EV0000000001", summary, status)
    assert charger_info["via_device_id"] == site.id
    assert charger_info["model"] == summary.model
    with_sku = replace(summary, sku="IQ-EVSE-EU-3032-0105-1300")
    sku_info = charger_device_info(hass, entry, "EV0000000001", with_sku)
    assert sku_info["model_id"] == "IQ-EVSE-EU-3032-0105-1300"
    assert charger_info["sw_version"] == summary.firmware
    bare = charger_device_info(hass, entry, "EV0000000001", None, None)
    assert bare["name"] == "IQ EV Charger 000001"
    assert "model" not in bare

    for info in (battery_info, meter_info, inverter_info, charger_info):
        device = registry.async_get_or_create(config_entry_id=entry.entry_id, **info)
        assert device.via_device_id in (site.id, gateway.id)

    # A parent that is not registered (yet) is simply not linked.
    other = await create_entry(hass, simulator, site_id="1000002", logged_in=False)
    orphan = gateway_child_device_info(hass, other, devices.batteries[0], "GW0000000002")
    assert "via_device_id" not in orphan


def test_energy_sensor_without_flow() -> None:
    """A sensor whose flow is missing from the data reports no value."""
    data = EnergyData(site_date=dt_util.now().date(), timezone="UTC")
    assert all(description.value_fn(data) is None for description in SITE_ENERGY_SENSORS)
