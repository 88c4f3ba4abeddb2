"""Event platform: homeowner events fire once, with their details; restarts replay nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from tests.entity_setup import (
    SCENARIOS,
    SITE_MICROS,
    all_entities_enabled,
    only_platforms,
    setup_site,
    state_value,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

EV_SN = "EV0000000001"
EVENT_ENTITY = "event.demo_home_site_event"


@pytest.fixture(autouse=True)
def events_only() -> Iterator[None]:
    """Load the event platform only."""
    with only_platforms(Platform.EVENT):
        yield


def _record(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    """Collect the attributes of every event the entity fires.

    A state equal to the last one seen (written again when the entity is
    restored after a restart) is not a fired event.
    """
    fired: list[dict[str, Any]] = []
    last: list[tuple[str, dict[str, Any]]] = []

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return
        seen = (new.state, dict(new.attributes))
        if not last or last[-1] != seen:
            fired.append(seen[1])
            last.append(seen)

    state = hass.states.get(entity_id)
    if state is not None and state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        last.append((state.state, dict(state.attributes)))
    async_track_state_change_event(hass, [entity_id], _changed)
    return fired


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.energy.async_refresh()
    await hass.async_block_till_done()


@pytest.mark.parametrize("site_id", SCENARIOS)
async def test_snapshots(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    site_id: str,
) -> None:
    """One event entity per site; nothing fired at the first start."""
    with all_entities_enabled():
        entry = await setup_site(hass, sim, site_id)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_new_event_fires_once(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """A new homeowner event fires with its type and details, exactly once."""
    entry = await setup_site(hass, sim)
    fired = _record(hass, EVENT_ENTITY)
    site = sim.site(1000001)
    site.add_event("evse_unplugged", EV_SN, "IQ EV Charger", at=sim.now + timedelta(seconds=5))
    await _refresh(hass, entry)
    assert len(fired) == 1
    assert fired[0][ATTR_EVENT_TYPE] == "evse_unplugged"
    assert fired[0]["serial_number"] == EV_SN
    assert fired[0]["status"] == "Info"
    assert fired[0]["description"] == f"EV unplugged from IQ EV Charger (SNo. {EV_SN})."
    await _refresh(hass, entry)
    assert len(fired) == 1


async def test_several_events_fire_in_order(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Events found in one refresh fire oldest first; unknown keys are 'other'."""
    entry = await setup_site(hass, sim)
    fired = _record(hass, EVENT_ENTITY)
    at = int((sim.now + timedelta(minutes=1)).timestamp())
    page = {
        "events": [
            {"id": 2, "status": "Open", "event_key": "brand_new_alarm", "event_date": at + 60},
            {"id": 1, "status": "Info", "event_key": "EVSE_PLUGGED_IN", "event_date": at},
        ],
        "next": None,
    }
    sim.inject_fault("events/homeowner", status=200, body=json.dumps(page))
    await _refresh(hass, entry)
    assert [f[ATTR_EVENT_TYPE] for f in fired] == ["evse_plugged_in", "other"]
    assert fired[1]["event_key"] == "brand_new_alarm"
    assert fired[1]["started_at"] is None


async def test_restart_does_not_replay(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """After a restart old events stay quiet; one that came while stopped fires once."""
    entry = await setup_site(hass, sim)
    site = sim.site(1000001)
    site.add_event("evse_plugged_in", EV_SN, "IQ EV Charger", at=sim.now + timedelta(seconds=5))
    await _refresh(hass, entry)
    fired_state = state_value(hass, EVENT_ENTITY)
    assert fired_state != STATE_UNKNOWN

    fired = _record(hass, EVENT_ENTITY)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # The last event is restored, nothing is fired again.
    assert state_value(hass, EVENT_ENTITY) == fired_state
    assert fired == []

    await hass.config_entries.async_unload(entry.entry_id)
    site.add_event("evse_unplugged", EV_SN, "IQ EV Charger", at=sim.now + timedelta(seconds=9))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert [f[ATTR_EVENT_TYPE] for f in fired] == ["evse_unplugged"]
    await _refresh(hass, entry)
    assert len(fired) == 1


async def test_failed_refresh_fires_nothing(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """A refresh that fails keeps the entity quiet (no event is fired twice)."""
    entry = await setup_site(hass, sim)
    sim.site(1000001).add_event(
        "evse_unplugged", EV_SN, "IQ EV Charger", at=sim.now + timedelta(seconds=5)
    )
    fired = _record(hass, EVENT_ENTITY)
    await _refresh(hass, entry)
    assert len(fired) == 1
    for path in ("lifetime_energy", "events/homeowner", "inverter_status_x", "inverter_data_x"):
        sim.inject_fault(path, status=503)
    await _refresh(hass, entry)
    assert not entry.runtime_data.energy.last_update_success
    assert len(fired) == 1


async def test_first_start_fires_nothing(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """The history that exists before the integration is set up is not fired."""
    assert sim.site(1000002).events
    await setup_site(hass, sim, SITE_MICROS)
    assert state_value(hass, "event.cabin_site_event") == STATE_UNKNOWN
