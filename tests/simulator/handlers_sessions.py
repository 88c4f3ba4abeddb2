"""Charging session history (2.6 filter criteria, 2.7 paginated history)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from .engine import COST_PER_KWH
from .state import ChargeSession, SiteState
from .timefmt import iso_z, parse_dmy, z_utc
from .web_utils import charger_of, fail, ok, read_json, sim_of, site_of

HIST = "/service/enho_historical_events_ms/{site_id:\\d+}"
MAX_LIMIT = 100


async def filter_criteria(request: web.Request) -> web.Response:
    """2.6 chargers available for session history lookups."""
    site = site_of(request)
    if request.query.get("source", "evse") != "evse":
        fail(400, "Bad request", details="Unsupported source")
    return ok(
        {
            "source": "evse",
            "timestamp": iso_z(sim_of(request).now, digits=9),
            "data": [
                {"id": ch.sn, "name": ch.name, "type": "evse"} for ch in site.chargers.values()
            ],
        }
    )


def _row(site: SiteState, sn: str, session: ChargeSession) -> dict[str, Any]:
    return {
        "id": f"{site.site_id}{sn[-5:]}:{session.session_id}",
        "sessionId": session.session_id,
        "startTime": z_utc(session.start),
        "endTime": z_utc(session.end),
        "authType": None,
        "authIdentifier": None,
        "authToken": None,
        "aggEnergyValue": float(session.energy_kwh),
        "activeChargeTime": session.active_s,
        "milesAdded": session.miles,
        "sessionCost": session.cost,
        "costCalculated": session.cost is not None,
        "manualOverridden": session.manual_overridden,
        "avgCostPerUnitEnergy": COST_PER_KWH,
        "sessionCostState": "COST_CALCULATED" if session.cost is not None else "NOT_CALCULATED",
        "chargeProfileStackLevel": 4,
    }


def _int_param(params: dict[str, Any], key: str, default: int) -> int:
    value = params.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        fail(400, "Bad request", details=f"{key} must be an integer")
    return value


async def history(request: web.Request) -> web.Response:
    """2.7 charging sessions of one charger, newest first, offset/limit paginated."""
    site = site_of(request)
    ch = charger_of(request, site)
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("source") != "evse":
        fail(400, "Bad request", details="source must be evse")
    params = body.get("params")
    if not isinstance(params, dict):
        fail(400, "Bad request", details="params missing")
    offset = _int_param(params, "offset", 0)
    limit = _int_param(params, "limit", 20)
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        fail(400, "Bad request", details="offset/limit out of range")
    try:
        start = parse_dmy(str(params.get("startDate")))
        end = parse_dmy(str(params.get("endDate")))
    except ValueError:
        fail(400, "Bad request", details="startDate/endDate must be DD-MM-YYYY")
    try:
        tz = ZoneInfo(str(params.get("timezone") or site.timezone))
    except ZoneInfoNotFoundError, ValueError:
        tz = site.tz
    matching = sorted(
        (s for s in ch.sessions if start <= s.start.astimezone(tz).date() <= end),
        key=lambda s: s.start,
        reverse=True,
    )
    page = matching[offset : offset + limit]
    return ok(
        {
            "source": "evse",
            "timestamp": iso_z(sim_of(request).now, digits=9),
            "data": {
                "result": [_row(site, ch.sn, s) for s in page],
                "hasMore": offset + limit < len(matching),
                "startDate": params["startDate"],
                "endDate": params["endDate"],
                "offset": offset,
                "limit": limit,
            },
        }
    )


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{HIST}/filter_criteria", filter_criteria),
    ("POST", f"{HIST}/sessions/{{sn}}/history", history),
]
