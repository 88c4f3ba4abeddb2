"""The benchmark scenarios, run by ``scripts/bench`` through pytest (not part of the test suite).

Each scenario appends one JSON line of measurements to the file named by
``ENLIGHTEN_BENCH_RESULTS``; ``python -m scripts.bench_lib`` prints the table.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import tracemalloc
from collections import Counter
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.entity import Entity
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.history.sync import HistorySync
from scripts.bench_lib.harness import (
    CHARGER_SN,
    EV_STATUS,
    SITE_FULL,
    SITE_LARGE,
    SITE_MICROS,
    LocalSim,
    RemoteSim,
    count_families,
    create_site_entry,
    keep_polling,
    max_gap_s,
    run_for,
    settle,
    start_at_site_morning,
)

# Captured at import, before the bench fixture turns the history sync off.
_REAL_SCHEDULE = HistorySync.async_schedule

pytestmark = pytest.mark.usefixtures("recorder_mock")

SITES = {"a": SITE_FULL, "b": SITE_FULL, "c": SITE_MICROS, "d": SITE_LARGE}
LATENCY_S = 0.2
CPU_ROUNDS = 7


def _record(kind: str, scenario: str, **values: Any) -> None:
    path = os.environ.get("ENLIGHTEN_BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, "scenario": scenario, **values}) + "\n")


async def _cpu_rounds(
    hass: HomeAssistant, sim: RemoteSim, coordinator: Any, writes: list[int]
) -> dict[str, float]:
    """Median CPU time and state writes of one refresh of ``coordinator``."""
    thread: list[float] = []
    process: list[float] = []
    written: list[int] = []
    for _ in range(CPU_ROUNDS):
        # New data every round, as when polling: the entities whose values moved write.
        await sim.advance(60)
        writes.clear()
        t0, p0 = time.thread_time(), time.process_time()
        await coordinator.async_refresh()
        await settle(hass)
        thread.append(time.thread_time() - t0)
        process.append(time.process_time() - p0)
        written.append(len(writes))
    return {
        "thread_ms": statistics.median(thread) * 1000,
        "process_ms": statistics.median(process) * 1000,
        "state_writes": statistics.median(written),
    }


async def _cpu_per_refresh(
    hass: HomeAssistant, sim: RemoteSim, entry: MockConfigEntry
) -> dict[str, dict[str, float]]:
    """CPU time of one refresh (requests, parse, entity state writes) per coordinator.

    ``thread_ms`` is the event loop's thread, where the integration runs (the
    simulator is another process); ``process_ms`` adds Home Assistant's other
    threads (the recorder writing the states, executor jobs). The energy
    refresh is measured without and with the statistics/panel-history sync it
    starts in the background (``energy+sync``).
    """
    writes: list[int] = []
    real_write = Entity._async_write_ha_state

    def counted_write(entity: Entity) -> None:
        writes.append(1)
        real_write(entity)

    result: dict[str, dict[str, float]] = {}
    with patch.object(Entity, "_async_write_ha_state", counted_write):
        for coordinator in entry.runtime_data.coordinators:
            name = coordinator.name.rsplit(" ", 1)[-1]
            if name == "energy":
                result[name] = await _cpu_rounds(hass, sim, coordinator, writes)
                with patch.object(HistorySync, "async_schedule", _REAL_SCHEDULE):
                    result["energy+sync"] = await _cpu_rounds(hass, sim, coordinator, writes)
            else:
                result[name] = await _cpu_rounds(hass, sim, coordinator, writes)
    return result


async def _peak_memory_kib(hass: HomeAssistant, sim: RemoteSim, entry: MockConfigEntry) -> float:
    """Peak of Python heap growth while every coordinator refreshes once (tracemalloc)."""
    await sim.advance(60)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for coordinator in entry.runtime_data.coordinators:
            await coordinator.async_refresh()
            await settle(hass)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 1024


@pytest.mark.parametrize("scenario", ["a", "b", "c", "d"])
async def test_hour(
    hass: HomeAssistant, local_sim: LocalSim, freezer: FrozenDateTimeFactory, scenario: str
) -> None:
    """One steady simulated hour: requests by family, the EV status age, the largest burst.

    The hour right after setup is run but not counted: the first refresh reads
    everything and the slow parts then settle into their slots. The simulator runs
    in the same loop here, so that every clock (also the one its token checks use)
    follows the mocked time.
    """
    sim = local_sim
    site_id = SITES[scenario]
    await start_at_site_morning(sim, freezer, site_id)
    if scenario == "b":
        sim.sim.site(site_id).chargers[CHARGER_SN].charging = True
        sim.sim.tick()
    entry = await create_site_entry(hass, sim, site_id)
    await sim.clear()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    keep_polling(entry)
    setup_requests = len(await sim.recorded())
    await run_for(hass, freezer, sim, 3600)
    await sim.clear()
    start = await sim.now()
    await run_for(hass, freezer, sim, 3600)
    requests = await sim.recorded()
    same_second = Counter(r.at.replace(microsecond=0) for r in requests if "login" not in r.path)
    values: dict[str, Any] = {
        "site_id": site_id,
        "families": count_families(requests),
        "total": len(requests),
        "setup_requests": setup_requests,
        "ev_max_age_s": max_gap_s(requests, EV_STATUS, start),
        "max_same_second": max(same_second.values()),
    }
    _record("hour", scenario, **values)
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("scenario", ["a", "d"])
async def test_cpu_and_memory(hass: HomeAssistant, remote_sim: RemoteSim, scenario: str) -> None:
    """CPU time per refresh and peak memory, on Home Assistant's real clock (no time mocking)."""
    sim = remote_sim
    entry = await create_site_entry(hass, sim, SITES[scenario])
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    _record(
        "cpu",
        scenario,
        cpu=await _cpu_per_refresh(hass, sim, entry),
        peak_kib=await _peak_memory_kib(hass, sim, entry),
        entities=len(hass.states.async_all()),
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize("scenario", ["a", "c", "d"])
async def test_first_refresh(hass: HomeAssistant, remote_sim: RemoteSim, scenario: str) -> None:
    """Entry setup (capabilities + first refresh of every coordinator) at 200 ms per request."""
    sim = remote_sim
    entry = await create_site_entry(hass, sim, SITES[scenario])
    await sim.set_latency(LATENCY_S)
    await sim.clear()

    durations: list[float] = []
    in_flight = SimpleNamespace(now=0, peak=0, last_end=0.0)

    async def on_start(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
        ctx.started = time.perf_counter()
        in_flight.now += 1
        in_flight.peak = max(in_flight.peak, in_flight.now)

    async def on_end(_s: Any, ctx: SimpleNamespace, _p: Any) -> None:
        in_flight.last_end = time.perf_counter()
        durations.append(in_flight.last_end - ctx.started)
        in_flight.now -= 1

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_end)

    def traced_session(hass: HomeAssistant, **kwargs: Any) -> aiohttp.ClientSession:
        return async_create_clientsession(hass, trace_configs=[trace], **kwargs)

    with patch("custom_components.enphase_enlighten.async_create_clientsession", traced_session):
        started = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await settle(hass)
        wall = time.perf_counter() - started
    _record(
        "first_refresh",
        scenario,
        wall_s=wall,
        network_s=in_flight.last_end - started,
        slowest_s=max(durations),
        requests=len(durations),
        max_in_flight=in_flight.peak,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
