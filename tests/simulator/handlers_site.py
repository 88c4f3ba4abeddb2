"""Site discovery (1.1), energy (2.8, 2.14), inventory (2.9, 2.13, 2.15), events (2.10),
backup history (2.11) and battery status (2.16)."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from . import energy
from .state import EVENT_CATALOG, DeviceCard, EventRecord, InverterState
from .timefmt import epoch_s
from .web_utils import fail, ok, session_of, sim_of, site_of

APP = "/app-api/{site_id:\\d+}"
SYSTEMS = "/systems/{site_id:\\d+}"
STATUS_TEXT = {
    "normal": "Normal",
    "warning": "Warning",
    "error": "Error",
    "not_reporting": "Not Reporting",
}
PROFILE_LABELS = {
    "self-consumption": "Self-Consumption",
    "cost_savings": "Savings Mode",
    "backup_only": "Full Backup",
}
BATTERY_MICROS = 6


async def search_sites(request: web.Request) -> web.Response:
    """1.1 sites of the logged-in account."""
    sim = sim_of(request)
    account = session_of(request).account
    text = request.query.get("searchText", "").strip().lower()
    favourites_only = request.query.get("favourite", "false").lower() == "true"
    sites = []
    for site_id in account.site_ids:
        site = sim.site(site_id)
        if text and text not in site.name.lower() and text not in str(site_id):
            continue
        if favourites_only and not site.favourite:
            continue
        sites.append(
            {
                "id": site_id,
                "path": f"/web/{site_id}?v=3.4.0",
                "title": site.name,
                "favourite": site.favourite,
            }
        )
    return ok({"sites": sites})


async def lifetime_energy(request: web.Request) -> web.Response:
    """2.8 daily lifetime buckets."""
    return ok(energy.lifetime_payload(site_of(request), sim_of(request).now))


def _card(card: DeviceCard, last_report: int, channel_type: str) -> dict[str, Any]:
    return {
        "name": card.name,
        "serial_number": card.serial,
        "sku_id": card.sku_id,
        "channel_type": card.channel_type or channel_type,
        "status": card.status,
        "last_report": last_report,
        "sw_version": card.sw_version,
        "warranty_end_date": card.warranty_end_date,
    }


async def devices(request: web.Request) -> web.Response:
    """2.9 grouped inventory plus the curr_date_site metadata object."""
    site = site_of(request)
    now = epoch_s(sim_of(request).now)
    gw = site.gateway
    gw_status = "normal" if gw.connected else "not_reporting"
    result: list[dict[str, Any]] = [
        {
            "type": "envoy",
            "devices": [
                {
                    "name": gw.name,
                    "serial_number": gw.serial,
                    "sku_id": gw.sku_id,
                    "connected": gw.connected,
                    "status": gw_status,
                    "statusText": STATUS_TEXT[gw_status],
                    "ip": gw.ip,
                    "envoy_sw_version": gw.sw_version,
                    "last_report": now - 300 if gw.connected else now - 86400,
                    "show_connection_details": True,
                    "warranty_end_date": gw.warranty_end_date,
                }
            ],
        }
    ]
    if site.meters:
        result.append(
            {"type": "meter", "devices": [_card(m, now - 300, "Meter") for m in site.meters]}
        )
    storages = site.battery.storages if site.battery else []
    result.append(
        {
            "type": "encharge",
            "devices": [
                {
                    "name": s.name,
                    "serial_number": s.serial,
                    "sku_id": s.sku_id,
                    "channel_type": "IQ Battery",
                    "status": s.status,
                    "last_report": now - 290 - n,
                    "sw_version": s.sw_version,
                    "warranty_end_date": s.warranty_end_date,
                }
                for n, s in enumerate(storages)
            ],
        }
    )
    enpower = [_card(site.enpower, now - 280, "IQ System Controller")] if site.enpower else []
    result.append({"type": "enpower", "devices": enpower})
    if site.chargers:
        evse = [
            _card(
                DeviceCard(
                    name=ch.name,
                    serial=ch.sn,
                    sku_id=ch.sku,
                    sw_version=ch.firmware,
                    status="normal" if ch.connected and not ch.faulted else "error",
                    warranty_end_date="2030-01-01",
                ),
                now - 41,
                "IQ EV Charger",
            )
            for ch in site.chargers.values()
        ]
        result.append({"type": "iqevse", "devices": evse})
    result.append({"curr_date_site": site.today().isoformat()})
    return ok({"result": result})


def _event_token(event: EventRecord) -> str:
    type_id = EVENT_CATALOG[event.key][0]
    return f"{epoch_s(event.at)}:{event.serial}:{type_id}:{event.id}"


def _event_json(event: EventRecord) -> dict[str, Any]:
    type_id, kind, template, status = EVENT_CATALOG[event.key]
    at = epoch_s(event.at)
    impacted = f"{kind} (SNo. {event.serial})"
    return {
        "id": event.id,
        "status": status,
        "type": kind,
        "description": template.format(name=event.name, serial=event.serial),
        "standing": False,
        "event_start_date": at,
        "event_clear_date": epoch_s(event.cleared_at) if event.cleared_at else None,
        "devices_impacted": [impacted],
        "serial_num": event.serial,
        "recommended_action": "No action is required."
        if status == "Info"
        else "Contact your installer if this happens again.",
        "emu_event_id": -1,
        "event_key": event.key,
        "event_date": at,
        "event_type_id": type_id,
        "message_params": event.params,
    }


async def events(request: web.Request) -> web.Response:
    """2.10 homeowner events, newest first, opaque ``next`` cursor."""
    site = site_of(request)
    try:
        page_size = int(request.query.get("page_size", "30"))
    except ValueError:
        fail(400, "Bad request", details="page_size must be an integer")
    if not 1 <= page_size <= 5000:
        fail(400, "Bad request", details="page_size out of range")
    ordered = sorted(site.events, key=lambda e: (e.at, e.id), reverse=True)
    cursor = request.query.get("next", "")
    start = 0
    if cursor and cursor != "start":
        tokens = [_event_token(e) for e in ordered]
        if cursor not in tokens:
            fail(400, "Bad request", details="Invalid next cursor")
        start = tokens.index(cursor) + 1
    page = ordered[start : start + page_size]
    more = start + page_size < len(ordered)
    base = f"/service/events-platform-service/v1.0/{site.site_id}/events/homeowner"
    return ok(
        {
            "events": [_event_json(e) for e in page],
            "site_timezone": site.timezone,
            "next": _event_token(page[-1]) if more and page else None,
            "page_size": page_size,
            "csv_link": f"{sim_of(request).url}{base}?export=true&next=start&page_size=5000",
        }
    )


async def backup_history(request: web.Request) -> web.Response:
    """2.11 backup (outage) history."""
    site = site_of(request)
    rows = sorted(site.backup_history, reverse=True)
    return ok(
        {
            "total_records": len(rows),
            "total_backup": sum(d for _, d in rows),
            "histories": [
                {"start_time": start.isoformat(timespec="seconds"), "duration": duration}
                for start, duration in rows
            ],
        }
    )


def _last_report(inv: InverterState, now: int) -> int:
    offset = 3 * 86400 if inv.status == "not_reporting" else 300 + int(inv.inverter_id[-2:])
    return now - offset


async def inverters(request: web.Request) -> web.Response:
    """2.13 microinverter inventory with limit/offset/search."""
    site = site_of(request)
    try:
        limit = int(request.query.get("limit", "500"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        fail(400, "Bad request", details="limit/offset must be integers")
    if limit < 1 or offset < 0:
        fail(400, "Bad request", details="limit/offset out of range")
    search = request.query.get("search", "").strip().lower()
    matching = [
        inv
        for inv in site.inverters
        if not search
        or search in inv.serial.lower()
        or search in inv.model.lower()
        or search in inv.array_name.lower()
    ]
    now = epoch_s(sim_of(request).now)
    counts = {status: sum(1 for i in matching if i.status == status) for status in STATUS_TEXT}
    full = site.scenario == "full"
    return ok(
        {
            "total": len(matching),
            "not_reporting": counts["not_reporting"],
            "inverters": [
                {
                    "name": inv.model,
                    "array_name": inv.array_name,
                    "serial_number": inv.serial,
                    "sku_id": inv.sku_id,
                    "status": inv.status,
                    "statusText": STATUS_TEXT.get(inv.status, inv.status.title()),
                    "part_num": inv.part_num,
                    "sku": inv.sku,
                    "last_report": _last_report(inv, now),
                    "fw1": inv.fw1,
                    "fw2": inv.fw2,
                    "warranty_end_date": "2046-08-10",
                }
                for inv in matching[offset : offset + limit]
            ],
            "error_count": counts["error"],
            "warning_count": counts["warning"],
            "normal_count": counts["normal"],
            "panel_info": {
                "pv_module_manufacturer": "Example Solar" if full else None,
                "model_name": "ES-410-M" if full else None,
                "stc_rating": 410 if full else None,
            },
        }
    )


def _parse_date(request: web.Request, key: str) -> date:
    try:
        return date.fromisoformat(request.query[key])
    except KeyError, ValueError:
        fail(400, "Bad request", details=f"{key} must be YYYY-MM-DD")


async def inverter_energy(request: web.Request) -> web.Response:
    """2.14 per-inverter production for a date window."""
    site = site_of(request)
    start = _parse_date(request, "start_date")
    end = _parse_date(request, "end_date")
    if start > end:
        fail(400, "Bad request", details="start_date after end_date")
    production = energy.inverter_energy(site, start, end, sim_of(request).now)
    return ok(
        {"production": production, "start_date": start.isoformat(), "end_date": end.isoformat()}
    )


def _status_entry(serial: str, status: str, device_id: int, emu: str, kind: str) -> dict[str, Any]:
    return {
        "serialNum": serial,
        "statusCode": status,
        "status": STATUS_TEXT.get(status, status.title()),
        "deviceId": device_id,
        "issi": {"sig_str": 0, "level": 0},
        "rssi": {"sig_str": 0, "level": 0},
        "emu_version": emu,
        "show_sig_str": False,
        "type": kind,
    }


async def inverter_status(request: web.Request) -> web.Response:
    """2.15 inverter id -> serial/status map (battery PCUs included on mixed sites)."""
    site = site_of(request)
    emu = site.gateway.emu_version or ""
    out = {
        inv.inverter_id: _status_entry(inv.serial, inv.status, inv.device_id, emu, inv.model)
        for inv in site.inverters
    }
    if site.battery is not None:
        for n, s in enumerate(site.battery.storages, start=1):
            device_id = 63_000_000 + (site.site_id % 1000) * 1000 + n
            out[s.inverter_id] = _status_entry(s.serial, s.status, device_id, emu, "ENCHARGE")
    return ok(out)


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


async def battery_status(request: web.Request) -> web.Response:
    """2.16 battery card: string percentages, kWh/kW figures, one row per battery."""
    site = site_of(request)
    now = epoch_s(sim_of(request).now)
    battery = site.battery
    storages = battery.storages if battery else []
    included = [s for s in storages if not s.excluded]
    label = PROFILE_LABELS.get(battery.profile if battery else "", "Self-Consumption")
    rows = []
    total_power = 0.0
    for n, s in enumerate(storages):
        power = s.max_power_kw if s.soc > 0 and not s.excluded else 0.0
        total_power += power
        rows.append(
            {
                "id": s.id,
                "serial_number": s.serial,
                "current_charge": f"{round(s.soc)}%",
                "available_energy": round(s.capacity_kwh * s.soc / 100, 2),
                "max_capacity": _whole(s.capacity_kwh),
                "led_status": s.led_status,
                "excluded": s.excluded,
                "error_code": s.error_code,
                "error_text": s.error_text,
                "available_power": float(power),
                "max_power": float(s.max_power_kw),
                "total_micros": BATTERY_MICROS,
                "active_micros": BATTERY_MICROS,
                "inactive_micros": 0,
                "inactive_micros_sn": [],
                "event_start_date": None,
                "event_description": None,
                "event_recommendation": None,
                "statusText": STATUS_TEXT.get(s.status, s.status.title()),
                "status": s.status,
                "last_report": now - 290 - n * 10,
                "cycle_count": s.cycle_count,
                "battery_mode": label,
                "rated_power": int(s.max_power_kw * 1000),
                "battery_phase_count": 1,
                "is_flex_phase": False,
                "battery_soh": f"{s.soh}%",
            }
        )
    soc = battery.soc if battery and included else None
    return ok(
        {
            "current_charge": f"{round(soc)}%" if soc is not None else None,
            "available_energy": round(sum(s.capacity_kwh * s.soc / 100 for s in included), 2),
            "max_capacity": _whole(sum(s.capacity_kwh for s in included)),
            "available_power": round(total_power, 2),
            "max_power": round(sum(s.max_power_kw for s in included), 2),
            "total_micros": BATTERY_MICROS * len(included),
            "show_battery_banner": False,
            "active_micros": BATTERY_MICROS * len(included),
            "inactive_micros": 0,
            "inactive_micros_sn": [],
            "included_count": len(included),
            "excluded_count": len(storages) - len(included),
            "storages": rows,
        }
    )


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/app-api/search_sites.json", search_sites),
    ("GET", "/pv/systems/{site_id:\\d+}/lifetime_energy", lifetime_energy),
    ("GET", f"{APP}/devices.json", devices),
    (
        "GET",
        "/service/events-platform-service/v1.0/{site_id:\\d+}/events/homeowner",
        events,
    ),
    ("GET", f"{APP}/battery_backup_history.json", backup_history),
    ("GET", f"{APP}/inverters.json", inverters),
    ("GET", f"{SYSTEMS}/inverter_data_x/energy.json", inverter_energy),
    ("GET", f"{SYSTEMS}/inverter_status_x.json", inverter_status),
    ("GET", "/pv/settings/{site_id:\\d+}/battery_status.json", battery_status),
]
