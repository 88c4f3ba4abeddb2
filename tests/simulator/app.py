"""The fake Enlighten cloud: an aiohttp.web application with a Python control surface."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Self

from aiohttp import web

from . import (
    engine,
    handlers_battery,
    handlers_control,
    handlers_ev,
    handlers_grid,
    handlers_scheduler,
    handlers_sessions,
    handlers_site,
)
from .auth import AuthStore, auth_middleware, handle_login, handle_resend_otp, handle_validate_otp
from .faults import Fault, RecordedRequest, error_middleware, traffic_middleware
from .scenarios import build_sites
from .state import SiteState
from .timefmt import Clock
from .web_utils import SIM_KEY

HOST = "127.0.0.1"
INITIAL_LOGIN_OTP = "123456"
INITIAL_GRID_OTP = "2468"


class EnlightenSimulator:
    """Stateful, fault-injectable Enlighten cloud bound to 127.0.0.1.

    ``realtime=True`` lets the simulated clock follow the wall clock as well (standalone
    use); by default it only moves through :meth:`advance`.
    """

    def __init__(self, *, realtime: bool = False, start: datetime | None = None) -> None:
        self.clock = Clock(start, realtime=realtime)
        self.auth = AuthStore()
        self.sites: dict[int, SiteState] = build_sites(self.clock)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.latency = 0.0
        self.login_otp = INITIAL_LOGIN_OTP
        self.grid_otp = INITIAL_GRID_OTP
        self.url = ""
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None

    # ----------------------------------------------------------------- lifecycle
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[traffic_middleware, auth_middleware, error_middleware])
        app[SIM_KEY] = self
        routes: list[tuple[str, str, Any]] = [
            ("POST", "/login/login.json", handle_login),
            ("POST", "/app-api/validate_login_otp", handle_validate_otp),
            ("POST", "/app-api/generate_mfa_login_otp", handle_resend_otp),
        ]
        for module in (
            handlers_site,
            handlers_ev,
            handlers_sessions,
            handlers_scheduler,
            handlers_grid,
            handlers_battery,
            handlers_control,
        ):
            routes.extend(module.ROUTES)
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        return app

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0 = any free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1]
        self.url = f"http://{HOST}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- clock/state
    @property
    def now(self) -> datetime:
        """Simulated time (aware UTC)."""
        return self.clock.now()

    def tick(self) -> None:
        """Bring every site up to the current simulated time."""
        now = self.now
        for site in self.sites.values():
            engine.tick(site, now)

    def advance(self, seconds: float) -> None:
        """Move simulated time; applies pending changes and grows energy/sessions."""
        self.tick()
        self.clock.advance(seconds)
        self.tick()

    def site(self, site_id: int | str) -> SiteState:
        """State of one site (KeyError when unknown)."""
        return self.sites[int(site_id)]

    def reset(self) -> None:
        """Rebuild all sites from the scenarios; clear faults, latency and the request log."""
        self.sites = build_sites(self.clock)
        self.faults.clear()
        self.requests.clear()
        self.latency = 0.0

    # ----------------------------------------------------------------- auth knobs
    def expire_sessions(self) -> None:
        """Invalidate every session (forces a re-login)."""
        self.auth.expire_all()

    def rotate_login_otp(self) -> str:
        """New 6-digit login OTP (what 6.3 does)."""
        self.login_otp = _new_code(6, self.login_otp)
        return self.login_otp

    def rotate_grid_otp(self) -> str:
        """New 4-digit grid OTP (what 2.12.1 does)."""
        self.grid_otp = _new_code(4, self.grid_otp)
        return self.grid_otp

    # ----------------------------------------------------------------- faults/log
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
    ) -> Fault:
        """Fail matching requests (``count`` None = until :meth:`clear_faults`)."""
        fault = Fault(
            path_contains=path_contains,
            status=status,
            count=count,
            latency=latency,
            body=body,
            content_type=content_type,
            headers=dict(headers) if headers else None,
            reset=reset,
            method=method,
        )
        self.faults.append(fault)
        return fault

    def take_fault(self, request: web.Request) -> Fault | None:
        """The first fault matching ``request``, consuming one of its uses."""
        for fault in self.faults:
            if fault.matches(request):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self.requests.clear()

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path contains ``path_contains`` (optionally by method)."""
        return [
            r
            for r in self.requests
            if path_contains in r.path and (method is None or r.method == method.upper())
        ]


def _new_code(digits: int, previous: str) -> str:
    while True:
        code = f"{secrets.randbelow(10**digits):0{digits}d}"
        if code != previous:
            return code
