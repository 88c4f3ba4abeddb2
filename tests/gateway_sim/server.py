"""A local IQ Gateway (Envoy) simulator: a real aiohttp server on 127.0.0.1.

It answers with the captured payloads of one fixture set, authenticates like the firmware of
that set (digest below 7 over HTTP, JWT over HTTPS from 7 on), adds relays (``NSRB``) to the
inventory on request, injects faults, records requests, and hosts a tiny Enlighten login and
Entrez token service so token fetching can be tested with our own URLs.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from .fixtures import FixtureResponse, FixtureSet
from .security import DigestVerifier, TokenAuthority, server_ssl_context

CLOUD_EMAIL = "owner@example.com"
CLOUD_PASSWORD = "owner-password"
MFA_EMAIL = "mfa@example.com"
MFA_PASSWORD = "mfa-password"
BLOCKED_EMAIL = "blocked@example.com"
BLOCKED_PASSWORD = "blocked-password"
RELAY_SERIAL = "122000000001"
OWNER_TOKEN_LIFETIME = 365 * 24 * 3600.0

# Below firmware 7 these answer without credentials; everything else needs digest auth.
LEGACY_PUBLIC_PATHS = frozenset(
    {"/", "/info", "/home", "/production.json", "/api/v1/production", "/inventory.json"}
)
UNAUTHORIZED_HTML = b"<html><body><h2>401 Unauthorized</h2></body></html>"
NOT_FOUND_JSON = b'{ "error" : "404 - Not Found" }'


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the simulator received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    at: datetime


@dataclass(slots=True)
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


@dataclass(slots=True)
class RelayDevice:
    """A Q-Relay as it appears in the ``NSRB`` group of ``/inventory.json``."""

    serial: str = RELAY_SERIAL
    closed: bool = True
    line_count: int = 3
    lines: list[bool] = field(default_factory=lambda: [True, True, True])
    reason: str = "ok"
    producing: bool = False
    communicating: bool = True
    provisioned: bool = True
    operating: bool = True
    last_report: int = 0

    def to_inventory(self, now: datetime) -> dict[str, Any]:
        """The device entry in the captured gateway shape."""
        stamp = str(self.last_report or int(now.timestamp()) - 120)
        entry: dict[str, Any] = {
            "part_num": "800-00598-r04",
            "installed": "1625000000",
            "serial_num": self.serial,
            "device_status": ["envoy.global.ok"],
            "last_rpt_date": stamp,
            "admin_state": 1,
            "dev_type": 12,
            "created_date": "1625000000",
            "img_load_date": "1625000000",
            "img_pnum_running": "520-00086-r01-v02.12.07",
            "ptpn": "540-00135-r01-v02.12.07",
            "chaneid": 16974097,
            "device_control": [{"gficlearset": False}],
            "producing": self.producing,
            "communicating": self.communicating,
            "provisioned": self.provisioned,
            "operating": self.operating,
            "relay": "closed" if self.closed else "open",
            "reason_code": 0 if self.reason == "ok" else 1,
            "reason": self.reason,
            "line-count": self.line_count,
        }
        for n in range(1, self.line_count + 1):
            entry[f"line{n}-connected"] = self.lines[n - 1] if n <= len(self.lines) else False
        return entry


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload).encode(), status=status, content_type="application/json"
    )


class GatewaySimulator:
    """A fake IQ Gateway serving one captured fixture set."""

    def __init__(
        self,
        fixture: str = "7.6.175_with_cts",
        *,
        fixtures_dir: Path | None = None,
        tls: bool | None = None,
        local_users: dict[str, str] | None = None,
    ) -> None:
        self.fixture = FixtureSet(fixture, fixtures_dir)
        self.serial = self.fixture.serial
        self.firmware = self.fixture.firmware
        self.requires_token = self.fixture.firmware_major >= 7
        self.tls = self.requires_token if tls is None else tls
        self.local_users: dict[str, str] = (
            dict(local_users) if local_users is not None else {"envoy": self.serial[-6:]}
        )
        self.cloud_accounts: dict[str, str] = {CLOUD_EMAIL: CLOUD_PASSWORD}
        self.cloud_serials: set[str] = {self.serial}
        self.token_lifetime = OWNER_TOKEN_LIFETIME
        self.tokens_issued = 0
        self.latency = 0.0
        self.requests: list[RecordedRequest] = []
        self.relays: dict[str, RelayDevice] = {}
        self.device_flags: dict[str, dict[str, Any]] = {}
        self._payloads: dict[str, FixtureResponse] = {}
        self._faults: list[Fault] = []
        self._clock_offset = timedelta()
        self._digest = DigestVerifier()
        self._tokens = TokenAuthority()
        self._gateway_sessions: dict[str, str] = {}
        self._cloud_sessions: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        ssl_context = server_ssl_context() if self.tls else None
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, the host to give the client."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL (https from firmware 7 on)."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def login_url(self) -> str:
        """The fake Enlighten login endpoint."""
        return f"{self.url}/login/login.json"

    @property
    def token_url(self) -> str:
        """The fake Entrez token endpoint."""
        return f"{self.url}/tokens"

    # -- control surface ------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated clock (token expiry is judged against it)."""
        return datetime.now(UTC) + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward."""
        self._clock_offset += timedelta(seconds=seconds)

    def inject_fault(
        self,
        path_contains: str,
        *,
        status: int | None = None,
        count: int | None = None,
        latency: float = 0.0,
        body: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        reset: bool = False,
        method: str | None = None,
    ) -> None:
        """Fail matching requests ``count`` times (None: until cleared)."""
        self._faults.append(
            Fault(path_contains, status, count, latency, body, content_type, headers, reset, method)
        )

    def clear_faults(self) -> None:
        """Drop every injected fault."""
        self._faults.clear()

    def clear_requests(self) -> None:
        """Forget the request log."""
        self.requests.clear()

    def paths(self) -> list[str]:
        """Paths requested so far, in order (handy in asserts)."""
        return [r.path for r in self.requests]

    def issue_token(
        self,
        *,
        lifetime: float | None = None,
        user_type: str = "owner",
        serial: str | None = None,
        username: str = CLOUD_EMAIL,
    ) -> str:
        """A token as Entrez would issue it (negative ``lifetime`` gives an expired one)."""
        return self._tokens.issue(
            serial=serial or self.serial,
            username=username,
            now=self.now,
            lifetime=self.token_lifetime if lifetime is None else lifetime,
            user_type=user_type,
        )

    def revoke_tokens(self) -> None:
        """Invalidate all tokens issued so far, and the gateway sessions built on them."""
        self._tokens.revoke_all()
        self._gateway_sessions.clear()

    def add_relay(self, serial: str = RELAY_SERIAL, **attrs: Any) -> RelayDevice:
        """Add a Q-Relay to the inventory; returns the mutable device."""
        relay = RelayDevice(serial=serial, **attrs)
        self.relays[serial] = relay
        return relay

    def set_device_flags(self, serial: str, **fields: Any) -> None:
        """Override inventory fields of a device (producing, communicating, provisioned,
        operating, or e.g. ``admin_state=0`` to decommission it)."""
        self.device_flags.setdefault(serial, {}).update(fields)

    def set_payload(
        self,
        path: str,
        payload: Any,
        *,
        status: int = 200,
        content_type: str = "application/json",
    ) -> None:
        """Serve ``payload`` for ``path`` (query ignored) instead of the capture."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._payloads[path] = FixtureResponse(status, body, content_type)

    def fixture_json(self, key: str) -> Any:
        """A captured payload of the loaded set, parsed (for expected values in tests)."""
        return self.fixture.json(key)

    # -- request handling -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/__sim__/"):
            return await self._control(request)
        body = await request.text()
        self.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
                self.now,
            )
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        if (fault := self._take_fault(request)) is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.reset:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            if fault.status is not None:
                return web.Response(
                    status=fault.status,
                    body=(fault.body or "").encode(),
                    headers={"Content-Type": fault.content_type, **(fault.headers or {})},
                )
        if request.method == "POST" and request.path == "/login/login.json":
            return await self._cloud_login(request)
        if request.method == "POST" and request.path == "/tokens":
            return self._cloud_token(body)
        if request.path == "/info":
            return web.Response(body=self.fixture.info_xml, headers={"Content-Type": "text/xml"})
        if request.path == "/auth/check_jwt":
            return self._check_jwt(request)
        if (denied := self._authorize(request)) is not None:
            return denied
        return self._serve(request)

    def _take_fault(self, request: web.Request) -> Fault | None:
        for fault in self._faults:
            if fault.path_contains not in request.path_qs:
                continue
            if fault.method and fault.method.upper() != request.method:
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _bearer_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            return self._tokens.check(token, serial=self.serial, now=self.now).ok
        session = request.cookies.get("sessionId")
        if session and (stored := self._gateway_sessions.get(session)):
            return self._tokens.check(stored, serial=self.serial, now=self.now).ok
        return False

    def _authorize(self, request: web.Request) -> web.Response | None:
        """None when the request may proceed, else the refusal."""
        if self.requires_token:
            if self._bearer_ok(request):
                return None
            return web.Response(
                status=401, body=UNAUTHORIZED_HTML, headers={"Content-Type": "text/html"}
            )
        if request.path in LEGACY_PUBLIC_PATHS:
            return None
        header = request.headers.get("Authorization", "")
        uri = request.rel_url.raw_path_qs
        if header and self._digest.verify(header, request.method, uri, self.local_users):
            return None
        return web.Response(
            status=401,
            body=UNAUTHORIZED_HTML,
            headers={"Content-Type": "text/html", "WWW-Authenticate": self._digest.challenge()},
        )

    def _check_jwt(self, request: web.Request) -> web.Response:
        if not self.requires_token:
            return web.Response(status=404, body=NOT_FOUND_JSON, content_type="application/json")
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token or not self._tokens.check(token, serial=self.serial, now=self.now).ok:
            return web.Response(
                status=401, body=UNAUTHORIZED_HTML, headers={"Content-Type": "text/html"}
            )
        session = secrets.token_hex(16)
        self._gateway_sessions[session] = token
        response = web.Response(
            body=b"<!DOCTYPE html><h2>Valid token.</h2>\n", headers={"Content-Type": "text/html"}
        )
        response.set_cookie("sessionId", session, path="/", httponly=True, secure=True)
        return response

    def _serve(self, request: web.Request) -> web.Response:
        path, query = request.path, request.rel_url.raw_query_string
        if request.method != "GET":
            return web.Response(status=405, body=b"", headers={"Content-Type": "text/html"})
        found = self._payloads.get(path)
        if found is None and path == "/inventory.json":
            return _json_response(self._inventory(include_deleted="deleted=1" in query))
        if found is None:
            found = self.fixture.lookup(path, query)
        if found is None:
            return web.Response(status=404, body=NOT_FOUND_JSON, content_type="application/json")
        return web.Response(
            status=found.status, body=found.body, headers={"Content-Type": found.content_type}
        )

    # -- inventory ------------------------------------------------------------------------

    def _inventory(self, *, include_deleted: bool) -> list[dict[str, Any]]:
        captured = None
        for key in ("inventory.json", "inventory.json_deleted_1", "inventory"):
            if isinstance(found := self.fixture.json(key), list):
                captured = copy.deepcopy(found)
                break
        groups: list[dict[str, Any]] = captured or self._synth_inventory()
        by_type = {g.get("type"): g for g in groups if isinstance(g, dict)}
        if "NSRB" not in by_type:
            by_type["NSRB"] = {"type": "NSRB", "devices": []}
            groups.append(by_type["NSRB"])
        by_type["NSRB"]["devices"].extend(r.to_inventory(self.now) for r in self.relays.values())
        for group in groups:
            devices = group.get("devices", [])
            for device in devices:
                device.update(self.device_flags.get(str(device.get("serial_num")), {}))
            if not include_deleted:
                devices[:] = [d for d in devices if d.get("admin_state") != 0]
        return groups

    def _synth_inventory(self) -> list[dict[str, Any]]:
        """Build inventory groups from the captured inverter reports."""
        pcus: list[dict[str, Any]] = []
        inverters = self.fixture.json("api_v1_production_inverters") or []
        for n, inv in enumerate(inverters):
            if not isinstance(inv, dict) or inv.get("devType", 1) != 1:
                continue
            stamp = str(inv.get("lastReportDate", 0))
            pcus.append(
                {
                    "part_num": "800-01391-r03",
                    "installed": "1600000000",
                    "serial_num": inv["serialNumber"],
                    "device_status": ["envoy.global.ok"],
                    "last_rpt_date": stamp,
                    "admin_state": 1,
                    "dev_type": 1,
                    "created_date": "1600000000",
                    "img_load_date": "1600000000",
                    "img_pnum_running": "520-00082-r01-v04.27.04",
                    "ptpn": "540-00135-r01-v04.27.04",
                    "chaneid": 1627389000 + n,
                    "device_control": [{"gficlearset": False}],
                    "producing": inv.get("lastReportWatts", 0) > 0,
                    "communicating": True,
                    "provisioned": True,
                    "operating": True,
                }
            )
        return [
            {"type": "PCU", "devices": pcus},
            {"type": "ACB", "devices": []},
            {"type": "NSRB", "devices": []},
        ]

    # -- fake Enlighten / Entrez ----------------------------------------------------------

    async def _cloud_login(self, request: web.Request) -> web.Response:
        form = await request.post()
        email, password = str(form.get("user[email]", "")), str(form.get("user[password]", ""))
        if email == BLOCKED_EMAIL and password == BLOCKED_PASSWORD:
            return _json_response({"success": False, "isBlocked": True})
        if email == MFA_EMAIL and password == MFA_PASSWORD:
            return _json_response({"success": True, "isBlocked": False})
        if self.cloud_accounts.get(email) != password or not email:
            return _json_response({"message": "Invalid email or password"}, status=401)
        session_id = secrets.token_hex(16)
        self._cloud_sessions[session_id] = email
        return _json_response(
            {
                "message": "success",
                "session_id": session_id,
                "manager_token": secrets.token_hex(8),
                "is_consumer": True,
            }
        )

    def _cloud_token(self, body: str) -> web.Response:
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="Bad request")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="Bad request")
        email = self._cloud_sessions.get(str(payload.get("session_id")))
        if email is None or email != payload.get("username"):
            return web.Response(status=401, text="Unauthorized")
        serial = str(payload.get("serial_num", ""))
        if serial not in self.cloud_serials:
            return web.Response(status=403, text="Serial not on this account")
        self.tokens_issued += 1
        token = self.issue_token(serial=serial, username=email)
        return web.Response(text=token, content_type="text/plain")

    # -- HTTP control surface (standalone use) --------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        action = request.path.removeprefix("/__sim__/")
        payload: Any = await request.json() if request.can_read_body else {}
        if action == "fault" and request.method == "POST":
            self.inject_fault(**payload)
        elif action == "faults" and request.method == "DELETE":
            self.clear_faults()
        elif action == "requests" and request.method == "GET":
            return _json_response(
                [{"method": r.method, "path": r.path, "query": r.query} for r in self.requests]
            )
        elif action == "requests" and request.method == "DELETE":
            self.clear_requests()
        elif action == "advance" and request.method == "POST":
            self.advance(float(payload.get("seconds", 0)))
        elif action == "revoke_tokens" and request.method == "POST":
            self.revoke_tokens()
        elif action == "token" and request.method == "POST":
            return _json_response({"token": self.issue_token(lifetime=payload.get("lifetime"))})
        elif action == "relay" and request.method == "POST":
            self.add_relay(**payload)
        elif action == "state" and request.method == "GET":
            return _json_response(
                {
                    "fixture": self.fixture.name,
                    "serial": self.serial,
                    "firmware": self.firmware,
                    "now": self.now.isoformat(),
                    "relays": sorted(self.relays),
                }
            )
        else:
            return _json_response({"error": "unknown control"}, status=404)
        return _json_response({"ok": True})
