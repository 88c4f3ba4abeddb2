"""The Enlighten cloud client: one ``request()`` with headers, limits and error mapping."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from ._base import BATTERY_UI_ORIGIN, DEFAULT_BASE_URL
from .auth import BP_XSRF_COOKIE, XSRF_COOKIE, AuthMixin, SessionState
from .battery import BatteryMixin
from .errors import (
    AuthError,
    CommandRejected,
    EnlightenError,
    ForbiddenError,
    GatewayNotReporting,
    InvalidResponse,
    LiveStreamNotSupported,
    MethodNotAllowedError,
    NotFoundError,
    RateLimited,
    UnavailableError,
    UnsupportedEnvoy,
)
from .ev import EvMixin
from .grid import GridMixin
from .inverters import InvertersMixin
from .site import SiteMixin

_LOGGER = logging.getLogger(__name__)

ACCEPT_JSON = "application/json, text/javascript, */*; q=0.01"
FORM_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"
JSON_TYPE = "application/json"

# Endpoint families (by path prefix); used for headers and for logging.
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("/service/evse_scheduler/", "scheduler"),
    ("/service/enho_historical_events_ms/", "history"),
    ("/service/evse_controller/", "evse"),
    ("/service/batteryConfig/", "battery_config"),
    ("/service/events-platform-service/", "events"),
    ("/service/", "service"),
    ("/app-api/", "app_api"),
    ("/pv/", "pv"),
    ("/systems/", "systems"),
    ("/login/", "login"),
)
_BEARER_FAMILIES = frozenset({"scheduler", "history", "evse"})
_CSRF_FORM_FAMILIES = frozenset({"app_api", "pv"})


_SIMPLE_ERRORS: dict[int, tuple[type[EnlightenError], str]] = {
    404: (NotFoundError, "Not found"),
    405: (MethodNotAllowedError, "Method not allowed"),
    466: (UnsupportedEnvoy, "Gateway offline or firmware too old"),
    472: (LiveStreamNotSupported, "Live stream not supported"),
    473: (GatewayNotReporting, "Gateway not reporting"),
}


def family_of(path: str) -> str:
    """The endpoint family of ``path``."""
    return next((name for prefix, name in _FAMILIES if path.startswith(prefix)), "other")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Read a Retry-After header given in seconds or as an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except TypeError, ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _error_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if isinstance(payload, dict):
        for key in ("message", "error_description", "details", "error", "status"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return ""


def _is_html(body: bytes, content_type: str) -> bool:
    return content_type.lower().startswith("text/html") or body.lstrip()[:1] == b"<"


class _AuthLost(Exception):
    """The cloud answered with a login page or 401."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _SessionChanged(Exception):
    """A sign-in started or ended while the request waited for its slot."""


class _CsrfRotated(Exception):
    """A write was refused because its XSRF token had just been rotated."""

    def __init__(self, error: ForbiddenError) -> None:
        super().__init__(error)
        self.error = error


class EnlightenClient(AuthMixin, SiteMixin, EvMixin, GridMixin, InvertersMixin, BatteryMixin):
    """Async client of the Enlighten cloud API (one instance per account).

    ``session`` is a caller-owned aiohttp session; the client keeps its own
    cookie jar, so a session with ``aiohttp.DummyCookieJar`` is the right fit.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        email: str,
        password: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 30.0,
        max_concurrency: int = 2,
    ) -> None:
        """Create the client; nothing is sent until the first call."""
        self._session = session
        self._email = email
        self._password = password
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._max_concurrency = max(1, max_concurrency)
        self._semaphore = asyncio.Semaphore(self._max_concurrency)
        self._write_lock = asyncio.Lock()
        self._auth_lock = asyncio.Lock()
        self._state = SessionState()
        self._clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._ev_variants: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        """The cloud base URL."""
        return self._base_url

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        control: bool = False,
        allow_empty: bool = False,
        authenticated: bool = True,
    ) -> Any:
        """Send a request and return the decoded JSON body.

        Authenticated requests renew an expiring session first; when the cloud
        reports the session lost (401 or a login page) the client logs in again
        once and retries once, then raises AuthError.  A write refused because
        its XSRF token was rotated meanwhile is retried once.  ``control`` marks
        commands (400/409/422 become CommandRejected); ``allow_empty`` accepts an
        empty 2xx body (returns None).
        """
        relogged = csrf_retried = False
        while True:
            stale_session: str | None = None
            if authenticated:
                await self.ensure_session()
                stale_session = self._state.session_id
            try:
                return await self._request_once(
                    method,
                    path,
                    params=params,
                    json_body=json_body,
                    form=form,
                    extra_headers=headers,
                    control=control,
                    allow_empty=allow_empty,
                    authenticated=authenticated,
                    session_id=stale_session,
                )
            except _SessionChanged:
                # Not the cloud's refusal: wait for the sign-in, then send as it left us.
                continue
            except _AuthLost as lost:
                if not authenticated:
                    raise AuthError("Not authorized", status=lost.status) from None
                if relogged:
                    raise AuthError("Authentication lost", status=lost.status) from None
                relogged = True
                await self._recover_session(stale_session)
            except _CsrfRotated as rotated:
                if csrf_retried:
                    raise rotated.error from None
                csrf_retried = True

    @asynccontextmanager
    async def _slot(self, *, exclusive: bool) -> AsyncIterator[None]:
        """Take one concurrency slot, or all of them for an exclusive request."""
        if not exclusive:
            async with self._semaphore:
                yield
            return
        async with self._write_lock:
            taken = 0
            try:
                for _ in range(self._max_concurrency):
                    await self._semaphore.acquire()
                    taken += 1
                yield
            finally:
                for _ in range(taken):
                    self._semaphore.release()

    def _headers(
        self, family: str, method: str, *, form: bool, json_body: bool, authenticated: bool
    ) -> tuple[dict[str, str], tuple[str, str | None] | None]:
        """Build the headers; also returns the (cookie name, value) of a CSRF token sent."""
        state = self._state
        headers = {
            "Accept": JSON_TYPE if family == "events" else ACCEPT_JSON,
            "X-Requested-With": "XMLHttpRequest",
            "Referer": f"{self._base_url}/",
        }
        if cookie := state.cookie_header():
            headers["Cookie"] = cookie
        if form:
            headers["Content-Type"] = FORM_TYPE
            headers["Origin"] = self._base_url
        elif json_body or family == "events":
            headers["Content-Type"] = JSON_TYPE
        csrf: tuple[str, str | None] | None = None
        if form and (family in _CSRF_FORM_FAMILIES or not authenticated):
            csrf = (XSRF_COOKIE, state.cookies.get(XSRF_COOKIE))
            if csrf[1] is not None:
                headers["X-CSRF-Token"] = csrf[1]
        if not authenticated:
            return headers, csrf
        if state.session_id:
            headers["e-auth-token"] = state.session_id
        if family in _BEARER_FAMILIES and state.manager_token:
            headers["Authorization"] = f"Bearer {state.manager_token}"
        if family == "history":
            headers["requestid"] = str(uuid.uuid4())
            if state.user_id:
                headers["username"] = state.user_id
        if family == "battery_config":
            if state.user_id:
                headers["Username"] = state.user_id
            headers["Origin"] = BATTERY_UI_ORIGIN
            headers["Referer"] = f"{BATTERY_UI_ORIGIN}/"
            if method != "GET":
                csrf = (BP_XSRF_COOKIE, state.cookies.get(BP_XSRF_COOKIE))
                if csrf[1] is not None:
                    headers["X-XSRF-Token"] = csrf[1]
        return headers, csrf

    async def _request_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        extra_headers: Mapping[str, str] | None,
        control: bool,
        allow_empty: bool,
        authenticated: bool,
        session_id: str | None = None,
    ) -> Any:
        family = family_of(path)
        data: str | None = None
        if form is not None:
            data = urlencode(form)
        elif json_body is not None:
            data = json.dumps(json_body)
        # A write carrying an XSRF token runs alone, so that no response in flight
        # can rotate the token between reading it from the jar and its use.
        exclusive = authenticated and (
            (form is not None and family in _CSRF_FORM_FAMILIES)
            or (family == "battery_config" and method != "GET")
        )
        started = time.monotonic()
        try:
            async with self._slot(exclusive=exclusive):
                if authenticated and self._state.session_id != session_id:
                    # A sign-in ran (or runs) since this request checked the session:
                    # sending now would go out with no or an old session.
                    raise _SessionChanged
                headers, csrf = self._headers(
                    family,
                    method,
                    form=form is not None,
                    json_body=json_body is not None,
                    authenticated=authenticated,
                )
                if extra_headers:
                    headers.update(extra_headers)
                async with self._session.request(
                    method,
                    self._base_url + path,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as resp:
                    body = await resp.read()
                    status = resp.status
                    content_type = resp.headers.get("Content-Type", "")
                    set_cookies = resp.headers.getall("Set-Cookie", [])
                    retry_after = resp.headers.get("Retry-After")
                    self._state.update_cookies(set_cookies, self._clock())
        except TimeoutError as err:
            _LOGGER.debug("%s %s: timed out", method, family)
            raise UnavailableError("Request timed out") from err
        except aiohttp.ClientError as err:
            _LOGGER.debug("%s %s: %s", method, family, type(err).__name__)
            raise UnavailableError(f"Connection error ({type(err).__name__})") from err
        _LOGGER.debug("%s %s -> %s (%.2f s)", method, family, status, time.monotonic() - started)
        return self._decode(
            status,
            body,
            content_type,
            retry_after=retry_after,
            csrf=csrf,
            control=control,
            allow_empty=allow_empty,
            authenticated=authenticated,
        )

    def _decode(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        retry_after: str | None,
        csrf: tuple[str, str | None] | None,
        control: bool,
        allow_empty: bool,
        authenticated: bool,
    ) -> Any:
        if 200 <= status < 300:
            if not body.strip():
                if allow_empty:
                    return None
                raise InvalidResponse("Empty response", status=status)
            if _is_html(body, content_type):
                if authenticated:
                    raise _AuthLost(status)
                raise InvalidResponse("HTML instead of JSON", status=status)
            try:
                return json.loads(body)
            except ValueError as err:
                raise InvalidResponse("Malformed JSON", status=status) from err
        if status == 401 or (300 <= status < 400 and authenticated):
            raise _AuthLost(status)
        if 300 <= status < 400:
            raise InvalidResponse("Unexpected redirect", status=status)
        raise self._status_error(status, body, retry_after, csrf, control=control)

    def _status_error(
        self,
        status: int,
        body: bytes,
        retry_after: str | None,
        csrf: tuple[str, str | None] | None,
        *,
        control: bool,
    ) -> Exception:
        message = _error_message(body)
        if status == 403:
            error = ForbiddenError(message or "Forbidden", status=status)
            if csrf is not None and csrf[1] != self._state.cookies.get(csrf[0]):
                return _CsrfRotated(error)
            return error
        if status == 468:
            return ForbiddenError(message or "Site not mapped to this account", status=status)
        if status in _SIMPLE_ERRORS:
            error_cls, default = _SIMPLE_ERRORS[status]
            return error_cls(message or default, status=status)
        if status == 429:
            return RateLimited(parse_retry_after(retry_after, self._clock()), message)
        if status in (400, 409, 422) and control:
            return CommandRejected(status, message)
        if status >= 500:
            return UnavailableError(message or "Cloud service unavailable", status=status)
        return EnlightenError(message or "Unexpected answer", status=status)
