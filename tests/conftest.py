"""Shared fixtures: the simulator (live or frozen clock), the recorder, snapshots, a session."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from syrupy.assertion import SnapshotAssertion

import custom_components.enphase_enlighten  # noqa: F401  # import early, else UnknownHandler
from custom_components.enphase_enlighten.history.sync import HistorySync
from tests.entity_setup import ha_snapshot, start_simulator
from tests.simulator import EnlightenSimulator

HISTORY_SYNC_MARKER = "history_sync"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the tests that run the background history sync."""
    config.addinivalue_line(
        "markers",
        f"{HISTORY_SYNC_MARKER}: run the background history sync (statistics import, "
        "panel backfill, detection) after energy refreshes",
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load the integration from custom_components."""


def _no_history_sync(self: HistorySync, lifetime: object) -> None:
    """Stand-in for ``HistorySync.async_schedule`` in tests that leave history alone."""


@pytest.fixture(autouse=True)
def history_sync_switch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the background history sync off unless the test is marked ``history_sync``.

    The sync imports years of statistics and makes 30 per-panel requests on first setup,
    which tests about anything else neither want nor count on.
    """
    wanted = request.node.get_closest_marker(HISTORY_SYNC_MARKER) is not None
    if not wanted:
        monkeypatch.setattr(HistorySync, "async_schedule", _no_history_sync)


@pytest.fixture(autouse=True)
def quiet_sql() -> Iterator[None]:
    """Keep the recorder's SQL echo out of the test output (and fast on large imports)."""
    logger = logging.getLogger("sqlalchemy.engine")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture
async def simulator(socket_enabled: Any) -> AsyncIterator[EnlightenSimulator]:
    """A running Enlighten simulator on 127.0.0.1 (the only address tests may reach)."""
    sim = EnlightenSimulator()
    await sim.start(port=0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    """The integration depends on the recorder: prepare it before `hass`."""


@pytest.fixture
async def sim(freezer: FrozenDateTimeFactory) -> AsyncIterator[EnlightenSimulator]:
    """A simulator whose clock and Home Assistant's are frozen at the same instant."""
    simulator = await start_simulator(freezer)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through Home Assistant's serializer (files in tests/snapshots/)."""
    return ha_snapshot(snapshot)


@pytest.fixture
async def client_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session without a cookie jar, as the integration uses."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    try:
        yield session
    finally:
        await session.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault matrix table when the fault matrix ran."""
    module = sys.modules.get("tests.fault_matrix_cases")
    lines: list[str] = module.matrix_report() if module is not None else []
    if lines:
        terminalreporter.section("fault matrix (faults x endpoint families)")
        for line in lines:
            terminalreporter.write_line(line)
