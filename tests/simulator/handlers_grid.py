"""Grid control (2.12 check, 2.12.1-2.12.2 OTP, 2.12.3 relay command, 2.12.4 log, 2.12.5)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web

from .state import SiteState
from .timefmt import epoch_ms
from .web_utils import error, fail, ok, read_form, session_of, sim_of, site_of

APP = "/app-api/{site_id:\\d+}"
OTP_WINDOW = timedelta(minutes=5)
OFF_GRID_RELAY = "OPER_RELAY_OFFGRID_AC_GRID_PRESENT"
CLOSED_RELAY = "OPER_RELAY_CLOSED"
RELAY_STATES = frozenset(
    {CLOSED_RELAY, OFF_GRID_RELAY, "OPER_RELAY_OFFGRID_READY_FOR_RESYNC_CMD", "OPER_RELAY_OPEN"}
)


async def grid_control_check(request: web.Request) -> web.Response:
    """2.12 grid-toggle guard flags."""
    grid = site_of(request).grid
    return ok(
        {
            "disableGridControl": grid.disable_grid_control,
            "activeDownload": grid.active_download,
            "sunlightBackupSystemCheck": grid.sunlight_backup_system_check,
            "gridOutageCheck": grid.grid_outage_check,
            "userInitiatedGridToggle": grid.user_initiated_grid_toggle,
        }
    )


async def send_grid_otp(request: web.Request) -> web.Response:
    """2.12.1 (re)send the 4-digit grid OTP (rotates ``sim.grid_otp``)."""
    site_of(request)
    sim_of(request).rotate_grid_otp()
    return ok({"success": "email sent successfully"})


async def verify_grid_otp(request: web.Request) -> web.Response:
    """2.12.2 check the grid OTP; a valid one unlocks 2.12.3 for 5 minutes."""
    sim = sim_of(request)
    session = session_of(request)
    form = await read_form(request)
    try:
        site_id = int(form.get("site_id", ""))
    except ValueError:
        fail(400, "Bad request", details="site_id missing")
    if site_id not in session.account.site_ids:
        fail(403, "Forbidden")
    valid = form.get("otp", "") == sim.grid_otp
    if valid:
        session.grid_verified[site_id] = sim.now
    return ok({"valid": valid})


def _site_for_envoy(request: web.Request, serial: str) -> SiteState:
    sim = sim_of(request)
    session = session_of(request)
    for site_id in session.account.site_ids:
        site = sim.site(site_id)
        if site.gateway.serial == serial:
            return site
    raise error(400, "Bad request", details="Unknown envoy_serial_number")


async def grid_state(request: web.Request) -> web.Response:
    """2.12.3 relay command: state=1 off grid, state=2 on grid (needs a fresh OTP check)."""
    sim = sim_of(request)
    session = session_of(request)
    form = await read_form(request)
    site = _site_for_envoy(request, form.get("envoy_serial_number", ""))
    verified = session.grid_verified.get(site.site_id)
    if verified is None or sim.now - verified > OTP_WINDOW:
        return ok({"message": "OTP not verified"}, status=403)
    state = form.get("state")
    if state not in ("1", "2"):
        fail(400, "Bad request", details="state must be 1 or 2")
    if site.grid.disable_grid_control:
        fail(422, "Grid control is disabled for this site")
    site.grid.off_grid = state == "1"
    site.grid.relay_state = OFF_GRID_RELAY if site.grid.off_grid else CLOSED_RELAY
    site.add_event(
        "grid_state_changed",
        site.enpower.serial if site.enpower else site.gateway.serial,
        "System went off grid." if site.grid.off_grid else "System is back on grid.",
        at=sim.now,
    )
    return ok(
        {
            "request_id": f"req_{secrets.token_hex(12)}",
            "context_ids": [epoch_ms(sim.now) * 1000],
        }
    )


async def log_grid_change(request: web.Request) -> web.Response:
    """2.12.4 audit log of a relay transition."""
    form = await read_form(request)
    site = _site_for_envoy(request, form.get("envoy_serial_number", ""))
    old, new = form.get("old_state", ""), form.get("new_state", "")
    if old not in RELAY_STATES or new not in RELAY_STATES:
        fail(400, "Bad request", details="old_state/new_state must be relay states")
    entry: dict[str, Any] = {"status": "Grid Change Logged", "old_state": old, "new_state": new}
    site.grid.change_log.append(entry | {"at": sim_of(request).now.isoformat()})
    return ok(entry)


async def off_grid_status(request: web.Request) -> web.Response:
    """2.12.5 grid-outage context for the grid control card."""
    site = site_of(request)
    return ok(
        {
            "continent_code": site.continent_code,
            "country_code": site.country_code,
            "isd_code": site.isd_code,
            "phone": site.support_phone,
            "is_sunlight_backup": site.grid.sunlight_backup_system_check,
            "is_grid_outage": site.grid.off_grid or site.grid.outage,
            "show_grid_connect": not site.grid.outage,
            "has_battery": site.has_battery,
        }
    )


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{APP}/grid_control_check.json", grid_control_check),
    ("GET", f"{APP}/grid_toggle_otp.json", send_grid_otp),
    ("POST", "/app-api/grid_toggle_otp.json", verify_grid_otp),
    ("POST", "/pv/settings/grid_state.json", grid_state),
    ("POST", "/pv/settings/log_grid_change.json", log_grid_change),
    ("GET", f"{APP}/off_grid_due_to_grid_outage", off_grid_status),
]
