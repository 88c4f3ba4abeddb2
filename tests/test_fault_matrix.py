"""Fault matrix: every endpoint family against every way the cloud can misbehave.

One Home Assistant instance per family; every fault of the family runs against it in
turn. A cell passes when the refresh raised nothing unexpected, the entry stayed
loaded, reauthentication started exactly when the session was really lost, the
family's last good data and the energy totals were kept, Retry-After was honoured,
and the next scheduled refresh after the fault cleared recovered. The results are
printed as a table at the end of the run (``fault_matrix_cases.matrix_report``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.enphase_enlighten.api import EnlightenClient
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_STORE_PASSWORD,
    DOMAIN,
    SECTION_ADVANCED,
)
from custom_components.enphase_enlighten.coordinator.base import (
    STALE_AFTER_FAILURES,
    EnlightenCoordinator,
)
from custom_components.enphase_enlighten.entity import EnlightenEntity
from tests.fault_matrix_cases import (
    AUTH,
    CLIENT_TIMEOUT,
    FAIL,
    FAMILIES,
    FAULTS,
    LOGIN,
    PAYLOAD,
    RATE,
    RESULTS,
    SITE,
    SLOW,
    TICK_SLACK,
    Family,
    Fault,
    Json,
    energy_values,
    lowered,
)
from tests.helpers import create_entry, setup_integration
from tests.simulator import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    EnlightenSimulator,
)

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Record no states: hundreds of refreshes would only fill the test database."""
    return {"exclude": {"entity_globs": ["*"]}}


@contextmanager
def short_timeouts(*clients: EnlightenClient) -> Iterator[None]:
    """Clients (and the config flow's) give up after CLIENT_TIMEOUT, for a timeout cell."""
    quick = functools.partial(EnlightenClient, request_timeout=CLIENT_TIMEOUT)
    saved = [client._timeout for client in clients]
    for client in clients:
        client._timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    try:
        with patch("custom_components.enphase_enlighten.config_flow.EnlightenClient", quick):
            yield
    finally:
        for client, timeout in zip(clients, saved, strict=True):
            client._timeout = timeout


# -- the runner -------------------------------------------------------------------------


class Probe(EnlightenEntity[EnlightenCoordinator[Any]]):
    """A bare entity of a coordinator, to read the availability rule."""


@dataclass
class Cell:
    """Problems found for one fault x family cell."""

    problems: list[str] = field(default_factory=list)

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)


class MatrixRun:
    """One family's Home Assistant instance, simulator and config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        simulator: EnlightenSimulator,
        entry: MockConfigEntry,
        family: Family,
        caplog: pytest.LogCaptureFixture,
        freezer: FrozenDateTimeFactory,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.sim = simulator
        self.entry = entry
        self.family = family
        self.caplog = caplog
        self._unsubs: list[Callable[[], None]] = []
        self.samples: dict[str, Json] = {}
        self.sample_headers: dict[str, dict[str, str]] = {}

    @property
    def runtime(self) -> Any:
        return self.entry.runtime_data

    def coordinator(self, name: str) -> EnlightenCoordinator[Any]:
        coordinator: EnlightenCoordinator[Any] = getattr(self.runtime, name)
        return coordinator

    def listen(self) -> None:
        """Keep the family's coordinators polling (as their entities do); pause the rest.

        Pausing the other coordinators only keeps the matrix fast: each tick of
        the clock would otherwise refresh all of them.
        """
        for unsub in self._unsubs:
            unsub()
        polled = [self.coordinator(name) for name in self.family.coordinators]
        self._unsubs = [c.async_add_listener(lambda: None) for c in polled]
        for coordinator in self.runtime.coordinators:
            if coordinator not in polled:
                coordinator.update_interval = None
                coordinator._async_unsub_refresh()

    @property
    def interval(self) -> float:
        """The longest polling interval of the family's coordinators."""
        return max(
            self.coordinator(n).update_interval.total_seconds()  # type: ignore[union-attr]
            for n in self.family.coordinators
        )

    async def sample(self) -> None:
        """Read each endpoint's real answer, the base of the payload mutations."""
        client: EnlightenClient = self.runtime.client
        today = self.sim.site(SITE).today().isoformat()
        for endpoint in self.family.endpoints:
            if endpoint.method == "POST":
                body, cookie = await _fresh_login(self.sim)
                self.samples[endpoint.fragment] = body
                self.sample_headers[endpoint.fragment] = {"Set-Cookie": cookie}
                continue
            params = {k: v.format(today=today) for k, v in endpoint.params.items()}
            self.samples[endpoint.fragment] = await client.request(
                "GET", endpoint.path, params=params or None
            )

    def inject(self, fault: Fault, retry_after: int) -> None:
        for endpoint in self.family.endpoints:
            body = fault.body
            status = fault.status
            headers = {"Retry-After": str(retry_after)} if fault.retry_after else None
            if fault.mutate is not None:
                body = json.dumps(fault.mutate(self.samples[endpoint.fragment]))
                status = 200
                # A login answer comes with its session cookie.
                headers = self.sample_headers.get(endpoint.fragment)
            self.sim.inject_fault(
                endpoint.fragment,
                status=status,
                body=body,
                content_type=fault.content_type,
                headers=headers,
                reset=fault.reset,
                latency=fault.latency,
            )

    def reauth_flows(self) -> list[dict[str, Any]]:
        return [
            dict(flow)
            for flow in self.hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            if flow["context"]["source"] == SOURCE_REAUTH
        ]

    def logins(self) -> int:
        return len(self.sim.requests_to(LOGIN, "POST"))

    def family_requests(self) -> int:
        return sum(len(self.sim.requests_to(e.fragment)) for e in self.family.endpoints)

    async def tick(self, seconds: float) -> None:
        """Let ``seconds`` of Home Assistant time pass (scheduled refreshes run)."""
        self.freezer.tick(timedelta(seconds=seconds))
        # The event loop's clock may trail the frozen wall clock by a moment.
        async_fire_time_changed(self.hass, dt_util.utcnow() + TICK_SLACK)
        await self.hass.async_block_till_done(wait_background_tasks=True)

    def unexpected_errors(self) -> list[str]:
        return [
            r.getMessage()
            for r in self.caplog.records
            if r.exc_info is not None and r.levelno >= logging.ERROR
        ]

    async def finish_reauth(self) -> bool:
        """Answer the pending reauthentication with the password (as the user would)."""
        flows = self.reauth_flows()
        if not flows:
            return False
        result = await self.hass.config_entries.flow.async_configure(
            flows[0]["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_STORE_PASSWORD: True}
        )
        await self.hass.async_block_till_done()
        self.listen()
        return result.get("reason") == "reauth_successful"

    async def run_cell(self, fault: Fault) -> list[str]:
        """Inject ``fault``, refresh, check the outcome, clear it and check recovery."""
        cell = Cell()
        family, hass = self.family, self.hass
        expect_reauth = fault.kind == AUTH and not (
            family.name == "auth/login" and fault.name != "401"
        )
        interval = self.interval
        # The failed endpoints are read again within this time once the fault clears.
        wait = max(interval, family.cadence) + 1
        retry_after = int(2 * wait)
        before = family.part(self.runtime)
        totals = self.runtime.energy.data.totals
        energy = energy_values(self.runtime)
        self.caplog.clear()
        if family.name == "auth/login":
            # The session is gone, so the refresh has to log in (into the fault).
            self.sim.expire_sessions()
            await self.sample()
        self.inject(fault, retry_after)
        logins = self.logins()
        for name in family.coordinators:
            coordinator = self.coordinator(name)
            with short_timeouts(self.runtime.client) if fault.latency else nullcontext():
                await coordinator.async_refresh()
                await hass.async_block_till_done()
            error = coordinator.last_exception
            cell.check(
                error is None or isinstance(error, UpdateFailed | ConfigEntryAuthFailed),
                f"{name}: unexpected {error!r}",
            )
            if fault.kind == RATE:
                cell.check(isinstance(error, UpdateFailed), f"{name}: 429 did not fail")
                wanted = retry_after if fault.retry_after else None
                got = getattr(error, "retry_after", None)
                cell.check(got == wanted, f"{name}: retry_after {got} != {wanted}")
            if fault.kind in (FAIL, RATE):
                probe = Probe(
                    coordinator,
                    EntityDescription(key="probe"),
                    serial="probe",
                    device_info=DeviceInfo(),
                )
                cell.check(probe.available, f"{name}: unavailable after a single failure")
        cell.check(not self.unexpected_errors(), f"errors logged: {self.unexpected_errors()}")
        cell.check(self.entry.state is ConfigEntryState.LOADED, f"entry {self.entry.state}")
        reauth = bool(self.reauth_flows())
        cell.check(reauth == expect_reauth, f"reauth started: {reauth}")
        # No login loop: at most one silent re-login per endpoint and refresh.
        made = self.logins() - logins
        cell.check(made <= len(family.endpoints) * len(family.coordinators), f"{made} logins")
        if fault.kind != PAYLOAD:
            cell.check(family.part(self.runtime) == before, "last good data not kept")
        cell.check(self.runtime.energy.data.totals == totals, "energy totals changed")
        down = lowered(energy, energy_values(self.runtime))
        cell.check(not down, f"energy went down: {down[:3]}")

        self.sim.clear_faults()
        if expect_reauth:
            cell.check(await self.finish_reauth(), "reauth did not complete")
            cell.check(self.entry.state is ConfigEntryState.LOADED, "not loaded after reauth")
        elif fault.kind == RATE and fault.retry_after:
            self.sim.clear_requests()
            await self.tick(wait)
            cell.check(self.family_requests() == 0, "polled before Retry-After")
            await self.tick(retry_after - wait + 1)
        else:
            await self.tick(wait)
        for name in family.coordinators:
            coordinator = self.coordinator(name)
            cell.check(
                coordinator.last_update_success,
                f"{name}: did not recover ({coordinator.last_exception!r})",
            )
        cell.check(family.part(self.runtime) == before, "data differs after recovery")
        cell.check(self.runtime.energy.data.totals == totals, "energy totals changed")
        down = lowered(energy, energy_values(self.runtime))
        cell.check(not down, f"energy went down after recovery: {down[:3]}")
        cell.check(not self.unexpected_errors(), f"errors logged: {self.unexpected_errors()}")
        for flow in self.hass.config_entries.flow.async_progress_by_handler(DOMAIN):
            self.hass.config_entries.flow.async_abort(flow["flow_id"])
        return cell.problems

    async def run_discovery_cell(self, fault: Fault) -> list[str]:
        """Site discovery happens in the config flow: it must end cleanly, then work."""
        cell = Cell()
        self.caplog.clear()
        self.inject(fault, 60)
        credentials = {
            CONF_EMAIL: MULTI_EMAIL,
            CONF_PASSWORD: MULTI_PASSWORD,
            CONF_STORE_PASSWORD: True,
            SECTION_ADVANCED: {CONF_BASE_URL: self.sim.url},
        }
        flows = self.hass.config_entries.flow
        try:
            with short_timeouts() if fault.latency else nullcontext():
                result = await flows.async_init(DOMAIN, context={"source": SOURCE_USER})
                result = await flows.async_configure(result["flow_id"], credentials)
        except Exception as err:
            cell.problems.append(f"flow raised {err!r}")
        else:
            if fault.kind == PAYLOAD:
                cell.check(
                    result["type"] in (FlowResultType.ABORT, FlowResultType.FORM),
                    f"flow ended with {result['type']}",
                )
            else:
                cell.check(
                    result.get("reason") == "cannot_connect", f"flow: {result.get('reason')}"
                )
        cell.check(not self.unexpected_errors(), f"errors logged: {self.unexpected_errors()}")
        cell.check(self.entry.state is ConfigEntryState.LOADED, f"entry {self.entry.state}")
        cell.check(not self.reauth_flows(), "reauth started")
        self.sim.clear_faults()
        for flow in flows.async_progress_by_handler(DOMAIN):
            flows.async_abort(flow["flow_id"])
        result = await flows.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await flows.async_configure(result["flow_id"], credentials)
        cell.check(result.get("step_id") == "site", "discovery did not recover")
        for flow in flows.async_progress_by_handler(DOMAIN):
            flows.async_abort(flow["flow_id"])
        return cell.problems


async def _fresh_login(simulator: EnlightenSimulator) -> tuple[Json, str]:
    """A real login answer and its session cookie, the base of the login payload faults."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(
            simulator.url + LOGIN,
            data={"user[email]": DEMO_EMAIL, "user[password]": DEMO_PASSWORD},
        ) as response:
            cookies = response.headers.getall("Set-Cookie", [])
            cookie = next(c for c in cookies if c.startswith("_enlighten_4_session="))
            return await response.json(), cookie


MATRIX_START = "2026-06-15 14:05:00+00:00"

type CellRunner = Callable[[Fault], Awaitable[list[str]]]


# The clock runs (timeouts must expire) and ``MatrixRun.tick`` jumps it forward, some
# 21 hours per family in all. It starts five minutes after midnight at the site
# (Australia/Sydney, UTC+10 in June), so every family's run stays within one site day
# whatever the hour the suite runs: "today" totals legitimately start again at midnight.
@pytest.mark.freeze_time(MATRIX_START, tick=True)
@pytest.mark.parametrize("family", FAMILIES, ids=[f.label for f in FAMILIES])
async def test_fault_matrix(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
    family: Family,
) -> None:
    """Every fault of ``family``: handled, kept, backed off and recovered."""
    # Task creation stacks (asyncio debug mode) would cost more than the matrix itself.
    hass.loop.set_debug(False)
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    run = MatrixRun(
        hass, simulator=simulator, entry=entry, family=family, caplog=caplog, freezer=freezer
    )
    run.listen()
    await run.sample()
    site_day = entry.runtime_data.energy.site_today()
    runner: CellRunner = run.run_discovery_cell if not family.coordinators else run.run_cell
    failures: dict[str, list[str]] = {}
    slow_since = 0.0
    for fault in FAULTS:
        if fault.latency:
            slow_since = time.monotonic()
        problems = await runner(fault)
        RESULTS.setdefault(fault.name, {})[family.label] = not problems
        if problems:
            failures[fault.name] = problems
    # Let the simulator finish the requests the client gave up on.
    await asyncio.sleep(max(0.0, slow_since + SLOW - time.monotonic()))
    assert not failures, f"{family.name}: {failures}"
    # Were it to cross midnight, "today" totals would reset and the cells would be wrong.
    assert entry.runtime_data.energy.site_today() == site_day, "the run crossed site midnight"


async def test_entities_unavailable_only_when_stale(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A failed refresh or two keep the last values; then they go; an auth loss at once."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    ev = entry.runtime_data.ev
    assert ev is not None

    def unavailable() -> set[str]:
        return {s.entity_id for s in hass.states.async_all() if s.state == "unavailable"}

    before = unavailable()
    simulator.inject_fault("ev_chargers/status", status=503)
    for _ in range(1, STALE_AFTER_FAILURES):
        await ev.async_refresh()
        await hass.async_block_till_done()
        assert not ev.last_update_success
        assert unavailable() == before
    await ev.async_refresh()
    await hass.async_block_till_done()
    stale = unavailable() - before
    assert stale
    # Only the EV status entities; the other coordinators' entities stay.
    assert "sensor.iq_ev_charger_000001_session_energy" in stale
    assert not [e for e in stale if e.startswith(("sensor.demo_home", "switch.demo_home"))]

    simulator.clear_faults()
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert unavailable() == before

    simulator.inject_fault("ev_chargers/status", status=401, body='{"message": "Not Authorized"}')
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert unavailable() - before == stale
