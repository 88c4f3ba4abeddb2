"""The local IQ Gateway coordinator: live readings every 60 s beside the cloud.

* Firmware below 7 answers with digest credentials (default ``envoy`` user).
* Firmware 7 and newer needs a token. It is renewed through the entry's Enlighten session
  (so accounts with multi-factor authentication work too) a while before it expires, and
  whenever the gateway refuses it. When no new token can be had, a repair issue
  (``gateway_token_expired``) tells the user; it goes away after the next good read.
* Battery settings are never written to the gateway. A change sent to the cloud can be
  confirmed here: :meth:`GatewayCoordinator.async_confirm_battery` reads the gateway back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Self, override

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_EMAIL, CONF_HOST, CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import (
    async_get_clientsession,
)
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ..api import EnlightenClient, EnlightenError
from ..const import (
    CONF_FIRMWARE,
    CONF_GATEWAY,
    CONF_SERIAL,
    CONF_TOKEN_URL,
    DOMAIN,
    GATEWAY_INTERVAL,
)
from ..gateway import (
    DEFAULT_TOKEN_URL,
    GatewayAuthError,
    GatewayClient,
    GatewayData,
    GatewayError,
    firmware_requires_token,
    request_gateway_token,
)
from .base import STALE_AFTER_FAILURES, async_persist_session
from .data import SiteCapabilities

_LOGGER = logging.getLogger(__name__)

ISSUE_TOKEN_EXPIRED = "gateway_token_expired"
# After a failed token renewal, wait this long before asking Enlighten again.
RENEWAL_RETRY = timedelta(minutes=15)
# Seconds a poll of the gateway may take (it is slow while it updates its own figures).
GATEWAY_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The stored gateway settings (entry data key ``gateway``)."""

    host: str
    serial: str
    firmware: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    token_url: str = DEFAULT_TOKEN_URL

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """Read the settings stored by the config flow."""
        return cls(
            host=data[CONF_HOST],
            serial=data[CONF_SERIAL],
            firmware=data.get(CONF_FIRMWARE),
            token=data.get(CONF_TOKEN),
            username=data.get(CONF_USERNAME),
            password=data.get(CONF_PASSWORD),
            token_url=data.get(CONF_TOKEN_URL) or DEFAULT_TOKEN_URL,
        )

    def as_data(self) -> dict[str, Any]:
        """The settings as stored in the entry (unset values left out)."""
        data: dict[str, Any] = {
            CONF_HOST: self.host,
            CONF_SERIAL: self.serial,
            CONF_FIRMWARE: self.firmware,
            CONF_TOKEN: self.token,
            CONF_USERNAME: self.username,
            CONF_PASSWORD: self.password,
            CONF_TOKEN_URL: self.token_url,
        }
        return {key: value for key, value in data.items() if value is not None}

    @property
    def requires_token(self) -> bool:
        """Whether the firmware seen at setup needs a token (7 and newer)."""
        return bool(firmware_requires_token(self.firmware))


def reserve_matches(data: GatewayData | None, reserve: int) -> bool | None:
    """Whether the gateway reports ``reserve`` (%) as the battery reserve.

    None when the gateway has no battery reserve to compare with.
    """
    battery = data.battery if data is not None else None
    if battery is None:
        return None
    value = battery.configured_reserve_soc
    if value is None:
        value = battery.reserve_soc
    return None if value is None else round(value) == reserve


class GatewayCoordinator(DataUpdateCoordinator[GatewayData]):
    """Polls the local IQ Gateway every 60 s and keeps its token valid."""

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        *,
        config: GatewayConfig,
        session: aiohttp.ClientSession,
    ) -> None:
        """Create the coordinator; ``session`` must not verify TLS (self-signed gateway)."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} gateway",
            update_interval=GATEWAY_INTERVAL,
            always_update=False,
        )
        self.client = client
        self.capabilities = capabilities
        self.last_success_at: datetime | None = None
        self.failed_reads = 0
        self.config = config
        self._session = session
        self.gateway = self._new_gateway_client(config.token)
        self._renewal_failed_at: datetime | None = None
        self._reserve_waiters: list[tuple[int, asyncio.Future[bool]]] = []

    # -- helpers --------------------------------------------------------------------------

    @property
    def issue_id(self) -> str:
        """Id of this entry's token repair issue."""
        return f"{ISSUE_TOKEN_EXPIRED}_{self.config_entry.entry_id}"

    @property
    def serial(self) -> str:
        """The gateway serial number."""
        return self.gateway.serial or self.config.serial

    @property
    def requires_token(self) -> bool:
        """Token auth for firmware 7+ (as read from the gateway, else as configured)."""
        known = self.gateway.requires_token
        return self.config.requires_token if known is None else known

    def _new_gateway_client(self, token: str | None) -> GatewayClient:
        legacy = not self.config.requires_token
        return GatewayClient(
            self._session,
            self.config.host,
            self.config.serial,
            # The local user below firmware 7; from 7 on the token is renewed here.
            username=self.config.username if legacy else None,
            password=self.config.password if legacy else None,
            token=token,
            request_timeout=GATEWAY_TIMEOUT,
            max_attempts=1,
        )

    # -- polling --------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> GatewayData:
        try:
            data = await self._async_read()
        except UpdateFailed:
            self.failed_reads += 1
            if self.failed_reads == STALE_AFTER_FAILURES:
                # The base class tells listeners only about the first failure in a row.
                self.async_update_listeners()
            raise
        self.failed_reads = 0
        self.last_success_at = dt_util.utcnow()
        return data

    async def _async_read(self) -> GatewayData:
        renewed = False
        if self.requires_token and self.gateway.token_needs_renewal(dt_util.utcnow()):
            renewed = await self._async_renew_token()
        try:
            data = await self._async_fetch()
        except GatewayAuthError as err:
            if not self.requires_token:
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="gateway_auth_failed",
                    translation_placeholders={"serial": self.serial},
                ) from err
            if renewed or not await self._async_renew_token():
                raise self._token_failure(err) from err
            try:
                data = await self._async_fetch()
            except GatewayAuthError as retry_err:
                raise self._token_failure(retry_err) from retry_err
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        if data.firmware and data.firmware != self.config.firmware:
            # A firmware update may change how the gateway authenticates: remember it.
            self._store_config(replace(self.config, firmware=data.firmware))
        self._resolve_waiters(data)
        return data

    def parts_fresh(self, names: Iterable[str] = ()) -> bool:
        """Whether the last good read is recent enough to be shown (``names``: unused).

        The gateway has one part, its read: a failed poll or two keep the values;
        after STALE_AFTER_FAILURES failures in a row, or that many intervals without
        a good read, they go.
        """
        if self.data is None or self.last_success_at is None:
            return False
        if self.failed_reads >= STALE_AFTER_FAILURES:
            return False
        limit = GATEWAY_INTERVAL * STALE_AFTER_FAILURES + GATEWAY_INTERVAL / 2
        return dt_util.utcnow() - self.last_success_at <= limit

    @property
    def data_fresh(self) -> bool:
        """Whether entities may show the gateway's data."""
        return self.parts_fresh()

    async def _async_fetch(self) -> GatewayData:
        """One read of the gateway; auth errors pass through, others become UpdateFailed."""
        try:
            return await self.gateway.update()
        except GatewayAuthError:
            raise
        except GatewayError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gateway_unavailable",
                translation_placeholders={"serial": self.serial, "error": str(err)},
            ) from err

    def _token_failure(self, err: GatewayAuthError) -> UpdateFailed:
        """Raise the repair issue and build the refresh error for a refused token."""
        _LOGGER.debug("IQ Gateway %s refused the token: %s", self.serial, err)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_TOKEN_EXPIRED,
            translation_placeholders={
                "site_name": self.config_entry.title,
                "serial": self.serial,
            },
        )
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="gateway_token_expired",
            translation_placeholders={"serial": self.serial},
        )

    # -- token ----------------------------------------------------------------------------

    async def _async_renew_token(self) -> bool:
        """Get a new token through the Enlighten session; True when it worked."""
        now = dt_util.utcnow()
        if self._renewal_failed_at is not None and now - self._renewal_failed_at < RENEWAL_RETRY:
            return False
        try:
            await self.client.ensure_session()
            session_id = self.client.session_id
            if not session_id:
                raise GatewayAuthError("No Enlighten session to request a token with")
            token = await request_gateway_token(
                async_get_clientsession(self.hass),
                session_id,
                self.serial,
                self.config_entry.data[CONF_EMAIL],
                token_url=self.config.token_url,
            )
        except (EnlightenError, GatewayError) as err:
            self._renewal_failed_at = now
            _LOGGER.warning("Could not renew the token of IQ Gateway %s: %s", self.serial, err)
            return False
        self._renewal_failed_at = None
        async_persist_session(self.hass, self.config_entry, self.client)
        self._store_config(replace(self.config, token=token))
        self.gateway = self._new_gateway_client(token)
        _LOGGER.debug("Renewed the token of IQ Gateway %s", self.serial)
        return True

    @callback
    def _store_config(self, config: GatewayConfig) -> None:
        """Keep changed settings (a new token, the firmware) in the entry for restarts."""
        self.config = config
        entry = self.config_entry
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_GATEWAY: self.config.as_data()}
        )

    # -- read-back of cloud battery writes ------------------------------------------------

    def battery_reserve_matches(self, reserve: int) -> bool | None:
        """Whether the last gateway read shows ``reserve`` (%); None when it cannot tell."""
        return reserve_matches(self.data, reserve)

    async def async_confirm_battery(
        self, *, reserve: int, wait: timedelta | None = None
    ) -> bool | None:
        """Confirm a battery reserve written through the cloud by reading the gateway back.

        Requests a refresh and compares. With ``wait`` it keeps comparing on the following
        refreshes (every 60 s) until the gateway shows the value, then returns True, or
        returns False when it still differs after ``wait``. None means the gateway has no
        reserve to compare with (the cloud read-back stays the judge). Callers that wait
        should do so in a background task. Nothing is ever written to the gateway.
        """
        future: asyncio.Future[bool] = self.hass.loop.create_future()
        waiter = (reserve, future)
        self._reserve_waiters.append(waiter)
        unsub: CALLBACK_TYPE | None = None

        @callback
        def _give_up(_now: datetime) -> None:
            if not future.done():
                future.set_result(False)

        try:
            await self.async_request_refresh()
            matches = self.battery_reserve_matches(reserve)
            if matches is None or matches or wait is None:
                return matches
            unsub = async_call_later(self.hass, wait, _give_up)
            return await future
        finally:
            if unsub is not None:
                unsub()
            self._reserve_waiters.remove(waiter)

    def _resolve_waiters(self, data: GatewayData) -> None:
        for reserve, future in self._reserve_waiters:
            if not future.done() and reserve_matches(data, reserve):
                future.set_result(True)


@callback
def async_remove_gateway_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the token repair issue of a removed entry."""
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_TOKEN_EXPIRED}_{entry_id}")
