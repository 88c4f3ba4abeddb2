"""Sensors: EV chargers, site energy, batteries, battery settings, grid, devices, inverters."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any, override

from homeassistant.components.sensor import SensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Inverter
from .api.sessions import LastSession
from .const import CONF_SITE_ID
from .coordinator.energy import EnergyCoordinator
from .coordinator.inventory import InventoryCoordinator
from .descriptions.common import (
    EnlightenSourceEntity,
    Source,
    battery_source,
    build_group,
    charger_source,
    charger_summary_source,
    inventory_device_source,
)
from .descriptions.gateway import gateway_sensors
from .descriptions.sensor import (
    BACKUP_SENSORS,
    BATTERY_SENSORS,
    BATTERY_SETTINGS_SENSORS,
    DEVICE_SENSORS,
    EV_ENERGY_SENSORS,
    EV_MODERN_SENSORS,
    EV_SENSORS,
    EV_SUMMARY_SENSORS,
    INVERTER_CARD_SENSORS,
    INVERTER_COUNT_SENSORS,
    INVERTER_SENSORS,
    SITE_BATTERY_SENSORS,
    SITE_ENERGY_SENSORS,
    STORM_SENSORS,
    EnlightenSensorEntityDescription,
    InverterEnergy,
    SensorValue,
    inverter_reading,
)
from .descriptions.sensor_sessions import LAST_SESSION_SENSORS
from .devices import (
    KIND_BATTERY,
    KIND_GATEWAY,
    async_add_dynamic_entities,
    charger_key,
    energy_key,
    gateway_key,
    inventory_key,
    site_hardware,
)
from .entity import (
    charger_device_info,
    gateway_child_device_info,
    gateway_device_info,
    inverter_device_info,
    site_device_info,
)
from .runtime import EnlightenConfigEntry

__all__ = ["SITE_ENERGY_SENSORS", "EnlightenSensor", "EnlightenSensorEntityDescription"]

PARALLEL_UPDATES = 0

# --------------------------------------------------------------------------- setup


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors; devices that appear later get theirs without a reload."""
    runtime = entry.runtime_data
    site_id: str = entry.data[CONF_SITE_ID]
    inventory, energy, site, ev = runtime.inventory, runtime.energy, runtime.site, runtime.ev
    group = partial(build_group, EnlightenSensor)
    site_info = site_device_info(entry)

    def site_energy() -> list[EnlightenSensor[Any]]:
        return group(
            energy,
            SITE_ENERGY_SENSORS,
            lambda: energy.data,
            serial=site_id,
            device_info=site_info,
            parts=("lifetime",),
        )

    def site_state() -> Iterator[EnlightenSensor[Any]]:
        if site is None:
            return
        # Each group with the one site part it reads: a part that keeps failing makes
        # only its own sensors unavailable.
        groups: list[tuple[tuple[EnlightenSensorEntityDescription[Any], ...], Source[Any], str]] = [
            (SITE_BATTERY_SENSORS, lambda: site.data.battery_status, "battery_status"),
            (STORM_SENSORS, lambda: site.data.storm_alert, "storm_alert"),
            (BATTERY_SETTINGS_SENSORS, lambda: site.data.battery_settings, "battery_settings"),
        ]
        for descriptions, source, part in groups:
            yield from group(
                site, descriptions, source, serial=site_id, device_info=site_info, parts=(part,)
            )

    def hardware() -> Iterator[EnlightenSensor[Any]]:
        data = inventory.data
        if site is not None:
            yield from group(
                inventory,
                BACKUP_SENSORS,
                lambda: inventory.data.backup_history,
                serial=site_id,
                device_info=site_info,
                parts=("backup_history",),
            )
        if inventory.capabilities.has_microinverters and data.inverter_summary is not None:
            yield from group(
                inventory,
                INVERTER_COUNT_SENSORS,
                lambda: inventory.data.inverter_summary,
                serial=site_id,
                device_info=site_info,
                parts=("inverters",),
            )
        gateway = inventory.capabilities.gateway_serial
        for item in site_hardware(runtime):
            if item.kind == KIND_BATTERY:
                info = gateway_child_device_info(hass, entry, item.device, gateway)
                if site is not None:
                    yield from group(
                        site,
                        BATTERY_SENSORS,
                        battery_source(site, item.serial),
                        serial=item.serial,
                        device_info=info,
                        parts=("battery_status",),
                    )
                continue
            info = (
                gateway_device_info(hass, entry, item.device)
                if item.kind == KIND_GATEWAY
                else gateway_child_device_info(hass, entry, item.device, gateway)
            )
            yield from group(
                inventory,
                DEVICE_SENSORS,
                inventory_device_source(inventory, item.serial),
                serial=item.serial,
                device_info=info,
                parts=("devices",),
            )
        if inventory.capabilities.has_microinverters:
            for serial, inverter in data.inverters.items():
                info = inverter_device_info(hass, entry, inverter, gateway)
                yield from group(
                    energy,
                    INVERTER_SENSORS,
                    _inverter_source(energy, serial),
                    serial=serial,
                    device_info=info,
                    parts=("inverter_status", "inverter_today"),
                )
                yield from group(
                    inventory,
                    INVERTER_CARD_SENSORS,
                    _inverter_card_source(inventory, serial),
                    serial=serial,
                    device_info=info,
                    parts=("inverters",),
                )

    def chargers() -> Iterator[EnlightenSensor[Any]]:
        if ev is None:
            return
        single = len(ev.data.chargers) == 1
        for serial, status in ev.data.chargers.items():
            summary = inventory.data.chargers.get(serial)
            info = charger_device_info(hass, entry, serial, summary, status)
            descriptions = EV_SENSORS if ev.data.legacy_shape else EV_SENSORS + EV_MODERN_SENSORS
            yield from group(
                ev,
                descriptions,
                charger_source(ev, serial),
                serial=serial,
                device_info=info,
                parts=("status",),
            )
            yield from group(
                inventory,
                EV_SUMMARY_SENSORS,
                charger_summary_source(inventory, serial),
                serial=serial,
                device_info=info,
                parts=("chargers",),
            )
            yield from group(
                inventory,
                LAST_SESSION_SENSORS,
                _last_session_source(inventory, serial),
                serial=serial,
                device_info=info,
                parts=("last_sessions",),
            )
            # The evse flow is site wide: it belongs to a charger only when there is one.
            if single and "evse" in energy.data.totals:
                yield from group(
                    energy,
                    EV_ENERGY_SENSORS,
                    lambda: energy.data.totals.get("evse"),
                    serial=serial,
                    device_info=info,
                    parts=("lifetime",),
                )

    add = partial(async_add_dynamic_entities, hass, entry, Platform.SENSOR, async_add_entities)
    add(coordinator=energy, build=site_energy, keys=partial(energy_key, runtime))
    add(coordinator=None, build=lambda: list(site_state()))
    add(coordinator=inventory, build=lambda: list(hardware()), keys=partial(inventory_key, runtime))
    add(coordinator=ev, build=lambda: list(chargers()), keys=partial(charger_key, runtime))
    add(
        coordinator=runtime.gateway,
        build=lambda: gateway_sensors(hass, entry),
        keys=partial(gateway_key, entry),
    )


def _inverter_source(energy: EnergyCoordinator, serial: str) -> Source[InverterEnergy]:
    return lambda: inverter_reading(energy.data, serial)


def _last_session_source(inventory: InventoryCoordinator, serial: str) -> Source[LastSession]:
    return lambda: inventory.data.last_sessions.get(serial)


def _inverter_card_source(inventory: InventoryCoordinator, serial: str) -> Source[Inverter]:
    return lambda: inventory.data.inverters.get(serial)


class EnlightenSensor[SourceT](EnlightenSourceEntity[SourceT], SensorEntity):
    """A sensor of the site or one of its devices."""

    entity_description: EnlightenSensorEntityDescription[SourceT]

    @property
    @override
    def native_value(self) -> SensorValue:
        """The description's value for the current source."""
        source = self.source
        return None if source is None else self.entity_description.value_fn(source)

    @property
    @override
    def native_unit_of_measurement(self) -> str | None:
        """The configured currency for money sensors, else the description's unit."""
        if self.entity_description.currency:
            return self.hass.config.currency
        return super().native_unit_of_measurement
