"""Entities fed by the local IQ Gateway (only when one is connected).

These are the live values, read every 60 s: production and consumption power now, the
gateway's own energy counters (today, last 7 days, lifetime), the battery level, per
microinverter last and maximum report, relay contact and lines, device status flags.
Their keys start with ``local_`` so they never clash with the cloud entities of the same
device; the cloud entities stay for what only the cloud knows and for the long history.

Devices follow the cloud inventory: local readings are attached to the devices the cloud
lists (so the device tree stays one tree); hardware the cloud does not list (or whose
device family is turned off in the options) gets no local entities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfEnergy, UnitOfPower, UnitOfRatio
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import StateType

from ..api import InventoryDevice
from ..const import FAMILY_GATEWAY_DEVICES
from ..coordinator.gateway import GatewayCoordinator
from ..devices import KIND_GATEWAY, KIND_RELAY, expected_identifiers, site_hardware
from ..entity import (
    gateway_child_device_info,
    gateway_device_info,
    inverter_device_info,
    site_device_info,
)
from ..gateway import (
    DeviceStatus,
    LocalBatteryStatus,
    LocalEnergyTotals,
    LocalInverterReading,
    RelayStatus,
)
from ..runtime import EnlightenConfigEntry
from .common import EnlightenEntityDescription, EnlightenSourceEntity, Source, build_group

type GatewayValue = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class GatewaySensorEntityDescription[SourceT](
    EnlightenEntityDescription[SourceT], SensorEntityDescription
):
    """A local sensor reading ``value_fn`` from its source."""

    value_fn: Callable[[SourceT], GatewayValue]


@dataclass(frozen=True, kw_only=True)
class GatewayBinarySensorEntityDescription[SourceT](
    EnlightenEntityDescription[SourceT], BinarySensorEntityDescription
):
    """A local binary sensor reading ``is_on_fn`` from its source."""

    is_on_fn: Callable[[SourceT], bool | None]


# --------------------------------------------------------------------------- descriptions


def _totals(kind: str) -> tuple[GatewaySensorEntityDescription[LocalEnergyTotals], ...]:
    """Power now and the three energy counters of ``production`` or ``consumption``."""
    return (
        GatewaySensorEntityDescription[LocalEnergyTotals](
            key=f"local_{kind}_power",
            translation_key=f"local_{kind}_power",
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfPower.WATT,
            suggested_display_precision=0,
            value_fn=lambda t: t.watts_now,
        ),
        GatewaySensorEntityDescription[LocalEnergyTotals](
            key=f"local_{kind}_today",
            translation_key=f"local_{kind}_today",
            device_class=SensorDeviceClass.ENERGY,
            # Resets at midnight: a drop counts as a new cycle.
            state_class=SensorStateClass.TOTAL_INCREASING,
            native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
            suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            value_fn=lambda t: t.wh_today,
        ),
        GatewaySensorEntityDescription[LocalEnergyTotals](
            key=f"local_{kind}_last_7_days",
            translation_key=f"local_{kind}_last_7_days",
            device_class=SensorDeviceClass.ENERGY,
            # A rolling window, neither a meter nor a cycle: no statistics.
            native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
            suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=1,
            value_fn=lambda t: t.wh_last_7_days,
        ),
        GatewaySensorEntityDescription[LocalEnergyTotals](
            key=f"local_{kind}_lifetime",
            translation_key=f"local_{kind}_lifetime",
            device_class=SensorDeviceClass.ENERGY,
            state_class=SensorStateClass.TOTAL_INCREASING,
            native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
            suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=1,
            value_fn=lambda t: t.wh_lifetime,
        ),
    )


PRODUCTION_SENSORS = _totals("production")
CONSUMPTION_SENSORS = _totals("consumption")

BATTERY_SENSORS: tuple[GatewaySensorEntityDescription[LocalBatteryStatus], ...] = (
    GatewaySensorEntityDescription[LocalBatteryStatus](
        key="local_battery_level",
        translation_key="local_battery_level",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
        suggested_display_precision=0,
        exists_fn=lambda b: b.soc is not None,
        value_fn=lambda b: b.soc,
    ),
)

INVERTER_SENSORS: tuple[GatewaySensorEntityDescription[LocalInverterReading], ...] = (
    GatewaySensorEntityDescription[LocalInverterReading](
        key="local_last_report_power",
        translation_key="local_last_report_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda i: i.last_report_watts,
    ),
    GatewaySensorEntityDescription[LocalInverterReading](
        key="local_max_report_power",
        translation_key="local_max_report_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda i: i.max_report_watts,
    ),
    GatewaySensorEntityDescription[LocalInverterReading](
        key="local_last_report",
        translation_key="local_last_report",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda i: i.last_report_at,
    ),
)


def _line(n: int) -> GatewayBinarySensorEntityDescription[RelayStatus]:
    def connected(relay: RelayStatus) -> bool | None:
        return (relay.line1_connected, relay.line2_connected, relay.line3_connected)[n - 1]

    return GatewayBinarySensorEntityDescription[RelayStatus](
        key=f"local_line{n}_connected",
        translation_key=f"local_line{n}_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        exists_fn=lambda r: connected(r) is not None,
        is_on_fn=connected,
    )


RELAY_BINARY_SENSORS: tuple[GatewayBinarySensorEntityDescription[RelayStatus], ...] = (
    GatewayBinarySensorEntityDescription[RelayStatus](
        key="local_relay_closed",
        translation_key="local_relay_closed",
        attr_fn=lambda r: {"reason": r.reason},
        is_on_fn=lambda r: r.closed,
    ),
    _line(1),
    _line(2),
    _line(3),
)


def _flag(
    key: str,
    read: Callable[[DeviceStatus], bool | None],
    device_class: BinarySensorDeviceClass | None = None,
) -> GatewayBinarySensorEntityDescription[DeviceStatus]:
    return GatewayBinarySensorEntityDescription[DeviceStatus](
        key=f"local_{key}",
        translation_key=f"local_{key}",
        device_class=device_class,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda d: read(d) is not None,
        is_on_fn=read,
    )


FLAG_BINARY_SENSORS: tuple[GatewayBinarySensorEntityDescription[DeviceStatus], ...] = (
    _flag("producing", lambda d: d.producing, BinarySensorDeviceClass.RUNNING),
    _flag("communicating", lambda d: d.communicating, BinarySensorDeviceClass.CONNECTIVITY),
    _flag("provisioned", lambda d: d.provisioned),
    _flag("operating", lambda d: d.operating),
)


# --------------------------------------------------------------------------- entities


class GatewaySensor[SourceT](EnlightenSourceEntity[SourceT], SensorEntity):
    """A sensor read from the local IQ Gateway."""

    entity_description: GatewaySensorEntityDescription[SourceT]

    @property
    @override
    def native_value(self) -> GatewayValue:
        """The description's value for the current source."""
        source = self.source
        return None if source is None else self.entity_description.value_fn(source)


class GatewayBinarySensor[SourceT](EnlightenSourceEntity[SourceT], BinarySensorEntity):
    """A binary sensor read from the local IQ Gateway."""

    entity_description: GatewayBinarySensorEntityDescription[SourceT]

    @property
    @override
    def is_on(self) -> bool | None:
        """The description's state for the current source."""
        source = self.source
        return None if source is None else self.entity_description.is_on_fn(source)


# --------------------------------------------------------------------------- builders


class _Devices:
    """Device info for local readings, following the cloud inventory."""

    def __init__(
        self, hass: HomeAssistant, entry: EnlightenConfigEntry, coordinator: GatewayCoordinator
    ) -> None:
        runtime = entry.runtime_data
        self._hass, self._entry = hass, entry
        self._expected = expected_identifiers(entry)
        self._cards = {h.serial: h for h in site_hardware(runtime)}
        inventory = runtime.inventory.data
        self._inverters = inventory.inverters if inventory is not None else {}
        self._micros = runtime.capabilities.has_microinverters
        self._relays = runtime.options.family_enabled(FAMILY_GATEWAY_DEVICES)
        self.gateway_serial = coordinator.serial

    def _unknown(self) -> bool:
        """True while the cloud inventory is not fully known (nothing is pruned then)."""
        return self._expected is None

    def gateway(self, firmware: str) -> DeviceInfo:
        """The gateway device; the site device when the cloud does not list the gateway."""
        card = self._cards.get(self.gateway_serial)
        if card is not None and card.kind == KIND_GATEWAY:
            return gateway_device_info(self._hass, self._entry, card.device)
        if self._unknown():
            device = InventoryDevice(
                device_type="envoy",
                serial=self.gateway_serial,
                name="IQ Gateway",
                firmware=firmware or None,
            )
            info = gateway_device_info(self._hass, self._entry, device)
            # Registered now, so the inverters and relays built next can hang below it.
            dr.async_get(self._hass).async_get_or_create(
                config_entry_id=self._entry.entry_id, **info
            )
            return info
        return site_device_info(self._entry)

    def inverter(self, serial: str) -> DeviceInfo | None:
        """A microinverter's device, or None when it gets no local entities."""
        if not self._micros:
            return None
        if (inverter := self._inverters.get(serial)) is not None:
            return inverter_device_info(self._hass, self._entry, inverter, self.gateway_serial)
        if self._unknown():
            device = InventoryDevice(
                device_type="Microinverter", serial=serial, name="Microinverter"
            )
            return gateway_child_device_info(self._hass, self._entry, device, self.gateway_serial)
        return None

    def relay(self, serial: str) -> DeviceInfo | None:
        """A relay's device, or None when it gets no local entities."""
        if not self._relays:
            return None
        card = self._cards.get(serial)
        if card is not None and card.kind == KIND_RELAY:
            device = card.device
        elif self._unknown():
            device = InventoryDevice(device_type="relay", serial=serial, name="IQ Relay")
        else:
            return None
        return gateway_child_device_info(self._hass, self._entry, device, self.gateway_serial)


def _coordinator(entry: EnlightenConfigEntry) -> GatewayCoordinator | None:
    coordinator = entry.runtime_data.gateway
    return coordinator if coordinator is not None and coordinator.data is not None else None


def gateway_sensors(hass: HomeAssistant, entry: EnlightenConfigEntry) -> list[GatewaySensor[Any]]:
    """The local sensors for the gateway's current data (none without a gateway)."""
    if (coordinator := _coordinator(entry)) is None:
        return []
    return list(_sensors(hass, entry, coordinator))


def _sensors(
    hass: HomeAssistant, entry: EnlightenConfigEntry, coordinator: GatewayCoordinator
) -> Iterator[GatewaySensor[Any]]:
    data = coordinator.data
    devices = _Devices(hass, entry, coordinator)
    serial = devices.gateway_serial
    info = devices.gateway(data.firmware)
    parts: list[tuple[tuple[GatewaySensorEntityDescription[Any], ...], Source[Any]]] = []
    if data.production is not None:
        parts.append((PRODUCTION_SENSORS, lambda: coordinator.data.production))
    if data.consumption is not None:
        parts.append((CONSUMPTION_SENSORS, lambda: coordinator.data.consumption))
    if data.battery is not None:
        parts.append((BATTERY_SENSORS, lambda: coordinator.data.battery))
    for descriptions, source in parts:
        yield from build_group(
            GatewaySensor, coordinator, descriptions, source, serial=serial, device_info=info
        )
    for inverter in data.inverters:
        if (inverter_info := devices.inverter(inverter)) is not None:
            yield from build_group(
                GatewaySensor,
                coordinator,
                INVERTER_SENSORS,
                _inverter_source(coordinator, inverter),
                serial=inverter,
                device_info=inverter_info,
            )


def gateway_binary_sensors(
    hass: HomeAssistant, entry: EnlightenConfigEntry
) -> list[GatewayBinarySensor[Any]]:
    """The local binary sensors: relays and device flags (none without a gateway)."""
    if (coordinator := _coordinator(entry)) is None:
        return []
    return list(_binary_sensors(hass, entry, coordinator))


def _binary_sensors(
    hass: HomeAssistant, entry: EnlightenConfigEntry, coordinator: GatewayCoordinator
) -> Iterator[GatewayBinarySensor[Any]]:
    data = coordinator.data
    devices = _Devices(hass, entry, coordinator)
    for serial in data.relays:
        if (info := devices.relay(serial)) is not None:
            yield from build_group(
                GatewayBinarySensor,
                coordinator,
                RELAY_BINARY_SENSORS,
                _relay_source(coordinator, serial),
                serial=serial,
                device_info=info,
            )
            yield from _flags(coordinator, serial, info)
    for serial in data.inverters:
        if serial in data.devices and (info := devices.inverter(serial)) is not None:
            yield from _flags(coordinator, serial, info)


def _flags(
    coordinator: GatewayCoordinator, serial: str, info: DeviceInfo
) -> list[GatewayBinarySensor[Any]]:
    return build_group(
        GatewayBinarySensor,
        coordinator,
        FLAG_BINARY_SENSORS,
        _device_source(coordinator, serial),
        serial=serial,
        device_info=info,
    )


def _inverter_source(coordinator: GatewayCoordinator, serial: str) -> Source[LocalInverterReading]:
    return lambda: coordinator.data.inverters.get(serial)


def _relay_source(coordinator: GatewayCoordinator, serial: str) -> Source[RelayStatus]:
    return lambda: coordinator.data.relays.get(serial)


def _device_source(coordinator: GatewayCoordinator, serial: str) -> Source[DeviceStatus]:
    return lambda: coordinator.data.devices.get(serial)
