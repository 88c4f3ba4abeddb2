"""Small helpers for tests that use the gateway simulator."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from .fixtures import FIXTURES_DIR, fixtures_available
from .server import GatewaySimulator

SKIP_REASON = (
    f"IQ Gateway fixture payloads not found in {FIXTURES_DIR} "
    "(expected at ../shared/fixtures/envoy next to the repository); gateway simulator test skipped"
)


def no_verify_session() -> aiohttp.ClientSession:
    """A session like Home Assistant's ``verify_ssl=False`` one: gateways are self-signed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=False), cookie_jar=aiohttp.DummyCookieJar()
    )


class SimulatorPool:
    """Starts simulators on demand (skipping the test when fixtures are missing)."""

    def __init__(self) -> None:
        self._running: list[GatewaySimulator] = []

    async def start(self, fixture: str, **kwargs: Any) -> GatewaySimulator:
        """A started simulator for ``fixture``."""
        if not fixtures_available(fixture):
            pytest.skip(f"{SKIP_REASON} (set {fixture!r})")
        sim = GatewaySimulator(fixture, **kwargs)
        await sim.start()
        self._running.append(sim)
        return sim

    async def close(self) -> None:
        """Stop everything started."""
        for sim in self._running:
            await sim.stop()
        self._running.clear()
