"""Request budget: exact request counts for one simulated idle hour.

The load on Enphase's cloud is a feature; a change that makes the integration
poll more shows up here (see ``scripts/bench`` for the full table).
"""

from __future__ import annotations

from collections import Counter

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
    settle,
    start_at_site_morning,
)
from tests.helpers import setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

# Target for an idle site with battery, charger and micros (issue: "Load on Enphase's cloud").
IDLE_BUDGET_PER_HOUR = 120


# Most requests that may leave in the same (simulated) second.
MAX_AT_ONCE = 4


async def _idle_hour(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    site_id: str,
) -> tuple[dict[str, int], float | None, int]:
    """The requests of a steady idle hour: by family, the EV status age, the largest burst.

    The hour after setup is left out: the first refresh reads everything, and the
    slow parts then move to their own slots over that hour.
    """
    sim = LocalSim(simulator)
    await start_at_site_morning(sim, freezer, site_id)
    entry = await create_site_entry(hass, sim, site_id)
    assert await setup_integration(hass, entry)
    # One-off work of a first setup (e.g. the panel history backfill) is not idle load.
    await settle(hass)
    keep_polling(entry)
    await run_for(hass, freezer, sim, 3600, step=5)
    await sim.clear()
    start = await sim.now()
    await run_for(hass, freezer, sim, 3600, step=5)
    requests = await sim.recorded()
    # A re-login finishes before the requests that needed it leave: not part of a burst.
    burst = max(
        Counter(r.at.replace(microsecond=0) for r in requests if "login" not in r.path).values()
    )
    return count_families(requests), max_gap_s(requests, EV_STATUS, start), burst


async def test_idle_hour_full_site(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Battery + charger + 16 micros, idle: the requests of one hour, by family.

    Charger status every 60 s (60); battery state of charge every 5 min (12);
    profile, battery settings, storm alert, off-grid state and charge mode every
    15 min (4 each); energy, events, inverter status and today's inverter
    window every 15 min (4 each); grid-control eligibility, charger schedules,
    green settings, session authentication, charging sessions, devices, EV
    summary, inverter list and backup history hourly (1 each); one login as the
    session token expires.
    """
    counts, ev_age, burst = await _idle_hour(hass, simulator, freezer, SITE_FULL)
    assert counts == {
        "ev": 69,
        "battery": 25,
        "grid": 5,
        "energy": 4,
        "events": 4,
        "micros": 9,
        "inventory": 1,
        "auth": 1,
    }
    assert sum(counts.values()) == 118 <= IDLE_BUDGET_PER_HOUR
    assert ev_age is not None
    assert ev_age <= 60
    # The cadences are staggered: no hour mark where every coordinator sends at once.
    assert burst <= MAX_AT_ONCE


async def test_idle_hour_micros_only(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Micros-only site: energy and inverters only, no battery, grid or EV request at all."""
    counts, ev_age, burst = await _idle_hour(hass, simulator, freezer, SITE_MICROS)
    assert counts == {"energy": 4, "events": 4, "micros": 9, "inventory": 1, "auth": 1}
    assert sum(counts.values()) == 19
    assert ev_age is None
    assert burst <= MAX_AT_ONCE
