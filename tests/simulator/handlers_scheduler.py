"""EV scheduler service: charge mode (4.1/4.2), green settings (4.3), schedules (4.4/4.5)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import Any

from aiohttp import web

from .state import CHARGE_MODES, ChargerState, SiteState
from .timefmt import iso_offset
from .web_utils import charger_of, fail, ok, read_json, sim_of, site_of

SCHED = "/service/evse_scheduler/api/v1/iqevc/charging-mode"
SITE_RE = "{site_id:\\d+}"
USE_BATTERY = "USE_BATTERY_FOR_SELF_CONSUMPTION"
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SLOT_TYPES = ("CUSTOM", "OFF_PEAK")


def _stamp(request: web.Request) -> str:
    return iso_offset(sim_of(request).now.astimezone(UTC))


def _modes(ch: ChargerState) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, mode in (
        ("manualCharging", "MANUAL_CHARGING"),
        ("scheduledCharging", "SCHEDULED_CHARGING"),
        ("greenCharging", "GREEN_CHARGING"),
    ):
        entry: dict[str, Any] = {"enabled": ch.mode == mode}
        if ch.mode == mode:
            entry["chargingMode"] = mode
        out[key] = entry
    return {"data": {"modes": out}}


async def preference(request: web.Request) -> web.Response:
    """4.1 read / 4.2 set the preferred charge mode."""
    ch = charger_of(request, site_of(request))
    if request.method == "PUT":
        body = await read_json(request)
        mode = body.get("mode") if isinstance(body, dict) else None
        if mode not in CHARGE_MODES:
            fail(400, "Bad request", details=f"mode must be one of {', '.join(CHARGE_MODES)}")
        ch.mode = mode
    return ok(_modes(ch))


async def green_settings(request: web.Request) -> web.Response:
    """4.3 green-mode 'use battery' setting (GET and PUT)."""
    site = site_of(request)
    ch = charger_of(request, site)
    stamp = _stamp(request)
    if request.method == "GET":
        rows = (
            [{"chargerSettingName": USE_BATTERY, "enabled": ch.green_use_battery, "value": None}]
            if ch.supports_use_battery
            else []
        )
        meta = {"serverTimeStamp": stamp, "rowCount": len(rows)}
        return ok({"meta": meta, "data": rows, "error": {}})
    body = await read_json(request)
    items = body.get("chargerSettingList") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        fail(400, "Bad request", details="chargerSettingList missing")
    for item in items:
        if not isinstance(item, dict) or item.get("chargerSettingName") != USE_BATTERY:
            fail(400, "Bad request", details="Unknown chargerSettingName")
        if not isinstance(item.get("enabled"), bool):
            fail(400, "Bad request", details="enabled must be a boolean")
    if not ch.supports_use_battery:
        fail(422, "Use battery is not supported by this charger")
    ch.green_use_battery = bool(items[-1]["enabled"])
    inner = {"meta": {"serverTimeStamp": stamp}, "data": None, "error": {}}
    return ok({"meta": {"serverTimeStamp": stamp}, "data": inner, "error": {}})


def schedules_payload(site: SiteState, ch: ChargerState, stamp: str) -> dict[str, Any]:
    """4.4 payload for a charger."""
    return {
        "meta": {"serverTimeStamp": stamp},
        "data": {
            "config": {
                "isOffPeakEligible": True,
                "scheduleSyncStatus": ch.schedule_sync_status,
                "isModeCancellable": True,
                "pendingModesOffGrid": False,
                "pendingSchedulesOffGrid": site.grid.off_grid,
            },
            "slots": [dict(slot) for slot in ch.schedules],
        },
        "error": {},
    }


def _reminder_utc(site: SiteState, start: str, minutes: int) -> str:
    hour, minute = (int(p) for p in start.split(":"))
    local = site.local_now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    total = (local.astimezone(UTC).hour * 60 + local.astimezone(UTC).minute - minutes) % 1440
    return f"{total // 60:02d}:{total % 60:02d}"


def _optional_int(slot: dict[str, Any], key: str) -> int | None:
    value = slot.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        fail(400, "Bad request", details=f"{key} must be an integer or null")
    return value


def normalize_slot(site: SiteState, ch: ChargerState, slot: Any) -> dict[str, Any]:
    """Validate one PATCHed slot and store it the way later GETs return it."""
    if not isinstance(slot, dict):
        fail(400, "Bad request", details="slot must be an object")
    kind = slot.get("scheduleType")
    if kind not in SLOT_TYPES:
        fail(400, "Bad request", details="scheduleType must be CUSTOM or OFF_PEAK")
    start, end = slot.get("startTime"), slot.get("endTime")
    for value in (start, end):
        if value is not None and (not isinstance(value, str) or not HHMM.match(value)):
            fail(400, "Bad request", details="startTime/endTime must be HH:MM")
    if kind == "CUSTOM" and (start is None or end is None):
        fail(400, "Bad request", details="CUSTOM schedules need startTime and endTime")
    days = slot.get("days", [1, 2, 3, 4, 5, 6, 7] if kind == "OFF_PEAK" else None)
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and 1 <= d <= 7 for d in days)
    ):
        fail(400, "Bad request", details="days must be a non-empty list of 1..7")
    level = _optional_int(slot, "chargingLevel")
    amp = _optional_int(slot, "chargingLevelAmp")
    if kind == "CUSTOM" and amp is None and level in (None, 100):
        level = amp = ch.max_amps
    for value in (level, amp):
        if value is not None and not ch.valid_level(value):
            fail(400, "Bad request", details="chargingLevel out of range")
    if amp is None and level is not None:
        amp = level
    enabled = slot.get("enabled", False)
    remind_flag = slot.get("remindFlag", False)
    if not isinstance(enabled, bool) or not isinstance(remind_flag, bool):
        fail(400, "Bad request", details="enabled/remindFlag must be booleans")
    remind_time = _optional_int(slot, "remindTime")
    reminder_utc = None
    if remind_flag and start is not None:
        reminder_utc = _reminder_utc(site, start, remind_time or 0)
    slot_id = slot.get("id")
    if slot_id is None or slot_id == "":
        slot_id = f"{site.site_id}:{ch.sn}:{uuid.uuid4()}"
    return {
        "id": str(slot_id),
        "startTime": start,
        "endTime": end,
        "chargingLevel": level,
        "chargingLevelAmp": amp,
        "scheduleType": kind,
        "days": sorted(set(days)),
        "remindTime": remind_time,
        "remindFlag": remind_flag,
        "enabled": enabled,
        "recurringKind": slot.get("recurringKind"),
        "chargeLevelType": slot.get("chargeLevelType"),
        "sourceType": slot.get("sourceType") or "SYSTEM",
        "reminderTimeUtc": reminder_utc,
        "serializedDays": None,
    }


async def schedules(request: web.Request) -> web.Response:
    """4.4 list (GET) and 4.5 replace (PATCH) the charging schedules."""
    site = site_of(request)
    ch = charger_of(request, site)
    if request.method == "PATCH":
        body = await read_json(request)
        slots = body.get("data") if isinstance(body, dict) else None
        if not isinstance(slots, list):
            fail(400, "Bad request", details="data must be the full list of slots")
        ch.schedules = [normalize_slot(site, ch, slot) for slot in slots]
    return ok(schedules_payload(site, ch, _stamp(request)))


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{SCHED}/{SITE_RE}/{{sn}}/preference", preference),
    ("PUT", f"{SCHED}/{SITE_RE}/{{sn}}/preference", preference),
    ("GET", f"{SCHED}/GREEN_CHARGING/{SITE_RE}/{{sn}}/settings", green_settings),
    ("PUT", f"{SCHED}/GREEN_CHARGING/{SITE_RE}/{{sn}}/settings", green_settings),
    ("GET", f"{SCHED}/SCHEDULED_CHARGING/{SITE_RE}/{{sn}}/schedules", schedules),
    ("PATCH", f"{SCHED}/SCHEDULED_CHARGING/{SITE_RE}/{{sn}}/schedules", schedules),
]
