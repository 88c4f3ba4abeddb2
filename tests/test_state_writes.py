"""Refreshes write only the entity states they change; lifetime buckets are parsed once.

Against the simulator (frozen clock): a refresh that brings nothing new writes
no state, while a new value, an availability change or a control value that the
cloud did not take are still written. The lifetime energy reader gives the same
result as a full parse, also when an old bucket arrives late.
"""

from __future__ import annotations

import json
import math
import random
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

from custom_components.enphase_enlighten.api import EnlightenClient, InvalidResponse, LifetimeEnergy
from custom_components.enphase_enlighten.api.models_site import REPARSED_TAIL, LifetimeEnergyReader
from custom_components.enphase_enlighten.coordinator.base import STALE_AFTER_FAILURES
from tests.controls import (
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


class Writes:
    """State writes of the integration's entities, by kind."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.changed: list[str] = []
        self.reported: list[str] = []
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._on(self.changed))
        hass.bus.async_listen(
            EVENT_STATE_REPORTED, self._on(self.reported), event_filter=callback(lambda _: True)
        )

    def _on(self, into: list[str]) -> Any:
        @callback
        def listener(event: Event[Any]) -> None:
            into.append(event.data["entity_id"])

        return listener


async def test_refresh_writes_only_what_changed(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """New energy data rewrites the entities whose values moved, and no other."""
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
    assert LIFETIME_PRODUCTION in writes.changed
    # The microinverter statuses did not change: not rewritten (a write of an
    # unchanged state would be reported).
    assert state_of(hass, INVERTER_STATUS) == "normal"
    assert INVERTER_STATUS not in writes.changed
    assert writes.reported == []


async def test_going_stale_and_back_is_written(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Unavailable after the failures in a row, then the same value again, both written."""
    entry = await setup_site(hass, simulator)
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await hass.async_block_till_done()
    level = state_of(hass, BATTERY_LEVEL)
    assert level != STATE_UNAVAILABLE
    for path in ("battery_status", "batteryConfig", "grid_control_check", "off_grid"):
        simulator.inject_fault(path, status=502)
    for _ in range(STALE_AFTER_FAILURES - 1):
        await site.async_refresh()
        await hass.async_block_till_done()
        assert state_of(hass, BATTERY_LEVEL) == level
    await site.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == STATE_UNAVAILABLE
    simulator.clear_faults()
    await site.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, BATTERY_LEVEL) == level


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
