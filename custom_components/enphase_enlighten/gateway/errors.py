"""Errors raised by the local IQ Gateway adapter.

pyenphase raises a wide family of exceptions; callers of this package only ever see the three
classes below (plus a serial-mismatch subclass), so Home Assistant code can map them to
reauth, retry and abort without knowing pyenphase.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Something went wrong talking to the IQ Gateway (base class)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GatewayAuthError(GatewayError):
    """The gateway or the Enlighten token service rejected our credentials or token."""


class GatewayUnavailable(GatewayError):
    """The gateway (or the token service) cannot be reached or is not ready; retry later."""


class GatewaySerialMismatch(GatewayError):
    """The host answers with another serial number than the one configured."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"Gateway at this address reports serial {actual}, expected {expected}")
        self.expected = expected
        self.actual = actual
