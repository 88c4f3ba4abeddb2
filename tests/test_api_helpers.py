"""Unit tests of the client's helpers: cookies, tokens, Retry-After, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from custom_components.enphase_enlighten.api import CommandRejected, EnlightenError, RateLimited
from custom_components.enphase_enlighten.api.auth import (
    SessionState,
    parse_set_cookie,
    token_claims,
)
from custom_components.enphase_enlighten.api.client import family_of, parse_retry_after
from custom_components.enphase_enlighten.api.errors import redact

KEY = "a-test-signing-key-of-32-bytes-at-least"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_parse_set_cookie() -> None:
    """Values, quoting, deletion by Max-Age or a past Expires."""
    assert parse_set_cookie("a=1; Path=/; HttpOnly", NOW) == ("a", "1")
    assert parse_set_cookie('b="x y"; Secure', NOW) == ("b", "x y")
    assert parse_set_cookie("c=; Max-Age=0", NOW) == ("c", None)
    assert parse_set_cookie("c=v; Max-Age=junk", NOW) == ("c", "v")
    assert parse_set_cookie("d=v; Max-Age=60", NOW) == ("d", "v")
    assert parse_set_cookie("e=v; Expires=Thu, 01 Jan 1970 00:00:00 GMT", NOW) == ("e", None)
    assert parse_set_cookie("e=v; Expires=Fri, 01 Jan 2100 00:00:00 GMT", NOW) == ("e", "v")
    assert parse_set_cookie("e=v; expires=not a date", NOW) == ("e", "v")
    assert parse_set_cookie("e=v; Expires=Thu, 01 Jan 1970 00:00:00 -0000", NOW) == ("e", None)
    assert parse_set_cookie("e=v; expires=2099-01-01T00:00:00", NOW) == ("e", "v")
    assert parse_set_cookie("novalue", NOW) is None
    assert parse_set_cookie("=v", NOW) is None


def test_session_state_jar() -> None:
    """The jar follows Set-Cookie and serialises to a Cookie header."""
    state = SessionState()
    assert state.cookie_header() is None
    state.update_cookies(["a=1", "b=2; Path=/", "junk", "a=3"], NOW)
    assert state.cookie_header() == "a=3; b=2"
    state.update_cookies(["a=; Max-Age=0", "z=; Max-Age=0"], NOW)
    assert state.cookies == {"b": "2"}


def test_token_claims_and_expiry() -> None:
    """Claims are read without the signing key; garbage gives no expiry."""
    exp = NOW + timedelta(hours=1)
    token = jwt.encode(
        {"user_id": 42, "session_id": "s", "exp": int(exp.timestamp())}, KEY, algorithm="HS256"
    )
    assert token_claims(token)["session_id"] == "s"
    assert token_claims("not-a-jwt") == {}
    state = SessionState()
    state.set_tokens("sid", token)
    assert state.user_id == "42"
    assert state.expires_at == exp
    state.set_tokens("sid", "garbage")
    assert state.expires_at is None
    assert state.user_id == "42"
    huge = jwt.encode({"exp": 10**20}, KEY, algorithm="HS256")
    state.set_tokens("sid", huge)
    assert state.expires_at is None
    state.set_tokens("sid", None)
    assert state.manager_token is None


def test_parse_retry_after() -> None:
    """Seconds or an HTTP date; garbage is None."""
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("-3", NOW) is None
    assert parse_retry_after("nan", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", NOW) == 60.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("2026-01-01T00:00:30", NOW) is None


def test_family_of() -> None:
    """Paths map to endpoint families."""
    assert family_of("/service/evse_scheduler/api/v1/x") == "scheduler"
    assert family_of("/service/enho_historical_events_ms/1/x") == "history"
    assert family_of("/service/evse_controller/1/ev_chargers/status") == "evse"
    assert family_of("/service/batteryConfig/api/v1/profile/1") == "battery_config"
    assert family_of("/service/events-platform-service/v1.0/1/events/homeowner") == "events"
    assert family_of("/service/other") == "service"
    assert family_of("/app-api/1/devices.json") == "app_api"
    assert family_of("/pv/settings/1/battery_status.json") == "pv"
    assert family_of("/systems/1/inverter_status_x.json") == "systems"
    assert family_of("/login/login.json") == "login"
    assert family_of("/elsewhere") == "other"


def test_redact_and_errors() -> None:
    """Messages never carry e-mails or serials; status is in the text."""
    text = redact("Charger EV0000000001 of demo@example.com at site 1000001 failed")
    assert "EV0000000001" not in text
    assert "demo@example.com" not in text
    assert "1000001" not in text
    assert redact("x" * 500).endswith("...")
    assert len(redact("x" * 500)) == 200
    error = CommandRejected(409, "Charger EV0000000001 not plugged in")
    assert error.status == 409
    assert "EV0000000001" not in str(error)
    assert "409" in str(error)
    assert str(EnlightenError()) == "EnlightenError"
    limited = RateLimited(12.0)
    assert limited.retry_after == 12.0
    assert limited.status == 429
