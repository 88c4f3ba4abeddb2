"""The Enphase Enlighten integration."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .api import (
    AuthError,
    EnlightenClient,
    EnlightenError,
    InvalidResponse,
    MfaRequired,
    RateLimited,
)
from .battery_command import BatteryCommandManager, async_remove_store
from .const import (
    CONF_BASE_URL,
    CONF_SESSION,
    CONF_SITE_ID,
    DOMAIN,
    PLATFORMS,
    STORAGE_VERSION,
)
from .coordinator import (
    EnlightenConfigEntry,
    EnlightenOptions,
    EnlightenRuntimeData,
    EvCoordinator,
    SiteCoordinator,
    async_persist_session,
)
from .devices import async_setup_device_upkeep
from .energy_coordinator import EnergyCoordinator
from .entity import async_register_hub_devices, device_identifier, site_identifier
from .ev_settings import EvSettingsCoordinator
from .gateway_coordinator import async_remove_gateway_issue, async_setup_gateway
from .inventory_coordinator import InventoryCoordinator, async_detect_capabilities
from .services import async_setup_services
from .services_history import async_setup_history_services

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (service actions are registered here)."""
    async_setup_services(hass)
    async_setup_history_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EnlightenConfigEntry) -> bool:
    """Restore the session, decide capabilities, start the coordinators."""
    session = async_create_clientsession(hass, cookie_jar=aiohttp.DummyCookieJar())
    client = EnlightenClient(
        session,
        entry.data[CONF_EMAIL],
        entry.data.get(CONF_PASSWORD),
        base_url=entry.data[CONF_BASE_URL],
    )
    if stored := entry.data.get(CONF_SESSION):
        client.import_session(stored)
    site_id: str = entry.data[CONF_SITE_ID]
    options = EnlightenOptions.from_entry(entry)

    try:
        await client.ensure_session()
        capabilities = await async_detect_capabilities(client, site_id, options)
    except (AuthError, MfaRequired) as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except RateLimited as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="rate_limited"
        ) from err
    except InvalidResponse as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="invalid_response",
            translation_placeholders={"error": str(err)},
        ) from err
    except EnlightenError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="service_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err
    async_persist_session(hass, entry, client)

    runtime = EnlightenRuntimeData(
        client=client,
        capabilities=capabilities,
        options=options,
        inventory=InventoryCoordinator(hass, entry, client, capabilities, options),
        energy=EnergyCoordinator(hass, entry, client, capabilities, options),
    )
    if capabilities.has_battery:
        runtime.site = SiteCoordinator(hass, entry, client, capabilities, options)
    if capabilities.has_charger:
        runtime.ev = EvCoordinator(hass, entry, client, capabilities, options)
        runtime.ev_settings = EvSettingsCoordinator(hass, entry, client, capabilities, options)

    # Side by side: the client's two-at-a-time cap keeps both request slots busy.
    outcomes = await asyncio.gather(
        *(c.async_config_entry_first_refresh() for c in runtime.coordinators),
        return_exceptions=True,
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    # An authentication failure wins: it asks the user, a retry would not help.
    failures.sort(key=lambda err: not isinstance(err, ConfigEntryAuthFailed))
    if failures:
        raise failures[0]

    entry.runtime_data = runtime
    async_setup_gateway(hass, entry, runtime)
    inventory = runtime.inventory

    @callback
    def _register_hub_devices() -> None:
        async_register_hub_devices(hass, entry, inventory.data.devices if inventory.data else None)

    _register_hub_devices()
    entry.async_on_unload(inventory.async_add_listener(_register_hub_devices))

    if runtime.site is not None:
        # Resume a timed battery command that was running before a restart.
        runtime.battery_command = BatteryCommandManager(hass, entry, runtime.site)
        entry.async_on_unload(runtime.battery_command.async_stop)
        await runtime.battery_command.async_start()

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Devices that left the site (or whose family was turned off) go, now and later.
    async_setup_device_upkeep(hass, entry)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EnlightenConfigEntry) -> bool:
    """Unload platforms; coordinators and the HTTP session are released with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Delete the stored event cursor and energy guard of a removed entry."""
    await Store[dict[str, object]](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
    ).async_remove()
    await async_remove_store(hass, entry.entry_id)
    async_remove_gateway_issue(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EnlightenConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device that is no longer part of the site."""
    runtime = entry.runtime_data
    current = {site_identifier(entry.data[CONF_SITE_ID])}
    inventory = runtime.inventory.data
    if inventory is not None:
        serials: list[str] = [*inventory.inverters, *inventory.chargers]
        if inventory.devices is not None:
            serials.extend(d.serial for d in inventory.devices.all_devices if d.serial)
        current.update(device_identifier(serial) for serial in serials)
    if runtime.ev is not None and runtime.ev.data is not None:
        current.update(device_identifier(serial) for serial in runtime.ev.data.chargers)
    return not any(identifier in current for identifier in device.identifiers)
