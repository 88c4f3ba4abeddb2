"""A refresh is a transaction: what it read is reported once, old data never looks fresh.

Against the simulator (full demo site, frozen clocks moved together):

1. a homeowner event read by an energy refresh that then meets a rate limit on another
   energy endpoint is not lost: the failed refresh fires nothing, the next one fires it,
   exactly once;
2. a part that keeps failing makes only its own entities unavailable, once it is stale
   (not before), never showing a value older than its stale limit, until it is read
   again; also behind a rate limit whose Retry-After outlasts the stale limit, when no
   refresh runs at all;
3. a full read asked for while a refresh is in flight is done by the next refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from tests.entity_setup import advance
from tests.helpers import create_entry, record_fired_events, setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

SITE = 1000001
EVENT_ENTITY = "event.demo_home_site_event"
LEVEL = "sensor.demo_home_battery_level"
BATTERY_LEVEL = "sensor.iq_battery_5p_000001_battery_level"
# Entities of the site coordinator that read other parts than the battery status.
OTHER_SITE_PARTS = {
    "select.demo_home_battery_profile": "profile",
    "binary_sensor.demo_home_profile_change_pending": "profile",
    "sensor.demo_home_battery_grid_mode": "battery_settings",
    "sensor.demo_home_active_storm_alerts": "storm_alert",
    "binary_sensor.demo_home_off_grid": "off_grid",
    "binary_sensor.demo_home_grid_control_allowed": "grid_check",
}
SLOW_SITE_PATHS = {
    "profile": "batteryConfig/api/v1/profile/",
    "battery_settings": "batteryConfig/api/v1/batterySettings/",
}


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """No state history is needed here."""
    return {"exclude": {"entity_globs": ["*"]}}


async def _setup(hass: HomeAssistant, sim: EnlightenSimulator) -> MockConfigEntry:
    entry = await create_entry(hass, sim)
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


@pytest.mark.parametrize("rate_limited", ["lifetime_energy", "inverter_status_x"])
async def test_event_read_by_a_failed_refresh_is_reported_by_the_next(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    rate_limited: str,
) -> None:
    """The refresh that reads a new event meets a 429 elsewhere: the next one fires it once."""
    entry = await _setup(hass, sim)
    energy = entry.runtime_data.energy
    fired = record_fired_events(hass, EVENT_ENTITY)
    site = sim.site(SITE)
    inverter = site.inverters[0]
    event = site.add_event(
        "micro_low_production", inverter.serial, inverter.model, at=sim.now + timedelta(seconds=1)
    )
    sim.inject_fault(rate_limited, status=429, headers={"Retry-After": "120"}, count=1)
    sim.clear_requests()

    # The first scheduled energy refresh (its interval and phase after setup).
    await advance(hass, sim, freezer, energy.nominal_interval.total_seconds() + 60)
    refreshed_at = dt_util.utcnow()
    assert sim.faults == [], "the rate-limited endpoint was not read"
    assert not energy.last_update_success
    assert isinstance(energy.last_exception, UpdateFailed)
    # The premise: the failed refresh did read the events page holding the new event.
    assert sim.requests_to("events/homeowner")
    assert energy.parts["events"].last_success == refreshed_at
    assert fired == []

    # Retry-After passed: the next scheduled refresh reports the event.
    sim.clear_requests()
    await advance(hass, sim, freezer, 121)
    assert sim.requests_to("lifetime_energy"), "no refresh after Retry-After"
    assert energy.last_update_success
    assert [str(f["event_id"]) for f in fired] == [str(event.id)]
    assert fired[0]["event_key"] == "micro_low_production"
    assert fired[0]["serial_number"] == inverter.serial

    # Later refreshes do not report it again.
    for _ in range(2):
        await advance(hass, sim, freezer, energy.nominal_interval.total_seconds())
    assert energy.last_update_success
    assert len(fired) == 1


def _available(hass: HomeAssistant, entity_id: str) -> bool:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state != STATE_UNAVAILABLE


def _shown_as_fresh_as_read(
    hass: HomeAssistant,
    coordinator: Any,
    name: str,
    entity_ids: tuple[str, ...],
    last_read: datetime,
    *,
    when: str,
) -> list[str]:
    """What is wrong with how ``entity_ids`` (reading part ``name``) show its age.

    A value whose last good read is older than the part's stale limit must not be
    shown (no frozen value looks fresh), nor a value of a part the coordinator counts
    as stale; and a part that is still fresh must not make them unavailable.
    """
    part = coordinator.parts[name]
    limit = coordinator.stale_limit(part)
    age = dt_util.utcnow() - last_read
    fresh = coordinator.part_fresh(name)
    wrong: list[str] = []
    for entity_id in entity_ids:
        shown = _available(hass, entity_id)
        if shown and age > limit:
            wrong.append(f"{when}: {entity_id} shows a {age} old value (stale limit {limit})")
        elif shown and not fresh:
            wrong.append(f"{when}: {entity_id} shown though {name} is stale ({part})")
        elif not shown and fresh:
            wrong.append(
                f"{when}: {entity_id} unavailable though {name} is fresh "
                f"(read {age} ago, stale limit {limit}, {part.failures} failures)"
            )
    return wrong


async def test_failing_battery_status_goes_stale_alone_and_recovers(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Battery status answers 500 for hours; the other site parts keep being read.

    Checked every simulated minute: the charge level is shown while its part is fresh,
    unavailable once it is stale (not before) and never with a value older than the
    stale limit, and back after the endpoint recovers; entities of the other site parts
    (the battery profile select among them) stay available throughout.
    """
    entry = await _setup(hass, sim)
    site = entry.runtime_data.site
    assert site is not None
    part = site.parts["battery_status"]
    last_read = part.last_success
    assert last_read is not None
    levels = (LEVEL, BATTERY_LEVEL)
    for entity_id in (*levels, *OTHER_SITE_PARTS):
        assert _available(hass, entity_id), entity_id
    sim.inject_fault("battery_status.json", status=500)

    wrong: list[str] = []
    stale_seen = False
    for minute in range(1, 3 * 60 + 1):
        await advance(hass, sim, freezer, 60)
        assert part.last_success == last_read, "the failing endpoint was read successfully"
        stale_seen = stale_seen or not _available(hass, LEVEL)
        when = f"minute {minute}"
        wrong += _shown_as_fresh_as_read(hass, site, "battery_status", levels, last_read, when=when)
        wrong.extend(
            f"{when}: {entity_id} ({name}) unavailable"
            for entity_id, name in OTHER_SITE_PARTS.items()
            if not _available(hass, entity_id)
        )
    assert stale_seen, "the charge level never became unavailable"
    # The other parts were read meanwhile (each within its own cadence).
    for name in OTHER_SITE_PARTS.values():
        assert site.part_fresh(name), name
    assert part.failures >= 3 * 60 // 5 - 1
    assert not wrong, "\n".join(wrong[:12])

    sim.clear_faults()
    await advance(hass, sim, freezer, site.nominal_interval.total_seconds())
    assert part.last_success is not None
    assert part.last_success > last_read
    for entity_id in (*levels, *OTHER_SITE_PARTS):
        assert _available(hass, entity_id), entity_id
    battery = sim.site(SITE).battery
    assert battery is not None
    state = hass.states.get(LEVEL)
    assert state is not None
    assert float(state.state) == pytest.approx(battery.soc, abs=1)


async def test_values_behind_a_long_rate_limit_turn_unavailable(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 429 with a Retry-After longer than the stale limit: no refresh runs meanwhile.

    The charge level must still turn unavailable once its last read is older than its
    stale limit, and the slower parts' entities only once theirs are.
    """
    entry = await _setup(hass, sim)
    site = entry.runtime_data.site
    assert site is not None
    last_read = {name: p.last_success for name, p in site.parts.items()}
    retry_after = 3600
    sim.inject_fault(
        "battery_status.json", status=429, headers={"Retry-After": str(retry_after)}, count=1
    )
    wrong: list[str] = []
    minutes = 0
    while sim.faults:
        await advance(hass, sim, freezer, 60)
        minutes += 1
        assert minutes < 10, "the site was not refreshed"
    assert not site.last_update_success
    sim.clear_requests()
    for minute in range(minutes + 1, retry_after // 60):
        await advance(hass, sim, freezer, 60)
        when = f"minute {minute}"
        read = last_read["battery_status"]
        assert read is not None
        wrong += _shown_as_fresh_as_read(hass, site, "battery_status", (LEVEL,), read, when=when)
        for entity_id, name in OTHER_SITE_PARTS.items():
            read = last_read[name]
            assert read is not None
            wrong += _shown_as_fresh_as_read(hass, site, name, (entity_id,), read, when=when)
    assert not sim.requests_to("batteryConfig"), "polled before Retry-After"
    assert not sim.requests_to("battery_status.json"), "polled before Retry-After"
    assert not wrong, "\n".join(wrong[:12])


async def test_full_read_asked_for_during_a_refresh_is_done_by_the_next(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refresh is asked for while a scheduled one waits on the cloud: it is not lost.

    The scheduled refresh reads the state of charge only (the slow parts are not due);
    it is held on the battery status answer while a command asks for a refresh, longer
    than the request debouncer's cooldown (whose call is then dropped as "a refresh is
    running"). The refresh after it must read every part, the slow ones included.
    """
    entry = await _setup(hass, sim)
    site = entry.runtime_data.site
    assert site is not None
    client = site.client
    original: Callable[[str], Awaitable[Any]] = client.battery_status
    entered = asyncio.Event()
    release = asyncio.Event()
    held = 0

    async def gated_battery_status(site_id: str) -> Any:
        nonlocal held
        held += 1
        if held == 1:
            entered.set()
            await release.wait()
        return await original(site_id)

    monkeypatch.setattr(client, "battery_status", gated_battery_status)
    sim.clear_requests()

    # The first scheduled site refresh starts (interval + phase after setup) and waits.
    seconds = site.nominal_interval.total_seconds() + 30
    sim.advance(seconds)
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await asyncio.wait_for(entered.wait(), 10)
    await hass.async_block_till_done()
    in_flight = [r.path for r in sim.requests]
    assert not any(p in r for r in in_flight for p in SLOW_SITE_PATHS.values()), in_flight

    await site.async_request_refresh()
    # Past the debouncer's cooldown while the refresh still runs.
    freezer.tick(timedelta(seconds=15))
    sim.advance(15)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not release.is_set()

    release.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert site.last_update_success
    during = [r.path for r in sim.requests]
    assert sum("battery_status.json" in p for p in during) == 1
    assert not any(p in r for r in during for p in SLOW_SITE_PATHS.values()), during

    # The next refresh (the scheduled one at the latest) reads the slow parts too.
    sim.clear_requests()
    before = {name: site.parts[name].last_success for name in site.parts}
    await advance(hass, sim, freezer, site.nominal_interval.total_seconds())
    after = [r.path for r in sim.requests]
    for name, path in SLOW_SITE_PATHS.items():
        assert any(path in p for p in after), f"{name} not read: {after}"
        assert site.parts[name].last_success != before[name], name
    # A full read: every part of the coordinator was read, not only the due ones.
    assert all(site.parts[name].last_success != before[name] for name in site.parts), {
        name: site.parts[name].last_success for name in site.parts
    }
    assert site.last_update_success
