"""Gateway access tokens: reading their expiry and fetching new ones from Enlighten.

IQ Gateways with firmware 7 and newer only answer requests that carry a JWT issued by the
Enphase token service ("Entrez") for that gateway serial. Owner tokens live about a year,
installer tokens about 12 hours. The token signature is Enphase's business: we only read the
claims (no signature check) to know when to renew.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import jwt

from .errors import GatewayAuthError, GatewayError, GatewayUnavailable

DEFAULT_LOGIN_URL = "https://enlighten.enphaseenergy.com/login/login.json"
DEFAULT_TOKEN_URL = "https://entrez.enphaseenergy.com/tokens"
DEFAULT_RENEWAL_MARGIN = timedelta(days=30)
DEFAULT_CLOUD_TIMEOUT = 30.0


def token_claims(token: str | None) -> dict[str, Any] | None:
    """Return the claims of a JWT without checking its signature; None when unreadable."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            options={"verify_signature": False, "verify_exp": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC)


def token_expires_at(token: str | None) -> datetime | None:
    """When the token expires (aware UTC), or None if it has no readable ``exp`` claim."""
    claims = token_claims(token)
    return None if claims is None else _timestamp(claims.get("exp"))


def token_needs_renewal(
    token: str | None, now: datetime, margin: timedelta = DEFAULT_RENEWAL_MARGIN
) -> bool:
    """True when the token is missing, unreadable, expired or expires within ``margin``.

    For short-lived tokens (installer tokens last hours, not months) the margin is capped at
    half the token lifetime, so a fresh token is never considered stale right away.
    """
    claims = token_claims(token)
    if claims is None:
        return True
    expires = _timestamp(claims.get("exp"))
    if expires is None:
        return False
    issued = _timestamp(claims.get("iat"))
    if issued is not None and expires > issued:
        margin = min(margin, (expires - issued) / 2)
    return now >= expires - margin


def _raise_for_status(status: int, what: str) -> None:
    if status in (401, 403):
        raise GatewayAuthError(f"{what} refused the credentials (HTTP {status})", status=status)
    if status >= 500 or status == 429:
        raise GatewayUnavailable(f"{what} is unavailable (HTTP {status})", status=status)
    if status != 200:
        raise GatewayError(f"{what} answered HTTP {status}", status=status)


async def request_gateway_token(
    session: aiohttp.ClientSession,
    session_id: str,
    serial: str,
    username: str,
    *,
    token_url: str = DEFAULT_TOKEN_URL,
    request_timeout: float = DEFAULT_CLOUD_TIMEOUT,
) -> str:
    """Exchange an Enlighten web session id for a gateway token (works for MFA accounts too)."""
    try:
        async with session.post(
            token_url,
            json={"session_id": session_id, "serial_num": serial, "username": username},
            timeout=aiohttp.ClientTimeout(total=request_timeout),
        ) as resp:
            _raise_for_status(resp.status, "The Enphase token service")
            token = (await resp.text()).strip()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise GatewayUnavailable(f"Cannot reach the Enphase token service: {err!r}") from err
    if token_claims(token) is None:
        raise GatewayError("The Enphase token service did not return a token")
    return token


async def fetch_gateway_token(
    session: aiohttp.ClientSession,
    email: str,
    password: str,
    serial: str,
    *,
    login_url: str = DEFAULT_LOGIN_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    request_timeout: float = DEFAULT_CLOUD_TIMEOUT,
) -> str:
    """Log in to Enlighten with email/password and obtain a token for gateway ``serial``.

    Accounts with multi-factor authentication get no session id from the plain login; for
    those, log in with the cloud client and call :func:`request_gateway_token` instead.
    """
    try:
        async with session.post(
            login_url,
            data={"user[email]": email, "user[password]": password},
            timeout=aiohttp.ClientTimeout(total=request_timeout),
        ) as resp:
            _raise_for_status(resp.status, "Enlighten login")
            payload: Any = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise GatewayUnavailable(f"Cannot reach Enlighten: {err!r}") from err
    except ValueError as err:
        raise GatewayError("Enlighten login returned something that is not JSON") from err
    if not isinstance(payload, dict):
        raise GatewayError("Enlighten login returned an unexpected document")
    if payload.get("isBlocked"):
        raise GatewayAuthError("The Enlighten account is blocked")
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise GatewayAuthError(
            "Enlighten login gave no session id (multi-factor authentication enabled?)"
        )
    return await request_gateway_token(
        session, session_id, serial, email, token_url=token_url, request_timeout=request_timeout
    )
