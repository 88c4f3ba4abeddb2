"""Simulated clock and the timestamp spellings the Enlighten cloud uses."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta


class Clock:
    """Simulated time: real 'now' at creation plus explicit advances.

    When ``realtime`` is true the clock also follows the wall clock (used by the
    standalone server); otherwise it only moves through :meth:`advance`.
    """

    def __init__(self, start: datetime | None = None, *, realtime: bool = False) -> None:
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._offset = 0.0
        self._mono = time.monotonic()
        self.realtime = realtime

    def now(self) -> datetime:
        """Current simulated time (aware, UTC)."""
        extra = time.monotonic() - self._mono if self.realtime else 0.0
        return self._base + timedelta(seconds=self._offset + extra)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (negative values are refused)."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._offset += seconds


def epoch_s(value: datetime) -> int:
    """Epoch seconds."""
    return int(value.timestamp())


def epoch_ms(value: datetime) -> int:
    """Epoch milliseconds."""
    return int(value.timestamp() * 1000)


def z_utc(value: datetime, *, digits: int = 3) -> str:
    """Java-style zoned timestamp: ``2025-10-24T23:57:05.145Z[UTC]``.

    ``digits`` is the number of fraction digits (0, 3 or 9).
    """
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return f"{base}Z[UTC]"
    fraction = f"{value.microsecond:06d}000"[:digits]
    return f"{base}.{fraction}Z[UTC]"


def iso_z(value: datetime, *, digits: int = 3) -> str:
    """ISO timestamp ending in ``Z`` (``2025-10-16T08:45:14.230924038Z`` for 9 digits)."""
    value = value.astimezone(UTC)
    fraction = f"{value.microsecond:06d}000"[:digits]
    return f"{value.strftime('%Y-%m-%dT%H:%M:%S')}.{fraction}Z"


def iso_offset(value: datetime, *, digits: int = 3) -> str:
    """ISO timestamp with a numeric offset, ms precision: ``2025-01-01T00:00:00.000+00:00``."""
    return value.isoformat(timespec="milliseconds" if digits == 3 else "seconds")


def dmy(value: date) -> str:
    """``DD-MM-YYYY`` as used by the session history API."""
    return value.strftime("%d-%m-%Y")


def parse_dmy(text: str) -> date:
    """Parse ``DD-MM-YYYY``; raises ValueError on anything else."""
    return datetime.strptime(text, "%d-%m-%Y").date()
