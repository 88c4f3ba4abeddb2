"""Selects: EV charge mode and battery profile."""

from __future__ import annotations

from typing import Any, Final, override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .control.battery_command import (
    FULL_BACKUP,
    MIN_RESERVE,
    PROFILE_OPTIONS,
    SAVINGS,
    async_after_profile_change,
    profile_view,
    reserve_for,
)
from .control.errors import command_errors
from .coordinator.data import SiteCapabilities
from .coordinator.ev import EvSettingsCoordinator
from .coordinator.site import SiteCoordinator
from .entity import ControlEntity, EnlightenEntity, charger_device, site_device_info
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 1

# Select options (translation keys) -> scheduler charge modes.
CHARGE_MODE_OPTIONS: Final[dict[str, str]] = {
    "manual": "MANUAL_CHARGING",
    "scheduled": "SCHEDULED_CHARGING",
    "green": "GREEN_CHARGING",
}

CHARGE_MODE = SelectEntityDescription(
    key="charge_mode", translation_key="charge_mode", options=list(CHARGE_MODE_OPTIONS)
)
BATTERY_PROFILE = SelectEntityDescription(
    key="battery_profile", translation_key="battery_profile", options=list(PROFILE_OPTIONS)
)


def profile_options(caps: SiteCapabilities) -> list[str]:
    """The profiles the site offers (site settings may hide savings or full backup)."""
    settings = caps.settings
    hidden: set[str] = set()
    if settings is not None and not settings.show_savings_mode:
        hidden.add(SAVINGS)
    if settings is not None and not settings.show_full_backup:
        hidden.add(FULL_BACKUP)
    return [option for option, api in PROFILE_OPTIONS.items() if api not in hidden]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charge mode of each charger and the battery profile."""
    runtime = entry.runtime_data
    entities: list[SelectEntity] = []
    if (settings := runtime.ev_settings) is not None:
        entities.extend(
            ChargeModeSelect(
                settings, CHARGE_MODE, serial=sn, device_info=charger_device(hass, entry, sn)
            )
            for sn in settings.serials
        )
    if runtime.site is not None:
        entities.append(
            BatteryProfileSelect(
                runtime.site,
                BATTERY_PROFILE,
                serial=runtime.site.site_id,
                device_info=site_device_info(entry),
            )
        )
    async_add_entities(entities)


class ChargeModeSelect(ControlEntity[EvSettingsCoordinator], SelectEntity):
    """Manual, scheduled or green charging."""

    charger_parts = ("mode",)

    @property
    @override
    def data_available(self) -> bool:
        settings = self.coordinator.data.chargers.get(self.serial)
        return settings is not None and settings.charge_mode in CHARGE_MODE_OPTIONS.values()

    @property
    @override
    def current_option(self) -> str | None:
        """The active mode."""
        if self._written is not None:
            return str(self._written)
        mode = self.coordinator.data.chargers[self.serial].charge_mode
        return next((key for key, api in CHARGE_MODE_OPTIONS.items() if api == mode), None)

    @override
    async def async_select_option(self, option: str) -> None:
        """Change the charge mode."""
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry, charger=True):
            await coordinator.client.set_charge_mode(
                coordinator.site_id, self.serial, CHARGE_MODE_OPTIONS[option]
            )
        self._show_written(option)
        await coordinator.async_request_refresh()


class BatteryProfileSelect(EnlightenEntity[SiteCoordinator], SelectEntity):
    """System profile; a change shows as pending until Enlighten applies it."""

    parts = ("profile",)

    def __init__(self, coordinator: SiteCoordinator, *args: Any, **kwargs: Any) -> None:
        """Offer only the profiles the site supports."""
        super().__init__(coordinator, *args, **kwargs)
        self._attr_options = profile_options(coordinator.capabilities)

    @property
    @override
    def data_available(self) -> bool:
        view = profile_view(self.coordinator)
        return view is not None and view.profile in PROFILE_OPTIONS.values()

    @property
    @override
    def current_option(self) -> str | None:
        """The profile, or the requested one while the change is pending."""
        view = profile_view(self.coordinator)
        profile = view.profile if view else None
        return next((key for key, api in PROFILE_OPTIONS.items() if api == profile), None)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Whether a change is pending, what is active meanwhile, and a running command."""
        view = profile_view(self.coordinator)
        attributes: dict[str, Any] = {
            "pending_change": bool(view and view.pending),
            "active_profile": next(
                (k for k, api in PROFILE_OPTIONS.items() if view and api == view.active_profile),
                None,
            ),
            "active_reserve": view.active_reserve if view else None,
        }
        manager = self.coordinator.config_entry.runtime_data.battery_command
        command = manager.command if manager else None
        attributes["battery_command"] = command.mode if command else None
        attributes["battery_command_ends_at"] = command.ends_at.isoformat() if command else None
        return attributes

    @override
    async def async_select_option(self, option: str) -> None:
        """Request the profile, keeping the current reserve (full backup sends 100 %)."""
        view = profile_view(self.coordinator)
        profile = PROFILE_OPTIONS[option]
        current = view.reserve if view else None
        reserve = reserve_for(profile, MIN_RESERVE if current is None else current)
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.client.set_profile(coordinator.site_id, profile, reserve)
        await async_after_profile_change(coordinator, profile, reserve)
