"""BatteryConfig service (5.1-5.6): MQTT bootstrap, site settings, profile, battery
settings and storm guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from aiohttp import web

from .state import PROFILES, BatteryState, SiteState
from .timefmt import epoch_s, iso_z
from .web_utils import fail, ok, read_json, session_of, sim_of, site_of

BC = "/service/batteryConfig/api/v1"
SITE_RE = "{site_id:\\d+}"
EVSE_MODES = {
    "MANUAL": "MANUAL_CHARGING",
    "SCHEDULED": "SCHEDULED_CHARGING",
    "GREEN": "GREEN_CHARGING",
}
SETTINGS_TYPES: dict[str, type] = {
    "chargeFromGrid": bool,
    "acceptedItcDisclaimer": str,
    "chargeBeginTime": int,
    "chargeEndTime": int,
    "chargeFromGridScheduleEnabled": bool,
    "veryLowSoc": int,
}
SUCCESS = {"message": "success"}


def _battery(site: SiteState) -> BatteryState:
    if site.battery is None or not site.battery.storages:
        fail(404, "No battery configured for this site")
    return site.battery


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}******{local[-1:]}@{domain}"


async def mqtt_signed_url(request: web.Request) -> web.Response:
    """5.1 MQTT authorizer bootstrap."""
    site = site_of(request)
    session = session_of(request)
    stream = hashlib.sha256(f"{site.site_id}:{session.session_id}".encode()).hexdigest()[:24]
    digest = hmac.new(session.session_id.encode(), stream.encode(), hashlib.sha256).digest()
    return ok(
        {
            "topic": f"v1/server/response-stream/{stream}",
            "stream_duration": 900,
            "aws_iot_endpoint": "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com",
            "aws_authorizer": "aws-lambda-authoriser-prod",
            "aws_token_key": "enph_token",
            "aws_token_value": session.session_id,
            "aws_digest": base64.b64encode(digest).decode(),
        }
    )


async def site_settings(request: web.Request) -> web.Response:
    """5.2 feature flags."""
    site = site_of(request)
    has_battery = site.has_battery
    grid_mode = site.battery.battery_grid_mode if site.battery else "ImportExport"
    return ok(
        {
            "type": "site-settings",
            "timestamp": iso_z(sim_of(request).now),
            "data": {
                "showProduction": True,
                "showConsumption": site.has_consumption,
                "hasEncharge": has_battery,
                "hasEnpower": site.enpower is not None,
                "countryCode": site.country_code,
                "region": site.region,
                "locale": site.locale,
                "timezone": site.timezone,
                "showChargeFromGrid": has_battery,
                "showSavingsMode": has_battery,
                "showStormGuard": has_battery,
                "showFullBackup": has_battery,
                "showBatteryBackupPercentage": has_battery,
                "isChargingModesEnabled": bool(site.chargers),
                "batteryGridMode": grid_mode,
                "featureDetails": {
                    "HEMS_EV_Custom_Schedule": bool(site.chargers),
                    "Disable_Storm_Guard_Grid_Charging": False,
                },
                "userDetails": {
                    "isOwner": True,
                    "isInstaller": False,
                    "email": _mask(session_of(request).account.email),
                },
                "siteStatus": {"code": "normal", "text": "Normal", "severity": "warning"},
            },
        }
    )


def _evse_mode(mode: str) -> str:
    return next((short for short, full in EVSE_MODES.items() if full == mode), "MANUAL")


async def profile(request: web.Request) -> web.Response:
    """5.3 profile details; ``requestedConfig`` holds a pending change."""
    site = site_of(request)
    battery = _battery(site)
    now = sim_of(request).now
    requested = dict(battery.requested) if battery.requested else {}
    return ok(
        {
            "type": "profile-details",
            "timestamp": iso_z(now),
            "data": {
                "supportsMqtt": True,
                "pollingInterval": 60,
                "profile": battery.profile,
                "operationModeSubType": battery.operation_mode_sub_type,
                "batteryBackupPercentage": battery.reserve,
                "requestedConfig": requested,
                "stormGuardState": battery.storm_guard_state,
                "acceptedStormGuardDisclaimer": battery.accepted_storm_guard_disclaimer,
                "devices": {
                    "iqEvse": [
                        {
                            "uuid": ch.uuid,
                            "deviceName": ch.name,
                            "profile": battery.profile,
                            "profileConfig": "full",
                            "enable": False,
                            "status": -1,
                            "chargeMode": _evse_mode(ch.mode),
                            "chargeModeStatus": "COMPLETED",
                            "updatedAt": str(epoch_s(now)),
                        }
                        for ch in site.chargers.values()
                    ]
                },
                "cfgControl": {
                    "show": True,
                    "enabled": True,
                    "scheduleSupported": True,
                    "forceScheduleSupported": True,
                    "forceScheduleOpted": battery.charge_from_grid_schedule_enabled,
                },
                "evseStormEnabled": battery.evse_storm_enabled,
            },
        }
    )


def _apply_devices(site: SiteState, devices: Any) -> None:
    if devices is None:
        return
    if not isinstance(devices, list):
        fail(400, "Bad request", details="devices must be a list")
    by_uuid = {ch.uuid: ch for ch in site.chargers.values()}
    for item in devices:
        if not isinstance(item, dict) or item.get("uuid") not in by_uuid:
            fail(400, "Bad request", details="Unknown device uuid")
        mode = item.get("chargeMode")
        if mode is not None:
            if mode not in EVSE_MODES:
                fail(400, "Bad request", details="Unknown chargeMode")
            by_uuid[item["uuid"]].mode = EVSE_MODES[mode]


async def set_profile(request: web.Request) -> web.Response:
    """5.4 request a profile/reserve change (applied after ``pending_delay`` s)."""
    site = site_of(request)
    battery = _battery(site)
    body = await read_json(request)
    if not isinstance(body, dict):
        fail(400, "Bad request", details="Body must be an object")
    name = body.get("profile")
    if name not in PROFILES:
        fail(400, "Bad request", details=f"profile must be one of {', '.join(PROFILES)}")
    reserve = body.get("batteryBackupPercentage")
    if name == "backup_only":
        reserve = 100
    elif not isinstance(reserve, int) or isinstance(reserve, bool) or not 10 <= reserve <= 100:
        fail(400, "Bad request", details="batteryBackupPercentage must be 10..100")
    sub_type = body.get("operationModeSubType")
    if sub_type is not None:
        battery.operation_mode_sub_type = str(sub_type)
    _apply_devices(site, body.get("devices"))
    battery.requested = {"profile": name, "batteryBackupPercentage": reserve}
    battery.requested_at = sim_of(request).now
    return ok(SUCCESS)


async def cancel_profile(request: web.Request) -> web.Response:
    """5.4 cancel a pending profile change."""
    battery = _battery(site_of(request))
    body = await read_json(request)
    if body not in (None, {}):
        fail(400, "Bad request", details="Body must be an empty object")
    battery.requested = None
    battery.requested_at = None
    return ok(SUCCESS)


def _settings_payload(site: SiteState, battery: BatteryState, now_iso: str) -> dict[str, Any]:
    devices: dict[str, Any] = {}
    if site.chargers:
        use_battery = battery.use_battery_for_self_consumption
        devices["iqEvse"] = {"useBatteryFrSelfConsumption": use_battery}
    return {
        "type": "battery-details",
        "timestamp": now_iso,
        "data": {
            "profile": battery.profile,
            "batteryBackupPercentage": battery.reserve,
            "stormGuardState": battery.storm_guard_state,
            "hideChargeFromGrid": battery.hide_charge_from_grid,
            "envoySupportsVls": battery.envoy_supports_vls,
            "chargeBeginTime": battery.charge_begin_time,
            "chargeEndTime": battery.charge_end_time,
            "batteryGridMode": battery.battery_grid_mode,
            "veryLowSoc": battery.very_low_soc,
            "veryLowSocMin": battery.very_low_soc_min,
            "veryLowSocMax": battery.very_low_soc_max,
            "chargeFromGrid": battery.charge_from_grid,
            "chargeFromGridScheduleEnabled": battery.charge_from_grid_schedule_enabled,
            "acceptedItcDisclaimer": battery.accepted_itc_disclaimer,
            "devices": devices,
        },
    }


def _validate_settings(battery: BatteryState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body:
        fail(400, "Bad request", details="Body must be a non-empty object")
    for key, value in body.items():
        expected = SETTINGS_TYPES.get(key)
        if expected is None:
            fail(400, "Bad request", details=f"Unknown setting {key}")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            fail(400, "Bad request", details=f"{key} must be {expected.__name__}")
    for key in ("chargeBeginTime", "chargeEndTime"):
        if key in body and not 0 <= body[key] < 1440:
            fail(400, "Bad request", details=f"{key} must be minutes after midnight")
    if "veryLowSoc" in body and not (
        battery.very_low_soc_min <= body["veryLowSoc"] <= battery.very_low_soc_max
    ):
        fail(
            400,
            "Bad request",
            details=f"veryLowSoc must be {battery.very_low_soc_min}..{battery.very_low_soc_max}",
        )
    if body.get("chargeFromGrid") is True and not (
        body.get("acceptedItcDisclaimer") or battery.accepted_itc_disclaimer
    ):
        fail(400, "Bad request", details="acceptedItcDisclaimer is required to charge from grid")
    return body


async def battery_settings(request: web.Request) -> web.Response:
    """5.5 read (GET) or partially update (PUT) battery settings."""
    site = site_of(request)
    battery = _battery(site)
    if request.method == "PUT":
        body = _validate_settings(battery, await read_json(request))
        attrs = {
            "chargeFromGrid": "charge_from_grid",
            "acceptedItcDisclaimer": "accepted_itc_disclaimer",
            "chargeBeginTime": "charge_begin_time",
            "chargeEndTime": "charge_end_time",
            "chargeFromGridScheduleEnabled": "charge_from_grid_schedule_enabled",
            "veryLowSoc": "very_low_soc",
        }
        for key, value in body.items():
            setattr(battery, attrs[key], value)
        return ok(SUCCESS)
    return ok(_settings_payload(site, battery, iso_z(sim_of(request).now)))


async def storm_alert(request: web.Request) -> web.Response:
    """5.6 storm alert state."""
    battery = _battery(site_of(request))
    return ok(
        {
            "criticalAlertsOverride": battery.critical_alerts_override,
            "stormAlerts": list(battery.storm_alerts),
            "criticalAlertActive": battery.critical_alert_active,
        }
    )


async def storm_toggle(request: web.Request) -> web.Response:
    """5.6 storm guard toggle."""
    battery = _battery(site_of(request))
    body = await read_json(request)
    if not isinstance(body, dict):
        fail(400, "Bad request", details="Body must be an object")
    state = body.get("stormGuardState")
    evse = body.get("evseStormEnabled", battery.evse_storm_enabled)
    if state not in ("enabled", "disabled") or not isinstance(evse, bool):
        fail(400, "Bad request", details="stormGuardState enabled|disabled, evseStormEnabled bool")
    battery.storm_guard_state = state
    battery.evse_storm_enabled = evse
    if state == "enabled":
        battery.accepted_storm_guard_disclaimer = True
    return ok(SUCCESS)


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", f"{BC}/mqttSignedUrl/{SITE_RE}", mqtt_signed_url),
    ("GET", f"{BC}/siteSettings/{SITE_RE}", site_settings),
    ("GET", f"{BC}/profile/{SITE_RE}", profile),
    ("PUT", f"{BC}/profile/{SITE_RE}", set_profile),
    ("PUT", f"{BC}/cancel/profile/{SITE_RE}", cancel_profile),
    ("GET", f"{BC}/batterySettings/{SITE_RE}", battery_settings),
    ("PUT", f"{BC}/batterySettings/{SITE_RE}", battery_settings),
    ("GET", f"{BC}/stormGuard/{SITE_RE}/stormAlert", storm_alert),
    ("PUT", f"{BC}/stormGuard/toggle/{SITE_RE}", storm_toggle),
]
