"""Base entity and the device hierarchy: site → gateway → batteries, meters, inverters."""

from __future__ import annotations

from typing import Any, override

from homeassistant.const import (
    ATTR_ASSUMED_STATE,
    ATTR_ATTRIBUTION,
    ATTR_DEVICE_CLASS,
    ATTR_ENTITY_PICTURE,
    ATTR_FRIENDLY_NAME,
    ATTR_ICON,
    ATTR_SUPPORTED_FEATURES,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import FLOAT_PRECISION, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import ChargerStatus, ChargerSummary, Inventory, InventoryDevice, Inverter
from .const import (
    CONF_BASE_URL,
    CONF_SITE_ID,
    CONF_SITE_NAME,
    MANUFACTURER,
    device_identifier,
    site_identifier,
)
from .coordinator.base import EnlightenCoordinator
from .coordinator.gateway import GatewayCoordinator
from .runtime import EnlightenConfigEntry, EnlightenRuntimeData

type ReadableCoordinator = EnlightenCoordinator[Any] | GatewayCoordinator
"""A coordinator entities read: one of the cloud cadences or the local gateway."""

# Attributes written from what is fixed per entity here (name, device class,
# supported features, attribution, picture, assumed state) or from the registry,
# whose changes write the state by themselves: not compared before a write.
_FIXED_ATTRIBUTES = frozenset(
    {
        ATTR_ASSUMED_STATE,
        ATTR_ATTRIBUTION,
        ATTR_DEVICE_CLASS,
        ATTR_ENTITY_PICTURE,
        ATTR_FRIENDLY_NAME,
        ATTR_SUPPORTED_FEATURES,
    }
)


def _via(
    hass: HomeAssistant, entry: EnlightenConfigEntry, identifier: tuple[str, str]
) -> str | None:
    """Registry id of an already registered parent device, if any."""
    device = dr.async_get(hass).async_get_device_by_identifier(identifier, entry.entry_id)
    return device.id if device is not None else None


def _with_parent(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    info: DeviceInfo,
    *parents: tuple[str, str] | None,
) -> DeviceInfo:
    """Link ``info`` to the first registered parent of ``parents``."""
    for parent in parents:
        if parent is not None and (via := _via(hass, entry, parent)) is not None:
            info["via_device_id"] = via
            break
    return info


def site_device_info(entry: EnlightenConfigEntry) -> DeviceInfo:
    """The site: root of the hierarchy (a cloud service device)."""
    site_id: str = entry.data[CONF_SITE_ID]
    return DeviceInfo(
        identifiers={site_identifier(site_id)},
        name=entry.data.get(CONF_SITE_NAME) or entry.title,
        manufacturer=MANUFACTURER,
        model="Enlighten site",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=f"{entry.data[CONF_BASE_URL]}/web/{site_id}",
    )


# How many trailing serial characters tell two devices of one model apart.
SERIAL_SUFFIX_LENGTH = 6

# Names for a card that comes without one, by devices.json type.
_DEFAULT_NAMES = {
    "envoy": "IQ Gateway",
    "gateway": "IQ Gateway",
    "encharge": "IQ Battery",
    "battery": "IQ Battery",
    "enpower": "IQ System Controller",
    "system_controller": "IQ System Controller",
    "enrelay": "IQ Relay",
    "relay": "IQ Relay",
    "meter": "Meter",
    "meters": "Meter",
}

DEFAULT_CHARGER_NAME = "IQ EV Charger"
# Charger names that are Enphase's product names rather than the owner's.
_GENERIC_CHARGER_NAMES = frozenset({"iq ev charger", "iq ev charger 2", "ev charger"})


def with_serial_suffix(name: str, serial: str) -> str:
    """``name`` followed by the end of ``serial`` (unless it already ends with it).

    Two batteries of one model, or the gateways of two sites, then get names (and
    entity ids) of their own instead of Home Assistant's ``_2``.
    """
    suffix = serial[-SERIAL_SUFFIX_LENGTH:]
    if not suffix or name.endswith(suffix):
        return name
    return f"{name} {suffix}"


def _hardware_info(device: InventoryDevice, default_name: str) -> DeviceInfo:
    """Device info of a devices.json card.

    The names on these cards are Enphase's product names ("IQ Battery 5P",
    "Production CT"), the same for every unit and every site: the serial suffix
    makes each one unique.
    """
    serial = device.serial or ""
    model = device.channel_type or device.name
    info = DeviceInfo(
        identifiers={device_identifier(serial)},
        name=with_serial_suffix(device.name or model or default_name, serial),
        manufacturer=MANUFACTURER,
        serial_number=serial,
    )
    if model:
        info["model"] = model
    if device.sku:
        info["model_id"] = device.sku
    if device.firmware:
        info["sw_version"] = device.firmware
    return info


def gateway_device_info(
    hass: HomeAssistant, entry: EnlightenConfigEntry, device: InventoryDevice
) -> DeviceInfo:
    """An IQ Gateway, under the site."""
    info = _hardware_info(device, "IQ Gateway")
    return _with_parent(hass, entry, info, site_identifier(entry.data[CONF_SITE_ID]))


def gateway_child_device_info(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    device: InventoryDevice,
    gateway_serial: str | None,
) -> DeviceInfo:
    """A battery, system controller, relay or meter: under the gateway (else the site)."""
    default = _DEFAULT_NAMES.get(device.device_type.lower(), device.device_type)
    info = _hardware_info(device, default)
    return _with_parent(
        hass,
        entry,
        info,
        device_identifier(gateway_serial) if gateway_serial else None,
        site_identifier(entry.data[CONF_SITE_ID]),
    )


def inverter_device_info(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    inverter: Inverter,
    gateway_serial: str | None,
) -> DeviceInfo:
    """A microinverter, under the gateway (else the site)."""
    info = DeviceInfo(
        identifiers={device_identifier(inverter.serial)},
        name=with_serial_suffix(inverter.model or "Microinverter", inverter.serial),
        manufacturer=MANUFACTURER,
        serial_number=inverter.serial,
    )
    if inverter.model:
        info["model"] = inverter.model
    if inverter.sku:
        info["model_id"] = inverter.sku
    if inverter.firmware:
        info["sw_version"] = inverter.firmware
    if inverter.part_number:
        info["hw_version"] = inverter.part_number
    return _with_parent(
        hass,
        entry,
        info,
        device_identifier(gateway_serial) if gateway_serial else None,
        site_identifier(entry.data[CONF_SITE_ID]),
    )


def _charger_given_name(summary: ChargerSummary | None, status: ChargerStatus | None) -> str | None:
    return (summary.display_name if summary else None) or (status.name if status else None)


def _site_charger_names(entry: EnlightenConfigEntry, serial: str) -> list[str]:
    """The names the site's other chargers go by (as the cloud reports them)."""
    # Not set while an entry is being set up or after it failed to load.
    runtime: EnlightenRuntimeData | None = getattr(entry, "runtime_data", None)
    if runtime is None:
        return []
    inventory = runtime.inventory.data
    summaries: dict[str, ChargerSummary] = inventory.chargers if inventory else {}
    ev_data = runtime.ev.data if runtime.ev else None
    statuses: dict[str, ChargerStatus] = ev_data.chargers if ev_data else {}
    names = (
        _charger_given_name(summaries.get(other), statuses.get(other))
        for other in {*summaries, *statuses}
        if other != serial
    )
    return [name.casefold() for name in names if name]


def charger_name(
    entry: EnlightenConfigEntry,
    serial: str,
    summary: ChargerSummary | None = None,
    status: ChargerStatus | None = None,
) -> str:
    """The owner's name for the charger; a product name gets the serial suffix.

    A name another charger of the site shares gets the suffix too, so each
    charger's entities have ids of their own.
    """
    name = _charger_given_name(summary, status)
    if name is None:
        return with_serial_suffix(DEFAULT_CHARGER_NAME, serial)
    generic = {*_GENERIC_CHARGER_NAMES}
    if summary is not None:
        generic.update(
            value.casefold() for value in (summary.model, summary.sku, summary.part_number) if value
        )
    folded = name.casefold()
    if folded in generic or folded in _site_charger_names(entry, serial):
        return with_serial_suffix(name, serial)
    return name


def charger_device_info(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    serial: str,
    summary: ChargerSummary | None = None,
    status: ChargerStatus | None = None,
) -> DeviceInfo:
    """An IQ EV Charger, directly under the site."""
    info = DeviceInfo(
        identifiers={device_identifier(serial)},
        name=charger_name(entry, serial, summary, status),
        manufacturer=MANUFACTURER,
        serial_number=serial,
    )
    if summary is not None:
        if summary.model:
            info["model"] = summary.model
        if model_id := summary.sku or summary.part_number:
            info["model_id"] = model_id
        if summary.firmware:
            info["sw_version"] = summary.firmware
        if summary.processor_board_version:
            info["hw_version"] = summary.processor_board_version
    return _with_parent(hass, entry, info, site_identifier(entry.data[CONF_SITE_ID]))


@callback
def async_register_hub_devices(
    hass: HomeAssistant, entry: EnlightenConfigEntry, inventory: Inventory | None
) -> None:
    """Register the site and its gateways first, so children can link to them."""
    registry = dr.async_get(hass)
    registry.async_get_or_create(config_entry_id=entry.entry_id, **site_device_info(entry))
    for gateway in inventory.gateways if inventory else ():
        if gateway.serial:
            registry.async_get_or_create(
                config_entry_id=entry.entry_id, **gateway_device_info(hass, entry, gateway)
            )


class EnlightenEntity[CoordinatorT: ReadableCoordinator](CoordinatorEntity[CoordinatorT]):
    """An entity of one device (or the site), fed by one coordinator.

    ``unique_id`` is ``f"{serial}_{description.key}"`` where ``serial`` is the
    device serial, or the site id for site-level entities.
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        description: EntityDescription,
        *,
        serial: str,
        device_info: DeviceInfo,
    ) -> None:
        """Bind the entity to its coordinator, description and device."""
        super().__init__(coordinator)
        self.entity_description = description
        self.serial = serial
        self._attr_unique_id = f"{serial}_{description.key}"
        self._attr_device_info = device_info

    # The coordinator parts this entity reads (empty: all of them); it is unavailable
    # while any of them is older than its stale limit.
    parts: tuple[str, ...] = ()
    # Parts kept per charger (``<serial>|<name>``): the names of those it reads.
    charger_parts: tuple[str, ...] = ()

    @property
    def part_names(self) -> tuple[str, ...]:
        """The names of the coordinator parts this entity reads (empty: all of them)."""
        return self.parts + tuple(f"{self.serial}|{name}" for name in self.charger_parts)

    @property
    @override
    def available(self) -> bool:
        """Available while the parts it reads are fresh and the data holds its value."""
        return self.coordinator.parts_fresh(self.part_names) and self.data_available

    @property
    def data_available(self) -> bool:
        """Whether the coordinator data holds this entity's part; override per entity."""
        return True

    def _shown_state(self, available: bool) -> str:
        """The state as the state machine holds it: the text of ``state``."""
        if not available:
            return STATE_UNAVAILABLE
        if (state := self.state) is None:
            return STATE_UNKNOWN
        if isinstance(state, float):
            # Floats are written with the machine precision, not their repr.
            return f"{state:.{FLOAT_PRECISION}}"
        return str(state)

    def _shown_attributes(self, available: bool) -> dict[str, Any]:
        """The attributes this entity can change at run time, as they would be written.

        The state attributes are only read while available, as Home Assistant does.
        """
        attributes: dict[str, Any] = dict(self.capability_attributes or {})
        if available:
            attributes.update(self.state_attributes or {})
            attributes.update(self.extra_state_attributes or {})
        if (unit := self.unit_of_measurement) is not None:
            attributes[ATTR_UNIT_OF_MEASUREMENT] = unit
        entry = self.registry_entry
        if (icon := (entry.icon if entry else None) or self.icon) is not None:
            attributes[ATTR_ICON] = icon
        return attributes

    def _shows_news(self) -> bool:
        """Whether writing now would change the state the state machine holds.

        Compared with the current state, so any earlier write counts, whoever made
        it (a refresh, a command's optimistic value, the registry).
        """
        if self.force_update:
            return True
        current = self.hass.states.get(self.entity_id)
        if current is None:
            return True
        available = self.available
        if current.state != self._shown_state(available):
            return True
        written = {k: v for k, v in current.attributes.items() if k not in _FIXED_ATTRIBUTES}
        return written != self._shown_attributes(available)

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state only when this refresh changed what the entity shows.

        A large site has hundreds of entities and most keep their value from one
        refresh to the next; skipping those writes saves most of a refresh's CPU.
        Availability is part of what is compared, so going stale or losing the
        session is always written.
        """
        if self._shows_news():
            self.async_write_ha_state()


def charger_device(hass: HomeAssistant, entry: EnlightenConfigEntry, serial: str) -> DeviceInfo:
    """Device info of a charger from what the coordinators know about it."""
    runtime = entry.runtime_data
    inventory = runtime.inventory.data
    summary = inventory.chargers.get(serial) if inventory else None
    if summary is None:
        summary = next((c for c in runtime.capabilities.chargers if c.serial == serial), None)
    ev_data = runtime.ev.data if runtime.ev else None
    status = ev_data.chargers.get(serial) if ev_data else None
    return charger_device_info(hass, entry, serial, summary, status)


class ControlEntity[CoordinatorT: EnlightenCoordinator[Any]](EnlightenEntity[CoordinatorT]):
    """A control that shows a value it wrote until its coordinator reports again.

    After a write the owning coordinator is asked to refresh; that refresh may be
    delayed by the coordinator's debouncer, so the written value bridges the gap.
    A refresh that confirms the written value writes nothing more (the state
    already shows it); one that does not shows the cloud's value again.
    """

    _written: Any = None

    @callback
    def _show_written(self, value: Any) -> None:
        self._written = value
        self.async_write_ha_state()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._written = None
        super()._handle_coordinator_update()
