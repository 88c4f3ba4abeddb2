"""The coordinators' common base: error mapping, parts of a refresh, session persistence."""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..api import (
    AuthError,
    EnlightenClient,
    EnlightenError,
    InvalidResponse,
    MfaRequired,
    RateLimited,
)
from ..const import (
    CONF_SESSION,
    CONF_USER_ID,
    DOMAIN,
)
from .data import SiteCapabilities

_LOGGER = logging.getLogger(__name__)

# Endpoints of one refresh run concurrently, at most this many at a time.
MAX_PARALLEL_REQUESTS = 2
# Entities keep showing a part's last data through a failed read or two; after this
# many failures in a row, or once it is older than this many of its cadences (and a
# half), it counts as stale and the entities that read it become unavailable.
STALE_AFTER_FAILURES = 3
# Parts of a refresh whose data changes rarely: scheduled refreshes read them at
# most this often. A refresh that is asked for (the first one, one after a
# command, update_entity) reads every part: ``read_all`` of ``_async_fetch``.
SLOW_PART_INTERVAL = timedelta(minutes=15)
RARE_PART_INTERVAL = timedelta(hours=1)
# First-refresh delays of the cadences whose intervals are multiples of each other
# (1 min, 5 min, 15 min, 1 h): without them every coordinator would send at each
# hour mark together. The EV status keeps phase 0.
# The phases are not multiples of 15 s, so they also miss the fast EV cadence.
SITE_PHASE = timedelta(seconds=5)
EV_SETTINGS_PHASE = timedelta(seconds=10)
ENERGY_PHASE = timedelta(seconds=20)
INVENTORY_PHASE = timedelta(seconds=40)


@callback
def async_persist_session(
    hass: HomeAssistant, entry: ConfigEntry[Any], client: EnlightenClient
) -> None:
    """Store the client session in the entry after a (re)login, so restarts skip the OTP.

    Only identity changes count (session id, token, user); the XSRF cookies that
    rotate every few requests alone do not cause a write.
    """
    exported = client.export_session()
    stored: Mapping[str, Any] = entry.data.get(CONF_SESSION) or {}

    def identity(session: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if k != "cookies"}

    if identity(exported) == identity(stored):
        return
    data = {**entry.data, CONF_SESSION: exported}
    if client.user_id:
        data[CONF_USER_ID] = client.user_id
    hass.config_entries.async_update_entry(entry, data=data)


@dataclass(slots=True)
class Part:
    """One endpoint a coordinator reads: its cadence and how its last reads went.

    ``every`` is None for a part read in every refresh, else the longest time a
    scheduled refresh leaves it unread.
    """

    name: str
    every: timedelta | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    # Slow parts only: when a scheduled refresh reads it next, and its place among
    # the coordinator's slow parts (spreads them over the refreshes of one cadence).
    next_due: datetime | None = None
    slot: int = 0


class EnlightenCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Common error mapping and the parts of a refresh.

    A refresh reads the parts that are due (all of them when ``read_all``), each
    part's outcome is recorded on its :class:`Part`, and the refresh is a
    transaction: a subclass computes its new data and its side effects (event
    cursor, stored guards) without committing them, and commits them in
    :meth:`_async_commit` only once the whole refresh succeeded.
    """

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        *,
        name: str,
        interval: timedelta,
        phase: timedelta = timedelta(),
    ) -> None:
        """Create the coordinator for the entry's site.

        ``phase`` delays the first scheduled refresh, so that coordinators whose
        cadences are multiples of each other do not all send at the same instant.
        """
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {name}",
            update_interval=interval + phase,
            always_update=False,
        )
        self.client = client
        self.capabilities = capabilities
        self.site_id = capabilities.site_id
        self.nominal_interval = interval
        self.parts: dict[str, Part] = {}
        self._phased = phase > timedelta()
        self._full_read_requested = True
        self._stale: frozenset[str] = frozenset()
        self._zone: tzinfo | None = None
        self._stale_timer: CALLBACK_TYPE | None = None
        self._stopped = False

    @override
    async def async_refresh(self) -> None:
        """Refresh now, reading every part (also the slow ones)."""
        self._full_read_requested = True
        await super().async_refresh()

    @override
    async def async_request_refresh(self) -> None:
        """Ask for a refresh that reads every part (e.g. after a command)."""
        self._full_read_requested = True
        await super().async_request_refresh()

    @property
    def timezone(self) -> str:
        """The site's time zone, else Home Assistant's."""
        return self.capabilities.timezone or self.hass.config.time_zone

    @property
    def zone(self) -> tzinfo:
        """The site's time zone object, looked up once (off the event loop) at setup."""
        return self._zone or dt_util.get_default_time_zone()

    async def _async_resolve_zone(self) -> None:
        """Look the site's time zone up without blocking the loop (it may read disk)."""
        self._zone = await dt_util.async_get_time_zone(self.timezone)

    @override
    async def _async_setup(self) -> None:
        await self._async_resolve_zone()

    def site_today(self) -> date:
        """Today's date at the site."""
        return dt_util.now(self.zone).date()

    # -- parts ----------------------------------------------------------------------------

    def _part(self, name: str, every: timedelta | None = None) -> Part:
        part = self.parts.get(name)
        if part is None:
            slot = sum(1 for p in self.parts.values() if p.every is not None)
            part = self.parts[name] = Part(name, every, slot=slot if every else 0)
        return part

    def _seed_part(self, name: str, every: timedelta) -> None:
        """Count a slow part as read now (setup read it before the first refresh)."""
        part = self._part(name, every)
        part.last_success = now = dt_util.utcnow()
        part.next_due = self._next_due(part, now)

    def _next_due(self, part: Part, now: datetime) -> datetime | None:
        """When a slow part that was just read is due again.

        The first read puts each slow part off by its slot, so that the slow parts
        of one coordinator fall on different refreshes of its cadence; a read on
        time keeps that place; an extra read (a refresh that reads everything, e.g.
        after a command) leaves the schedule as it is.
        """
        if part.every is None:
            return None
        if part.next_due is not None and part.next_due > now:
            return part.next_due
        due = now + part.every - self.nominal_interval / 2
        if part.next_due is None:
            rounds = max(1, int(part.every / self.nominal_interval))
            due += self.nominal_interval * (part.slot % rounds)
        return due

    def _due_parts[T: Callable[[], Awaitable[Any]]](
        self, calls: Mapping[str, T], every: timedelta, read_all: bool
    ) -> dict[str, T]:
        """The ``calls`` of rarely changing parts that are due in this refresh.

        A part is due ``every`` after its last read on time (less half a polling
        interval, so that timer jitter does not put it off a whole interval; see
        ``_next_due``), or when this refresh reads everything. A part whose last
        read failed is due in every refresh until a read works.
        """
        now = dt_util.utcnow()
        due: dict[str, T] = {}
        for key, call in calls.items():
            part = self._part(key, every)
            if read_all or part.failures or part.next_due is None or now >= part.next_due:
                due[key] = call
        return due

    def stale_limit(self, part: Part) -> timedelta:
        """How old a part's data may be and still be shown."""
        cadence = max(part.every or self.nominal_interval, self.nominal_interval)
        return cadence * STALE_AFTER_FAILURES + cadence / 2

    def part_fresh(self, name: str) -> bool:
        """Whether the named part's data is recent enough to be shown.

        A part is stale once it failed STALE_AFTER_FAILURES reads in a row, or when
        its last good read is older than its stale limit (also while every refresh
        fails, e.g. behind a rate limit).

        A part this coordinator never reads (the site lacks it) counts as fresh:
        whether there is anything to show is then up to the data itself.
        """
        part = self.parts.get(name)
        if part is None:
            return True
        if part.failures >= STALE_AFTER_FAILURES:
            return False
        last = part.last_success
        return last is not None and dt_util.utcnow() - last <= self.stale_limit(part)

    def parts_fresh(self, names: Iterable[str] = ()) -> bool:
        """Whether the data is shown: present, session valid, and the named parts fresh.

        With no names every part of the coordinator must be fresh.
        """
        if self.data is None:
            return False
        if not self.last_update_success and isinstance(self.last_exception, ConfigEntryAuthFailed):
            return False
        return all(self.part_fresh(name) for name in (names or self.parts))

    @callback
    def _async_note_staleness(self) -> None:
        """Log once when parts turn stale or recover; tell the entities when they did;
        look again when the next fresh part would turn stale.

        The base class tells listeners only about a change of the refresh's overall
        success; a part that ages out while other parts keep working (or while every
        refresh fails, or while no refresh runs) is told here.
        """
        stale = frozenset(name for name in self.parts if not self.part_fresh(name))
        if stale != self._stale:
            self._async_report_staleness(stale)
        self._async_schedule_stale_check()

    @callback
    def _async_report_staleness(self, stale: frozenset[str]) -> None:
        for name in sorted(stale - self._stale):
            part = self.parts[name]
            _LOGGER.warning(
                "Enlighten %s of %s has not been read for too long; its entities are "
                "unavailable until it is read again (last error: %s)",
                name.split("|", 1)[-1],
                self.name,
                part.last_error,
            )
        for name in sorted(self._stale - stale):
            _LOGGER.info("Enlighten %s of %s is read again", name.split("|", 1)[-1], self.name)
        self._stale = stale
        if self.data is not None:
            self.async_update_listeners()

    @callback
    def _async_cancel_stale_check(self) -> None:
        if self._stale_timer is not None:
            self._stale_timer()
            self._stale_timer = None

    @callback
    def _async_schedule_stale_check(self) -> None:
        """Look again when the next fresh part turns stale, also if no refresh runs
        by then (a long Retry-After, polling turned off)."""
        self._async_cancel_stale_check()
        if self._stopped:
            return
        expiries = [
            part.last_success + self.stale_limit(part)
            for name, part in self.parts.items()
            if name not in self._stale and part.last_success is not None
        ]
        if not expiries:
            return
        delay = max((min(expiries) - dt_util.utcnow()).total_seconds(), 0.0) + 1
        self._stale_timer = async_call_later(self.hass, delay, self._async_stale_check)

    @callback
    def _async_stale_check(self, _now: datetime) -> None:
        self._stale_timer = None
        self._async_note_staleness()

    @override
    async def async_shutdown(self) -> None:
        """Stop the stale check with the coordinator."""
        self._stopped = True
        self._async_cancel_stale_check()
        await super().async_shutdown()

    # -- refresh --------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> DataT:
        # A request for a full read that arrives while this refresh runs is kept for
        # the next one: the flag is taken here, at the start.
        read_all, self._full_read_requested = self._full_read_requested, False
        if self._phased and self.data is not None:
            # The first refresh (setup) scheduled this one with the phase added.
            self._phased = False
            self.update_interval = self.nominal_interval
        try:
            data = await self._async_fetch(read_all)
            await self._async_commit()
        except (AuthError, MfaRequired) as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except EnlightenError as err:
            self._async_note_staleness()
            raise _update_failed(err) from err
        async_persist_session(self.hass, self.config_entry, self.client)
        self._async_note_staleness()
        return data

    @abstractmethod
    async def _async_fetch(self, read_all: bool) -> DataT:
        """Read the endpoints of this cadence (every part with ``read_all``).

        Compute the new data and keep side effects pending for :meth:`_async_commit`.
        """

    async def _async_commit(self) -> None:
        """Commit what the refresh that just succeeded produced (stores, cursors)."""

    async def _async_gather(
        self, calls: Mapping[str, Callable[[], Awaitable[Any]]]
    ) -> dict[str, Any]:
        """Run ``calls`` concurrently (capped); return the results of those that worked.

        Each outcome is recorded on the call's part. Auth and rate-limit errors abort
        the whole refresh; other failures of a part leave it out, so the caller keeps
        its previous value until the part turns stale. If every part fails, the first
        error is raised.
        """
        if not calls:
            return {}
        semaphore = asyncio.Semaphore(MAX_PARALLEL_REQUESTS)
        fatal: list[EnlightenError] = []

        async def run(call: Callable[[], Awaitable[Any]]) -> Any:
            async with semaphore:
                # After an auth loss or a rate limit, parts not yet started are
                # skipped: no further logins, no requests before Retry-After.
                if fatal:
                    raise fatal[0]
                try:
                    return await call()
                except (AuthError, MfaRequired, RateLimited) as err:
                    fatal.append(err)
                    raise

        outcomes = await asyncio.gather(
            *(run(call) for call in calls.values()), return_exceptions=True
        )
        results: dict[str, Any] = {}
        errors: list[EnlightenError] = []
        now = dt_util.utcnow()
        for key, outcome in zip(calls, outcomes, strict=True):
            part = self._part(key)
            if isinstance(outcome, BaseException):
                part.failures += 1
                part.last_error = type(outcome).__name__
            if isinstance(outcome, (AuthError, MfaRequired, RateLimited)):
                continue
            if isinstance(outcome, EnlightenError):
                _LOGGER.debug(
                    "Enlighten %s failed, keeping its previous data: %s",
                    key.rsplit("|", 1)[-1],
                    outcome,
                )
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results[key] = outcome
                part.last_success, part.failures, part.last_error = now, 0, None
                part.next_due = self._next_due(part, now)
        if fatal:
            raise fatal[0]
        if errors and not results:
            raise errors[0]
        return results


def _update_failed(err: EnlightenError) -> UpdateFailed:
    """The translated refresh error for a failed read (a rate limit keeps its period)."""
    if isinstance(err, RateLimited):
        return UpdateFailed(
            translation_domain=DOMAIN, translation_key="rate_limited", retry_after=err.retry_after
        )
    placeholders = {"error": str(err)}
    if isinstance(err, InvalidResponse):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="invalid_response",
            translation_placeholders=placeholders,
        )
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="service_unavailable",
        translation_placeholders=placeholders,
    )
