"""Shared fixtures: the simulator and a plain aiohttp session."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

import custom_components.enphase_enlighten  # noqa: F401  # import early, else UnknownHandler
from tests.simulator import EnlightenSimulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load the integration from custom_components."""


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
