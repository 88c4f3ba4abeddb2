"""Times: the custom charging schedule and the charge-from-grid window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import time
from typing import Any, override

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import ScheduleSlot
from .control.errors import command_errors, validation_error
from .coordinator.data import SiteData
from .coordinator.ev import ChargerSettings, EvSettingsCoordinator
from .coordinator.site import SiteCoordinator
from .entity import ControlEntity, charger_device, site_device_info
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 1

CUSTOM_SLOT = "CUSTOM"


def parse_hhmm(value: str | None) -> time | None:
    """``"23:00"`` -> time(23, 0); None when missing or malformed."""
    if not value:
        return None
    try:
        hour, minute = (int(part) for part in value.split(":", 1))
        return time(hour, minute)
    except ValueError:
        return None


def format_hhmm(value: time) -> str:
    """time(7, 5) -> ``"07:05"``."""
    return f"{value.hour:02d}:{value.minute:02d}"


def custom_slot(settings: ChargerSettings) -> ScheduleSlot | None:
    """The first custom schedule slot of a charger."""
    slots = settings.schedules.slots if settings.schedules else []
    return next((s for s in slots if s.schedule_type == CUSTOM_SLOT), None)


@dataclass(frozen=True, kw_only=True)
class ScheduleTimeDescription(TimeEntityDescription):
    """Start or end of the custom schedule slot."""

    field: str  # "start_time" or "end_time"


SCHEDULE_TIMES: tuple[ScheduleTimeDescription, ...] = (
    ScheduleTimeDescription(
        key="schedule_start", translation_key="schedule_start", field="start_time"
    ),
    ScheduleTimeDescription(key="schedule_end", translation_key="schedule_end", field="end_time"),
)


@dataclass(frozen=True, kw_only=True)
class GridWindowTimeDescription(TimeEntityDescription):
    """Start or end of the charge-from-grid window (minutes after local midnight)."""

    value_fn: Callable[[SiteData], int | None]
    api_key: str


GRID_WINDOW_TIMES: tuple[GridWindowTimeDescription, ...] = (
    GridWindowTimeDescription(
        key="charge_from_grid_start",
        translation_key="charge_from_grid_start",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: d.battery_settings.charge_begin_minutes if d.battery_settings else None,
        api_key="chargeBeginTime",
    ),
    GridWindowTimeDescription(
        key="charge_from_grid_end",
        translation_key="charge_from_grid_end",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: d.battery_settings.charge_end_minutes if d.battery_settings else None,
        api_key="chargeEndTime",
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the schedule times of each charger and the charge-from-grid window."""
    runtime = entry.runtime_data
    entities: list[TimeEntity] = []
    if (settings := runtime.ev_settings) is not None:
        entities.extend(
            ScheduleTime(
                settings, description, serial=sn, device_info=charger_device(hass, entry, sn)
            )
            for sn in settings.serials
            for description in SCHEDULE_TIMES
        )
    caps = runtime.capabilities
    if runtime.site is not None and (caps.settings is None or caps.settings.show_charge_from_grid):
        entities.extend(
            GridWindowTime(
                runtime.site,
                description,
                serial=runtime.site.site_id,
                device_info=site_device_info(entry),
            )
            for description in GRID_WINDOW_TIMES
        )
    async_add_entities(entities)


class ScheduleTime(ControlEntity[EvSettingsCoordinator], TimeEntity):
    """Start or end of the charger's custom schedule (unavailable until one exists)."""

    charger_parts = ("schedules",)

    entity_description: ScheduleTimeDescription

    def _slot(self) -> ScheduleSlot | None:
        settings = self.coordinator.data.chargers.get(self.serial)
        return custom_slot(settings) if settings else None

    @property
    @override
    def data_available(self) -> bool:
        return self._slot() is not None

    @property
    @override
    def native_value(self) -> time | None:
        """The slot's start or end time."""
        if isinstance(self._written, time):
            return self._written
        slot = self._slot()
        return parse_hhmm(getattr(slot, self.entity_description.field)) if slot else None

    @override
    async def async_set_value(self, value: time) -> None:
        """Change the time; the full slot list is sent and the slot is enabled."""
        settings = self.coordinator.data.chargers.get(self.serial)
        slot = custom_slot(settings) if settings else None
        if settings is None or slot is None or settings.schedules is None:
            # The schedule went away since the entity was shown (removed in the app).
            raise validation_error("no_custom_schedule")
        changes: dict[str, Any] = {self.entity_description.field: format_hhmm(value)}
        updated = replace(slot, enabled=True, **changes)
        slots = [updated if s is slot else s for s in settings.schedules.slots]
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry, charger=True):
            await coordinator.client.set_schedules(coordinator.site_id, self.serial, slots)
        self._show_written(value.replace(second=0, microsecond=0))
        await coordinator.async_request_refresh()


class GridWindowTime(ControlEntity[SiteCoordinator], TimeEntity):
    """Start or end of the window in which the battery may charge from the grid."""

    parts = ("battery_settings",)

    entity_description: GridWindowTimeDescription

    @property
    @override
    def data_available(self) -> bool:
        return self.entity_description.value_fn(self.coordinator.data) is not None

    @property
    @override
    def native_value(self) -> time | None:
        """Minutes after local midnight as a time of day."""
        if isinstance(self._written, time):
            return self._written
        minutes = self.entity_description.value_fn(self.coordinator.data)
        return None if minutes is None else time(minutes // 60, minutes % 60)

    @override
    async def async_set_value(self, value: time) -> None:
        """Send the minutes after local midnight."""
        coordinator = self.coordinator
        fields = {self.entity_description.api_key: value.hour * 60 + value.minute}
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.client.set_battery_settings(coordinator.site_id, **fields)
        self._show_written(value.replace(second=0, microsecond=0))
        await coordinator.async_request_refresh()
