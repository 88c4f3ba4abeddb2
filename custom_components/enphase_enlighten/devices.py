"""Which hardware becomes a device, new devices without a reload, stale devices removed."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from homeassistant.const import Platform
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
    from _typeshed import DataclassInstance
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .api import InventoryDevice
    from .entity import ReadableCoordinator
    from .runtime import EnlightenConfigEntry, EnlightenRuntimeData

KIND_GATEWAY = "gateway"
KIND_METER = "meter"
KIND_RELAY = "relay"
KIND_CONTROLLER = "controller"
KIND_BATTERY = "battery"

# What no key equals: the entities were never built.
_NOT_BUILT = object()


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


# Site entities earlier versions created that duplicated a control (the control
# shows the same value): (platform, key). Their registry entries are removed.
RETIRED_SITE_ENTITIES: tuple[tuple[Platform, str], ...] = (
    (Platform.SENSOR, "battery_profile"),
    (Platform.SENSOR, "battery_reserve"),
    (Platform.SENSOR, "charge_from_grid_start"),
    (Platform.SENSOR, "charge_from_grid_end"),
    (Platform.SENSOR, "shutdown_level"),
    (Platform.BINARY_SENSOR, "storm_guard"),
    (Platform.BINARY_SENSOR, "charge_from_grid"),
    (Platform.BINARY_SENSOR, "charge_from_grid_schedule"),
)


@callback
def async_remove_retired_entities(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Remove the registry entries of entities this version no longer creates."""
    registry = er.async_get(hass)
    site_id: str = entry.data[CONF_SITE_ID]
    for platform, key in RETIRED_SITE_ENTITIES:
        entity_id = registry.async_get_entity_id(platform, DOMAIN, f"{site_id}_{key}")
        if entity_id is not None:
            registry.async_remove(entity_id)


@callback
def async_setup_device_upkeep(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Remove stale devices now and after every inventory refresh."""

    @callback
    def _cleanup() -> None:
        async_remove_stale_devices(hass, entry)

    _cleanup()
    entry.async_on_unload(entry.runtime_data.inventory.async_add_listener(_cleanup))


def _present(value: DataclassInstance) -> tuple[bool, ...]:
    """Which fields of a dataclass hold a value: an ``exists_fn`` may depend on them."""
    return tuple(getattr(value, f.name) is not None for f in fields(value))


def energy_key(runtime: EnlightenRuntimeData) -> Hashable:
    """What decides the site energy entities: the flows the cloud reports."""
    data = runtime.energy.data
    return frozenset(data.totals) if data is not None else None


def inventory_key(runtime: EnlightenRuntimeData) -> Hashable:
    """What decides the entities of the cloud inventory: its hardware and inverters."""
    data = runtime.inventory.data
    micros = data is not None and runtime.capabilities.has_microinverters
    return (
        frozenset((h.kind, h.serial, _present(h.device)) for h in site_hardware(runtime)),
        frozenset(data.inverters) if micros else frozenset(),
        data is not None and data.inverter_summary is not None,
    )


def charger_key(runtime: EnlightenRuntimeData) -> Hashable:
    """What decides the charger entities: the chargers, the status shape, the evse flow."""
    ev = runtime.ev.data if runtime.ev is not None else None
    if ev is None:
        return None
    energy = runtime.energy.data
    return (
        frozenset(ev.chargers),
        ev.legacy_shape,
        energy is not None and "evse" in energy.totals,
    )


def gateway_key(entry: EnlightenConfigEntry) -> Hashable:
    """What decides the local gateway entities.

    The readings the gateway reports (which parts, which devices, which of their
    fields hold a value), and what places them on a device: the cloud inventory,
    and whether it is fully known.
    """
    runtime = entry.runtime_data
    gateway = runtime.gateway.data if runtime.gateway is not None else None
    if gateway is None:
        return None
    inventory = runtime.inventory.data
    return (
        gateway.production is not None,
        gateway.consumption is not None,
        _present(gateway.battery) if gateway.battery is not None else None,
        frozenset(gateway.inverters),
        frozenset((serial, _present(relay)) for serial, relay in gateway.relays.items()),
        frozenset((serial, _present(device)) for serial, device in gateway.devices.items()),
        expected_identifiers(entry) is None,
        frozenset((h.kind, h.serial) for h in site_hardware(runtime)),
        frozenset(inventory.inverters) if inventory is not None else frozenset(),
    )


@callback
def async_add_dynamic_entities(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    platform: str,
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    coordinator: ReadableCoordinator | None,
    build: Callable[[], Iterable[Entity]],
    keys: Callable[[], Hashable] | None = None,
) -> None:
    """Add the entities of ``build`` now and, after a refresh of ``coordinator``,
    the ones that are new (a device that appeared, a flow the cloud now reports).

    ``build`` creates every entity, so it is only called again when ``keys``
    (what decides which entities exist: serials, flows …) returns something new,
    or an entity was forgotten. ``keys`` must change whenever ``build`` would
    make an entity it did not make before; without ``keys`` every refresh builds.

    Known entities are compared by unique id. An entity whose registry entry went
    away (its device was removed as stale) is forgotten, so it is added again if
    the device comes back.
    """
    registry = er.async_get(hass)
    known: set[str] = set()
    built_for: Hashable = _NOT_BUILT

    @callback
    def _add() -> None:
        nonlocal built_for
        gone = {uid for uid in known if not registry.async_get_entity_id(platform, DOMAIN, uid)}
        known.difference_update(gone)
        if keys is not None:
            key = keys()
            if key == built_for and not gone:
                return
            built_for = key
        new = [e for e in build() if e.unique_id is not None and e.unique_id not in known]
        if not new:
            return
        known.update(e.unique_id for e in new if e.unique_id is not None)
        async_add_entities(new)

    _add()
    if coordinator is not None:
        entry.async_on_unload(coordinator.async_add_listener(_add))
