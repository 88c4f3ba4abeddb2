"""Login, MFA and session upkeep (spec sections 6.1-6.3).

The client keeps its own cookie jar (a plain dict) fed from ``Set-Cookie`` and
sends it in a ``Cookie`` header, so it works with a session that has no jar.
The manager token is a JWT whose ``exp`` is read without checking the
signature; the session is renewed by logging in again shortly before it expires.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeIs

import jwt

from ._base import ApiBase
from ._parse import as_bool, as_str
from .errors import (
    AccountBlocked,
    AuthError,
    EnlightenError,
    InvalidCredentials,
    InvalidOtp,
    InvalidResponse,
    MfaRequired,
    OtpBlocked,
    OtpExpired,
)

_LOGGER = logging.getLogger(__name__)

LOGIN_PATH = "/login/login.json"
VALIDATE_OTP_PATH = "/app-api/validate_login_otp"
RESEND_OTP_PATH = "/app-api/generate_mfa_login_otp"
TOKEN_COOKIE = "enlighten_manager_token_production"
XSRF_COOKIE = "XSRF-TOKEN"
BP_XSRF_COOKIE = "BP-XSRF-Token"
# Renew the session when the token expires within this margin.
RENEW_MARGIN = timedelta(minutes=5)


def parse_set_cookie(header: str, now: datetime) -> tuple[str, str | None] | None:
    """Parse one Set-Cookie header into ``(name, value)``; value None = delete."""
    pairs = header.split(";")
    name, sep, value = pairs[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    for attribute in pairs[1:]:
        key, _, arg = attribute.partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                if int(arg.strip()) <= 0:
                    return name, None
            except ValueError:
                continue
        elif key == "expires":
            try:
                expires = parsedate_to_datetime(arg.strip())
            except TypeError, ValueError:
                continue
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if expires <= now:
                return name, None
    return name, value


def token_claims(token: str) -> dict[str, Any]:
    """Decode the JWT claims without verifying the signature ({} when undecodable)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


class SessionState:
    """Cookies and tokens of one Enlighten login."""

    cookies: dict[str, str]
    session_id: str | None
    manager_token: str | None
    user_id: str | None
    expires_at: datetime | None
    mfa_pending: bool

    def __init__(self) -> None:
        """Start empty (logged out)."""
        self.clear()

    def clear(self) -> None:
        """Forget everything."""
        self.cookies = {}
        self.session_id = None
        self.manager_token = None
        self.user_id = None
        self.expires_at = None
        self.mfa_pending = False

    def update_cookies(self, headers: Iterable[str], now: datetime) -> None:
        """Apply Set-Cookie headers to the jar."""
        for header in headers:
            parsed = parse_set_cookie(header, now)
            if parsed is None:
                continue
            name, value = parsed
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def cookie_header(self) -> str | None:
        """The ``Cookie`` header value for the current jar."""
        if not self.cookies:
            return None
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def set_tokens(
        self, session_id: str, manager_token: str | None, received_at: datetime | None = None
    ) -> None:
        """Store the session id and the manager token, reading its claims.

        With ``received_at`` (a fresh login) the expiry is the token lifetime
        (``exp - iat``) counted from the local clock, so a skewed clock does not
        make a new token look expired; otherwise it is ``exp`` itself.
        """
        self.session_id = session_id
        self.manager_token = manager_token
        self.expires_at = None
        self.mfa_pending = False
        claims = token_claims(manager_token) if manager_token else {}
        user_id = as_str(claims.get("user_id"))
        if user_id is not None:
            self.user_id = user_id
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_number(exp):
            return
        try:
            if received_at is not None and _is_number(iat) and exp > iat:
                self.expires_at = received_at + timedelta(seconds=exp - iat)
            else:
                self.expires_at = datetime.fromtimestamp(exp, UTC)
        except OverflowError, OSError, ValueError:
            self.expires_at = None


def _is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class AuthMixin(ApiBase):
    """Login, MFA, silent renewal and session export/import."""

    _email: str
    _password: str | None
    _state: SessionState
    _auth_lock: asyncio.Lock
    _clock: Callable[[], datetime]

    # -- public state ---------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        """The Enlighten user id (a string), once logged in."""
        return self._state.user_id

    @property
    def session_id(self) -> str | None:
        """The session id sent as ``e-auth-token``."""
        return self._state.session_id

    @property
    def token_expires_at(self) -> datetime | None:
        """When the manager token expires (None when unknown)."""
        return self._state.expires_at

    @property
    def is_authenticated(self) -> bool:
        """Whether a session exists and its token has not expired."""
        if self._state.session_id is None:
            return False
        expires = self._state.expires_at
        return expires is None or expires > self._clock()

    def export_session(self) -> dict[str, Any]:
        """The session as a JSON-able dict, to resume later without a login."""
        return {
            "cookies": dict(self._state.cookies),
            "session_id": self._state.session_id,
            "manager_token": self._state.manager_token,
            "user_id": self._state.user_id,
        }

    def import_session(self, data: Mapping[str, Any]) -> None:
        """Resume a session from :meth:`export_session` output."""
        cookies = data.get("cookies")
        session_id = as_str(data.get("session_id"))
        token = as_str(data.get("manager_token"))
        self._state.clear()
        if isinstance(cookies, Mapping):
            self._state.cookies = {
                str(k): str(v) for k, v in cookies.items() if isinstance(v, str | int)
            }
        self._state.user_id = as_str(data.get("user_id"))
        if session_id is not None:
            self._state.set_tokens(session_id, token)

    # -- login flow -------------------------------------------------------------------

    async def login(self) -> None:
        """Log in with e-mail and password.

        Raises MfaRequired when a one-time code was e-mailed (then call
        :meth:`validate_otp`), InvalidCredentials or AccountBlocked.
        """
        async with self._auth_lock:
            await self._login()

    async def validate_otp(self, otp: str) -> None:
        """Finish an MFA login with the e-mailed code."""
        async with self._auth_lock:
            if not self._state.mfa_pending:
                raise OtpExpired("No login is waiting for a code; log in again")
            code = otp.strip()
            if not code:
                raise InvalidOtp("Empty code")
            form = {
                "email": _b64(self._email),
                "otp": _b64(code),
                "xhrFields[withCredentials]": "true",
            }
            try:
                root = await self._auth_call(VALIDATE_OTP_PATH, form)
            except AuthError as err:
                self._state.mfa_pending = False
                raise OtpExpired("The code expired; log in again", status=err.status) from err
            if self._accept_tokens(root):
                _LOGGER.debug("MFA login completed")
                return
            if as_bool(root.get("isBlocked")):
                self._state.mfa_pending = False
                raise OtpBlocked("Too many wrong codes")
            raise InvalidOtp("Wrong code")

    async def resend_otp(self) -> None:
        """Ask Enlighten to e-mail a new one-time code."""
        async with self._auth_lock:
            if not self._state.mfa_pending:
                raise OtpExpired("No login is waiting for a code; log in again")
            try:
                root = await self._auth_call(RESEND_OTP_PATH, {"locale": "en"})
            except AuthError as err:
                self._state.mfa_pending = False
                raise OtpExpired("The login expired; log in again", status=err.status) from err
            if as_bool(root.get("isBlocked")):
                self._state.mfa_pending = False
                raise OtpBlocked("The login is blocked")
            if as_bool(root.get("success")) is not True:
                raise EnlightenError("The code could not be sent")

    async def ensure_session(self) -> None:
        """Log in again (once, for all concurrent callers) when the token is expiring."""
        if self._session_fresh():
            return
        async with self._auth_lock:
            if self._session_fresh():
                return
            if self._password is None:
                if self.is_authenticated:
                    return
                raise AuthError("The session expired and no password is stored")
            _LOGGER.debug("Session missing or expiring; logging in again")
            await self._silent_login()

    # -- internals --------------------------------------------------------------------

    def _session_fresh(self) -> bool:
        if self._state.session_id is None:
            return False
        expires = self._state.expires_at
        return expires is None or expires - RENEW_MARGIN > self._clock()

    async def _recover_session(self, stale_session_id: str | None) -> None:
        """Log in again after the cloud reported the session lost."""
        async with self._auth_lock:
            current = self._state.session_id
            if current is not None and current != stale_session_id:
                return  # another caller already logged in again
            if self._password is None:
                self._state.session_id = None
                raise AuthError("The session was lost and no password is stored")
            _LOGGER.debug("Session lost; logging in again")
            await self._silent_login()

    async def _silent_login(self) -> None:
        try:
            await self._login()
        except MfaRequired as err:
            raise AuthError("A one-time code is needed to log in again") from err

    async def _login(self) -> None:
        if not self._password:
            raise InvalidCredentials("No password")
        self._state.clear()
        form = {"user[email]": self._email, "user[password]": self._password}
        try:
            root = await self._auth_call(LOGIN_PATH, form)
        except AuthError as err:
            raise InvalidCredentials("Login refused", status=err.status) from err
        if self._accept_tokens(root):
            _LOGGER.debug("Login succeeded")
            return
        if as_bool(root.get("isBlocked")):
            raise AccountBlocked("The account is blocked")
        if as_bool(root.get("success")) is True:
            self._state.mfa_pending = True
            _LOGGER.debug("Login needs a one-time code")
            raise MfaRequired("A one-time code was sent by e-mail")
        message = root.get("message")
        refused = isinstance(message, str) and message.strip().lower() != "success"
        if as_bool(root.get("success")) is False or refused:
            raise InvalidCredentials("Wrong e-mail or password")
        # Neither a session nor a refusal: a garbled answer is no reason to ask for
        # the password again.
        raise InvalidResponse("Unexpected login answer")

    async def _auth_call(self, path: str, form: Mapping[str, str]) -> dict[str, Any]:
        payload = await self.request("POST", path, form=form, authenticated=False)
        if not isinstance(payload, dict):
            raise InvalidResponse("Unexpected login answer")
        return payload

    def _accept_tokens(self, root: Mapping[str, Any]) -> bool:
        session_id = as_str(root.get("session_id"))
        if session_id is None:
            return False
        token = as_str(root.get("manager_token")) or self._state.cookies.get(TOKEN_COOKIE)
        self._state.set_tokens(session_id, token, self._clock())
        return True
