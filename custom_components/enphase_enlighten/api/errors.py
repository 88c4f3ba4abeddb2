"""Exception hierarchy of the Enlighten cloud client.

Every exception carries ``status`` (the HTTP status code, or ``None`` when no
response was received).  Messages coming from the cloud are redacted so that
serial numbers and e-mail addresses never end up in logs.
"""

from __future__ import annotations

import re

__all__ = [
    "AccountBlocked",
    "AuthError",
    "CommandRejected",
    "EnlightenError",
    "ForbiddenError",
    "GatewayNotReporting",
    "InvalidCredentials",
    "InvalidOtp",
    "InvalidResponse",
    "LiveStreamNotSupported",
    "MethodNotAllowedError",
    "MfaRequired",
    "NotFoundError",
    "OtpBlocked",
    "OtpExpired",
    "RateLimited",
    "UnavailableError",
    "UnsupportedEnvoy",
    "redact",
]

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Serial numbers and long identifiers: a word with at least six digits in it.
_SERIAL_RE = re.compile(r"\b(?=[A-Za-z0-9_-]*\d{6})[A-Za-z0-9_-]{6,}\b")
_MAX_MESSAGE = 200


def redact(text: str) -> str:
    """Mask e-mail addresses and serial-like identifiers in ``text``."""
    text = _EMAIL_RE.sub("<email>", text)
    text = _SERIAL_RE.sub("<id>", text)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


class EnlightenError(Exception):
    """Base class of every error raised by the client."""

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        """Store a (redacted) message and the HTTP status."""
        self.message = redact(message) if message else ""
        self.status = status
        text = self.message or type(self).__name__
        if status is not None:
            text = f"{text} (HTTP {status})"
        super().__init__(text)


class AuthError(EnlightenError):
    """The session is not (or no longer) authenticated; credentials are needed."""


class InvalidCredentials(AuthError):
    """The e-mail/password pair was refused."""


class AccountBlocked(AuthError):
    """The account is blocked (too many attempts or locked by Enphase)."""


class InvalidOtp(AuthError):
    """The one-time code was wrong."""


class OtpBlocked(AuthError):
    """Too many wrong one-time codes; the login is blocked."""


class OtpExpired(AuthError):
    """The one-time code (or the pending MFA login) expired; log in again."""


class MfaRequired(EnlightenError):
    """The password was accepted; a one-time code sent by e-mail is needed."""


class ForbiddenError(EnlightenError):
    """Access denied (HTTP 403) or the site is not mapped to the account (468)."""


class NotFoundError(EnlightenError):
    """The endpoint or object does not exist (HTTP 404)."""


class MethodNotAllowedError(EnlightenError):
    """The endpoint does not accept the verb (HTTP 405)."""


class CommandRejected(EnlightenError):
    """A control command was refused (400/409/422), e.g. the car is not plugged in."""

    def __init__(self, status: int, message: str = "") -> None:
        """Create the error from the HTTP status and the cloud's message."""
        super().__init__(message or "Command rejected", status=status)


class RateLimited(EnlightenError):
    """Too many requests (HTTP 429); ``retry_after`` is in seconds when known."""

    def __init__(self, retry_after: float | None = None, message: str = "") -> None:
        """Create the error with the parsed Retry-After delay."""
        super().__init__(message or "Rate limited", status=429)
        self.retry_after = retry_after


class UnavailableError(EnlightenError):
    """The cloud is unreachable or failing (5xx, 550-552, timeouts, resets)."""


class GatewayNotReporting(UnavailableError):
    """The site's IQ Gateway is not reporting (HTTP 473)."""


class UnsupportedEnvoy(UnavailableError):
    """The gateway is offline or runs firmware that is too old (HTTP 466)."""


class LiveStreamNotSupported(UnavailableError):
    """The site cannot take part in a live stream (HTTP 472)."""


class InvalidResponse(EnlightenError):
    """The cloud answered with malformed JSON, an empty body or a wrong shape."""
