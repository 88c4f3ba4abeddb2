"""Request budget: exact request counts for one simulated idle hour.

The load on Enphase's cloud is a feature; a change that makes the integration
poll more shows up here (see ``scripts/bench`` for the full table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from scripts.bench_lib.harness import (
    EV_STATUS,
    SITE_FULL,
    SITE_MICROS,
    LocalSim,
    count_families,
    create_site_entry,
    keep_polling,
    max_gap_s,
    run_for,
)
from tests.helpers import setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    """The integration depends on the recorder: prepare it before `hass`."""


@pytest.fixture(autouse=True)
def quiet_sql() -> Iterator[None]:
    """Keep the recorder's SQL echo out of the test output."""
    logger = logging.getLogger("sqlalchemy.engine")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


async def _idle_hour(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    site_id: str,
) -> tuple[dict[str, int], float | None]:
    sim = LocalSim(simulator)
    freezer.move_to(simulator.now)
    entry = await create_site_entry(hass, sim, site_id)
    assert await setup_integration(hass, entry)
    keep_polling(entry)
    await sim.clear()
    start = await sim.now()
    await run_for(hass, freezer, sim, 3600)
    requests = await sim.recorded()
    for r in requests:
        print("REQ", r.at.time(), r.method, r.path)
    return count_families(requests), max_gap_s(requests, EV_STATUS, start)


async def test_idle_hour_full_site(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Battery + charger + 16 micros, idle: the requests of one hour, by family."""
    counts, ev_gap = await _idle_hour(hass, simulator, freezer, SITE_FULL)
    print(counts, sum(counts.values()), ev_gap)
    assert 0


async def test_idle_hour_micros_only(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Micros-only site: no battery, grid or EV request at all."""
    counts, ev_gap = await _idle_hour(hass, simulator, freezer, SITE_MICROS)
    print(counts, sum(counts.values()), ev_gap)
    assert 0
