"""HTTP control surface under ``/__sim__/`` (for standalone, bench and end-to-end use)."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import date, datetime
from typing import Any

from aiohttp import web

from .state import SiteState
from .web_utils import fail, ok, read_json, sim_of

CTRL = "/__sim__"
SKIP_FIELDS = frozenset({"clock", "events", "sessions"})


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dates and tuples to plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.repr and f.name not in SKIP_FIELDS
        }
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, tuple):
        return ":".join(_key(k) for k in key)
    if isinstance(key, date):
        return key.isoformat()
    return str(key)


def site_dump(site: SiteState) -> dict[str, Any]:
    """JSON dump of one site (event and session lists reduced to counts)."""
    data: dict[str, Any] = to_jsonable(site)
    data["event_count"] = len(site.events)
    data["today"] = site.today().isoformat()
    for sn, charger in site.chargers.items():
        data["chargers"][sn]["session_count"] = len(charger.sessions)
    return data


async def _body(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        fail(400, "Bad request", details="JSON object expected")
    return body


async def post_fault(request: web.Request) -> web.Response:
    """Inject a fault (JSON body = ``inject_fault`` keyword arguments)."""
    sim = sim_of(request)
    body = await _body(request)
    allowed = set(inspect.signature(sim.inject_fault).parameters)
    unknown = set(body) - allowed
    if unknown or "path_contains" not in body:
        fail(400, "Bad request", details=f"allowed keys: {sorted(allowed)}")
    sim.inject_fault(**body)
    return ok({"faults": len(sim.faults)})


async def delete_faults(request: web.Request) -> web.Response:
    """Remove every injected fault."""
    sim_of(request).clear_faults()
    return ok({"faults": 0})


async def get_requests(request: web.Request) -> web.Response:
    """The request log."""
    return ok([r.to_json() for r in sim_of(request).requests])


async def delete_requests(request: web.Request) -> web.Response:
    """Clear the request log."""
    sim_of(request).clear_requests()
    return ok({"requests": 0})


async def post_advance(request: web.Request) -> web.Response:
    """Move the simulated clock."""
    sim = sim_of(request)
    body = await _body(request)
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        fail(400, "Bad request", details="seconds must be a non-negative number")
    sim.advance(float(seconds))
    return ok({"now": sim.now.isoformat()})


async def get_state(request: web.Request) -> web.Response:
    """Dump of the simulated state."""
    sim = sim_of(request)
    return ok(
        {
            "now": sim.now.isoformat(),
            "latency": sim.latency,
            "login_otp": sim.login_otp,
            "grid_otp": sim.grid_otp,
            "faults": [to_jsonable(f) for f in sim.faults],
            "sites": {str(k): site_dump(s) for k, s in sim.sites.items()},
        }
    )


async def post_expire(request: web.Request) -> web.Response:
    """Invalidate every session."""
    sim_of(request).expire_sessions()
    return ok({"expired": True})


async def get_otp(request: web.Request) -> web.Response:
    """Current login and grid OTPs (what the e-mail would contain)."""
    sim = sim_of(request)
    return ok({"login_otp": sim.login_otp, "grid_otp": sim.grid_otp})


async def post_latency(request: web.Request) -> web.Response:
    """Set the global latency in seconds."""
    sim = sim_of(request)
    seconds = (await _body(request)).get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        fail(400, "Bad request", details="seconds must be a non-negative number")
    sim.latency = float(seconds)
    return ok({"latency": sim.latency})


async def post_set(request: web.Request) -> web.Response:
    """Set one state attribute: ``{"site_id", "path": "chargers.EV...plugged_in", "value"}``."""
    sim = sim_of(request)
    body = await _body(request)
    try:
        target: Any = sim.site(int(body["site_id"]))
        *parents, leaf = str(body["path"]).split(".")
        for part in parents:
            target = target[part] if isinstance(target, dict) else getattr(target, part)
        if isinstance(target, dict):
            target[leaf] = body["value"]
        elif hasattr(target, leaf) and not leaf.startswith("_"):
            setattr(target, leaf, body["value"])
        else:
            raise AttributeError(leaf)
    except (KeyError, AttributeError, ValueError, TypeError) as err:
        fail(400, "Bad request", details=f"cannot set: {err!r}")
    sim.tick()
    return ok({"site": site_dump(sim.site(int(body["site_id"])))})


async def post_reset(request: web.Request) -> web.Response:
    """Rebuild all sites from the scenarios; clear faults, latency and the request log."""
    sim_of(request).reset()
    return ok({"reset": True})


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", f"{CTRL}/fault", post_fault),
    ("DELETE", f"{CTRL}/faults", delete_faults),
    ("GET", f"{CTRL}/requests", get_requests),
    ("DELETE", f"{CTRL}/requests", delete_requests),
    ("POST", f"{CTRL}/advance", post_advance),
    ("GET", f"{CTRL}/state", get_state),
    ("POST", f"{CTRL}/expire_sessions", post_expire),
    ("GET", f"{CTRL}/otp", get_otp),
    ("POST", f"{CTRL}/latency", post_latency),
    ("POST", f"{CTRL}/set", post_set),
    ("POST", f"{CTRL}/reset", post_reset),
]
