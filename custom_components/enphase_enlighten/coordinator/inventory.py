"""Site capabilities (decided once at setup) and the inventory coordinator (1 h)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..api import ChargerSummary, EnlightenClient, Inventory, InverterList, SiteSettings
from ..api.sessions import async_fetch_last_sessions
from ..const import DEFAULT_INVENTORY_INTERVAL, FAMILY_BATTERY, FAMILY_EV, FAMILY_MICROINVERTERS
from .base import INVENTORY_PHASE, SLOW_PART_INTERVAL, EnlightenCoordinator
from .data import EnlightenOptions, InventoryData, SiteCapabilities

_LOGGER = logging.getLogger(__name__)

# How often each inventory part is read.
PART_EVERY = timedelta(seconds=DEFAULT_INVENTORY_INTERVAL)


async def async_detect_capabilities(
    client: EnlightenClient, site_id: str, options: EnlightenOptions
) -> SiteCapabilities:
    """Decide once what the site has (inventory 2.9, site settings 5.2, EV summary 2.2).

    Site settings and the EV summary are only read when the inventory shows
    battery/controller or charger hardware, so a micros-only site makes no
    battery or EV request at all.
    """
    inventory = await client.devices(site_id)

    async def read_settings() -> SiteSettings | None:
        if options.family_enabled(FAMILY_BATTERY) and (
            inventory.batteries or inventory.controllers
        ):
            return await client.site_settings(site_id)
        return None

    async def read_chargers() -> list[ChargerSummary]:
        if options.family_enabled(FAMILY_EV) and inventory.chargers:
            return await client.ev_summary(site_id)
        return []

    # Both depend on the inventory only, so they are read side by side.
    settings, chargers = await asyncio.gather(read_settings(), read_chargers())
    has_battery = settings is not None and settings.has_encharge
    timezone = (settings.timezone if settings else None) or next(
        (c.timezone for c in chargers if c.timezone), None
    )
    return SiteCapabilities(
        site_id=site_id,
        has_battery=has_battery,
        has_system_controller=settings is not None and settings.has_enpower,
        has_charger=bool(chargers),
        has_microinverters=options.family_enabled(FAMILY_MICROINVERTERS),
        timezone=timezone,
        gateway_serial=next((g.serial for g in inventory.gateways if g.serial), None),
        settings=settings,
        inventory=inventory,
        chargers=tuple(chargers),
    )


class InventoryCoordinator(EnlightenCoordinator[InventoryData]):
    """Devices, microinverters, EV chargers and backup history (each hourly).

    The coordinator runs every 15 minutes and reads the parts that are due, so
    that its five hourly reads spread over the hour instead of leaving together.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the inventory coordinator, seeded with the setup's inventory reads."""
        super().__init__(
            hass,
            entry,
            client,
            capabilities,
            name="inventory",
            interval=SLOW_PART_INTERVAL,
            phase=INVENTORY_PHASE,
        )
        self._seeded = True

    @override
    async def _async_fetch(self, read_all: bool) -> InventoryData:
        client, sid, caps = self.client, self.site_id, self.capabilities
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "devices": lambda: client.devices(sid),
        }
        if caps.has_charger:
            calls["chargers"] = lambda: client.ev_summary(sid)
        if caps.has_microinverters:
            calls["inverters"] = lambda: client.all_inverters(sid)
        if caps.has_battery:
            calls["backup_history"] = lambda: client.backup_history(sid)
        if caps.has_charger and (serials := self._charger_serials()):
            calls["last_sessions"] = lambda: async_fetch_last_sessions(
                client, sid, serials, today=self.site_today(), timezone=self.timezone
            )
        seeded, self._seeded = self._seeded, False
        if seeded:
            # Setup has just read the devices and the EV summary: count them as read.
            for name in ("devices", "chargers"):
                if calls.pop(name, None) is not None:
                    self._seed_part(name, PART_EVERY)
        results = await self._async_gather(self._due_parts(calls, PART_EVERY, read_all))
        if seeded:
            results["devices"] = caps.inventory
            results["chargers"] = list(caps.chargers)
        devices: Inventory | None = results.get("devices")
        if devices is not None and _hardware_kinds(devices) != _hardware_kinds(caps.inventory):
            # Capabilities are decided at setup; a new kind of hardware needs a reload.
            _LOGGER.info("The site's hardware changed; reloading to add the new devices")
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        previous = self.data or InventoryData()
        inverter_list: InverterList | None = results.get("inverters")
        chargers: list[ChargerSummary] | None = results.get("chargers")
        return InventoryData(
            devices=results.get("devices", previous.devices),
            inverters=(
                {i.serial: i for i in inverter_list.inverters}
                if inverter_list is not None
                else previous.inverters
            ),
            inverter_summary=inverter_list or previous.inverter_summary,
            chargers=(
                {c.serial: c for c in chargers} if chargers is not None else previous.chargers
            ),
            backup_history=results.get("backup_history", previous.backup_history),
            last_sessions=results.get("last_sessions", previous.last_sessions),
        )

    def _charger_serials(self) -> list[str]:
        """The site's chargers: from the last summary, else from setup."""
        known = self.data.chargers if self.data is not None else {}
        return list(known) or [c.serial for c in self.capabilities.chargers if c.serial]


def _hardware_kinds(inventory: Inventory) -> tuple[bool, bool, bool]:
    """Which capability-deciding hardware the inventory lists (battery, controller, EV)."""
    return bool(inventory.batteries), bool(inventory.controllers), bool(inventory.chargers)
