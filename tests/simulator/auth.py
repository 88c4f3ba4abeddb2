"""Login, MFA, sessions, tokens and the authentication middleware of the fake cloud."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
from aiohttp import web

from .accounts import Account, find_account
from .timefmt import epoch_s
from .web_utils import SESSION_KEY, ok, read_form, sim_of

SESSION_COOKIE = "_enlighten_4_session"
XSRF_COOKIE = "XSRF-TOKEN"
BP_XSRF_COOKIE = "BP-XSRF-Token"
TOKEN_COOKIE = "enlighten_manager_token_production"
NONCE_COOKIE = "login_otp_nonce"
ROTATE_EVERY = 10
OTP_NONCE_TTL = timedelta(minutes=10)
MAX_OTP_ATTEMPTS = 5
PUBLIC_PATHS = frozenset(
    {"/login/login.json", "/app-api/validate_login_otp", "/app-api/generate_mfa_login_otp"}
)
BEARER_PREFIXES = ("/service/evse_scheduler/", "/service/enho_historical_events_ms/")
HISTORY_PREFIX = "/service/enho_historical_events_ms/"
BATTERY_PREFIX = "/service/batteryConfig/"
CSRF_FORM_PREFIXES = ("/app-api/", "/pv/settings/")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Enlighten | Sign in</title></head>
<body class="login">
  <h1>Sign in to Enlighten</h1>
  <form action="/login/login" method="post" id="new_user" class="new_user">
    <input type="hidden" name="authenticity_token" value="{token}">
    <label for="user_email">Email</label>
    <input type="email" name="user[email]" id="user_email">
    <label for="user_password">Password</label>
    <input type="password" name="user[password]" id="user_password">
    <input type="submit" name="commit" value="Sign In">
  </form>
</body>
</html>
"""


@dataclass
class Session:
    """An authenticated Enlighten web session."""

    session_id: str
    cookie: str
    account: Account
    created_at: datetime
    expires_at: datetime
    token: str
    token_exp: datetime
    xsrf: str
    bp_xsrf: str
    count: int = 0
    revoked: bool = False
    grid_verified: dict[int, datetime] = field(default_factory=dict)


@dataclass
class PendingMfa:
    """A login waiting for its one-time code."""

    cookie: str
    account: Account
    nonce: str
    nonce_at: datetime
    xsrf: str
    attempts: int = 0
    blocked: bool = False


class AuthStore:
    """Sessions and pending MFA logins, keyed by the session cookie."""

    def __init__(self) -> None:
        self.secret = secrets.token_hex(32)
        self.sessions: dict[str, Session] = {}
        self.pending: dict[str, PendingMfa] = {}
        self.session_lifetime = 86400.0
        self.token_lifetime = 3600.0

    def create_session(self, account: Account, now: datetime) -> Session:
        """A fresh authenticated session with its JWT."""
        session_id = secrets.token_hex(16)
        token_exp = now + timedelta(seconds=self.token_lifetime)
        claims: dict[str, Any] = {
            "session_id": session_id,
            "user_id": account.user_id,
            "email": account.email,
            "iat": epoch_s(now),
            "exp": epoch_s(token_exp),
        }
        session = Session(
            session_id=session_id,
            cookie=secrets.token_hex(32),
            account=account,
            created_at=now,
            expires_at=now + timedelta(seconds=self.session_lifetime),
            token=jwt.encode(claims, self.secret, algorithm="HS256"),
            token_exp=token_exp,
            xsrf=secrets.token_urlsafe(24),
            bp_xsrf=secrets.token_urlsafe(24),
        )
        self.sessions[session.cookie] = session
        return session

    def lookup(self, cookie: str | None, now: datetime) -> Session | None:
        """The live session for a cookie value, if any."""
        session = self.sessions.get(cookie or "")
        if session is None or session.revoked or now >= session.expires_at:
            return None
        return session

    def bearer_ok(self, header: str | None, session: Session, now: datetime) -> bool:
        """Whether ``Authorization: Bearer`` carries a valid, unexpired JWT of ``session``."""
        if not header or not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(
                header[7:], self.secret, algorithms=["HS256"], options={"verify_exp": False}
            )
        except jwt.InvalidTokenError:
            return False
        return claims.get("session_id") == session.session_id and int(
            claims.get("exp", 0)
        ) > epoch_s(now)

    def expire_all(self) -> None:
        """Invalidate every session and pending login."""
        for session in self.sessions.values():
            session.revoked = True
        self.pending.clear()


def set_session_cookies(response: web.StreamResponse, session: Session) -> None:
    """Set-Cookie headers of a freshly authenticated session."""
    response.set_cookie(SESSION_COOKIE, session.cookie, httponly=True)
    response.set_cookie(XSRF_COOKIE, session.xsrf)
    response.set_cookie(BP_XSRF_COOKIE, session.bp_xsrf)
    response.set_cookie(TOKEN_COOKIE, session.token)


def _success_payload(session: Session) -> dict[str, Any]:
    return {
        "message": "success",
        "session_id": session.session_id,
        "manager_token": session.token,
        "is_consumer": True,
        "system_id": str(session.account.site_ids[0]) if session.account.site_ids else "",
        "redirect_url": "",
    }


async def handle_login(request: web.Request) -> web.Response:
    """6.1 POST /login/login.json."""
    sim = sim_of(request)
    form = await read_form(request)
    account = find_account(form.get("user[email]", ""))
    if account is None or account.password != form.get("user[password]"):
        return ok({"success": False, "isBlocked": False})
    if account.blocked:
        return ok({"success": False, "isBlocked": True})
    now = sim.now
    if account.mfa:
        pending = PendingMfa(
            cookie=secrets.token_hex(32),
            account=account,
            nonce=secrets.token_urlsafe(18),
            nonce_at=now,
            xsrf=secrets.token_urlsafe(24),
        )
        sim.auth.pending[pending.cookie] = pending
        response = ok({"success": True, "isBlocked": False})
        response.set_cookie(SESSION_COOKIE, pending.cookie, httponly=True)
        response.set_cookie(NONCE_COOKIE, pending.nonce, max_age=600)
        response.set_cookie("email", quote(account.email, safe=""))
        response.set_cookie(XSRF_COOKIE, pending.xsrf)
        return response
    session = sim.auth.create_session(account, now)
    response = ok(_success_payload(session))
    set_session_cookies(response, session)
    return response


def _pending_for(request: web.Request) -> PendingMfa | None:
    return sim_of(request).auth.pending.get(request.cookies.get(SESSION_COOKIE, ""))


def _b64(text: str) -> str | None:
    try:
        return base64.b64decode(text.encode(), validate=True).decode()
    except binascii.Error, UnicodeDecodeError:
        return None


async def handle_validate_otp(request: web.Request) -> web.Response:
    """6.2 POST /app-api/validate_login_otp."""
    sim = sim_of(request)
    pending = _pending_for(request)
    if pending is None or request.cookies.get(NONCE_COOKIE) != pending.nonce:
        return ok({"message": "Session expired, please log in again"}, status=401)
    if sim.now - pending.nonce_at > OTP_NONCE_TTL:
        return ok({"message": "OTP expired", "isValid": False, "isBlocked": False}, status=401)
    if pending.blocked:
        return ok({"isValid": False, "isBlocked": True})
    form = await read_form(request)
    email = _b64(form.get("email", ""))
    otp = _b64(form.get("otp", ""))
    if (email or "").lower() != pending.account.email or otp != sim.login_otp:
        pending.attempts += 1
        pending.blocked = pending.attempts >= MAX_OTP_ATTEMPTS
        return ok({"isValid": False, "isBlocked": pending.blocked})
    del sim.auth.pending[pending.cookie]
    session = sim.auth.create_session(pending.account, sim.now)
    response = ok(_success_payload(session) | {"isValidMobileNumber": True})
    set_session_cookies(response, session)
    return response


async def handle_resend_otp(request: web.Request) -> web.Response:
    """6.3 POST /app-api/generate_mfa_login_otp."""
    sim = sim_of(request)
    pending = _pending_for(request)
    if pending is None:
        return ok({"message": "Session expired, please log in again"}, status=401)
    if pending.blocked:
        return ok({"success": False, "isBlocked": True})
    await read_form(request)
    sim.rotate_login_otp()
    pending.nonce = secrets.token_urlsafe(18)
    pending.nonce_at = sim.now
    pending.attempts = 0
    response = ok({"success": True, "isBlocked": False})
    response.set_cookie(NONCE_COOKIE, pending.nonce, max_age=600)
    return response


def auth_lost(path: str) -> web.Response:
    """What the cloud answers when the session is gone: 401 JSON or the HTML login page."""
    if path.startswith("/service/"):
        return ok({"message": "Not Authorized"}, status=401)
    page = LOGIN_PAGE.format(token=secrets.token_urlsafe(16))
    return web.Response(text=page, content_type="text/html", charset="utf-8")


def _forbidden(message: str) -> web.Response:
    return ok({"status": "error", "message": "Forbidden", "details": message}, status=403)


def _check_request(request: web.Request, session: Session) -> web.Response | None:
    """Per-service header rules; a response when the request must be refused."""
    sim = sim_of(request)
    path = request.path
    headers = request.headers
    needs_bearer = path.startswith(BEARER_PREFIXES) or path.endswith("/ev_charger_config")
    if needs_bearer and not sim.auth.bearer_ok(headers.get("Authorization"), session, sim.now):
        return auth_lost(path)
    if path.startswith(HISTORY_PREFIX):
        request_id = headers.get("requestid", "")
        try:
            uuid.UUID(request_id)
        except ValueError:
            return ok({"message": "Not Authorized", "details": "requestid"}, status=401)
        if headers.get("username") != session.account.user_id:
            return ok({"message": "Not Authorized", "details": "username"}, status=401)
    if path.startswith(BATTERY_PREFIX):
        if headers.get("Username") != session.account.user_id:
            return ok({"message": "Not Authorized", "details": "Username"}, status=401)
        user_q = request.query.get("userId")
        if user_q is not None and user_q != session.account.user_id:
            return _forbidden("userId does not match the session user")
        if request.method in WRITE_METHODS and headers.get("X-XSRF-Token") != session.bp_xsrf:
            return _forbidden("Invalid XSRF token")
    if (
        request.method == "POST"
        and path.startswith(CSRF_FORM_PREFIXES)
        and headers.get("X-CSRF-Token") != session.xsrf
    ):
        return _forbidden("Invalid CSRF token")
    site_text = request.match_info.get("site_id")
    if site_text is not None:
        site_id = int(site_text)
        if site_id not in sim.sites:
            if path.startswith("/service/evse_controller/"):
                return ok({"status": "error", "message": "INVALID_SYSTEM_ID"}, status=468)
            return ok({"status": "error", "message": "Site not found"}, status=404)
        if site_id not in session.account.site_ids:
            return _forbidden("User has no access to this site")
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check cookies, e-auth-token, bearer/Username/XSRF headers; rotate XSRF cookies."""
    path = request.path
    if (
        request.match_info.http_exception is not None
        or path in PUBLIC_PATHS
        or path.startswith("/__sim__/")
    ):
        return await handler(request)
    sim = sim_of(request)
    session = sim.auth.lookup(request.cookies.get(SESSION_COOKIE), sim.now)
    if session is None or request.headers.get("e-auth-token") != session.session_id:
        return auth_lost(path)
    refusal = _check_request(request, session)
    if refusal is not None:
        return refusal
    request[SESSION_KEY] = session
    session.count += 1
    response = await handler(request)
    if session.count % ROTATE_EVERY == 0:
        session.xsrf = secrets.token_urlsafe(24)
        session.bp_xsrf = secrets.token_urlsafe(24)
        response.set_cookie(XSRF_COOKIE, session.xsrf)
        response.set_cookie(BP_XSRF_COOKIE, session.bp_xsrf)
    return response
