"""Event entity: the site's new homeowner events (Enlighten "Events History")."""

from __future__ import annotations

from typing import Any, override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import HomeownerEvent
from .const import CONF_SITE_ID
from .coordinator.energy import EnergyCoordinator, EnergyData
from .entity import EnlightenEntity, site_device_info
from .runtime import EnlightenConfigEntry

PARALLEL_UPDATES = 0

# Event keys the Enlighten event feed is known to send; any other key is "other".
KNOWN_EVENT_KEYS = (
    "evse_start_charging",
    "evse_stop_charging",
    "evse_plugged_in",
    "evse_unplugged",
    "envoy_not_reporting",
    "micro_low_production",
    "profile_changed",
    "grid_state_changed",
)
OTHER_EVENT = "other"
EVENT_TYPES = [*KNOWN_EVENT_KEYS, OTHER_EVENT]

HOMEOWNER_EVENT = EventEntityDescription(
    key="homeowner_event",
    translation_key="homeowner_event",
    event_types=EVENT_TYPES,
)


def event_type(event: HomeownerEvent) -> str:
    """The entity event type of a homeowner event."""
    key = (event.event_key or "").lower()
    return key if key in KNOWN_EVENT_KEYS else OTHER_EVENT


def event_attributes(event: HomeownerEvent) -> dict[str, Any]:
    """What an automation may want to know about a homeowner event."""
    return {
        "event_id": event.id,
        "event_key": event.event_key,
        "event_type_id": event.event_type_id,
        "status": event.status,
        "device_type": event.type,
        "description": event.description,
        "serial_number": event.serial,
        "devices_impacted": list(event.devices_impacted),
        "recommended_action": event.recommended_action,
        "message_params": event.message_params,
        "started_at": event.start.isoformat() if event.start else None,
        "cleared_at": event.cleared.isoformat() if event.cleared else None,
        "occurred_at": event.date.isoformat() if event.date else None,
    }


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EnlightenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's event entity."""
    energy = entry.runtime_data.energy
    async_add_entities(
        [
            EnlightenEventEntity(
                energy,
                HOMEOWNER_EVENT,
                serial=entry.data[CONF_SITE_ID],
                device_info=site_device_info(entry),
            )
        ]
    )


class EnlightenEventEntity(EnlightenEntity[EnergyCoordinator], EventEntity):
    """Fires each homeowner event the energy coordinator reports as new.

    The coordinator persists its event cursor, so events seen before a restart
    are not reported again; events that arrived while Home Assistant was down
    are fired once the entity is added.
    """

    parts = ("events",)

    entity_description: EventEntityDescription
    _handled: EnergyData | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Fire the events found by the refresh that preceded the entity."""
        await super().async_added_to_hass()
        self._fire_new_events()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Fire new events, then write the state."""
        if self._fire_new_events():
            return
        super()._handle_coordinator_update()

    @callback
    def _fire_new_events(self) -> bool:
        """Fire the new events of the current data once; True when any was fired."""
        data = self.coordinator.data
        if data is None or data is self._handled:
            return False
        self._handled = data
        for event in data.new_events:
            self._trigger_event(event_type(event), event_attributes(event))
            self.async_write_ha_state()
        return bool(data.new_events)
