"""A thin, typed adapter over pyenphase's ``Envoy`` for the local IQ Gateway.

Authentication follows the gateway firmware:

* below 7: HTTP digest with the local ``envoy`` user, whose default password is the last six
  digits of the gateway serial; the adapter checks the credentials on a protected endpoint.
* 7 and newer: HTTPS with a JWT (``Authorization: Bearer``). The token is either given, or
  fetched from the Enlighten account (email/password) through :func:`fetch_gateway_token` with
  our own URLs, so pyenphase itself never talks to the cloud. An expired or rejected token is
  renewed once, silently, when account credentials are known.

pyenphase builds every URL as ``http(s)://{host}{path}``, so ``host`` may carry a port
(``"192.0.2.10:8443"``); IPv6 literals are bracketed here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pyenphase import Envoy
from pyenphase.exceptions import (
    EnvoyAuthenticationError,
    EnvoyAuthenticationRequired,
    EnvoyClientClosedError,
    EnvoyCommunicationError,
    EnvoyError,
    EnvoyFirmwareCheckError,
    EnvoyFirmwareFatalCheckError,
    EnvoyHTTPStatusError,
    EnvoyPoorDataQuality,
    EnvoyProbeFailed,
)

from .errors import GatewayAuthError, GatewayError, GatewaySerialMismatch, GatewayUnavailable
from .models import DeviceStatus, GatewayData, RelayStatus, build_gateway_data, parse_inventory
from .token import (
    DEFAULT_LOGIN_URL,
    DEFAULT_RENEWAL_MARGIN,
    DEFAULT_TOKEN_URL,
    fetch_gateway_token,
    token_expires_at,
    token_needs_renewal,
)
from .zeroconf import firmware_requires_token

DEFAULT_LOCAL_USERNAME = "envoy"
DEFAULT_TIMEOUT = 45.0
INVENTORY_PATH = "/inventory.json"
LEGACY_AUTH_CHECK_PATH = "/api/v1/production/inverters"


def url_host(host: str) -> str:
    """Host as it must appear in a URL (IPv6 literals get brackets)."""
    host = host.strip()
    if host.count(":") > 1 and not host.startswith("["):
        return f"[{host}]"
    return host


def _retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def _describe(err: BaseException) -> str:
    return str(err) or str(getattr(err, "status", "") or "") or type(err).__name__


@contextmanager
def translate_errors() -> Iterator[None]:
    """Map pyenphase / aiohttp exceptions to the gateway error set."""
    try:
        yield
    except (EnvoyAuthenticationError, EnvoyAuthenticationRequired) as err:
        raise GatewayAuthError(_describe(err)) from err
    except EnvoyFirmwareFatalCheckError as err:
        raise GatewayUnavailable(f"Gateway unreachable: {err.status}") from err
    except EnvoyFirmwareCheckError as err:
        cls = GatewayUnavailable if _retryable_status(err.status_code) else GatewayError
        raise cls(f"Gateway /info failed: HTTP {err.status_code}", status=err.status_code) from err
    except EnvoyHTTPStatusError as err:
        cls = GatewayUnavailable if _retryable_status(err.status_code) else GatewayError
        raise cls(_describe(err), status=err.status_code) from err
    except (EnvoyCommunicationError, EnvoyPoorDataQuality, EnvoyProbeFailed) as err:
        raise GatewayUnavailable(_describe(err)) from err
    except EnvoyClientClosedError as err:
        raise GatewayError("The HTTP session is closed") from err
    except EnvoyError as err:
        raise GatewayError(_describe(err)) from err
    except (aiohttp.ClientError, TimeoutError) as err:
        raise GatewayUnavailable(f"Gateway unreachable: {err!r}") from err


class GatewayClient:
    """Read production, consumption, inverters, relays and batteries from one IQ Gateway."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        serial: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        cloud_session: aiohttp.ClientSession | None = None,
        login_url: str = DEFAULT_LOGIN_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        retry_wait: float = 2.0,
    ) -> None:
        """Create the client; nothing is sent before :meth:`setup`.

        ``session`` must not verify TLS certificates (gateways use self-signed ones).
        ``username``/``password`` are the local gateway user below firmware 7 (default user
        ``envoy``, password from the serial) and the Enlighten account from firmware 7 on.
        ``cloud_session`` (default ``session``) is used for the Enlighten token requests.
        """
        self._session = session
        self._cloud_session = cloud_session or session
        self._host = host
        self._expected_serial = serial
        self._username = username
        self._password = password
        self._token = token
        self._login_url = login_url
        self._token_url = token_url
        self._timeout = request_timeout
        self._max_attempts = max(1, max_attempts)
        self._retry_wait = retry_wait
        self._envoy: Envoy | None = None
        self._authenticated = False
        self._inventory_supported: bool | None = None
        self._devices: dict[str, DeviceStatus] = {}
        self._relays: dict[str, RelayStatus] = {}
        self._data: GatewayData | None = None

    # -- properties -----------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The configured host (optionally ``host:port``)."""
        return self._host

    @property
    def serial(self) -> str | None:
        """Serial read from the gateway, else the configured one."""
        if self._envoy is not None and self._envoy.serial_number:
            return self._envoy.serial_number
        return self._expected_serial

    @property
    def firmware(self) -> str | None:
        """Firmware version without its release prefix (``7.6.175``), once set up."""
        if self._envoy is None or self._envoy.firmware is None:
            return None
        return str(self._envoy.firmware)

    @property
    def part_number(self) -> str | None:
        """Gateway part number, once set up."""
        return None if self._envoy is None else self._envoy.part_number

    @property
    def requires_token(self) -> bool | None:
        """True for firmware 7+ (JWT), False below (digest), None before setup."""
        return firmware_requires_token(self.firmware)

    @property
    def token(self) -> str | None:
        """The gateway token in use (persist it when it changes)."""
        return self._token

    @property
    def token_expires_at(self) -> datetime | None:
        """Expiry of the current token (aware UTC) or None."""
        return token_expires_at(self._token)

    @property
    def can_renew_token(self) -> bool:
        """Whether Enlighten credentials are known to fetch a new token."""
        return bool(self._username and self._password)

    @property
    def data(self) -> GatewayData | None:
        """The last successful poll."""
        return self._data

    def token_needs_renewal(
        self, now: datetime | None = None, margin: timedelta = DEFAULT_RENEWAL_MARGIN
    ) -> bool:
        """True when the gateway needs a token and ours is missing or close to expiry."""
        if self.requires_token is False:
            return False
        return token_needs_renewal(self._token, now or datetime.now(UTC), margin)

    # -- lifecycle ------------------------------------------------------------------------

    async def setup(self) -> None:
        """Read ``/info`` (no authentication): serial, firmware, part number."""
        envoy = Envoy(
            url_host(self._host),
            client=self._session,
            timeout=aiohttp.ClientTimeout(total=self._timeout, connect=min(10.0, self._timeout)),
            v2_acb_mode=False,
        )
        envoy.set_retry_policy(
            max_attempts=self._max_attempts,
            max_delay=max(1, int(self._timeout * self._max_attempts)),
            wait_multiplier=self._retry_wait,
        )
        with translate_errors():
            async with asyncio.timeout(self._timeout):
                await envoy.setup()
        actual = envoy.serial_number
        if self._expected_serial and actual and actual != self._expected_serial:
            raise GatewaySerialMismatch(self._expected_serial, actual)
        self._envoy = envoy
        self._authenticated = False
        self._inventory_supported = None
        self._devices, self._relays = {}, {}

    async def authenticate(self) -> None:
        """Authenticate for the firmware in use (runs :meth:`setup` first if needed)."""
        if self._envoy is None:
            await self.setup()
        if self.requires_token:
            await self._authenticate_token()
        else:
            await self._authenticate_legacy()
        self._authenticated = True

    async def renew_token(self) -> str:
        """Fetch a fresh token from Enlighten and start using it; returns the token."""
        token = await self._fetch_token()
        self._token = token
        if self._envoy is not None and self.requires_token:
            self._authenticated = False
            await self._envoy_authenticate(token=token)
            self._authenticated = True
        return token

    async def update(self) -> GatewayData:
        """Poll the gateway. Re-authenticates once when the gateway rejects us."""
        if not self._authenticated:
            await self.authenticate()
        try:
            data = await self._poll()
        except GatewayAuthError:
            # Token expired or revoked, or new firmware changed the auth scheme: start over.
            self._authenticated = False
            await self.setup()
            await self.authenticate()
            data = await self._poll()
        self._data = data
        return data

    # -- internals ------------------------------------------------------------------------

    def _require_envoy(self) -> Envoy:
        if self._envoy is None:  # pragma: no cover - guarded by callers
            raise GatewayError("setup() has not run")
        return self._envoy

    async def _envoy_authenticate(self, **kwargs: str | None) -> None:
        envoy = self._require_envoy()
        with translate_errors():
            # pyenphase retries the JWT check forever on connection errors: bound it.
            async with asyncio.timeout(self._timeout):
                await envoy.authenticate(**kwargs)

    async def _fetch_token(self) -> str:
        if not self._username or not self._password:
            raise GatewayAuthError("A gateway token is needed and no Enlighten account is set")
        serial = self.serial
        if not serial:
            raise GatewayError("The gateway serial number is unknown")
        return await fetch_gateway_token(
            self._cloud_session,
            self._username,
            self._password,
            serial,
            login_url=self._login_url,
            token_url=self._token_url,
            request_timeout=self._timeout,
        )

    async def _authenticate_token(self) -> None:
        fetched = False
        if token_needs_renewal(self._token, datetime.now(UTC), timedelta(0)):
            if not self.can_renew_token:
                raise GatewayAuthError("The gateway token is missing or expired")
            self._token = await self._fetch_token()
            fetched = True
        try:
            await self._envoy_authenticate(token=self._token)
        except GatewayAuthError:
            if fetched or not self.can_renew_token:
                raise
            self._token = await self._fetch_token()
            await self._envoy_authenticate(token=self._token)

    async def _authenticate_legacy(self) -> None:
        await self._envoy_authenticate(
            username=self._username or DEFAULT_LOCAL_USERNAME, password=self._password
        )
        # Digest credentials are only checked on use: try a protected endpoint now, so a
        # wrong password is reported instead of silently losing the inverter data.
        envoy = self._require_envoy()
        with translate_errors():
            response = await envoy.request(LEGACY_AUTH_CHECK_PATH)
            response.release()

    async def _poll(self) -> GatewayData:
        envoy = self._require_envoy()
        with translate_errors():
            raw = await envoy.update()
        devices, relays = await self._poll_inventory(envoy)
        return build_gateway_data(
            serial=envoy.serial_number or self._expected_serial or "",
            firmware=self.firmware or "",
            part_number=envoy.part_number,
            data=raw,
            devices=devices,
            relays=relays,
        )

    async def _poll_inventory(
        self, envoy: Envoy
    ) -> tuple[Mapping[str, DeviceStatus], Mapping[str, RelayStatus]]:
        """Devices and relays; an inventory the gateway lacks or refuses is skipped for good,
        a transient failure keeps the last known inventory."""
        if self._inventory_supported is False:
            return self._devices, self._relays
        try:
            with translate_errors():
                response = await envoy.request(INVENTORY_PATH)
                async with response:
                    status = response.status
                    body = await response.read()
        except GatewayAuthError:
            self._inventory_supported = False
            return self._devices, self._relays
        except GatewayUnavailable:
            return self._devices, self._relays
        if status in (404, 405):
            self._inventory_supported = False
            return self._devices, self._relays
        if status != 200:
            return self._devices, self._relays
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return self._devices, self._relays
        self._devices, self._relays = parse_inventory(payload)
        self._inventory_supported = True
        return self._devices, self._relays
