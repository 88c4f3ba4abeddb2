"""Fixtures of the benchmark scenarios (a Home Assistant test instance, the simulator)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import custom_components.enphase_enlighten  # noqa: F401  # import early, else UnknownHandler
from custom_components.enphase_enlighten.history.sync import HistorySync
from scripts.bench_lib.harness import LocalSim, RemoteSim
from tests.simulator import EnlightenSimulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture(autouse=True)
def history_sync_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Measure polling and setup without the one-off history backfill it starts in the
    background (30 per-panel requests, years of statistics); the CPU case turns it on
    for its ``energy+sync`` row."""
    monkeypatch.setattr(HistorySync, "async_schedule", lambda self, lifetime: None)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Run the loop without asyncio debug mode, as Home Assistant does, so timings are real."""
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    """The integration depends on the recorder: prepare it before `hass`."""


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """Keep SQL echo and the loop's slow-callback notes (time jumps) out of the output."""
    loggers = [logging.getLogger(name) for name in ("sqlalchemy.engine", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
async def local_sim(socket_enabled: Any) -> AsyncIterator[LocalSim]:
    """The simulator in the test's own loop: its clock and token checks follow the mocked time."""
    sim = EnlightenSimulator()
    await sim.start(port=0)
    try:
        yield LocalSim(sim)
    finally:
        await sim.stop()


@pytest.fixture
async def remote_sim(socket_enabled: Any) -> AsyncIterator[RemoteSim]:
    """A fresh standalone simulator process with a frozen clock."""
    sim = RemoteSim()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
