"""Refreshes write only the entity states they change; lifetime buckets are parsed once.

Against the simulator (frozen clock): a refresh that brings nothing new writes
no state, while a new value, an availability change or a control value that the
cloud did not take are still written; a control value the cloud confirms is not
written twice; refreshes that bring no new device build no entities. The
lifetime energy reader gives the same result as a full parse, also when an old
bucket arrives late.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from custom_components.enphase_enlighten.api import EnlightenClient, InvalidResponse, LifetimeEnergy
from custom_components.enphase_enlighten.api.models_site import REPARSED_TAIL, LifetimeEnergyReader
from custom_components.enphase_enlighten.coordinator.base import STALE_AFTER_FAILURES
from custom_components.enphase_enlighten.descriptions.common import EnlightenSourceEntity
from tests.controls import (
    EV_SN,
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
    state_of,
)
from tests.helpers import simulator_session
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

LIFETIME_PRODUCTION = "sensor.demo_home_lifetime_production"
BATTERY_LEVEL = "sensor.demo_home_battery_level"
SHUTDOWN = "number.demo_home_battery_shutdown_level"
INVERTER_STATUS = "sensor.iq8m_001001_status"
CHARGER_SESSION_ENERGY = "sensor.iq_ev_charger_000001_session_energy"


class Writes:
    """State writes of the integration's entities, in the order they came.

    Every write fires one of two events: ``state_changed`` when the state or its
    attributes differ from what the state machine holds, ``state_reported`` when
    they are the same.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self.writes: list[tuple[str, str]] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._on("changed"))
        hass.bus.async_listen(
            EVENT_STATE_REPORTED, self._on("reported"), event_filter=callback(lambda _: True)
        )

    def _on(self, kind: str) -> Any:
        @callback
        def listener(event: Event[Any]) -> None:
            self.writes.append((kind, event.data["entity_id"]))

        return listener

    @property
    def changed(self) -> list[str]:
        """The entities whose state changed, once per write."""
        return [entity_id for kind, entity_id in self.writes if kind == "changed"]

    @property
    def reported(self) -> list[str]:
        """The entities written with the state they already had, once per write."""
        return [entity_id for kind, entity_id in self.writes if kind == "reported"]

    def of(self, entity_id: str) -> list[str]:
        """The kinds of the writes of one entity."""
        return [kind for kind, written in self.writes if written == entity_id]


@pytest.fixture
def constructions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The entities built (sensors, binary sensors, local readings), by description key."""
    built: list[str] = []
    original = EnlightenSourceEntity.__init__

    def counting(self: EnlightenSourceEntity[Any], *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self.entity_description.key)

    monkeypatch.setattr(EnlightenSourceEntity, "__init__", counting)
    yield built


def _entity_ids(hass: HomeAssistant, entry_id: str) -> set[str]:
    return {e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry_id)}


async def test_unchanged_refresh_writes_nothing(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """Refreshes, and updates of every entity with the data it already shows, write no state.

    Home Assistant's clock is frozen too (``sim``): durations since a time stay put.
    """
    entry = await setup_site(hass, sim)
    runtime = entry.runtime_data
    ours = _entity_ids(hass, entry.entry_id)
    assert len(ours) > 100
    writes = Writes(hass)
    for coordinator in runtime.coordinators:
        await coordinator.async_refresh()
        # Whether the data compared equal or not: every entity is told to update.
        coordinator.async_update_listeners()
    await hass.async_block_till_done()
    assert writes.changed == []
    assert writes.reported == []
    # What is compared is the state the state machine holds: set another one
    # behind the entity's back and the next update writes its own again.
    assert BATTERY_LEVEL in ours
    level = state_of(hass, BATTERY_LEVEL)
    hass.states.async_set(BATTERY_LEVEL, "1")
    assert runtime.site is not None
    runtime.site.async_update_listeners()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == level
    assert writes.changed == [BATTERY_LEVEL, BATTERY_LEVEL]
    # The attributes too: one more than the entity shows is written away.
    shown = hass.states.get(BATTERY_LEVEL)
    assert shown is not None
    hass.states.async_set(BATTERY_LEVEL, level, {**shown.attributes, "extra": 1})
    runtime.site.async_update_listeners()
    await hass.async_block_till_done()
    rewritten = hass.states.get(BATTERY_LEVEL)
    assert rewritten is not None
    assert rewritten.attributes == shown.attributes
    assert writes.changed == [BATTERY_LEVEL] * 4
    assert writes.reported == []


async def test_refresh_writes_only_what_changed(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """New energy data rewrites the entities whose values moved, each once, and no other."""
    entry = await setup_site(hass, simulator)
    energy = entry.runtime_data.energy
    # Entities were added with the setup's data; one refresh with news is a baseline.
    simulator.advance(600)
    await energy.async_refresh()
    await hass.async_block_till_done()
    shown = float(state_of(hass, LIFETIME_PRODUCTION))
    writes = Writes(hass)
    simulator.advance(3 * 3600)
    await energy.async_refresh()
    await hass.async_block_till_done()
    total = energy.data.totals["production"].lifetime_kwh
    assert total is not None
    assert total > shown
    assert float(state_of(hass, LIFETIME_PRODUCTION)) == pytest.approx(total)
    assert writes.of(LIFETIME_PRODUCTION) == ["changed"]
    # The microinverter statuses did not change: not rewritten (a write of an
    # unchanged state would be reported).
    assert state_of(hass, INVERTER_STATUS) == "normal"
    assert writes.of(INVERTER_STATUS) == []
    assert writes.reported == []
    assert len(set(writes.changed)) == len(writes.changed)


async def test_going_stale_and_back_is_written(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Unavailable after the failures in a row, then the same value again, each written once."""
    entry = await setup_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await hass.async_block_till_done()
    level = state_of(hass, BATTERY_LEVEL)
    assert level != STATE_UNAVAILABLE
    writes = Writes(hass)
    for path in ("battery_status", "batteryConfig", "grid_control_check", "off_grid"):
        simulator.inject_fault(path, status=502)
    for _ in range(STALE_AFTER_FAILURES - 1):
        await site.async_refresh()
        await hass.async_block_till_done()
        assert state_of(hass, BATTERY_LEVEL) == level
    assert writes.of(BATTERY_LEVEL) == []
    await site.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == STATE_UNAVAILABLE
    assert writes.of(BATTERY_LEVEL) == ["changed"]
    # Still failing: still unavailable, nothing more to write.
    await site.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == STATE_UNAVAILABLE
    assert writes.of(BATTERY_LEVEL) == ["changed"]
    simulator.clear_faults()
    await site.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == level
    assert writes.of(BATTERY_LEVEL) == ["changed", "changed"]
    assert writes.reported == []


async def test_value_the_cloud_did_not_take_is_replaced(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A control shows what it sent; the next refresh shows the cloud's value again,
    although that value is the one the refresh before showed."""
    entry = await setup_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    simulator.advance(3600)
    before = site.data
    await site.async_refresh()
    await hass.async_block_till_done()
    assert site.data != before  # the entities were updated, and their values noted
    assert float(state_of(hass, SHUTDOWN)) == 15
    # The cloud accepts the request but keeps the old level.
    simulator.inject_fault("batterySettings", method="PUT", status=200, body="{}")
    writes = Writes(hass)
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SHUTDOWN, ATTR_VALUE: 20},
        blocking=True,
    )
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.very_low_soc == 15
    assert float(state_of(hass, SHUTDOWN)) == 20
    simulator.advance(3600)
    await site.async_refresh()
    await hass.async_block_till_done()
    assert float(state_of(hass, SHUTDOWN)) == 15
    assert writes.of(SHUTDOWN) == ["changed", "changed"]


async def test_value_the_cloud_took_is_written_once(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A control's own write shows the new value; the refreshes that confirm it write nothing."""
    entry = await setup_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    assert float(state_of(hass, SHUTDOWN)) == 15
    writes = Writes(hass)
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SHUTDOWN, ATTR_VALUE: 20},
        blocking=True,
    )
    await hass.async_block_till_done()
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.very_low_soc == 20
    # The command asked for a refresh; it has run and read the new level.
    assert site.data.battery_settings is not None
    assert site.data.battery_settings.very_low_soc == 20
    assert float(state_of(hass, SHUTDOWN)) == 20
    assert writes.of(SHUTDOWN) == ["changed"]
    simulator.advance(3600)
    await site.async_refresh()
    await hass.async_block_till_done()
    assert float(state_of(hass, SHUTDOWN)) == 20
    assert writes.of(SHUTDOWN) == ["changed"]


async def test_charging_refreshes_build_no_entities(
    hass: HomeAssistant, simulator: EnlightenSimulator, constructions: list[str]
) -> None:
    """EV refreshes while a car charges update the charger's sensors without building any."""
    entry = await setup_site(hass, simulator)
    ev = entry.runtime_data.ev
    assert ev is not None
    assert constructions  # the setup built the entities through the counted constructor
    charger = simulator.site(SITE).chargers[EV_SN]
    charger.plugged_in = True
    charger.charging = True
    simulator.tick()
    constructions.clear()
    writes = Writes(hass)
    energies: list[float] = []
    for _ in range(6):
        simulator.advance(15)
        await ev.async_refresh()
        await hass.async_block_till_done()
        energies.append(float(state_of(hass, CHARGER_SESSION_ENERGY)))
    assert ev.last_update_success
    assert state_of(hass, "sensor.iq_ev_charger_000001_connector_status") == "charging"
    assert energies == sorted(energies)
    assert energies[-1] > energies[0]
    assert CHARGER_SESSION_ENERGY in writes.changed
    assert constructions == []


async def test_late_bucket_raises_the_total(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A day long past completed late still counts, on the sensor too."""
    entry = await setup_site(hass, simulator)
    energy = entry.runtime_data.energy
    await energy.async_refresh()
    before = energy.data.totals["production"].lifetime_kwh
    lifetime = energy.data.lifetime
    assert before is not None
    assert lifetime is not None
    site = simulator.site(SITE)
    day = site.today() - timedelta(days=3 * REPARSED_TAIL)
    old = lifetime.daily()[day]
    assert old is not None
    site.revisions[(day, "production")] = round(old) + 5000
    await energy.async_refresh()
    await hass.async_block_till_done()
    after = energy.data.totals["production"].lifetime_kwh
    assert after == pytest.approx(before + 5.0)
    assert float(state_of(hass, LIFETIME_PRODUCTION)) == pytest.approx(after)


async def test_overflowing_buckets_keep_the_last_total(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Buckets too large to add up (an infinite sum) leave the lifetime total as it was."""
    entry = await setup_site(hass, simulator)
    energy = entry.runtime_data.energy
    before = energy.data.totals["production"].lifetime_kwh
    assert before is not None
    huge = {
        "start_date": energy.data.site_date.isoformat(),
        "production": [1e308, 1e308],
        "consumption": [1000, 2000],
    }
    simulator.inject_fault("lifetime_energy", status=200, body=json.dumps(huge))
    await energy.async_refresh()
    await hass.async_block_till_done()
    assert energy.last_update_success
    assert energy.data.totals["production"].lifetime_kwh == before
    assert float(state_of(hass, LIFETIME_PRODUCTION)) == pytest.approx(before)


async def test_client_parses_an_unchanged_payload_once(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The same payload twice gives the same result; a later one equals a full parse."""
    session, _ = await simulator_session(simulator, DEMO_EMAIL, DEMO_PASSWORD)
    client = EnlightenClient(client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url)
    client.import_session(session)
    site_id = str(SITE)
    path = f"/pv/systems/{site_id}/lifetime_energy"
    first = await client.lifetime_energy(site_id)
    assert await client.lifetime_energy(site_id) is first
    simulator.advance(2 * 3600)
    later = await client.lifetime_energy(site_id)
    assert later != first
    assert later == LifetimeEnergy.from_payload(await client.request("GET", path))
    production = later.series["production"]
    assert production[:-1] == first.series["production"][:-1]
    assert production[-1] != first.series["production"][-1]


def _payload(days: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    return {
        "system_id": 1,
        "start_date": "2024-01-01",
        "last_report_date": 1_700_000_000,
        "production": [rng.randint(0, 30000) for _ in range(days)],
        "consumption": [rng.randint(0, 30000) for _ in range(days)],
        "charge": [None] * days,
    }


def _mutate(payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of ``payload`` changed the ways the cloud changes it (and worse)."""
    out = json.loads(json.dumps(payload))
    flow = rng.choice(["production", "consumption", "charge"])
    if flow not in out:  # a flow comes back
        out[flow] = [rng.randint(0, 30000) for _ in range(len(out["production"]))]
        return out
    values: list[Any] = out[flow]
    kind = rng.randrange(8)
    if kind == 0:  # today's bucket grows
        values[-1] = rng.randint(0, 30000)
    elif kind == 1:  # a new day
        values.append(rng.randint(0, 30000))
    elif kind == 2 and values:  # a late bucket, anywhere
        values[rng.randrange(len(values))] = rng.randint(0, 30000)
    elif kind == 3 and values:  # garbage in an old bucket
        values[rng.randrange(len(values))] = rng.choice(["NaN", -5, "x", None, math.inf, "7"])
    elif kind == 4:  # shortened
        del values[rng.randrange(1, len(values) + 1) :]
    elif kind == 5 and flow != "production":  # a flow goes away
        del out[flow]
    elif kind == 6:  # the same numbers as other JSON types
        out[flow] = [float(v) if isinstance(v, int) else v for v in values]
    # kind 7: unchanged
    return out


def test_reader_matches_a_full_parse() -> None:
    """Payload after payload, the reader's result equals parsing each from scratch."""
    rng = random.Random(1)
    reader = LifetimeEnergyReader()
    payload = _payload(400, 2)
    previous = reader.parse(payload)
    for _ in range(300):
        payload = _mutate(payload, rng)
        energy = reader.parse(payload)
        assert energy == LifetimeEnergy.from_payload(payload)
        if energy == previous:
            assert energy is previous
        previous = energy


def test_reader_keeps_its_state_through_an_invalid_payload() -> None:
    """A rejected payload neither breaks nor changes what the next parse reuses."""
    reader = LifetimeEnergyReader()
    payload = _payload(30, 3)
    first = reader.parse(payload)
    with pytest.raises(InvalidResponse, match="start_date"):
        reader.parse({"production": [1, 2]})
    assert reader.parse(payload) is first
