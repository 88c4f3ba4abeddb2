"""Charging session history (spec 2.7): paging, the action's rows, the last session.

The last session of each charger is read in the inventory cadence (hourly): one 2.7
request per charger asking for a single row of the last ``LAST_SESSION_DAYS`` days
(newest first). Sites without a charger never make this request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from .client import EnlightenClient
from .models_ev import ChargingSession

PAGE_SIZE: Final = 20
"""Rows per 2.7 request (the page size the Enlighten app uses)."""

MAX_PAGES: Final = 100
"""Upper bound of pages read for one charger and range, whatever ``hasMore`` says."""

LAST_SESSION_DAYS: Final = 30
"""How far back the hourly read looks for the last session."""


@dataclass(frozen=True, slots=True)
class LastSession:
    """The newest session of a charger, or None when it had none lately."""

    session: ChargingSession | None


async def async_fetch_sessions(
    client: EnlightenClient,
    site_id: str,
    serial: str,
    start: date,
    end: date,
    *,
    timezone: str,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
) -> tuple[list[ChargingSession], bool]:
    """Every session of a charger between two local dates, newest first.

    Pages with offset/limit while the answer says ``hasMore``; returns the sessions and
    whether the page bound cut the list short.
    """
    sessions: list[ChargingSession] = []
    offset = 0
    for _ in range(max_pages):
        page = await client.session_history(
            site_id, serial, start, end, offset=offset, limit=page_size, timezone=timezone
        )
        sessions.extend(page.sessions)
        if not page.has_more or not page.sessions:
            return sessions, False
        offset += len(page.sessions)
    return sessions, True


async def async_fetch_last_sessions(
    client: EnlightenClient,
    site_id: str,
    serials: Iterable[str],
    *,
    today: date,
    timezone: str,
) -> dict[str, LastSession]:
    """The newest session of each charger (one request per charger)."""
    start = today - timedelta(days=LAST_SESSION_DAYS)
    result: dict[str, LastSession] = {}
    for serial in serials:
        page = await client.session_history(
            site_id, serial, start, today, offset=0, limit=1, timezone=timezone
        )
        newest = max(
            page.sessions,
            key=lambda s: s.start.timestamp() if s.start else float("-inf"),
            default=None,
        )
        result[serial] = LastSession(newest)
    return result


def session_row(serial: str, session: ChargingSession) -> dict[str, Any]:
    """One session as the action returns it (JSON types only)."""
    return {
        "charger": serial,
        "session_id": session.session_id,
        "start": session.start.isoformat() if session.start else None,
        "end": session.end.isoformat() if session.end else None,
        "energy_kwh": session.energy_kwh,
        "active_charge_time_s": session.active_charge_time_s,
        "miles_added": session.miles_added,
        "cost": session.cost,
        "avg_cost_per_kwh": session.avg_cost_per_kwh,
        "cost_state": session.cost_state,
    }
