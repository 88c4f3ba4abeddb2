"""A simulated week on the full demo site with faults on every endpoint family.

Home Assistant's clock and the simulator's move together in steps of five minutes,
from just after the site's midnight (the run is the same whatever the hour it starts:
every step lands on a fixed instant, ``START + k * STEP``). Over the week:

* faults are sprinkled over every endpoint family: 429 with Retry-After, 5xx, timeouts,
  connection resets, login walls (the HTML login page), 401s and lost sessions (with
  the login failing too), plus a few outages of an hour or two; none in the two hours
  before a command and the half hour after it;
* homeowner events are added now and then, also while the events endpoint is down and
  whenever an energy endpoint is about to fail (so that the refresh reading the event
  may fail elsewhere, e.g. on a 429); the simulator adds its own (profile changes,
  charging started and stopped);
* a few commands: battery reserve, battery profile, charge from grid, EV charging.

And it checks:

* after every step, no entity of the entry shows a value (is not unavailable in the
  state machine) while a part it reads is stale or older than its stale limit;
* after every command and its follow-up refreshes, the controls show what the simulated
  cloud holds;
* every homeowner event that appeared in the simulator was fired by the event entity,
  exactly once;
* the lifetime statistics written incrementally all week equal a full rebuild of the
  final lifetime payload;
* no reauthentication was started, the entry stayed loaded and nothing raised;
* and, as a premise, that every coordinator kept polling at its cadence.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.coordinator.base import EnlightenCoordinator
from custom_components.enphase_enlighten.coordinator.energy import EnergyCoordinator
from custom_components.enphase_enlighten.entity import EnlightenEntity
from custom_components.enphase_enlighten.history.statistics import (
    day_start,
    lifetime_rows,
    site_statistic_id,
)
from tests.fault_matrix_cases import LOGIN_PAGE
from tests.helpers import create_entry, record_fired_events, setup_integration
from tests.simulator import EnlightenSimulator
from tests.simulator import energy as sim_energy

pytestmark = [
    pytest.mark.usefixtures("recorder_mock", "socket_enabled"),
    pytest.mark.history_sync,
]

SITE = "1000001"
EV_SN = "EV0000000001"
# Five minutes past midnight at the site (Australia/Sydney, UTC+10 in June).
START = datetime(2026, 6, 15, 14, 5, tzinfo=UTC)
STEP = timedelta(minutes=5)
# Timers due this long after a step run with it: a coordinator schedules its next
# refresh from the (rounded) moment its refresh ended, a moment after its step, so
# that it falls due a moment after a later step.
TIMER_WINDOW = timedelta(seconds=5)
DAYS = 7
STEPS_PER_HOUR = 12
STEPS_PER_DAY = 24 * STEPS_PER_HOUR
STEPS = DAYS * STEPS_PER_DAY
# Steps without new faults before a command (every fault and back-off is over by then)
# and after it (its follow-up refreshes run undisturbed).
QUIET_BEFORE = 2 * STEPS_PER_HOUR
QUIET_AFTER = 6
# A timeout: the client gives up after CLIENT_TIMEOUT (only while a slow answer is
# pending), the simulator answers after SLOW.
CLIENT_TIMEOUT = 0.2
SLOW = 0.6
# Steps from a command to the comparison of the controls with the simulator: the
# command's own refresh, the cloud applying a profile change (a minute), a refresh.
SETTLE = 2

EVENT_ENTITY = "event.demo_home_site_event"
RESERVE = "number.demo_home_battery_backup_reserve"
PROFILE = "select.demo_home_battery_profile"
CHARGE_FROM_GRID = "switch.demo_home_charge_battery_from_grid"
CHARGING = "switch.iq_ev_charger_000001_charging"
# Simulator profile -> select option.
PROFILE_OPTIONS = {
    "self-consumption": "self_consumption",
    "cost_savings": "savings",
    "backup_only": "full_backup",
}
# Homeowner events added by the test, in turn.
ADDED_EVENTS = ("micro_low_production", "envoy_not_reporting", "grid_state_changed")


# -- what goes wrong ------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """An endpoint family's path fragment (as the simulator matches it) and method."""

    name: str
    fragment: str
    method: str | None = "GET"
    energy: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("ev status", "ev_chargers/status"),
    Endpoint("ev summary", "ev_chargers/summary"),
    Endpoint("charge mode", f"/{EV_SN}/preference"),
    Endpoint("green settings", "GREEN_CHARGING"),
    Endpoint("schedules", "SCHEDULED_CHARGING"),
    Endpoint("session auth", "ev_charger_config", "POST"),
    Endpoint("last sessions", "enho_historical_events_ms", "POST"),
    Endpoint("battery status", "battery_status.json"),
    Endpoint("profile", "batteryConfig/api/v1/profile/"),
    Endpoint("battery settings", "batteryConfig/api/v1/batterySettings/"),
    Endpoint("storm alert", "/stormGuard/"),
    Endpoint("grid check", "grid_control_check"),
    Endpoint("off grid", "off_grid_due_to_grid_outage"),
    Endpoint("devices", "devices.json"),
    Endpoint("backup history", "battery_backup_history"),
    Endpoint("inverters", "inverters.json"),
    Endpoint("inverter status", "inverter_status_x", energy=True),
    Endpoint("inverter energy", "inverter_data_x", energy=True),
    Endpoint("lifetime energy", "lifetime_energy", energy=True),
    Endpoint("events", "events/homeowner", energy=True),
)
LOGIN = Endpoint("login", "/login/login.json", "POST")


@dataclass(frozen=True)
class Fault:
    """One way an endpoint misbehaves, for ``count`` answers."""

    name: str
    status: int | None = None
    count: int = 1
    body: str | None = None
    content_type: str = "application/json"
    retry_after: int | None = None
    latency: float = 0.0
    reset: bool = False
    # The session is lost (every session revoked) just before.
    expire_sessions: bool = False


FAULTS: tuple[Fault, ...] = (
    Fault("429 Retry-After 60", 429, retry_after=60),
    Fault("500", 500),
    Fault("timeout", latency=SLOW),
    Fault("login wall", 200, body=LOGIN_PAGE, content_type="text/html"),
    Fault("502 x2", 502, count=2),
    Fault("429 Retry-After 900", 429, retry_after=900),
    Fault("connection reset", reset=True),
    Fault("401", 401, body='{"message": "Not Authorized"}'),
    Fault("503 x3", 503, count=3),
    Fault("429 Retry-After 300", 429, retry_after=300),
    Fault("550", 550),
)
# The login itself fails while the session is lost: a silent re-login is not possible
# then, but none of these is an authentication failure either.
LOGIN_FAULTS: tuple[Fault, ...] = (
    Fault("lost session, login 503", 503, expire_sessions=True),
    Fault("lost session, login 429", 429, retry_after=300, expire_sessions=True),
    Fault("lost session, login timeout", latency=SLOW, expire_sessions=True),
    Fault("lost session, login reset", reset=True, expire_sessions=True),
    Fault("lost session", expire_sessions=True),
)


@dataclass(frozen=True)
class Outage:
    """An endpoint failing on every request for a while."""

    endpoint: Endpoint
    start: int
    steps: int
    status: int = 503


def at(day: int, hour: int, minute: int = 0) -> int:
    """The step at ``hour:minute`` site time on the run's ``day`` (0 = the first)."""
    return day * STEPS_PER_DAY + hour * STEPS_PER_HOUR + minute // 5


def _endpoint(name: str) -> Endpoint:
    return next(e for e in ENDPOINTS if e.name == name)


OUTAGES: tuple[Outage, ...] = (
    Outage(_endpoint("battery status"), at(1, 3), 2 * STEPS_PER_HOUR, 500),
    Outage(_endpoint("events"), at(3, 2), 18),
    Outage(_endpoint("lifetime energy"), at(4, 4), 15, 502),
    Outage(_endpoint("ev status"), at(5, 3), 8),
)


@dataclass(frozen=True)
class Command:
    """A control used at a step: a service call and what the cloud then holds."""

    step: int
    domain: str
    service: str
    data: dict[str, Any]
    # What the simulator must hold once it applied the command (a premise).
    expect: Callable[[EnlightenSimulator], bool]


def _battery(sim: EnlightenSimulator) -> Any:
    battery = sim.site(SITE).battery
    assert battery is not None
    return battery


def _charger(sim: EnlightenSimulator) -> Any:
    return sim.site(SITE).chargers[EV_SN]


def _reserve(step: int, value: int) -> Command:
    return Command(
        step,
        "number",
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: RESERVE, ATTR_VALUE: value},
        lambda sim: _battery(sim).reserve == value,
    )


def _profile(step: int, option: str) -> Command:
    return Command(
        step,
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: PROFILE, ATTR_OPTION: option},
        lambda sim: PROFILE_OPTIONS[_battery(sim).profile] == option,
    )


def _switch(step: int, entity_id: str, on: bool, holds: Callable[[Any], bool]) -> Command:
    return Command(
        step,
        "switch",
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        lambda sim: holds(sim) is on,
    )


COMMANDS: tuple[Command, ...] = (
    _reserve(at(0, 9), 30),
    _profile(at(1, 10), "savings"),
    _switch(at(1, 18), CHARGING, True, lambda sim: _charger(sim).charging),
    _switch(at(1, 20), CHARGING, False, lambda sim: _charger(sim).charging),
    _switch(at(2, 8), CHARGE_FROM_GRID, True, lambda sim: _battery(sim).charge_from_grid),
    _switch(at(3, 8), CHARGE_FROM_GRID, False, lambda sim: _battery(sim).charge_from_grid),
    _profile(at(3, 13), "full_backup"),
    _profile(at(4, 12), "self_consumption"),
    _reserve(at(4, 14), 25),
    _switch(at(5, 19), CHARGING, True, lambda sim: _charger(sim).charging),
    _switch(at(5, 21), CHARGING, False, lambda sim: _charger(sim).charging),
    _profile(at(6, 7), "savings"),
    _reserve(at(6, 9), 40),
)


def _busy(step: int) -> bool:
    """Whether a fault injected at ``step`` could disturb a command or an outage."""
    near_command = any(
        c.step - QUIET_BEFORE <= step <= c.step + SETTLE + QUIET_AFTER for c in COMMANDS
    )
    in_outage = any(o.start - 6 <= step <= o.start + o.steps + 6 for o in OUTAGES)
    return near_command or in_outage or step > STEPS - STEPS_PER_HOUR


def fault_schedule() -> dict[int, tuple[Endpoint, Fault]]:
    """Every fault on every endpoint family (and the login's), spread over free steps."""
    cases = [
        *((endpoint, fault) for fault, endpoint in itertools.product(FAULTS, ENDPOINTS)),
        *((LOGIN, fault) for fault in LOGIN_FAULTS),
    ]
    free = [step for step in range(6, STEPS) if not _busy(step)]
    spacing = len(free) / len(cases)
    assert spacing >= 4, "too many faults for the week"
    return {free[int(i * spacing)]: case for i, case in enumerate(cases)}


# -- the run ----------------------------------------------------------------------------


@dataclass
class Findings:
    """What went wrong, by kind (kept to the end so that one kind hides no other)."""

    stale_shown: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    statistics: list[str] = field(default_factory=list)
    entry: list[str] = field(default_factory=list)

    def report(self) -> dict[str, list[str]]:
        """The kinds with findings, each with its first few findings."""
        return {
            kind: [*found[:8], *([f"... {len(found)} in all"] if len(found) > 8 else [])]
            for kind, found in vars(self).items()
            if found
        }


class WeekRun:
    """Home Assistant, the simulator and the entry for a week, one step at a time."""

    def __init__(
        self, hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
    ) -> None:
        self.hass = hass
        self.sim = sim
        self.freezer = freezer
        self.step_no = 0
        self.found = Findings()
        self.fired: list[dict[str, Any]] = []
        self.baseline_event_id = 0
        self.outage_faults: dict[Outage, Any] = {}
        self._entry: MockConfigEntry | None = None
        self._timeout: aiohttp.ClientTimeout | None = None

    @property
    def entry(self) -> MockConfigEntry:
        assert self._entry is not None
        return self._entry

    @property
    def energy(self) -> EnergyCoordinator:
        energy: EnergyCoordinator = self.entry.runtime_data.energy
        return energy

    async def setup(self) -> None:
        # The owner accepted the charge-from-grid (ITC) disclaimer in the Enphase app.
        _battery(self.sim).accepted_itc_disclaimer = "2025-10-16T08:45:14.230Z"
        self._entry = await create_entry(self.hass, self.sim)
        assert await setup_integration(self.hass, self.entry)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        self.baseline_event_id = max(e.id for e in self.sim.site(SITE).events)
        self._timeout = self.entry.runtime_data.client._timeout
        self.fired = record_fired_events(self.hass, EVENT_ENTITY, self.entry)

    # -- time ---------------------------------------------------------------------------

    async def step(self) -> None:
        """Move both clocks to the next step; let the due refreshes run; check."""
        self.step_no += 1
        target = START + self.step_no * STEP
        self.sim.advance((target - self.sim.now).total_seconds())
        self._client_timeouts()
        # Home Assistant's clock (which runs on) jumps to the step; what is due by then
        # or within TIMER_WINDOW after it runs now.
        self.freezer.move_to(target)
        self._run_timers_due(self.hass.loop.time() + TIMER_WINDOW.total_seconds())
        await self.hass.async_block_till_done(wait_background_tasks=True)
        self.check_shown_values()

    def _run_timers_due(self, by: float) -> None:
        """Run the loop's timers due by ``by`` (loop time), as async_fire_time_changed.

        Without its patching of the time trackers: the clock really is at the step, and
        a time tracker run a moment early schedules itself again.
        """
        for handle in list(get_scheduled_timer_handles(self.hass.loop)):
            if not handle.cancelled() and handle.when() <= by:
                handle._run()
                handle.cancel()

    def _client_timeouts(self) -> None:
        """Short client timeouts while a slow answer is pending (as the fault matrix)."""
        client = self.entry.runtime_data.client
        slow = any(f.latency for f in self.sim.faults)
        client._timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT) if slow else self._timeout

    # -- faults and events --------------------------------------------------------------

    def inject(self, endpoint: Endpoint, fault: Fault) -> None:
        """Make ``endpoint`` misbehave as ``fault`` says (from its next request on)."""
        if fault.expire_sessions:
            self.sim.expire_sessions()
        if fault.status is None and fault.latency == 0 and not fault.reset:
            return
        self.sim.inject_fault(
            endpoint.fragment,
            status=fault.status,
            count=fault.count,
            body=fault.body,
            content_type=fault.content_type,
            headers={"Retry-After": str(fault.retry_after)} if fault.retry_after else None,
            latency=fault.latency,
            reset=fault.reset,
            method=endpoint.method,
        )
        if endpoint.energy:
            # An event the refresh meeting this fault reads (it must not be lost).
            self.add_event()

    def outages(self) -> None:
        """Start and end the outages due at this step."""
        for outage in OUTAGES:
            if self.step_no == outage.start:
                self.outage_faults[outage] = self.sim.inject_fault(
                    outage.endpoint.fragment, status=outage.status, method=outage.endpoint.method
                )
            elif self.step_no == outage.start + outage.steps:
                self.sim.faults.remove(self.outage_faults.pop(outage))

    def add_event(self) -> None:
        """A new homeowner event in the simulated cloud, now."""
        site = self.sim.site(SITE)
        key = ADDED_EVENTS[len(site.events) % len(ADDED_EVENTS)]
        if key == "micro_low_production":
            inverter = site.inverters[len(site.events) % len(site.inverters)]
            site.add_event(key, inverter.serial, inverter.model, at=self.sim.now)
        elif key == "envoy_not_reporting":
            site.add_event(key, site.gateway.serial, site.gateway.name, at=self.sim.now)
        else:
            site.add_event(key, site.gateway.serial, "Grid state changed", at=self.sim.now)

    # -- checks -------------------------------------------------------------------------

    def check_shown_values(self) -> None:
        """No entity shows a value while a part it reads is stale or too old."""
        now = dt_util.utcnow()
        stale: dict[int, dict[str, str]] = {}
        for coordinator in self.entry.runtime_data.coordinators:
            stale[id(coordinator)] = {
                name: (
                    f"{name} of {coordinator.name} read {age} ago (stale limit "
                    f"{coordinator.stale_limit(part)}, {part.failures} failures, last error "
                    f"{part.last_error})"
                )
                for name, part in coordinator.parts.items()
                if (age := now - part.last_success if part.last_success else None) is None
                or age > coordinator.stale_limit(part)
                or not coordinator.part_fresh(name)
            }
        if not any(stale.values()):
            return
        for entity_id, entity in self.entities().items():
            bad = stale.get(id(entity.coordinator))
            if not bad:
                continue
            names = entity.part_names or tuple(entity.coordinator.parts)
            reason = next((bad[name] for name in names if name in bad), None)
            if reason is None:
                continue
            state = self.hass.states.get(entity_id)
            if state is not None and state.state != STATE_UNAVAILABLE:
                self.found.stale_shown.append(
                    f"step {self.step_no} ({now:%a %H:%M} UTC): {entity_id} shows "
                    f"{state.state!r} but {reason}; entity.available={entity.available}"
                )

    def entities(self) -> dict[str, EnlightenEntity[Any]]:
        """The entry's entities fed by a cloud coordinator, by entity id."""
        found: dict[str, EnlightenEntity[Any]] = {}
        for platform in async_get_platforms(self.hass, DOMAIN):
            if platform.config_entry is None or platform.config_entry.entry_id != (
                self.entry.entry_id
            ):
                continue
            found.update(
                (entity_id, entity)
                for entity_id, entity in platform.entities.items()
                if isinstance(entity, EnlightenEntity)
                and isinstance(entity.coordinator, EnlightenCoordinator)
            )
        return found

    def check_controls(self, command: Command) -> None:
        """The controls show what the simulated cloud holds, and it holds the command."""
        sim = self.sim
        when = f"step {self.step_no}, after {command.service} {command.data}"
        if not command.expect(sim):
            self.found.controls.append(f"{when}: the simulator did not apply the command")
        battery, charger = _battery(sim), _charger(sim)
        if battery.requested is not None:
            self.found.controls.append(f"{when}: the profile change is still pending")
        expected = {
            PROFILE: PROFILE_OPTIONS[battery.profile],
            RESERVE: float(battery.reserve),
            CHARGE_FROM_GRID: "on" if battery.charge_from_grid else "off",
            CHARGING: "on" if charger.charging else "off",
        }
        for entity_id, wanted in expected.items():
            state = self.hass.states.get(entity_id)
            shown: Any = state.state if state is not None else None
            if entity_id == RESERVE and shown not in (None, STATE_UNAVAILABLE, STATE_UNKNOWN):
                shown = float(shown)
            if shown != wanted:
                self.found.controls.append(f"{when}: {entity_id} shows {shown!r}, cloud {wanted!r}")
        state = self.hass.states.get(PROFILE)
        if state is not None and state.attributes.get("pending_change"):
            self.found.controls.append(f"{when}: {PROFILE} still shows a pending change")

    def check_events(self) -> None:
        """Every event that appeared in the cloud was fired once, and nothing else."""
        site_events = [e for e in self.sim.site(SITE).events if e.id > self.baseline_event_id]
        expected = sorted(str(e.id) for e in site_events)
        fired = [str(f.get("event_id")) for f in self.fired]
        if len(fired) != len(set(fired)):
            twice = sorted({i for i in fired if fired.count(i) > 1})
            self.found.events.append(f"fired more than once: {twice}")
        missing = sorted(set(expected) - set(fired))
        extra = sorted(set(fired) - set(expected))
        if missing:
            lost = [(e.id, e.key, e.at.isoformat()) for e in site_events if str(e.id) in missing]
            self.found.events.append(f"never fired: {lost}")
        if extra:
            self.found.events.append(f"fired but not in the simulator: {extra}")
        if len(fired) != len(expected):
            self.found.events.append(f"{len(fired)} fired, {len(expected)} in the simulator")

    def check_polling(self) -> None:
        """The premise: every coordinator kept polling at its cadence all week."""
        steps = self.step_no
        expected = {
            "ev_chargers/status": steps,  # every minute: once a step
            "battery_status.json": steps,  # every 5 minutes
            "lifetime_energy": steps // 3,  # every 15 minutes
            "devices.json": steps // STEPS_PER_HOUR,  # hourly
        }
        for path, count in expected.items():
            made = len(self.sim.requests_to(path))
            if made < 0.9 * count:
                self.found.entry.append(f"{made} requests to {path}, {count} expected")
        if len(self.fired) < 30:
            self.found.events.append(f"only {len(self.fired)} events fired all week")

    def check_entry(self, caplog: pytest.LogCaptureFixture) -> None:
        """The entry stayed loaded, needed no reauthentication, and nothing raised."""
        if self.entry.state is not ConfigEntryState.LOADED:
            self.found.entry.append(f"entry {self.entry.state}")
        if flows := self.hass.config_entries.flow.async_progress_by_handler(DOMAIN):
            self.found.entry.append(f"flows started: {[f['context'] for f in flows]}")
        raised = [
            r.getMessage()
            for r in caplog.records
            if r.exc_info is not None and r.levelno >= logging.ERROR
        ]
        if raised:
            self.found.entry.append(f"errors with a traceback logged: {raised[:5]}")

    async def check_statistics(self) -> None:
        """The statistics written all week equal a full rebuild of the final payload."""
        energy = self.energy
        lifetime = energy.data.lifetime
        assert lifetime is not None
        tz = energy.history.time_zone
        assert tz is not None
        ids = {site_statistic_id(SITE, flow): flow for flow in lifetime.series}
        await async_wait_recording_done(self.hass)
        stored = await get_instance(self.hass).async_add_executor_job(
            statistics_during_period,
            self.hass,
            day_start(lifetime.start_date, tz),
            None,
            set(ids),
            "hour",
            None,
            {"state", "sum"},
        )
        last = energy.history.last_import
        if last is None:
            self.found.statistics.append("no statistics import ran")
            return
        if set(stored) != set(last.statistic_ids):
            self.found.statistics.append(
                f"stored ids {sorted(stored)} != imported {sorted(last.statistic_ids)}"
            )
        for statistic_id, flow in ids.items():
            full = lifetime_rows(lifetime.start_date, lifetime.series[flow], tz)
            rows = stored.get(statistic_id, [])
            if [r["start"] for r in rows] != [r["start"].timestamp() for r in full]:
                self.found.statistics.append(
                    f"{statistic_id}: {len(rows)} rows stored, {len(full)} in a full rebuild"
                )
                continue
            for row, want in zip(rows, full, strict=True):
                if row["sum"] != pytest.approx(want.get("sum")) or row["state"] != pytest.approx(
                    want.get("state")
                ):
                    day = datetime.fromtimestamp(row["start"], tz).date()
                    self.found.statistics.append(
                        f"{statistic_id} {day}: stored state/sum {row['state']}/{row['sum']}, "
                        f"full rebuild {want.get('state')}/{want.get('sum')}"
                    )
                    break
        # The final payload is the cloud's: its days run up to the site's today.
        today = self.sim.site(SITE).today()
        if lifetime.start_date + timedelta(days=len(lifetime.series["production"]) - 1) < today:
            self.found.statistics.append("the final lifetime payload does not reach today")


def cached_day_flows(
    original: Callable[..., dict[str, int]],
) -> Callable[..., dict[str, int]]:
    """The simulator's ``day_flows`` computing each closed day once per its inputs.

    The same numbers (a closed day's flows depend only on the inputs in the key), but
    the simulator's lifetime payload, three years of days, costs a few milliseconds
    instead of some seventy: a week of energy refreshes would spend most of its time
    there.
    """
    cache: dict[tuple[Any, ...], dict[str, int]] = {}

    def day_flows(site: Any, day: Any, fraction: float = 1.0) -> dict[str, int]:
        if fraction != 1.0:
            return original(site, day, fraction)
        key = (
            id(site),
            day,
            site.cloudy_days.get(day),
            site.cloudy_days.get(day.isoformat()),
            tuple(site.inverter_daily_factor.items()),
            tuple(site.extra_energy.get(day, {}).items()),
            tuple((f, v) for (d, f), v in site.revisions.items() if d == day),
        )
        values = cache.get(key)
        if values is None:
            values = cache[key] = original(site, day, fraction)
        return dict(values)

    return day_flows


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Record no states: a week of refreshes would only fill the test database."""
    return {"exclude": {"entity_globs": ["*"]}}


@pytest.fixture
async def week_sim(
    freezer: FrozenDateTimeFactory, socket_enabled: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EnlightenSimulator]:
    """A simulator whose clock starts, like Home Assistant's, at ``START``."""
    monkeypatch.setattr(sim_energy, "day_flows", cached_day_flows(sim_energy.day_flows))
    freezer.move_to(START)
    simulator = EnlightenSimulator(start=START)
    await simulator.start(port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


async def _call(hass: HomeAssistant, command: Command) -> None:
    await hass.services.async_call(command.domain, command.service, command.data, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)


# The clock runs (a timeout must expire), but every step lands on START + k * STEP.
@pytest.mark.freeze_time(START.isoformat(), tick=True)
async def test_a_week_of_faults(
    hass: HomeAssistant,
    week_sim: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Seven simulated days: events, freshness, statistics and controls hold up."""
    # Debug logs and task creation stacks would cost more than the week itself.
    hass.loop.set_debug(False)
    caplog.set_level(logging.INFO)
    run = WeekRun(hass, week_sim, freezer)
    await run.setup()
    faults = fault_schedule()
    commands = {c.step: c for c in COMMANDS}
    checks = {c.step + SETTLE: c for c in COMMANDS}
    six_hours = 6 * STEPS_PER_HOUR

    # The week, then an hour without faults or new events for the last reads.
    for step in range(1, STEPS + STEPS_PER_HOUR + 1):
        if step in faults:
            run.inject(*faults[step])
        if step <= STEPS and step % six_hours == six_hours // 2:
            run.add_event()
        if step % 3 == 0 and any(o.start <= step < o.start + o.steps for o in OUTAGES):
            run.add_event()
        await run.step()
        run.outages()
        if step == STEPS:
            run.sim.clear_faults()
        if (check := checks.get(step)) is not None:
            run.check_controls(check)
        if (command := commands.get(step)) is not None:
            if run.sim.faults:
                run.found.entry.append(f"step {step}: faults never met: {run.sim.faults}")
                run.sim.clear_faults()
            await _call(hass, command)

    run.check_polling()
    run.check_events()
    await run.check_statistics()
    run.check_entry(caplog)
    report = run.found.report()
    assert not report, "\n".join(
        f"{kind}:\n" + "\n".join(f"  - {line}" for line in lines) for kind, lines in report.items()
    )
