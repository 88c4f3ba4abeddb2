"""Small helpers shared by the request handlers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import web

if TYPE_CHECKING:
    from .app import EnlightenSimulator
    from .auth import Session
    from .state import ChargerState, SiteState

SIM_KEY: web.AppKey[EnlightenSimulator] = web.AppKey("enlighten_simulator")
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("enlighten_session")


class ApiError(Exception):
    """Raised by handlers; turned into a JSON error response by the middleware."""

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(status, payload)
        self.status = status
        self.payload = payload


def error(status: int, message: str, **extra: Any) -> ApiError:
    """An Enlighten-style JSON error envelope to raise."""
    return ApiError(status, {"status": "error", "message": message, **extra})


def fail(status: int, message: str, **extra: Any) -> NoReturn:
    """Abort the request with an Enlighten-style JSON error envelope."""
    raise error(status, message, **extra)


def sim_of(request: web.Request) -> EnlightenSimulator:
    """The simulator serving ``request``."""
    return request.app[SIM_KEY]


def session_of(request: web.Request) -> Session:
    """The authenticated session of ``request`` (set by the auth middleware)."""
    return request[SESSION_KEY]


def site_of(request: web.Request) -> SiteState:
    """The site named by the ``site_id`` path segment (access already checked)."""
    return sim_of(request).site(int(request.match_info["site_id"]))


def charger_of(request: web.Request, site: SiteState) -> ChargerState:
    """The charger named by the ``sn`` path segment, else 404."""
    charger = site.chargers.get(request.match_info["sn"])
    if charger is None:
        fail(404, "Charger not found", details=f"No charger {request.match_info['sn']}")
    return charger


async def read_json(request: web.Request) -> Any:
    """Parse the JSON body (400 when it is not JSON)."""
    text = await request.text()
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        fail(400, "Bad request", details="Body is not valid JSON")


async def read_form(request: web.Request) -> dict[str, str]:
    """Parse an urlencoded form body into a plain dict (last value wins)."""
    data = await request.post()
    return {k: str(v) for k, v in data.items()}


def ok(data: Any, status: int = 200) -> web.Response:
    """JSON response."""
    return web.json_response(data, status=status)
