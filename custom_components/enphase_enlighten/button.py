"""Buttons: start an EV live stream, cancel a pending battery profile change."""

from __future__ import annotations

from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .control.battery_command import profile_view
from .control.errors import command_errors
from .coordinator.ev import EvCoordinator
from .coordinator.site import SiteCoordinator
from .entity import EnlightenEntity, site_device_info
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 1

START_LIVE_STREAM = ButtonEntityDescription(
    key="start_live_stream", translation_key="start_live_stream"
)
CANCEL_PROFILE_CHANGE = ButtonEntityDescription(
    key="cancel_profile_change", translation_key="cancel_profile_change"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site-level buttons the site can use."""
    runtime = entry.runtime_data
    info = site_device_info(entry)
    site_id = runtime.capabilities.site_id
    entities: list[ButtonEntity] = []
    if runtime.ev is not None:
        entities.append(
            LiveStreamButton(runtime.ev, START_LIVE_STREAM, serial=site_id, device_info=info)
        )
    if runtime.site is not None:
        entities.append(
            CancelProfileChangeButton(
                runtime.site, CANCEL_PROFILE_CHANGE, serial=site_id, device_info=info
            )
        )
    async_add_entities(entities)


class LiveStreamButton(EnlightenEntity[EvCoordinator], ButtonEntity):
    """Ask for a burst of live charger updates; the status is polled fast meanwhile."""

    parts = ("status",)

    @override
    async def async_press(self) -> None:
        """Start the live stream and refresh the charger status."""
        coordinator = self.coordinator
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.async_start_live_stream()
        await coordinator.async_request_refresh()


class CancelProfileChangeButton(EnlightenEntity[SiteCoordinator], ButtonEntity):
    """Withdraw a profile change that Enlighten has not applied yet."""

    parts = ("profile",)

    @override
    async def async_press(self) -> None:
        """Cancel the pending change (refused when nothing is pending)."""
        coordinator = self.coordinator
        view = profile_view(coordinator)
        if view is None or not view.pending:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_pending_profile_change"
            )
        async with command_errors(self.hass, coordinator.config_entry):
            await coordinator.client.cancel_profile_change(coordinator.site_id)
        coordinator.requested_profile = None
        manager = coordinator.config_entry.runtime_data.battery_command
        if manager is not None:
            await manager.async_discard()
        # Not debounced: the pending state must not linger after a successful cancel.
        await coordinator.async_refresh()
