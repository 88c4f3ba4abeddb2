"""Numbers: EV charging current, battery backup reserve and shutdown level."""

from __future__ import annotations

from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberExtraStoredData,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .control.battery_command import (
    FULL_BACKUP,
    MAX_RESERVE,
    MIN_RESERVE,
    async_after_profile_change,
    profile_view,
    reserve_for,
)
from .control.errors import command_errors, control_error
from .coordinator.ev import EvCoordinator, EvSettingsCoordinator
from .coordinator.site import SiteCoordinator
from .entity import ControlEntity, EnlightenEntity, charger_device, site_device_info
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 1

# Used when the charger summary leaves chargeLevelDetails out.
DEFAULT_MIN_AMPS = 6
DEFAULT_MAX_AMPS = 32


def _positive(value: float | None) -> int | None:
    """A maximum or step that means something (0 is none), in whole amperes (rounded down)."""
    return int(value) if value is not None and value >= 1 else None


CHARGING_CURRENT = NumberEntityDescription(
    key="charging_current",
    translation_key="charging_current",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    mode=NumberMode.SLIDER,
)
BACKUP_RESERVE = NumberEntityDescription(
    key="backup_reserve",
    translation_key="backup_reserve",
    native_unit_of_measurement=PERCENTAGE,
    native_min_value=MIN_RESERVE,
    native_max_value=MAX_RESERVE,
    native_step=1,
    mode=NumberMode.SLIDER,
)
SHUTDOWN_LEVEL = NumberEntityDescription(
    key="shutdown_level",
    translation_key="shutdown_level",
    native_unit_of_measurement=PERCENTAGE,
    native_step=1,
    entity_category=EntityCategory.CONFIG,
    mode=NumberMode.SLIDER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charging current of each charger and the battery numbers."""
    runtime = entry.runtime_data
    entities: list[NumberEntity] = []
    if runtime.ev is not None and runtime.ev.data is not None and runtime.ev_settings is not None:
        entities.extend(
            ChargingCurrentNumber(
                runtime.ev,
                runtime.ev_settings,
                serial=sn,
                device_info=charger_device(hass, entry, sn),
            )
            for sn in runtime.ev.data.chargers
        )
    if runtime.site is not None:
        info = site_device_info(entry)
        site_id = runtime.site.site_id
        entities.append(
            BackupReserveNumber(runtime.site, BACKUP_RESERVE, serial=site_id, device_info=info)
        )
        entities.append(
            ShutdownLevelNumber(runtime.site, SHUTDOWN_LEVEL, serial=site_id, device_info=info)
        )
    async_add_entities(entities)


class ChargingCurrentNumber(ControlEntity[EvCoordinator], RestoreNumber):
    """Charging current: applied at once while charging, else with the next start.

    The current chosen for the next start survives a restart: it is what the
    restore data holds, and it goes back into ``desired_amps`` when added.
    """

    parts = ("status",)

    def __init__(
        self,
        coordinator: EvCoordinator,
        settings: EvSettingsCoordinator,
        *,
        serial: str,
        device_info: DeviceInfo,
    ) -> None:
        """Bind to the charger status and to the settings holding the chosen current."""
        super().__init__(coordinator, CHARGING_CURRENT, serial=serial, device_info=device_info)
        self._settings = settings
        summary = settings.summaries.get(serial)
        low = summary.charge_min if summary else None
        high = _positive(summary.charge_max if summary else None)
        if high is None:
            high = _positive(summary.max_current if summary else None)
        step = _positive(summary.charge_granularity if summary else None)
        self._low = DEFAULT_MIN_AMPS if low is None else low
        self._step = 1 if step is None else step
        self._attr_native_min_value = self._low
        self._attr_native_max_value = max(DEFAULT_MAX_AMPS if high is None else high, self._low)
        self._attr_native_step = self._step

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the current chosen before the restart (if it still fits the charger)."""
        await super().async_added_to_hass()
        if self.serial in self._settings.desired_amps:
            return
        last = await self.async_get_last_number_data()
        amps = last.native_value if last else None
        if amps is not None and self._valid(amps):
            self._settings.desired_amps[self.serial] = round(amps)

    @property
    @override
    def extra_restore_state_data(self) -> NumberExtraStoredData:
        """The chosen current (not the one in use while charging) is what returns."""
        return NumberExtraStoredData(
            self.native_max_value,
            self.native_min_value,
            self.native_step,
            self.native_unit_of_measurement,
            self._settings.desired_amps.get(self.serial),
        )

    def _valid(self, value: float) -> bool:
        amps = round(value)
        return (
            amps == value
            and self._low <= amps <= self.native_max_value
            and not (amps - self._low) % self._step
        )

    @property
    @override
    def data_available(self) -> bool:
        return self.serial in self.coordinator.data.chargers

    @property
    @override
    def native_value(self) -> float | None:
        """The current in use while charging, else the one chosen for the next start."""
        if self._written is not None:
            return int(self._written)  # whole amps, as the cloud reports them
        status = self.coordinator.data.chargers[self.serial]
        level = status.session.charge_level
        if status.charging and level is not None:
            return level
        return self._settings.desired_amps.get(self.serial, level)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Check the step, then send the current (while charging) or keep it."""
        amps = round(value)
        if not self._valid(value):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_charging_current",
                translation_placeholders={
                    "value": f"{value:g}",
                    "min": str(self._low),
                    "max": str(round(self.native_max_value)),
                    "step": str(self._step),
                },
            )
        self._settings.desired_amps[self.serial] = amps
        status = self.coordinator.data.chargers[self.serial]
        if not status.charging:
            self.async_write_ha_state()
            return
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry, charger=True):
            await coordinator.client.start_charging(coordinator.site_id, self.serial, amps)
        self._show_written(amps)
        coordinator.boost()
        await coordinator.async_request_refresh()


class BackupReserveNumber(EnlightenEntity[SiteCoordinator], NumberEntity):
    """Battery backup reserve (10-100 %; full backup keeps 100 %)."""

    parts = ("profile",)

    @property
    @override
    def data_available(self) -> bool:
        view = profile_view(self.coordinator)
        return view is not None and view.reserve is not None

    @property
    @override
    def native_value(self) -> float | None:
        """The reserve, or the requested one while a change is pending."""
        view = profile_view(self.coordinator)
        return view.reserve if view else None

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Send the reserve with the current (or pending) profile."""
        view = profile_view(self.coordinator)
        profile = view.profile if view else None
        if profile is None:
            # The reserve is always sent with a profile; guessing one would change it.
            raise control_error("reserve_profile_unknown")
        reserve = round(value)
        if profile == FULL_BACKUP and reserve != MAX_RESERVE:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="full_backup_reserve"
            )
        reserve = reserve_for(profile, reserve)
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.client.set_profile(coordinator.site_id, profile, reserve)
        await async_after_profile_change(coordinator, profile, reserve)


class ShutdownLevelNumber(ControlEntity[SiteCoordinator], NumberEntity):
    """Battery shutdown level, between the limits the cloud reports."""

    parts = ("battery_settings",)

    @property
    @override
    def data_available(self) -> bool:
        settings = self.coordinator.data.battery_settings
        return settings is not None and settings.very_low_soc is not None

    @property
    @override
    def native_value(self) -> float | None:
        """The shutdown level."""
        if self._written is not None:
            return float(self._written)
        settings = self.coordinator.data.battery_settings
        return settings.very_low_soc if settings else None

    @property
    @override
    def native_min_value(self) -> float:
        """The lowest level allowed (veryLowSocMin)."""
        settings = self.coordinator.data.battery_settings if self.coordinator.data else None
        low = settings.very_low_soc_min if settings else None
        return 0 if low is None else low

    @property
    @override
    def native_max_value(self) -> float:
        """The highest level allowed (veryLowSocMax)."""
        settings = self.coordinator.data.battery_settings if self.coordinator.data else None
        high = settings.very_low_soc_max if settings else None
        return 100 if high is None else high

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Send the new level (the number service already checked the limits)."""
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.client.set_battery_settings(
                coordinator.site_id, veryLowSoc=round(value)
            )
        self._show_written(round(value))
        await coordinator.async_request_refresh()
