"""Concurrency: one login for everyone, no deadlock, nothing left behind by an unload."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.enphase_enlighten.const import DOMAIN
from tests.helpers import create_entry, setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

SITE = 1000001
EV_SN = "EV0000000001"
LOGIN = "/login/login.json"
# A deadlock would hang the test; this bound turns it into a failure.
DEADLOCK_GUARD = 30


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """No state history is needed here."""
    return {"exclude": {"entity_globs": ["*"]}}


def _ours(task: asyncio.Task[Any]) -> bool:
    """Whether a task is running (awaiting in) code of the integration."""
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None and "enphase_enlighten" in frame.f_code.co_filename:
            return True
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return False


@pytest.mark.freeze_time(tick=True)
@pytest.mark.parametrize("loss", ["token_expiring", "session_lost"])
async def test_one_login_while_everything_runs(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    loss: str,
) -> None:
    """Every coordinator refreshes and two commands run while the session renews.

    ``token_expiring``: the manager token is inside its renewal margin, so the
    client renews before the calls. ``session_lost``: the cloud dropped every
    session, so all calls at once meet the login wall and recover. Either way
    exactly one login is made, nothing deadlocks and every call succeeds.
    """
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    simulator.site(SITE).chargers[EV_SN].plugged_in = True
    simulator.latency = 0.02  # requests overlap
    if loss == "token_expiring":
        freezer.tick(timedelta(minutes=57))
        # Only the session is to age here: the entities' data counts as just read,
        # else the controls would be unavailable (their parts older than allowed).
        for coordinator in runtime.coordinators:
            for part in coordinator.parts.values():
                part.last_success = dt_util.utcnow()
    else:
        simulator.expire_sessions()
    simulator.clear_requests()

    async with asyncio.timeout(DEADLOCK_GUARD):
        await asyncio.gather(
            *(coordinator.async_refresh() for coordinator in runtime.coordinators),
            hass.services.async_call(
                "switch",
                "turn_on",
                {"entity_id": "switch.iq_ev_charger_000001_charging"},
                blocking=True,
            ),
            hass.services.async_call(
                "switch", "turn_on", {"entity_id": "switch.demo_home_storm_guard"}, blocking=True
            ),
        )
        await hass.async_block_till_done()

    assert len(simulator.requests_to(LOGIN, "POST")) == 1
    failed = [c.name for c in runtime.coordinators if not c.last_update_success]
    assert failed == []
    assert simulator.site(SITE).chargers[EV_SN].charging
    assert simulator.site(SITE).battery.storm_guard_state == "enabled"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f for f in flows if f["context"]["source"] == SOURCE_REAUTH] == []
    # The renewed session is kept for the next start.
    assert entry.data["session"]["session_id"] == runtime.client.session_id


async def test_concurrent_renewals_share_one_login(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Many callers of ensure_session at once while the session is missing: one login."""
    entry = await create_entry(hass, simulator, logged_in=False)
    assert await setup_integration(hass, entry)
    client = entry.runtime_data.client
    client.import_session({})
    simulator.latency = 0.02
    simulator.clear_requests()
    async with asyncio.timeout(DEADLOCK_GUARD):
        await asyncio.gather(*(client.ensure_session() for _ in range(20)))
    assert len(simulator.requests_to(LOGIN, "POST")) == 1
    assert client.is_authenticated


@pytest.mark.parametrize("how", ["scheduled", "manual"])
async def test_unload_during_refresh_leaves_nothing_behind(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    """Unloading while a refresh waits on the cloud ends cleanly: no task, no timer."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    runtime = entry.runtime_data
    ev = runtime.ev
    assert ev is not None
    simulator.inject_fault("ev_chargers/status", latency=0.5)
    simulator.clear_requests()
    if how == "scheduled":
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    else:
        hass.async_create_task(ev.async_refresh())
    async with asyncio.timeout(DEADLOCK_GUARD):
        while not simulator.requests_to("ev_chargers/status"):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    caplog.clear()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.state is ConfigEntryState.NOT_LOADED
    assert runtime.client._session.closed
    assert [t for t in asyncio.all_tasks() if not t.done() and _ours(t)] == []
    assert all(c._unsub_refresh is None for c in runtime.coordinators)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Nothing polls any more.
    simulator.clear_faults()
    simulator.clear_requests()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests == []
