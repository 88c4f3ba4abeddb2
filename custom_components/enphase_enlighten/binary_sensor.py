"""Binary sensors: EV chargers, batteries, battery settings, grid, devices, panel health."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import (
    BatteryStorage,
    ChargerStatus,
    GridControlCheck,
    InventoryDevice,
    OffGridStatus,
    ProfileDetails,
    StormAlert,
)
from .const import CONF_SITE_ID
from .coordinator.energy import EnergyCoordinator
from .descriptions.common import (
    EnlightenEntityDescription,
    EnlightenSourceEntity,
    Source,
    battery_source,
    build_group,
    charger_source,
    enum_value,
    inventory_device_source,
)
from .descriptions.gateway import gateway_binary_sensors
from .descriptions.sensor import PROFILES
from .devices import (
    KIND_BATTERY,
    KIND_GATEWAY,
    async_add_dynamic_entities,
    charger_key,
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
from .history.sync import PanelHealth, panel_health
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnlightenBinarySensorEntityDescription[SourceT](
    EnlightenEntityDescription[SourceT], BinarySensorEntityDescription
):
    """A binary sensor reading ``is_on_fn`` from its source."""

    is_on_fn: Callable[[SourceT], bool | None]


def _safe_limit(status: ChargerStatus) -> bool | None:
    state = status.safe_limit_state
    return None if state is None else state > 0


EV_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[ChargerStatus], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="plugged_in",
        translation_key="plugged_in",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda s: s.plugged_in,
    ),
    EnlightenBinarySensorEntityDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda s: s.charging,
    ),
    EnlightenBinarySensorEntityDescription(
        key="cloud_connected",
        translation_key="cloud_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda s: s.connected,
    ),
    EnlightenBinarySensorEntityDescription(
        key="faulted",
        translation_key="faulted",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda s: s.faulted,
    ),
)
# Only the modern (meta/data) status shape carries the connector DLB fields.
EV_MODERN_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[ChargerStatus], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="dlb_active",
        translation_key="dlb_active",
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda s: s.dlb_active,
    ),
    EnlightenBinarySensorEntityDescription(
        key="safe_limit",
        translation_key="safe_limit",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=_safe_limit,
        attr_fn=lambda s: {"safe_limit_state": s.safe_limit_state},
    ),
)
BATTERY_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[BatteryStorage], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="excluded",
        translation_key="excluded",
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda b: b.excluded,
    ),
)
# Storm Guard and charge from grid have switches, which show their state: no binary
# sensors for them.
PROFILE_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[ProfileDetails], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="profile_change_pending",
        translation_key="profile_change_pending",
        is_on_fn=lambda p: p.has_pending_change,
        attr_fn=lambda p: {
            "requested_profile": enum_value(p.pending_profile, PROFILES),
            "requested_reserve": p.pending_reserve,
        },
    ),
)
STORM_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[StormAlert], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="storm_alert",
        translation_key="storm_alert",
        device_class=BinarySensorDeviceClass.SAFETY,
        is_on_fn=lambda a: a.active,
    ),
)
GRID_CHECK_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[GridControlCheck], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="grid_control_allowed",
        translation_key="grid_control_allowed",
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda g: g.allowed,
        attr_fn=lambda g: {
            "blocked_reasons": g.blocked_reasons,
            "disable_grid_control": g.disable_grid_control,
            "active_download": g.active_download,
            "sunlight_backup_system_check": g.sunlight_backup_system_check,
            "grid_outage_check": g.grid_outage_check,
            "user_initiated_grid_toggle": g.user_initiated_grid_toggle,
        },
    ),
)
OFF_GRID_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[OffGridStatus], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="off_grid",
        translation_key="off_grid",
        is_on_fn=lambda o: o.is_grid_outage,
        attr_fn=lambda o: {
            "show_grid_connect": o.show_grid_connect,
            "sunlight_backup": o.is_sunlight_backup,
        },
    ),
)
DEVICE_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[InventoryDevice], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="connected",
        translation_key="connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        exists_fn=lambda d: d.connected is not None,
        is_on_fn=lambda d: d.connected,
    ),
)

# One per microinverter: low against its array peers for several days (history_sync).
PANEL_BINARY_SENSORS: tuple[EnlightenBinarySensorEntityDescription[PanelHealth], ...] = (
    EnlightenBinarySensorEntityDescription(
        key="underperforming",
        translation_key="underperforming",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda p: p.flagged,
        available_fn=lambda p: p.judged,
        attr_fn=lambda p: {
            "deficit_pct": p.deficit_pct,
            "days": p.days,
            "array_name": p.array_name,
        },
    ),
)

type Group = tuple[tuple[EnlightenBinarySensorEntityDescription[Any], ...], Source[Any]]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors; devices that appear later get theirs without a reload."""
    runtime = entry.runtime_data
    site_id: str = entry.data[CONF_SITE_ID]
    inventory, site, ev, energy = runtime.inventory, runtime.site, runtime.ev, runtime.energy
    group = partial(build_group, EnlightenBinarySensor)

    def site_state() -> Iterator[EnlightenBinarySensor[Any]]:
        if site is None:
            return
        info = site_device_info(entry)
        # Each group with the one site part it reads.
        groups: list[tuple[Group, str]] = [
            ((PROFILE_BINARY_SENSORS, lambda: site.data.profile), "profile"),
            ((STORM_BINARY_SENSORS, lambda: site.data.storm_alert), "storm_alert"),
            ((GRID_CHECK_BINARY_SENSORS, lambda: site.data.grid_check), "grid_check"),
            ((OFF_GRID_BINARY_SENSORS, lambda: site.data.off_grid), "off_grid"),
        ]
        for (descriptions, source), part in groups:
            yield from group(
                site, descriptions, source, serial=site_id, device_info=info, parts=(part,)
            )

    def hardware() -> Iterator[EnlightenBinarySensor[Any]]:
        gateway = inventory.capabilities.gateway_serial
        for item in site_hardware(runtime):
            if item.kind == KIND_BATTERY:
                if site is not None:
                    yield from group(
                        site,
                        BATTERY_BINARY_SENSORS,
                        battery_source(site, item.serial),
                        serial=item.serial,
                        device_info=gateway_child_device_info(hass, entry, item.device, gateway),
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
                DEVICE_BINARY_SENSORS,
                inventory_device_source(inventory, item.serial),
                serial=item.serial,
                device_info=info,
                parts=("devices",),
            )

    def chargers() -> Iterator[EnlightenBinarySensor[Any]]:
        if ev is None:
            return
        descriptions = EV_BINARY_SENSORS
        if not ev.data.legacy_shape:
            descriptions += EV_MODERN_BINARY_SENSORS
        for serial, status in ev.data.chargers.items():
            summary = inventory.data.chargers.get(serial)
            yield from group(
                ev,
                descriptions,
                charger_source(ev, serial),
                serial=serial,
                device_info=charger_device_info(hass, entry, serial, summary, status),
                parts=("status",),
            )

    def panels() -> Iterator[EnlightenBinarySensor[Any]]:
        if not inventory.capabilities.has_microinverters:
            return
        gateway = inventory.capabilities.gateway_serial
        for serial, inverter in inventory.data.inverters.items():
            yield from group(
                energy,
                PANEL_BINARY_SENSORS,
                _panel_source(energy, serial),
                serial=serial,
                device_info=inverter_device_info(hass, entry, inverter, gateway),
                parts=("lifetime",),
            )

    add = partial(
        async_add_dynamic_entities, hass, entry, Platform.BINARY_SENSOR, async_add_entities
    )
    add(coordinator=None, build=lambda: list(site_state()))
    add(coordinator=inventory, build=lambda: list(hardware()), keys=partial(inventory_key, runtime))
    add(coordinator=ev, build=lambda: list(chargers()), keys=partial(charger_key, runtime))
    add(
        coordinator=runtime.gateway,
        build=lambda: gateway_binary_sensors(hass, entry),
        keys=partial(gateway_key, entry),
    )
    add(coordinator=inventory, build=lambda: list(panels()), keys=partial(inventory_key, runtime))


def _panel_source(energy: EnergyCoordinator, serial: str) -> Source[PanelHealth]:
    return lambda: panel_health(energy.underperformance, serial)


class EnlightenBinarySensor[SourceT](EnlightenSourceEntity[SourceT], BinarySensorEntity):
    """A binary sensor of the site or one of its devices."""

    entity_description: EnlightenBinarySensorEntityDescription[SourceT]

    @property
    @override
    def is_on(self) -> bool | None:
        """The description's state for the current source."""
        source = self.source
        return None if source is None else self.entity_description.is_on_fn(source)
