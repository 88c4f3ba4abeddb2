"""Shared by the benchmark and the request-budget test: drive simulated time, count requests.

A simulator is either the in-process ``EnlightenSimulator`` of the tests
(:class:`LocalSim`) or a standalone ``python -m tests.simulator --frozen``
process (:class:`RemoteSim`, used by the benchmark so that the simulator's own
CPU time and memory are not charged to the integration).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from tests.helpers import create_entry
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, MULTI_EMAIL, MULTI_PASSWORD

REPO = Path(__file__).resolve().parents[2]

SITE_FULL = "1000001"
SITE_MICROS = "1000002"
SITE_LARGE = "1000004"
CHARGER_SN = "EV0000000001"
# Time zones of the scenario sites; runs start at 10:00 site time, so that an
# hour never crosses the site's midnight (a new day reads one more window).
SITE_TIMEZONES = {
    SITE_FULL: "Australia/Sydney",
    SITE_MICROS: "America/Denver",
    SITE_LARGE: "Europe/Berlin",
}
START_HOUR = 10
EV_STATUS = "/ev_chargers/status"

# Endpoint families, in table order; see family_of().
FAMILIES: tuple[str, ...] = (
    "ev",
    "battery",
    "grid",
    "energy",
    "micros",
    "events",
    "inventory",
    "auth",
    "other",
)
_FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("auth", "/login/|login_otp"),
    ("ev", "/service/evse_|enho_historical_events_ms"),
    ("battery", "batteryConfig|battery_status|battery_backup_history"),
    ("grid", "grid_control_check|off_grid|grid_state|grid_toggle|log_grid_change"),
    ("energy", "lifetime_energy"),
    ("micros", "inverter"),
    ("events", "events-platform-service"),
    ("inventory", "devices\\.json|search_sites"),
)


def family_of(path: str) -> str:
    """The endpoint family a request path belongs to (for the table)."""
    for name, pattern in _FAMILY_PATTERNS:
        if re.search(pattern, path):
            return name
    return "other"


@dataclass(frozen=True, slots=True)
class Request:
    """One request the simulated cloud received."""

    method: str
    path: str
    at: datetime


def count_families(requests: Iterable[Request]) -> dict[str, int]:
    """Requests per endpoint family (families without requests are left out)."""
    return dict(Counter(family_of(r.path) for r in requests))


def count_endpoints(requests: Iterable[Request]) -> dict[str, int]:
    """Requests per endpoint (method and path with site ids and serials generalised)."""
    return dict(
        Counter(
            f"{r.method} {re.sub(r'/(\d{5,}|EV\d+)(?=/|$)', '/<id>', r.path)}" for r in requests
        )
    )


def max_gap_s(requests: Iterable[Request], path_contains: str, start: datetime) -> float | None:
    """Longest simulated time without a request to ``path_contains`` (from ``start``)."""
    stamps = [r.at for r in requests if path_contains in r.path]
    if not stamps:
        return None
    edges = [start, *sorted(stamps)]
    return max((b - a).total_seconds() for a, b in itertools.pairwise(edges))


class SimControl(Protocol):
    """What the harness needs from a simulated cloud."""

    url: str
    login_otp: str

    async def advance(self, seconds: float) -> None:
        """Move simulated time."""

    async def recorded(self) -> list[Request]:
        """The request log."""

    async def clear(self) -> None:
        """Empty the request log."""

    async def now(self) -> datetime:
        """Simulated time."""


class LocalSim:
    """An ``EnlightenSimulator`` running in the test's own event loop."""

    def __init__(self, sim: Any) -> None:
        """Wrap ``sim`` (an EnlightenSimulator)."""
        self.sim = sim
        self.url: str = sim.url
        self.login_otp: str = sim.login_otp

    async def advance(self, seconds: float) -> None:
        """Move simulated time."""
        self.sim.advance(seconds)

    async def recorded(self) -> list[Request]:
        """The request log."""
        return [Request(r.method, r.path, r.at) for r in self.sim.requests]

    async def clear(self) -> None:
        """Empty the request log."""
        self.sim.clear_requests()

    async def now(self) -> datetime:
        """Simulated time."""
        now: datetime = self.sim.now
        return now


class RemoteSim:
    """A standalone simulator process (frozen clock), driven through ``/__sim__/``."""

    def __init__(self) -> None:
        """Nothing runs until :meth:`start`."""
        self.url = ""
        self.login_otp = "123456"
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Start ``python -m tests.simulator --port 0 --frozen`` and read its URL."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.simulator",
            "--port",
            "0",
            "--frozen",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._proc.stdout is not None
        line = (await asyncio.wait_for(self._proc.stdout.readline(), 60)).decode()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match is None:
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = match.group(0)
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Stop the process."""
        if self._session is not None:
            await self._session.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 10)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._session is not None
        async with self._session.request(method, f"{self.url}/__sim__/{path}", json=body) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def advance(self, seconds: float) -> None:
        """Move simulated time."""
        await self._call("POST", "advance", {"seconds": seconds})

    async def recorded(self) -> list[Request]:
        """The request log."""
        rows = await self._call("GET", "requests")
        return [Request(r["method"], r["path"], datetime.fromisoformat(r["at"])) for r in rows]

    async def clear(self) -> None:
        """Empty the request log."""
        await self._call("DELETE", "requests")

    async def now(self) -> datetime:
        """Simulated time."""
        state = await self._call("GET", "state")
        return datetime.fromisoformat(state["now"])

    async def set_latency(self, seconds: float) -> None:
        """Latency added to every request."""
        await self._call("POST", "latency", {"seconds": seconds})


async def start_at_site_morning(
    sim: SimControl, freezer: FrozenDateTimeFactory, site_id: str
) -> datetime:
    """Move the cloud's clock to the next 10:00 at the site and Home Assistant's with it."""
    now = await sim.now()
    local = now.astimezone(ZoneInfo(SITE_TIMEZONES[site_id]))
    target = local.replace(hour=START_HOUR, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    await sim.advance((target - local).total_seconds())
    now = await sim.now()
    freezer.move_to(now)
    return now


async def create_site_entry(hass: HomeAssistant, sim: SimControl, site_id: str) -> MockConfigEntry:
    """A logged-in config entry for ``site_id`` (as the config flow leaves it), not set up."""
    email, password = (
        (DEMO_EMAIL, DEMO_PASSWORD) if site_id == SITE_FULL else (MULTI_EMAIL, MULTI_PASSWORD)
    )
    return await create_entry(hass, sim, email=email, password=password, site_id=site_id)  # type: ignore[arg-type]


def keep_polling(entry: MockConfigEntry) -> None:
    """Give every coordinator of ``entry`` a listener, as its entities would.

    A coordinator without listeners does not poll; the budget is measured as
    if every device family had an enabled entity, whatever platforms exist.
    """
    for coordinator in entry.runtime_data.coordinators:
        entry.async_on_unload(coordinator.async_add_listener(lambda: None))


async def settle(hass: HomeAssistant) -> None:
    """Wait until every refresh (they run as background tasks) has finished."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def run_for(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sim: SimControl,
    seconds: float,
    *,
    step: float = 5.0,
) -> None:
    """Let ``seconds`` of simulated time pass: Home Assistant's clock and the cloud's together.

    Every ``step`` seconds both clocks move, due timers (the coordinators'
    refreshes) fire and run to completion.
    """
    steps = round(seconds / step)
    for _ in range(steps):
        freezer.tick(step)
        await sim.advance(step)
        async_fire_time_changed(hass)
        await settle(hass)
