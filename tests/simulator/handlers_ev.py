"""EV charger telemetry (2.1-2.5) and control (3.1-3.3) endpoints."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web

from . import engine
from .state import START_VARIANTS, STOP_VARIANTS, ChargerState, SiteState
from .timefmt import epoch_ms, iso_z, z_utc
from .web_utils import charger_of, error, fail, ok, read_json, sim_of, site_of

EVC = "/service/evse_controller"
SITE_RE = "{site_id:\\d+}"
AUTH_KEYS = ("rfidSessionAuthentication", "sessionAuthentication")
OCPP_MESSAGES = frozenset(
    {
        "MeterValues",
        "StatusNotification",
        "BootNotification",
        "Heartbeat",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
    }
)
MODE_CODES = {"MANUAL_CHARGING": 0, "SCHEDULED_CHARGING": 1, "GREEN_CHARGING": 2}
START_RULES: dict[str, tuple[str, bool, str | None]] = {
    "canonical": ("POST", False, "camel"),
    "put": ("PUT", False, "camel"),
    "singular": ("POST", True, "camel"),
    "snake_case": ("POST", False, "snake"),
    "no_body": ("POST", False, "none"),
}
STOP_RULES: dict[str, tuple[str, bool, str | None]] = {
    "canonical": ("PUT", False, None),
    "post": ("POST", False, None),
    "singular": ("PUT", True, None),
}
assert set(START_RULES) == set(START_VARIANTS)
assert set(STOP_RULES) == set(STOP_VARIANTS)


def _reason(ch: ChargerState) -> str:
    if ch.connector_reason:
        return ch.connector_reason
    if ch.mode == "GREEN_CHARGING" and ch.plugged_in and not ch.charging:
        return "INSUFFICIENT_SOLAR"
    return ""


def _modern_charger(site: SiteState, ch: ChargerState) -> dict[str, Any]:
    now = site.clock.now()
    last = ch.last_reported_at or now
    sched = [s for s in ch.schedules if s.get("enabled")] if ch.mode == "SCHEDULED_CHARGING" else []
    e_c = round(ch.session_energy_wh, 2)
    return {
        "smartEV": {"hasToken": False, "hasEVDetails": ch.manufacturer is not None},
        "evManufacturerName": ch.manufacturer,
        "offGrid": "OFF_GRID" if site.grid.off_grid else "ON_GRID",
        "sn": ch.sn,
        "name": ch.name,
        "lst_rpt_at": z_utc(last, digits=0),
        "offlineAt": z_utc(now - timedelta(days=2, hours=3)),
        "connected": ch.connected,
        "auth_token": None,
        "mode": MODE_CODES.get(ch.mode, 0),
        "charging": ch.charging,
        "pluggedIn": ch.plugged_in,
        "faulted": ch.faulted,
        "commissioned": 1,
        "isEVDetailsSet": ch.manufacturer is not None,
        "sch_d": {
            "status": 1 if sched else 0,
            "info": [
                {"type": s["scheduleType"], "startTime": s["startTime"], "endTime": s["endTime"]}
                for s in sched
            ],
        },
        "session_d": {
            "plg_in_at": z_utc(ch.plug_in_at) if ch.plug_in_at else None,
            "strt_chrg": epoch_ms(ch.charge_started_at) if ch.charge_started_at else None,
            "plg_out_at": z_utc(ch.plug_out_at) if ch.plug_out_at else None,
            "e_c": e_c,
            "miles": round(e_c / 1000 * engine.MILES_PER_KWH, 2),
            "session_cost": None,
            "auth_status": -1,
            "auth_type": None,
            "auth_id": None,
            "charge_level": ch.charging_level,
        },
        "connectors": [
            {
                "connectorId": 1,
                "connectorStatusType": ch.connector_status(),
                "connectorStatusInfo": "EVConnected" if ch.plugged_in else "EVDisconnected",
                "connectorStatusReason": _reason(ch),
                "safeLimitState": ch.safe_limit_state,
                "dlbActive": ch.dlb_active,
                "pluggedIn": ch.plugged_in,
            }
        ],
    }


def _legacy_charger(ch: ChargerState) -> dict[str, Any]:
    return {
        "sn": ch.sn,
        "name": ch.name,
        "connected": ch.connected,
        "pluggedIn": ch.plugged_in,
        "charging": ch.charging,
        "faulted": ch.faulted,
        "connectorStatusType": ch.connector_status(),
        "session_d": {
            "e_c": round(ch.session_energy_wh / 1000, 3),
            "start_time": int(ch.charge_started_at.timestamp()) if ch.charge_started_at else None,
        },
    }


async def status(request: web.Request) -> web.Response:
    """2.1 status snapshot (modern meta/data shape or the legacy flat shape)."""
    site = site_of(request)
    chargers = list(site.chargers.values())
    if chargers and chargers[0].shape == "legacy":
        return ok({"evChargerData": [_legacy_charger(ch) for ch in chargers]})
    return ok(
        {
            "meta": {"serverTimeStamp": epoch_ms(sim_of(request).now)},
            "data": {
                "site": str(site.site_id),
                "tz": site.timezone,
                "chargers": [_modern_charger(site, ch) for ch in chargers],
            },
            "error": {},
        }
    )


def _level_details(ch: ChargerState) -> dict[str, str]:
    return {"min": str(ch.min_amps), "max": str(ch.max_amps), "granularity": str(ch.granularity)}


def _network_config(site: SiteState) -> str:
    ip = site.gateway.ip or "192.0.2.10"
    prefix = ip.rsplit(".", 1)[0]
    lines = [
        f"netmask=255.255.255.0,mac_addr=00:11:22:33:44:55,interface_name=eth0,"
        f"connectionStatus=0,ipaddr={prefix}.50,bootproto=dhcp,gateway={prefix}.1",
        f"netmask=255.255.255.0,mac_addr=00:11:22:33:44:66,interface_name=mlan0,"
        f"connectionStatus=1,ipaddr={prefix}.51,bootproto=dhcp,gateway={prefix}.1",
    ]
    return "[\n" + ",\n".join(f'"{line}"' for line in lines) + "\n]"


def _summary_item(site: SiteState, ch: ChargerState) -> dict[str, Any]:
    last = ch.last_reported_at or site.clock.now()
    return {
        "serialNumber": ch.sn,
        "displayName": ch.name,
        "modelName": ch.model_name,
        "supportsUseBattery": ch.supports_use_battery,
        "maxCurrent": ch.max_amps,
        "chargeLevelDetails": _level_details(ch),
        "dlbEnabled": ch.dlb_enabled,
        "networkConfig": _network_config(site),
        "lastReportedAt": z_utc(last),
        "operatingVoltage": ch.voltage,
        "firmwareVersion": ch.firmware,
        "processorBoardVersion": ch.processor_board_version,
    }


async def summary_list(request: web.Request) -> web.Response:
    """2.2 summary list."""
    site = site_of(request)
    return ok({"data": [_summary_item(site, ch) for ch in site.chargers.values()]})


def _charger_detail(site: SiteState, ch: ChargerState) -> dict[str, Any]:
    now = site.clock.now()
    ip = (site.gateway.ip or "192.0.2.10").rsplit(".", 1)[0]
    return {
        "lastReportedAt": z_utc(ch.last_reported_at or now),
        "supportsUseBattery": ch.supports_use_battery,
        "chargeLevelDetails": _level_details(ch) | {"defaultChargeLevel": "disabled"},
        "displayName": ch.name,
        "timezone": site.timezone,
        "warrantyDueDate": "2030-01-01T00:00:00.000000000Z[UTC]",
        "isConnected": ch.connected,
        "wifiConfig": "connectionStatus=1, wifiMode=client, SSID=HomeNet, status=connected",
        "hoControl": True,
        "processorBoardVersion": ch.processor_board_version,
        "activeConnection": "wifi",
        "operatingVoltage": str(ch.voltage),
        "defaultRoute": f"interface=mlan0, ip_address={ip}.1",
        "wiringConfiguration": {"L1": "L1"},
        "dlbEnabled": ch.dlb_enabled,
        "systemVersion": ch.firmware,
        "createdAt": "2025-01-01T00:00:00.000000000Z[UTC]",
        "maxCurrent": ch.max_amps,
        "warrantyStartDate": "2025-01-01T00:00:00.000000000Z[UTC]",
        "warrantyPeriod": 5,
        "bootloaderVersion": "2024.04",
        "gridType": 2,
        "hoControlScope": [],
        "sku": ch.sku,
        "firmwareVersion": ch.firmware,
        "cellularConfig": "signalStrength=0, status=disconnected, network=, info=",
        "applicationVersion": ch.application_version,
        "reportingInterval": 300,
        "serialNumber": ch.sn,
        "commissioningStatus": 1,
        "phaseMode": 1,
        "gatewayConnectivityDetails": [
            {
                "gwSerialNum": site.gateway.serial,
                "gwConnStatus": 0 if site.gateway.connected else 1,
                "gwConnFailureReason": 0,
                "lastConnTime": epoch_ms(now - timedelta(minutes=3)),
            }
        ],
        "rmaDetails": None,
        "networkConfig": _network_config(site),
        "breakerRating": ch.max_amps,
        "modelName": ch.model_name,
        "ratedCurrent": str(ch.max_amps),
        "isLocallyConnected": True,
        "kernelVersion": "6.6.23-lts-next-gb2f1b3288874",
        "siteId": site.site_id,
        "powerBoardVersion": ch.power_board_version,
        "partNumber": ch.part_number,
        "isRetired": False,
        "functionalValDetails": {"lastUpdatedTimestamp": 1700000000000, "state": 1},
        "status": "FAULTED" if ch.faulted else "NORMAL",
        "phaseCount": 1,
    }


async def summary_one(request: web.Request) -> web.Response:
    """2.2 per-charger summary."""
    site = site_of(request)
    ch = charger_of(request, site)
    return ok(
        {
            "meta": {"serverTimeStamp": epoch_ms(sim_of(request).now)},
            "data": _charger_detail(site, ch),
            "error": {},
        }
    )


async def start_live_stream(request: web.Request) -> web.Response:
    """2.3 start live stream (472 when the site has no charger)."""
    site = site_of(request)
    if not site.chargers:
        fail(472, "LIVE_STREAM_NOT_SUPPORTED")
    if not site.gateway.connected:
        fail(473, "IQ_GATEWAY_NOT_REPORTING")
    site.live_stream_until = sim_of(request).now + timedelta(seconds=900)
    topics = [f"evse/{sn}/status" for sn in site.chargers]
    return ok({"status": "accepted", "topics": topics, "duration_s": 900})


async def stop_live_stream(request: web.Request) -> web.Response:
    """2.4 stop live stream."""
    site_of(request).live_stream_until = None
    return ok({"status": "accepted"})


def _config_item(key: str, value: str | None, req: str | None, status: int) -> dict[str, Any]:
    return {"key": key, "value": value, "reqValue": req, "status": status}


def _auth_value(ch: ChargerState, key: str) -> str | None:
    return ch.rfid_auth if key == "rfidSessionAuthentication" else ch.session_auth


async def charger_config(request: web.Request) -> web.Response:
    """2.5 POST reads / PUT writes session authentication settings."""
    site = site_of(request)
    ch = charger_of(request, site)
    body = await read_json(request)
    if not isinstance(body, list) or not body or not all(isinstance(i, dict) for i in body):
        fail(400, "Bad request", details="Body must be a non-empty list of {key}")
    keys = [str(item.get("key")) for item in body]
    unknown = [k for k in keys if k not in AUTH_KEYS]
    if unknown:
        fail(400, "Bad request", details=f"Unknown key(s): {', '.join(unknown)}")
    meta = {"serverTimeStamp": epoch_ms(sim_of(request).now), "rowCount": len(keys)}
    if request.method == "POST":
        rows = [_config_item(k, _auth_value(ch, k), _auth_value(ch, k), 1) for k in keys]
        return ok({"meta": meta, "data": rows, "error": {}})
    rows = []
    for item, key in zip(body, keys, strict=True):
        value = item.get("value")
        if value not in ("enabled", "disabled"):
            fail(400, "Bad request", details=f"{key} value must be enabled or disabled")
        rows.append(_config_item(key, _auth_value(ch, key), value, 2))
        if key == "rfidSessionAuthentication":
            ch.rfid_auth = value
        else:
            ch.session_auth = value
    return ok({"meta": meta, "data": rows, "error": {}})


def _body_kind(body: Any) -> str:
    if not body:
        return "none"
    if not isinstance(body, dict):
        fail(400, "Bad request", details="Body must be a JSON object")
    if "chargingLevel" in body or "connectorId" in body:
        return "camel"
    if "charging_level" in body or "connector_id" in body:
        return "snake"
    raise error(400, "Bad request", details="Unknown payload keys")


VariantRule = tuple[str, bool, str | None]


def _check_variant(rule: VariantRule, method: str, singular: bool, kind: str | None) -> None:
    if rule[1] != singular:
        fail(404, "Not Found")
    if rule[0] != method:
        fail(405, "Method not allowed")
    if rule[2] is not None and rule[2] != kind:
        fail(400, "Bad request", details="Unsupported payload for this charger")


async def start_charging(request: web.Request) -> web.Response:
    """3.1 start charging / set amps (all fallback variants routed here)."""
    sim = sim_of(request)
    site = site_of(request)
    ch = charger_of(request, site)
    body = await read_json(request)
    kind = _body_kind(body)
    singular = "/ev_charger/" in request.path
    if ch.accepted_variant is not None:
        _check_variant(START_RULES[ch.accepted_variant], request.method, singular, kind)
    level_raw: Any = None
    connector: Any = 1
    if kind == "camel":
        level_raw, connector = body.get("chargingLevel"), body.get("connectorId", 1)
    elif kind == "snake":
        level_raw, connector = body.get("charging_level"), body.get("connector_id", 1)
    if not isinstance(connector, int) or isinstance(connector, bool) or connector < 1:
        fail(400, "Bad request", details="Connector Id must be greater than 0")
    level = ch.charging_level
    if level_raw is not None:
        if not isinstance(level_raw, int) or isinstance(level_raw, bool):
            fail(400, "Bad request", details="chargingLevel must be an integer")
        level = level_raw
    if not ch.valid_level(level):
        fail(
            400,
            "Bad request",
            details=f"Charging level should be in the range [{ch.min_amps}-{ch.max_amps}]",
        )
    if not site.gateway.connected:
        fail(473, "IQ_GATEWAY_NOT_REPORTING")
    if not ch.connected:
        fail(552, "CONNECTION_NOT_ESTABLISHED")
    if ch.faulted:
        fail(409, "Charger faulted")
    if not ch.plugged_in:
        fail(409, "Charger not plugged in")
    engine.request_start(site, ch, level, sim.now)
    return ok({"status": "accepted", "chargingLevel": level})


async def stop_charging(request: web.Request) -> web.Response:
    """3.2 stop charging (PUT canonical; POST and singular-path fallbacks)."""
    site = site_of(request)
    ch = charger_of(request, site)
    await read_json(request)
    singular = "/ev_charger/" in request.path
    if ch.accepted_stop_variant is not None:
        _check_variant(STOP_RULES[ch.accepted_stop_variant], request.method, singular, None)
    if not site.gateway.connected:
        fail(473, "IQ_GATEWAY_NOT_REPORTING")
    if not ch.connected:
        fail(552, "CONNECTION_NOT_ESTABLISHED")
    engine.request_stop(site, ch, sim_of(request).now)
    return ok({"status": "accepted"})


async def trigger_message(request: web.Request) -> web.Response:
    """3.3 trigger an OCPP message."""
    site = site_of(request)
    ch = charger_of(request, site)
    body = await read_json(request)
    message = body.get("requestedMessage") if isinstance(body, dict) else None
    if message not in OCPP_MESSAGES:
        fail(400, "Bad request", details="Unsupported requestedMessage")
    ch.last_trigger = message
    return ok(
        {
            "status": "accepted",
            "message": message,
            "details": {
                "initiatedAt": iso_z(sim_of(request).now),
                "trackingId": f"TICKET-{secrets.token_hex(3).upper()}",
            },
        }
    )


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{EVC}/{SITE_RE}/ev_chargers/status", status),
    ("GET", f"{EVC}/api/v2/{SITE_RE}/ev_chargers/summary", summary_list),
    ("GET", f"{EVC}/api/v2/{SITE_RE}/ev_chargers/{{sn}}/summary", summary_one),
    ("GET", f"{EVC}/{SITE_RE}/ev_chargers/start_live_stream", start_live_stream),
    ("GET", f"{EVC}/{SITE_RE}/ev_chargers/stop_live_stream", stop_live_stream),
    ("POST", f"{EVC}/api/v1/{SITE_RE}/ev_chargers/{{sn}}/ev_charger_config", charger_config),
    ("PUT", f"{EVC}/api/v1/{SITE_RE}/ev_chargers/{{sn}}/ev_charger_config", charger_config),
    ("POST", f"{EVC}/{SITE_RE}/ev_charger/{{sn}}/trigger_message", trigger_message),
]
for _path in ("ev_chargers", "ev_charger"):
    for _method in ("POST", "PUT"):
        ROUTES.append((_method, f"{EVC}/{SITE_RE}/{_path}/{{sn}}/start_charging", start_charging))
        ROUTES.append((_method, f"{EVC}/{SITE_RE}/{_path}/{{sn}}/stop_charging", stop_charging))
