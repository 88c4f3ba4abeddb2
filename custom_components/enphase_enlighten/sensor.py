"""Sensors of the Enphase Enlighten integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SITE_ID
from .coordinator import EnlightenConfigEntry
from .energy import EnergyCoordinator, EnergyData
from .entity import EnlightenEntity, site_device_info

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EnlightenEnergySensorEntityDescription(SensorEntityDescription):
    """A site energy sensor; ``flow`` names the lifetime_energy series it needs."""

    flow: str
    value_fn: Callable[[EnergyData], float | None]


def _site_energy(key: str, flow: str, *, lifetime: bool) -> EnlightenEnergySensorEntityDescription:
    def value(data: EnergyData) -> float | None:
        totals = data.totals.get(flow)
        if totals is None:
            return None
        return totals.lifetime_kwh if lifetime else totals.today_kwh

    return EnlightenEnergySensorEntityDescription(
        key=key,
        translation_key=key,
        flow=flow,
        value_fn=value,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
    )


SITE_ENERGY_SENSORS: tuple[EnlightenEnergySensorEntityDescription, ...] = (
    _site_energy("production_today", "production", lifetime=False),
    _site_energy("production_lifetime", "production", lifetime=True),
    _site_energy("consumption_today", "consumption", lifetime=False),
    _site_energy("consumption_lifetime", "consumption", lifetime=True),
    _site_energy("grid_import_today", "import", lifetime=False),
    _site_energy("grid_import_lifetime", "import", lifetime=True),
    _site_energy("grid_export_today", "export", lifetime=False),
    _site_energy("grid_export_lifetime", "export", lifetime=True),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site energy sensors for the flows the site reports."""
    energy = entry.runtime_data.energy
    flows = energy.data.totals if energy.data else {}
    device_info = site_device_info(entry)
    site_id: str = entry.data[CONF_SITE_ID]
    async_add_entities(
        EnlightenEnergySensor(energy, description, serial=site_id, device_info=device_info)
        for description in SITE_ENERGY_SENSORS
        if description.flow in flows
    )


class EnlightenEnergySensor(EnlightenEntity[EnergyCoordinator], SensorEntity):
    """A site energy total from the lifetime energy buckets."""

    entity_description: EnlightenEnergySensorEntityDescription

    @property
    @override
    def native_value(self) -> float | None:
        """The guarded total in kWh."""
        return self.entity_description.value_fn(self.coordinator.data)
