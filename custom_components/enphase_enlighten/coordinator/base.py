"""The coordinators' common base: error mapping, parts of a refresh, session persistence."""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
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
# Entities keep showing the last data through failed refreshes; after this many
# failures in a row the data counts as stale and they become unavailable.
STALE_AFTER_FAILURES = 3
# Parts of a refresh whose data changes rarely: scheduled refreshes read them at
# most this often. A refresh that is asked for (the first one, one after a
# command, update_entity) reads every part.
SLOW_PART_INTERVAL = timedelta(minutes=15)
RARE_PART_INTERVAL = timedelta(hours=1)


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


class EnlightenCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Common error mapping and partial-failure handling of the coordinators."""

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
    ) -> None:
        """Create the coordinator for the entry's site."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {name}",
            update_interval=interval,
            always_update=False,
        )
        self.client = client
        self.capabilities = capabilities
        self.site_id = capabilities.site_id
        self.failed_refreshes = 0
        self._read_all = True
        self._part_read: dict[str, datetime] = {}

    @override
    async def async_refresh(self) -> None:
        """Refresh now, reading every part (also the slow ones)."""
        self._read_all = True
        await super().async_refresh()

    @override
    async def async_request_refresh(self) -> None:
        """Ask for a refresh that reads every part (e.g. after a command)."""
        self._read_all = True
        await super().async_request_refresh()

    @property
    def timezone(self) -> str:
        """The site's time zone, else Home Assistant's."""
        return self.capabilities.timezone or self.hass.config.time_zone

    def site_today(self) -> date:
        """Today's date at the site."""
        zone = dt_util.get_time_zone(self.timezone) or dt_util.get_default_time_zone()
        return dt_util.now(zone).date()

    def _due_parts[T: Callable[[], Awaitable[Any]]](
        self, calls: Mapping[str, T], every: timedelta
    ) -> dict[str, T]:
        """The ``calls`` of rarely changing parts that are due in this refresh.

        A part is due when it was not read successfully for ``every`` (less half
        a polling interval, so that timer jitter does not put it off a whole
        interval), or when this refresh reads everything.
        """
        if self._read_all:
            return dict(calls)
        slack = (self.update_interval or timedelta()) / 2
        now = dt_util.utcnow()
        return {
            key: call
            for key, call in calls.items()
            if (last := self._part_read.get(key)) is None or now - last >= every - slack
        }

    @property
    def data_fresh(self) -> bool:
        """Whether entities may show the data: present, not stale, session valid.

        A failed refresh or two (a cloud hiccup, a rate limit) keep the last data
        on screen; after STALE_AFTER_FAILURES failures in a row, or at once when
        the authentication failed, it is no longer shown.
        """
        if self.data is None:
            return False
        if self.last_update_success:
            return True
        if isinstance(self.last_exception, ConfigEntryAuthFailed):
            return False
        return self.failed_refreshes < STALE_AFTER_FAILURES

    @callback
    @override
    def _async_refresh_finished(self) -> None:
        """Count failures in a row; tell the entities when the data turns stale."""
        if self.last_update_success:
            self.failed_refreshes = 0
            return
        self.failed_refreshes += 1
        # The base class notifies listeners of the first failure in a row only.
        if self.failed_refreshes == STALE_AFTER_FAILURES:
            self.async_update_listeners()

    @override
    async def _async_update_data(self) -> DataT:
        try:
            data = await self._async_fetch()
        except (AuthError, MfaRequired) as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except RateLimited as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=err.retry_after,
            ) from err
        except InvalidResponse as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_response",
                translation_placeholders={"error": str(err)},
            ) from err
        except EnlightenError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="service_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        self._read_all = False
        async_persist_session(self.hass, self.config_entry, self.client)
        return data

    @abstractmethod
    async def _async_fetch(self) -> DataT:
        """Read the endpoints of this cadence."""

    async def _async_gather(
        self, calls: Mapping[str, Callable[[], Awaitable[Any]]]
    ) -> dict[str, Any]:
        """Run ``calls`` concurrently (capped); return the results of those that worked.

        Auth and rate-limit errors abort the whole refresh; other failures of a
        part are logged at debug level and the part is left out, so the caller
        keeps its previous value. If every part fails, the first error is raised.
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
        for key, outcome in zip(calls, outcomes, strict=True):
            if isinstance(outcome, (AuthError, MfaRequired, RateLimited)):
                raise outcome
            if isinstance(outcome, EnlightenError):
                _LOGGER.debug("Enlighten %s failed, keeping its previous data: %s", key, outcome)
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results[key] = outcome
                self._part_read[key] = dt_util.utcnow()
        if errors and not results:
            raise errors[0]
        return results
