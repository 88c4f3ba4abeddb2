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
from .config_flow import EnlightenConfigFlow
from .const import (
    CONF_BASE_URL,
    CONF_GATEWAY,
    CONF_SESSION,
    CONF_SITE_ID,
    DOMAIN,
    PLATFORMS,
    REMOVED_INTERVAL_OPTIONS,
    STORAGE_VERSION,
    device_identifier,
    site_identifier,
)
from .control.actions import async_setup_services
from .control.battery_command import BatteryCommandManager, async_remove_store
from .coordinator.base import async_persist_session
from .coordinator.data import EnlightenOptions
from .coordinator.energy import EnergyCoordinator
from .coordinator.ev import EvCoordinator, EvSettingsCoordinator
from .coordinator.gateway import GatewayConfig, GatewayCoordinator, async_remove_gateway_issue
from .coordinator.inventory import InventoryCoordinator, async_detect_capabilities
from .coordinator.site import SiteCoordinator
from .devices import async_remove_retired_entities, async_setup_device_upkeep
from .entity import async_register_hub_devices
from .history.actions import async_setup_history_services
from .runtime import EnlightenConfigEntry, EnlightenRuntimeData

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

    async_remove_retired_entities(hass, entry)
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


@callback
def async_setup_gateway(
    hass: HomeAssistant, entry: EnlightenConfigEntry, runtime: EnlightenRuntimeData
) -> None:
    """Start the gateway coordinator when the entry has a gateway configured.

    The first read runs in the background: the gateway is optional, so an unreachable
    one never holds up the cloud entities. Its entities appear with its first data.
    """
    if not (stored := entry.data.get(CONF_GATEWAY)):
        return
    # Gateways use self-signed certificates; the session is released with the entry.
    session = async_create_clientsession(
        hass, verify_ssl=False, cookie_jar=aiohttp.DummyCookieJar()
    )
    runtime.gateway = GatewayCoordinator(
        hass,
        entry,
        runtime.client,
        runtime.capabilities,
        config=GatewayConfig.from_data(stored),
        session=session,
    )
    entry.async_create_background_task(
        hass, runtime.gateway.async_refresh(), f"{DOMAIN} gateway first refresh"
    )


async def async_migrate_entry(hass: HomeAssistant, entry: EnlightenConfigEntry) -> bool:
    """Bring an entry stored by an older version of the integration up to date.

    1.1 -> 1.2: the polling intervals stopped being options; their keys are dropped so
    the entry keeps loading with the built-in cadences. An entry of a newer major
    version (after a downgrade) is refused.
    """
    if entry.version > EnlightenConfigFlow.VERSION:
        _LOGGER.error(
            "Cannot load %s: its configuration version %s.%s is newer than this version "
            "of the integration supports",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    if entry.minor_version < 2:
        options = {
            key: value
            for key, value in entry.options.items()
            if key not in REMOVED_INTERVAL_OPTIONS
        }
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        _LOGGER.debug("Migrated %s to configuration version 1.2", entry.title)
    return True
