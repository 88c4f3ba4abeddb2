"""Login, MFA, session renewal and session export against the simulator."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from custom_components.enphase_enlighten.api import (
    AccountBlocked,
    AuthError,
    EnlightenClient,
    EnlightenError,
    InvalidCredentials,
    InvalidOtp,
    InvalidResponse,
    MfaRequired,
    OtpBlocked,
    OtpExpired,
)
from tests.simulator import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    EnlightenSimulator,
)

SITE = "1000001"

# The simulator is a real server on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")


def make_client(
    sim: EnlightenSimulator,
    session: aiohttp.ClientSession,
    email: str = DEMO_EMAIL,
    password: str | None = DEMO_PASSWORD,
    **kwargs: Any,
) -> EnlightenClient:
    """A client pointed at the simulator."""
    return EnlightenClient(session, email, password, base_url=sim.url, **kwargs)


def logins(sim: EnlightenSimulator) -> int:
    """How many login requests the simulator received."""
    return sum(1 for r in sim.requests if r.path == "/login/login.json")


async def test_login_success(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A plain login yields a session, a user id and a token expiry."""
    client = make_client(simulator, client_session)
    assert not client.is_authenticated
    assert client.user_id is None and client.session_id is None
    assert client.token_expires_at is None
    await client.login()
    assert client.is_authenticated
    assert client.user_id == "4000001"
    assert client.session_id
    expires = client.token_expires_at
    assert expires is not None
    assert timedelta(minutes=50) < expires - simulator.now < timedelta(hours=1, minutes=1)
    login = next(r for r in simulator.requests if r.path == "/login/login.json")
    assert "user%5Bemail%5D=demo%40example.com" in login.body
    sites = await client.search_sites()
    assert [s.site_id for s in sites] == [SITE]


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        (DEMO_EMAIL, "wrong", InvalidCredentials),
        ("nobody@example.com", "x", InvalidCredentials),
        ("blocked@example.com", "blocked-password", AccountBlocked),
    ],
)
async def test_login_refused(
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
    email: str,
    password: str,
    error: type[Exception],
) -> None:
    """Wrong credentials and blocked accounts raise their errors."""
    client = make_client(simulator, client_session, email, password)
    with pytest.raises(error):
        await client.login()
    assert not client.is_authenticated


async def test_login_without_password(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """No password: login is impossible and calls need an imported session."""
    client = make_client(simulator, client_session, password=None)
    with pytest.raises(InvalidCredentials):
        await client.login()
    with pytest.raises(AuthError):
        await client.search_sites()
    assert simulator.requests == []


async def test_login_http_errors(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A 401 on login is refused credentials; HTML or junk is an invalid answer."""
    client = make_client(simulator, client_session)
    simulator.inject_fault("/login/login.json", status=401, count=1)
    with pytest.raises(InvalidCredentials):
        await client.login()
    simulator.inject_fault(
        "/login/login.json", status=200, count=1, body="<html></html>", content_type="text/html"
    )
    with pytest.raises(InvalidResponse):
        await client.login()
    simulator.inject_fault("/login/login.json", status=200, count=1, body="[1, 2]")
    with pytest.raises(InvalidResponse):
        await client.login()
    simulator.inject_fault("/login/login.json", status=302, count=1, body="")
    with pytest.raises(InvalidResponse):
        await client.login()


async def test_mfa_flow(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """MFA: login asks for a code; a wrong code is refused; the right one logs in."""
    client = make_client(simulator, client_session, MFA_EMAIL, MFA_PASSWORD)
    with pytest.raises(MfaRequired):
        await client.login()
    assert not client.is_authenticated
    with pytest.raises(InvalidOtp):
        await client.validate_otp("000000" if simulator.login_otp != "000000" else "111111")
    with pytest.raises(InvalidOtp):
        await client.validate_otp("   ")
    await client.validate_otp(f" {simulator.login_otp} ")
    assert client.is_authenticated
    assert client.user_id == "4000002"
    validate = [r for r in simulator.requests if r.path == "/app-api/validate_login_otp"][-1]
    assert "login_otp_nonce=" in validate.headers["Cookie"]
    encoded = base64.b64encode(simulator.login_otp.encode()).decode()
    assert urlencode({"otp": encoded}) in validate.body
    sites = await client.search_sites()
    assert {s.site_id for s in sites} == {"1000001", "1000002"}
    with pytest.raises(OtpExpired):
        await client.validate_otp("123456")


async def test_mfa_resend(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Resending rotates the code; the new one works."""
    client = make_client(simulator, client_session, MFA_EMAIL, MFA_PASSWORD)
    with pytest.raises(OtpExpired):
        await client.resend_otp()
    with pytest.raises(MfaRequired):
        await client.login()
    old = simulator.login_otp
    await client.resend_otp()
    assert simulator.login_otp != old
    await client.validate_otp(simulator.login_otp)
    assert client.is_authenticated


async def test_mfa_blocked_and_expired(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Five wrong codes block the login; an old pending login expires."""
    client = make_client(simulator, client_session, MFA_EMAIL, MFA_PASSWORD)
    with pytest.raises(MfaRequired):
        await client.login()
    wrong = "999999" if simulator.login_otp != "999999" else "888888"
    for _ in range(4):
        with pytest.raises(InvalidOtp):
            await client.validate_otp(wrong)
    with pytest.raises(OtpBlocked):
        await client.validate_otp(wrong)
    with pytest.raises(OtpExpired):
        await client.validate_otp(simulator.login_otp)

    with pytest.raises(MfaRequired):
        await client.login()
    simulator.advance(11 * 60)
    with pytest.raises(OtpExpired):
        await client.validate_otp(simulator.login_otp)


async def test_mfa_resend_errors(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Resend: blocked, refused and expired answers."""
    client = make_client(simulator, client_session, MFA_EMAIL, MFA_PASSWORD)
    with pytest.raises(MfaRequired):
        await client.login()
    path = "/app-api/generate_mfa_login_otp"
    simulator.inject_fault(path, status=200, count=1, body='{"success": false}')
    with pytest.raises(EnlightenError):
        await client.resend_otp()
    simulator.inject_fault(path, status=200, count=1, body='{"success": false, "isBlocked": true}')
    with pytest.raises(OtpBlocked):
        await client.resend_otp()
    with pytest.raises(MfaRequired):
        await client.login()
    simulator.expire_sessions()
    with pytest.raises(OtpExpired):
        await client.resend_otp()


async def test_export_import_session(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """An exported session resumes in a new client without a login."""
    client = make_client(simulator, client_session)
    await client.login()
    exported = client.export_session()
    assert set(exported) == {"cookies", "session_id", "manager_token", "user_id"}
    assert "_enlighten_4_session" in exported["cookies"]
    resumed = make_client(simulator, client_session, password=None)
    resumed.import_session(exported)
    assert resumed.is_authenticated
    assert resumed.user_id == "4000001"
    assert resumed.token_expires_at is not None and client.token_expires_at is not None
    assert abs(resumed.token_expires_at - client.token_expires_at) < timedelta(seconds=5)
    simulator.clear_requests()
    assert len(await resumed.search_sites()) == 1
    assert logins(simulator) == 0
    resumed.import_session({"cookies": "junk", "session_id": None})
    assert not resumed.is_authenticated


async def test_expired_session_relogin(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A lost session (HTML login page or 401) triggers one silent login and a retry."""
    client = make_client(simulator, client_session)
    await client.login()
    first_session = client.session_id
    simulator.expire_sessions()
    simulator.clear_requests()
    assert len(await client.search_sites()) == 1  # /app-api answers with the login page
    assert logins(simulator) == 1
    assert client.session_id != first_session
    simulator.expire_sessions()
    simulator.clear_requests()
    status = await client.ev_status(SITE)  # /service answers 401
    assert status.chargers
    assert logins(simulator) == 1


async def test_relogin_then_still_lost(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """When the retry is refused again the client gives up with AuthError (no loop)."""
    client = make_client(simulator, client_session)
    await client.login()
    simulator.inject_fault("search_sites", status=401)
    simulator.clear_requests()
    with pytest.raises(AuthError):
        await client.search_sites()
    assert logins(simulator) == 1
    assert sum(1 for r in simulator.requests if "search_sites" in r.path) == 2


async def test_lost_session_without_password(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Without a password a lost session is an AuthError at once."""
    client = make_client(simulator, client_session)
    await client.login()
    resumed = make_client(simulator, client_session, password=None)
    resumed.import_session(client.export_session())
    simulator.expire_sessions()
    with pytest.raises(AuthError):
        await resumed.search_sites()
    assert not resumed.is_authenticated
    with pytest.raises(AuthError):
        await resumed.search_sites()


async def test_mfa_account_cannot_relogin_silently(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A silent re-login that needs a code becomes AuthError (reauth)."""
    client = make_client(simulator, client_session, MFA_EMAIL, MFA_PASSWORD)
    with pytest.raises(MfaRequired):
        await client.login()
    await client.validate_otp(simulator.login_otp)
    simulator.expire_sessions()
    with pytest.raises(AuthError) as err:
        await client.search_sites()
    assert not isinstance(err.value, MfaRequired)


async def test_proactive_renewal_single_login(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A token expiring within 5 min is renewed once for all concurrent callers."""
    client = make_client(simulator, client_session, max_concurrency=3)
    await client.login()
    expires = client.token_expires_at
    assert expires is not None
    client._clock = lambda: expires - timedelta(minutes=2)
    simulator.clear_requests()
    results = await asyncio.gather(*(client.search_sites() for _ in range(6)))
    assert all(len(r) == 1 for r in results)
    assert logins(simulator) == 1
    assert client.token_expires_at != expires


async def test_ensure_session_without_password(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Without a password an expiring session is used until it really expires."""
    client = make_client(simulator, client_session)
    await client.login()
    resumed = make_client(simulator, client_session, password=None)
    resumed.import_session(client.export_session())
    expires = resumed.token_expires_at
    assert expires is not None
    resumed._clock = lambda: expires - timedelta(minutes=1)
    await resumed.ensure_session()
    assert len(await resumed.search_sites()) == 1
    resumed._clock = lambda: expires + timedelta(minutes=1)
    assert not resumed.is_authenticated
    with pytest.raises(AuthError):
        await resumed.ensure_session()


async def test_first_call_logs_in(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The first call of a fresh client with a password logs in by itself."""
    client = make_client(simulator, client_session)
    assert len(await client.search_sites()) == 1
    assert logins(simulator) == 1
    assert client.is_authenticated


async def test_token_without_expiry(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """An undecodable token: the session is trusted until the cloud says otherwise."""
    client = make_client(simulator, client_session)
    simulator.inject_fault(
        "/login/login.json",
        status=200,
        count=1,
        body='{"session_id": "abc", "manager_token": "not-a-jwt"}',
    )
    await client.login()
    assert client.token_expires_at is None
    assert client.is_authenticated
    assert client.user_id is None
    client._clock = lambda: datetime.now(UTC) + timedelta(days=30)
    await client.ensure_session()
    with pytest.raises(AuthError):
        await client._require_user_id()


async def test_concurrent_recovery_single_login(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Callers that all see the session lost share one re-login."""
    client = make_client(simulator, client_session, max_concurrency=4)
    await client.login()
    simulator.expire_sessions()
    simulator.clear_requests()
    results = await asyncio.gather(*(client.search_sites() for _ in range(4)))
    assert all(len(r) == 1 for r in results)
    assert logins(simulator) == 1
