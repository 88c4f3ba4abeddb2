"""Switches: EV charging and charger settings, battery charge from grid, Storm Guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import EnlightenClient
from .control.errors import command_errors, validation_error
from .coordinator.data import SiteCapabilities, SiteData
from .coordinator.ev import ChargerSettings, EvCoordinator, EvSettingsCoordinator
from .coordinator.site import SiteCoordinator
from .entity import ControlEntity, EnlightenEntity, charger_device, site_device_info
from .repairs import async_create_itc_issue, async_delete_itc_issue
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 1

# How long a start/stop is shown before the charger status confirms it.
OPTIMISTIC_CHARGING = timedelta(minutes=2)

APP_AUTH_KEY = "sessionAuthentication"
RFID_AUTH_KEY = "rfidSessionAuthentication"

CHARGING = SwitchEntityDescription(key="charging", translation_key="charging")


@dataclass(frozen=True, kw_only=True)
class ChargerSettingSwitchDescription(SwitchEntityDescription):
    """A charger setting read from the settings coordinator."""

    value_fn: Callable[[ChargerSettings], bool | None]
    set_fn: Callable[[EnlightenClient, str, str, bool], Awaitable[Any]]
    supported_fn: Callable[[EvSettingsCoordinator, str], bool] = lambda _c, _sn: True


def _auth_state(key: str) -> Callable[[ChargerSettings], bool | None]:
    def value(settings: ChargerSettings) -> bool | None:
        item = settings.session_auth.get(key)
        if item is None:
            return None
        # While a change waits to be applied by the charger, show the requested value.
        return (item.requested_value or "").lower() == "enabled" if item.pending else item.enabled

    return value


CHARGER_SETTING_SWITCHES: tuple[ChargerSettingSwitchDescription, ...] = (
    ChargerSettingSwitchDescription(
        key="green_use_battery",
        translation_key="green_use_battery",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda s: s.use_battery,
        set_fn=lambda client, sid, sn, on: client.set_green_use_battery(sid, sn, on),
        supported_fn=lambda coordinator, sn: coordinator.supports_use_battery(sn),
    ),
    ChargerSettingSwitchDescription(
        key="app_authentication",
        translation_key="app_authentication",
        entity_category=EntityCategory.CONFIG,
        value_fn=_auth_state(APP_AUTH_KEY),
        set_fn=lambda client, sid, sn, on: client.set_session_auth(sid, sn, APP_AUTH_KEY, on),
    ),
    ChargerSettingSwitchDescription(
        key="rfid_authentication",
        translation_key="rfid_authentication",
        entity_category=EntityCategory.CONFIG,
        value_fn=_auth_state(RFID_AUTH_KEY),
        set_fn=lambda client, sid, sn, on: client.set_session_auth(sid, sn, RFID_AUTH_KEY, on),
    ),
)


@dataclass(frozen=True, kw_only=True)
class SiteSwitchDescription(SwitchEntityDescription):
    """A battery or Storm Guard setting of the site."""

    value_fn: Callable[[SiteData], bool | None]
    set_fn: Callable[[EnlightenClient, str, SiteData, bool], Awaitable[Any]]
    supported_fn: Callable[[SiteCapabilities], bool]
    # The site part ``value_fn`` reads.
    part: str = "battery_settings"


def _accepted_itc_disclaimer(data: SiteData | None) -> str | None:
    """When the site accepted Enphase's ITC disclaimer, as the cloud reports it."""
    settings = data.battery_settings if data else None
    return settings.accepted_itc_disclaimer if settings else None


def _set_charge_from_grid(
    client: EnlightenClient, sid: str, data: SiteData, on: bool
) -> Awaitable[Any]:
    if not on:
        return client.set_battery_settings(sid, chargeFromGrid=False)
    # Only ever the site's own acceptance (ChargeFromGridSwitch checks there is one).
    accepted = _accepted_itc_disclaimer(data)
    extra = {} if accepted is None else {"acceptedItcDisclaimer": accepted}
    return client.set_battery_settings(sid, chargeFromGrid=True, **extra)


def _set_storm_guard(client: EnlightenClient, sid: str, data: SiteData, on: bool) -> Awaitable[Any]:
    evse = bool(data.profile and data.profile.evse_storm_enabled)
    return client.set_storm_guard(sid, on, evse)


def _set_storm_ev(client: EnlightenClient, sid: str, data: SiteData, on: bool) -> Awaitable[Any]:
    enabled = bool(data.profile and data.profile.storm_guard_enabled)
    return client.set_storm_guard(sid, enabled, on)


def _show_cfg(caps: SiteCapabilities) -> bool:
    return caps.settings is None or caps.settings.show_charge_from_grid


def _show_storm_guard(caps: SiteCapabilities) -> bool:
    return caps.settings is None or caps.settings.show_storm_guard


SITE_SWITCHES: tuple[SiteSwitchDescription, ...] = (
    SiteSwitchDescription(
        key="charge_from_grid",
        translation_key="charge_from_grid",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: d.battery_settings.charge_from_grid if d.battery_settings else None,
        set_fn=_set_charge_from_grid,
        supported_fn=_show_cfg,
    ),
    SiteSwitchDescription(
        key="charge_from_grid_schedule",
        translation_key="charge_from_grid_schedule",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda d: (
            d.battery_settings.charge_from_grid_schedule_enabled if d.battery_settings else None
        ),
        set_fn=lambda client, sid, _d, on: client.set_battery_settings(
            sid, chargeFromGridScheduleEnabled=on
        ),
        supported_fn=_show_cfg,
    ),
    SiteSwitchDescription(
        key="storm_guard",
        translation_key="storm_guard",
        part="profile",
        value_fn=lambda d: d.profile.storm_guard_enabled if d.profile else None,
        set_fn=_set_storm_guard,
        supported_fn=_show_storm_guard,
    ),
    SiteSwitchDescription(
        key="storm_guard_ev_charging",
        translation_key="storm_guard_ev_charging",
        entity_category=EntityCategory.CONFIG,
        part="profile",
        value_fn=lambda d: d.profile.evse_storm_enabled if d.profile else None,
        set_fn=_set_storm_ev,
        supported_fn=lambda caps: caps.has_charger and _show_storm_guard(caps),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of the chargers and of the battery system."""
    runtime = entry.runtime_data
    entities: list[SwitchEntity] = []
    if runtime.ev is not None and runtime.ev.data is not None:
        entities.extend(
            EvChargingSwitch(
                runtime.ev, CHARGING, serial=sn, device_info=charger_device(hass, entry, sn)
            )
            for sn in runtime.ev.data.chargers
        )
    if (settings := runtime.ev_settings) is not None:
        entities.extend(
            ChargerSettingSwitch(
                settings, description, serial=sn, device_info=charger_device(hass, entry, sn)
            )
            for sn in settings.serials
            for description in CHARGER_SETTING_SWITCHES
            if description.supported_fn(settings, sn)
        )
    if runtime.site is not None:
        site_id = runtime.site.site_id
        entities.extend(
            (ChargeFromGridSwitch if description.key == "charge_from_grid" else SiteSwitch)(
                runtime.site, description, serial=site_id, device_info=site_device_info(entry)
            )
            for description in SITE_SWITCHES
            if description.supported_fn(runtime.capabilities)
        )
    async_add_entities(entities)


class EvChargingSwitch(EnlightenEntity[EvCoordinator], SwitchEntity):
    """Start or stop charging; the chosen charging current is sent with a start."""

    parts = ("status",)

    _optimistic: tuple[bool, datetime] | None = None

    @property
    @override
    def data_available(self) -> bool:
        return self.serial in self.coordinator.data.chargers

    @property
    @override
    def is_on(self) -> bool | None:
        """Charging, or the state just asked for until the status confirms it."""
        if self._optimistic is not None and dt_util.utcnow() < self._optimistic[1]:
            return self._optimistic[0]
        return self.coordinator.data.chargers[self.serial].charging

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        status = self.coordinator.data.chargers.get(self.serial)
        if self._optimistic is not None and (
            status is None
            or status.charging == self._optimistic[0]
            or dt_util.utcnow() >= self._optimistic[1]
        ):
            self._optimistic = None
        super()._handle_coordinator_update()

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Start charging at the chosen current (or the charger's last one)."""
        settings = self.coordinator.config_entry.runtime_data.ev_settings
        amps = settings.desired_amps.get(self.serial) if settings else None
        async with command_errors(self.hass, self.coordinator.config_entry, charger=True):
            await self.coordinator.client.start_charging(
                self.coordinator.site_id, self.serial, amps
            )
        await self._async_after_command(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop charging."""
        async with command_errors(self.hass, self.coordinator.config_entry, charger=True):
            await self.coordinator.client.stop_charging(self.coordinator.site_id, self.serial)
        await self._async_after_command(False)

    async def _async_after_command(self, charging: bool) -> None:
        self._optimistic = (charging, dt_util.utcnow() + OPTIMISTIC_CHARGING)
        self.async_write_ha_state()
        self.coordinator.boost()
        await self.coordinator.async_request_refresh()


class ChargerSettingSwitch(ControlEntity[EvSettingsCoordinator], SwitchEntity):
    """A charger setting (green 'use battery', app or RFID authentication)."""

    entity_description: ChargerSettingSwitchDescription

    @property
    @override
    def data_available(self) -> bool:
        settings = self.coordinator.data.chargers.get(self.serial)
        return settings is not None and self.entity_description.value_fn(settings) is not None

    @property
    @override
    def is_on(self) -> bool | None:
        """The setting's (requested) state."""
        if self._written is not None:
            return bool(self._written)
        return self.entity_description.value_fn(self.coordinator.data.chargers[self.serial])

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the setting."""
        await self._async_set(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the setting."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry, charger=True):
            await self.entity_description.set_fn(
                coordinator.client, coordinator.site_id, self.serial, on
            )
        self._show_written(on)
        await coordinator.async_request_refresh()


class SiteSwitch(ControlEntity[SiteCoordinator], SwitchEntity):
    """A battery system setting (charge from grid, Storm Guard)."""

    entity_description: SiteSwitchDescription

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Bind the switch; it reads the one site part of its description."""
        super().__init__(*args, **kwargs)
        self.parts = (self.entity_description.part,)

    @property
    @override
    def data_available(self) -> bool:
        return self.entity_description.value_fn(self.coordinator.data) is not None

    @property
    @override
    def is_on(self) -> bool | None:
        """The setting's state."""
        if self._written is not None:
            return bool(self._written)
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the setting."""
        await self._async_set(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the setting."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry):
            await self.entity_description.set_fn(
                coordinator.client, coordinator.site_id, coordinator.data, on
            )
        self._show_written(on)
        await coordinator.async_request_refresh()


class ChargeFromGridSwitch(SiteSwitch):
    """Charge from grid; Enphase allows it once the site accepted its ITC disclaimer.

    The disclaimer is never accepted on the user's behalf: without an acceptance
    turning on is refused and a repair issue lets the user read about it and
    accept it (see ``repairs``).
    """

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        if _accepted_itc_disclaimer(self.coordinator.data) is not None:
            async_delete_itc_issue(self.hass, self.coordinator.config_entry.entry_id)
        super()._handle_coordinator_update()

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn on when the site accepted the disclaimer; else explain and raise the repair."""
        coordinator = self.coordinator
        entry = coordinator.config_entry
        data = coordinator.data
        if _accepted_itc_disclaimer(data) is None:
            # It may have been accepted in the Enphase app since the settings were read.
            async with command_errors(self.hass, entry):
                settings = await coordinator.client.battery_settings(coordinator.site_id)
            data = replace(data, battery_settings=settings)
            if settings.accepted_itc_disclaimer is None:
                async_create_itc_issue(self.hass, entry)
                raise validation_error("itc_disclaimer_required")
        async_delete_itc_issue(self.hass, entry.entry_id)
        async with command_errors(self.hass, entry):
            await _set_charge_from_grid(coordinator.client, coordinator.site_id, data, True)
        self._show_written(True)
        await coordinator.async_request_refresh()
