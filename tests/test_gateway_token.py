"""Gateway token helpers, token fetching against the fake Enlighten/Entrez, zeroconf parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt
import pytest

from custom_components.enphase_enlighten.gateway import (
    ZEROCONF_SERVICE_TYPE,
    GatewayAuthError,
    GatewayError,
    GatewayUnavailable,
    ZeroconfGateway,
    fetch_gateway_token,
    firmware_major,
    firmware_requires_token,
    parse_zeroconf_properties,
    request_gateway_token,
    token_claims,
    token_expires_at,
    token_needs_renewal,
)
from tests.gateway_sim import (
    BLOCKED_EMAIL,
    BLOCKED_PASSWORD,
    CLOUD_EMAIL,
    CLOUD_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
)
from tests.gateway_sim.server import GatewaySimulator
from tests.gateway_sim.testing import SimulatorPool, no_verify_session

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_token(**claims: Any) -> str:
    return jwt.encode(claims, "a-test-key-that-is-not-enphases-and-long-enough", algorithm="HS256")


# -- reading tokens -------------------------------------------------------------------------


def test_token_expiry_is_read_without_the_key() -> None:
    exp = int((NOW + timedelta(days=365)).timestamp())
    token = make_token(exp=exp, enphaseUser="owner", aud="122238082763")
    assert token_expires_at(token) == datetime.fromtimestamp(exp, UTC)
    assert token_claims(token) == {"exp": exp, "enphaseUser": "owner", "aud": "122238082763"}


@pytest.mark.parametrize("token", [None, "", "not.a.jwt", "abc"])
def test_unreadable_tokens(token: str | None) -> None:
    assert token_claims(token) is None
    assert token_expires_at(token) is None
    assert token_needs_renewal(token, NOW) is True


@pytest.mark.parametrize("exp", [None, "tomorrow", True])
def test_token_without_usable_expiry_never_needs_renewal(exp: Any) -> None:
    token = make_token(sub="x") if exp is None else make_token(exp=exp)
    assert token_expires_at(token) is None
    assert token_needs_renewal(token, NOW) is False


def test_token_renewal_margin() -> None:
    exp = NOW + timedelta(days=365)
    token = make_token(iat=int(NOW.timestamp()), exp=int(exp.timestamp()))
    assert token_needs_renewal(token, NOW) is False
    assert token_needs_renewal(token, exp - timedelta(days=30, seconds=1)) is False
    assert token_needs_renewal(token, exp - timedelta(days=30)) is True
    assert token_needs_renewal(token, exp + timedelta(seconds=1)) is True
    assert token_needs_renewal(token, exp - timedelta(days=90), timedelta(days=100)) is True


def test_short_lived_token_margin_is_capped() -> None:
    """Installer tokens last 12 h: a 30-day margin must not make a fresh one stale."""
    exp = NOW + timedelta(hours=12)
    token = make_token(iat=int(NOW.timestamp()), exp=int(exp.timestamp()))
    assert token_needs_renewal(token, NOW) is False
    assert token_needs_renewal(token, NOW + timedelta(hours=5)) is False
    assert token_needs_renewal(token, NOW + timedelta(hours=7)) is True


def test_token_without_iat_uses_the_full_margin() -> None:
    token = make_token(exp=int((NOW + timedelta(hours=12)).timestamp()))
    assert token_needs_renewal(token, NOW) is True


# -- fetching tokens from the fake Enlighten/Entrez ---------------------------------------


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[GatewaySimulator]:
    pool = SimulatorPool()
    try:
        yield await pool.start("7.6.175_with_cts")
    finally:
        await pool.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with no_verify_session() as client_session:
        yield client_session


async def fetch(
    session: aiohttp.ClientSession,
    sim: GatewaySimulator,
    email: str = CLOUD_EMAIL,
    password: str = CLOUD_PASSWORD,
    serial: str | None = None,
) -> str:
    return await fetch_gateway_token(
        session,
        email,
        password,
        serial or sim.serial,
        login_url=sim.login_url,
        token_url=sim.token_url,
    )


async def test_fetch_token(sim: GatewaySimulator, session: aiohttp.ClientSession) -> None:
    token = await fetch(session, sim)
    claims = token_claims(token)
    assert claims is not None
    assert (claims["aud"], claims["enphaseUser"], claims["username"]) == (
        sim.serial,
        "owner",
        CLOUD_EMAIL,
    )
    assert sim.tokens_issued == 1
    login, tokens = sim.requests
    assert (login.method, login.path) == ("POST", "/login/login.json")
    assert "user%5Bemail%5D=owner%40example.com" in login.body
    assert tokens.path == "/tokens" and sim.serial in tokens.body


@pytest.mark.parametrize(
    ("email", "password", "match"),
    [
        (CLOUD_EMAIL, "wrong", "HTTP 401"),
        (MFA_EMAIL, MFA_PASSWORD, "multi-factor"),
        (BLOCKED_EMAIL, BLOCKED_PASSWORD, "blocked"),
    ],
)
async def test_fetch_token_refused(
    sim: GatewaySimulator, session: aiohttp.ClientSession, email: str, password: str, match: str
) -> None:
    with pytest.raises(GatewayAuthError, match=match):
        await fetch(session, sim, email, password)
    assert sim.tokens_issued == 0


async def test_fetch_token_for_a_foreign_gateway(
    sim: GatewaySimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(GatewayAuthError) as err:
        await fetch(session, sim, serial="999999999999")
    assert err.value.status == 403


async def test_request_token_with_unknown_session(
    sim: GatewaySimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(GatewayAuthError) as err:
        await request_gateway_token(
            session, "nope", sim.serial, CLOUD_EMAIL, token_url=sim.token_url
        )
    assert err.value.status == 401


@pytest.mark.parametrize(
    ("path", "fault", "error"),
    [
        ("/login/login.json", {"status": 503}, GatewayUnavailable),
        ("/login/login.json", {"status": 429}, GatewayUnavailable),
        ("/login/login.json", {"status": 404}, GatewayError),
        ("/login/login.json", {"status": 200, "body": "<html>login</html>"}, GatewayError),
        ("/login/login.json", {"status": 200, "body": "[1, 2]"}, GatewayError),
        ("/login/login.json", {"reset": True}, GatewayUnavailable),
        ("/tokens", {"status": 200, "body": "not a token", "content_type": "text/plain"}, None),
        ("/tokens", {"status": 500}, GatewayUnavailable),
        ("/tokens", {"status": 400}, GatewayError),
    ],
)
async def test_fetch_token_failures(
    sim: GatewaySimulator,
    session: aiohttp.ClientSession,
    path: str,
    fault: dict[str, Any],
    error: type[GatewayError] | None,
) -> None:
    sim.inject_fault(path, **fault)
    with pytest.raises(error or GatewayError) as err:
        await fetch(session, sim)
    if error is GatewayError:
        assert not isinstance(err.value, GatewayUnavailable | GatewayAuthError)


async def test_fetch_token_service_down(
    sim: GatewaySimulator, session: aiohttp.ClientSession
) -> None:
    await sim.stop()
    with pytest.raises(GatewayUnavailable):
        await fetch(session, sim)
    with pytest.raises(GatewayUnavailable):
        await request_gateway_token(
            session, "session", sim.serial, CLOUD_EMAIL, token_url=sim.token_url
        )


# -- zeroconf -------------------------------------------------------------------------------


def test_zeroconf_service_type() -> None:
    assert ZEROCONF_SERVICE_TYPE == "_enphase-envoy._tcp.local."


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        (
            {"serialnum": "122238082763", "protovers": "7.6.175", "path": "/"},
            ZeroconfGateway("122238082763", "7.6.175"),
        ),
        (
            {b"serialnum": b"121621012167", b"protovers": b"5.0.62"},
            ZeroconfGateway("121621012167", "5.0.62"),
        ),
        ({"SerialNum": " 123 ", "protovers": ""}, ZeroconfGateway("123", None)),
        ({"serialnum": None, "protovers": "7.0.0"}, None),
        ({"protovers": "7.0.0", 5: "x"}, None),
        ({}, None),
    ],
)
def test_parse_zeroconf_properties(
    properties: dict[Any, Any], expected: ZeroconfGateway | None
) -> None:
    assert parse_zeroconf_properties(properties) == expected


@pytest.mark.parametrize(
    ("firmware", "major", "token"),
    [
        ("7.6.175", 7, True),
        ("D8.2.127", 8, True),
        ("R3.9.36", 3, False),
        ("5.0.62", 5, False),
        ("", None, None),
        (None, None, None),
        ("unknown", None, None),
    ],
)
def test_firmware_requires_token(
    firmware: str | None, major: int | None, token: bool | None
) -> None:
    assert firmware_major(firmware) == major
    assert firmware_requires_token(firmware) is token
    if firmware:
        assert ZeroconfGateway("1", firmware).requires_token is token
