"""Which hardware becomes a device, new devices without a reload, stale devices removed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity

from .const import (
    CONF_SITE_ID,
    DOMAIN,
    FAMILY_BATTERY,
    FAMILY_GATEWAY_DEVICES,
    device_identifier,
    site_identifier,
)

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import InventoryDevice
    from .coordinator.base import EnlightenCoordinator
    from .runtime import EnlightenConfigEntry, EnlightenRuntimeData

KIND_GATEWAY = "gateway"
KIND_METER = "meter"
KIND_RELAY = "relay"
KIND_CONTROLLER = "controller"
KIND_BATTERY = "battery"


@dataclass(frozen=True, slots=True)
class Hardware:
    """One devices.json card that is represented as a device."""

    kind: str
    device: InventoryDevice
    serial: str


def site_hardware(runtime: EnlightenRuntimeData) -> list[Hardware]:
    """The inventory devices that become devices, honouring the device families.

    Gateways are always devices (the hierarchy hangs below them); meters and
    relays come with the gateway family; the system controller with the battery
    family; batteries only when the battery state is read.
    """
    data = runtime.inventory.data
    inventory = data.devices if data is not None else None
    if inventory is None:
        return []
    groups: list[tuple[str, list[InventoryDevice]]] = [(KIND_GATEWAY, inventory.gateways)]
    if runtime.options.family_enabled(FAMILY_GATEWAY_DEVICES):
        groups += [(KIND_METER, inventory.meters), (KIND_RELAY, inventory.relays)]
    if runtime.options.family_enabled(FAMILY_BATTERY):
        groups.append((KIND_CONTROLLER, inventory.controllers))
        if runtime.site is not None:
            groups.append((KIND_BATTERY, inventory.batteries))
    return [
        Hardware(kind, device, device.serial)
        for kind, devices in groups
        for device in devices
        if device.serial
    ]


def charger_serials(runtime: EnlightenRuntimeData) -> list[str]:
    """Serials of the chargers the site reports (status and summary)."""
    if runtime.ev is None:
        return []
    serials = list(runtime.ev.data.chargers) if runtime.ev.data is not None else []
    if runtime.inventory.data is not None:
        serials += [s for s in runtime.inventory.data.chargers if s not in serials]
    return serials


def expected_identifiers(entry: EnlightenConfigEntry) -> set[tuple[str, str]] | None:
    """Identifiers of every device the entry should have; None when not known for sure.

    While a part of the inventory has never been read (a failed endpoint), the
    answer is unknown and nothing may be removed.
    """
    runtime = entry.runtime_data
    data = runtime.inventory.data
    if data is None or data.devices is None:
        return None
    has_micros = runtime.capabilities.has_microinverters
    if has_micros and data.inverter_summary is None:
        return None
    serials = [h.serial for h in site_hardware(runtime)]
    if has_micros:
        serials += list(data.inverters)
    serials += charger_serials(runtime)
    return {site_identifier(entry.data[CONF_SITE_ID])} | {device_identifier(s) for s in serials}


@callback
def async_remove_stale_devices(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Remove the entry's devices that left the site (or whose family was turned off)."""
    expected = expected_identifiers(entry)
    if expected is None:
        return
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        ours = all(domain == DOMAIN for domain, _ in device.identifiers)
        if ours and device.identifiers and not device.identifiers & expected:
            registry.async_remove_device(device.id)


@callback
def async_setup_device_upkeep(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Remove stale devices now and after every inventory refresh."""

    @callback
    def _cleanup() -> None:
        async_remove_stale_devices(hass, entry)

    _cleanup()
    entry.async_on_unload(entry.runtime_data.inventory.async_add_listener(_cleanup))


@callback
def async_add_dynamic_entities(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    platform: str,
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    coordinator: EnlightenCoordinator[Any] | None,
    build: Callable[[], Iterable[Entity]],
) -> None:
    """Add the entities of ``build`` now and, after each refresh of ``coordinator``,
    the ones that are new (a device that appeared, a flow the cloud now reports).

    Known entities are compared by unique id. An entity whose registry entry went
    away (its device was removed as stale) is forgotten, so it is added again if
    the device comes back.
    """
    registry = er.async_get(hass)
    known: set[str] = set()

    @callback
    def _add() -> None:
        known.intersection_update(
            [uid for uid in known if registry.async_get_entity_id(platform, DOMAIN, uid)]
        )
        new = [e for e in build() if e.unique_id is not None and e.unique_id not in known]
        if not new:
            return
        known.update(e.unique_id for e in new if e.unique_id is not None)
        async_add_entities(new)

    _add()
    if coordinator is not None:
        entry.async_on_unload(coordinator.async_add_listener(_add))
