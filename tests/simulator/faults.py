"""Request recording, latency and fault injection, and JSON error mapping."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from .auth import Handler
from .web_utils import ApiError, ok, sim_of

STATUS_MESSAGES = {
    400: "Bad request",
    401: "Not Authorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    466: "UNSUPPORTED_ENVOY",
    468: "INVALID_SYSTEM_ID",
    472: "LIVE_STREAM_NOT_SUPPORTED",
    473: "IQ_GATEWAY_NOT_REPORTING",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    550: "SERVICE_UNREACHABLE",
    551: "SERVICE_UNREACHABLE",
    552: "CONNECTION_NOT_ESTABLISHED",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the simulator received (control calls excluded)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly form for the HTTP control surface."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass
class Fault:
    """An injected failure for requests whose path contains ``path_contains``."""

    path_contains: str
    status: int | None = None
    count: int | None = None
    latency: float = 0.0
    body: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] | None = None
    reset: bool = False
    method: str | None = None

    def matches(self, request: web.Request) -> bool:
        """Whether this fault applies to ``request``."""
        if self.method is not None and self.method.upper() != request.method:
            return False
        return self.path_contains in request.path_qs

    def response(self) -> web.Response:
        """The injected response."""
        status = self.status or 500
        body = self.body
        if body is None:
            body = (
                web.json_response(
                    {"status": "error", "message": STATUS_MESSAGES.get(status, "Error")}
                ).text
                or ""
            )
        content_type, _, charset = self.content_type.partition(";")
        return web.Response(
            status=status,
            text=body,
            content_type=content_type.strip(),
            charset=charset.split("=")[-1].strip() or "utf-8",
            headers=self.headers,
        )


@web.middleware
async def traffic_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request, add latency, apply a matching fault, then advance state."""
    if request.path.startswith("/__sim__/"):
        return await handler(request)
    sim = sim_of(request)
    raw = await request.read()
    sim.requests.append(
        RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=raw.decode("utf-8", errors="replace"),
            at=sim.now,
        )
    )
    if sim.latency > 0:
        await asyncio.sleep(sim.latency)
    fault = sim.take_fault(request)
    if fault is not None:
        if fault.latency > 0:
            await asyncio.sleep(fault.latency)
        if fault.reset:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if fault.status is not None:
            return fault.response()
    sim.tick()
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map handler errors and router misses to JSON bodies."""
    try:
        return await handler(request)
    except ApiError as err:
        return ok(err.payload, status=err.status)
    except web.HTTPMethodNotAllowed as err:
        response = ok({"status": "error", "message": "Method not allowed"}, status=405)
        response.headers["Allow"] = ",".join(sorted(err.allowed_methods))
        return response
    except web.HTTPException as err:
        if err.status < 400:
            raise
        message = STATUS_MESSAGES.get(err.status, err.reason)
        return ok({"status": "error", "message": message, "path": request.path}, status=err.status)
