"""Service actions: OCPP messages, charging schedules, grid connection, battery commands.

Every action controls hardware, so a call made by a user needs an administrator.
Input is checked before any request; Enlighten's refusals become translated errors.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

import probatio as vol
from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import service

from ..api import EnlightenError, ScheduleSlot
from ..const import DOMAIN
from ..runtime import EnlightenConfigEntry
from ..time import CUSTOM_SLOT, format_hhmm
from .battery_command import COMMAND_MODES, MAX_DURATION, MAX_RESERVE, MIN_DURATION, MIN_RESERVE
from .errors import command_errors, control_error, validation_error

_LOGGER = logging.getLogger(__name__)

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_MESSAGE: Final = "message"
ATTR_SCHEDULES: Final = "schedules"
ATTR_MODE: Final = "mode"
ATTR_OTP: Final = "otp"
ATTR_TARGET_RESERVE: Final = "target_reserve"
ATTR_DURATION: Final = "duration"

SERVICE_TRIGGER_MESSAGE: Final = "trigger_message"
SERVICE_SET_CHARGE_SCHEDULES: Final = "set_charge_schedules"
SERVICE_REQUEST_GRID_OTP: Final = "request_grid_otp"
SERVICE_SET_GRID_CONNECTION: Final = "set_grid_connection"
SERVICE_BATTERY_COMMAND: Final = "battery_command"
SERVICE_CANCEL_BATTERY_COMMAND: Final = "cancel_battery_command"

# OCPP 1.6 TriggerMessage values the chargers answer.
OCPP_MESSAGES: Final[tuple[str, ...]] = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
GRID_MODES: Final[tuple[str, ...]] = ("on", "off")
GRID_OTP_RE: Final = re.compile(r"^\d{4}$")
ALL_DAYS: Final[list[int]] = [1, 2, 3, 4, 5, 6, 7]
# Relay states logged after a toggle (spec 2.12.4).
RELAY_CLOSED: Final = "OPER_RELAY_CLOSED"
RELAY_OFF_GRID: Final = "OPER_RELAY_OFFGRID_AC_GRID_PRESENT"
RELAY_READY_FOR_RESYNC: Final = "OPER_RELAY_OFFGRID_READY_FOR_RESYNC_CMD"

_TARGET = {
    vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
    vol.Optional(ATTR_DEVICE_ID): cv.string,
}
ENTRY_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
TRIGGER_MESSAGE_SCHEMA: Final = vol.Schema({**_TARGET, vol.Required(ATTR_MESSAGE): cv.string})
SLOT_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("id"): cv.string,
        vol.Required("start"): cv.time,
        vol.Required("end"): cv.time,
        vol.Optional("days", default=ALL_DAYS): vol.All(cv.ensure_list, [vol.Coerce(int)]),
        vol.Optional("enabled", default=True): cv.boolean,
        vol.Optional("charging_level"): vol.Coerce(int),
    }
)
SET_SCHEDULES_SCHEMA: Final = vol.Schema(
    {**_TARGET, vol.Required(ATTR_SCHEDULES): vol.All(cv.ensure_list, [SLOT_SCHEMA])}
)
SET_GRID_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MODE): vol.In(GRID_MODES),
        vol.Required(ATTR_OTP): vol.Coerce(str),
    }
)
BATTERY_COMMAND_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_MODE): vol.In(COMMAND_MODES),
        vol.Required(ATTR_TARGET_RESERVE): vol.Coerce(int),
        vol.Required(ATTR_DURATION): cv.positive_time_period,
    }
)


async def _async_require_admin(call: ServiceCall) -> None:
    """Hardware control from a user session needs an administrator."""
    user_id = call.context.user_id
    if user_id is None:
        return
    user = await call.hass.auth.async_get_user(user_id)
    if user is None:
        raise UnknownUser(context=call.context, permission=POLICY_CONTROL)
    if not user.is_admin:
        raise Unauthorized(context=call.context, permission=POLICY_CONTROL)


def _device_serial(call: ServiceCall) -> tuple[str | None, str | None]:
    """(config entry id, serial) of the targeted device, if a device is given."""
    device_id = call.data.get(ATTR_DEVICE_ID)
    if not device_id:
        return None, None
    device = dr.async_get(call.hass).async_get(device_id)
    if device is None:
        raise validation_error("invalid_device")
    serial = next((ident for domain, ident in device.identifiers if domain == DOMAIN), None)
    if serial is None:
        raise validation_error("invalid_device")
    return device.config_entry_id, serial


def _entry(call: ServiceCall, entry_id: str | None = None) -> EnlightenConfigEntry:
    entry: EnlightenConfigEntry = service.async_get_config_entry(
        call.hass, DOMAIN, entry_id or call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    return entry


def _charger(call: ServiceCall) -> tuple[EnlightenConfigEntry, str]:
    """The entry and charger serial an EV action targets."""
    device_entry_id, serial = _device_serial(call)
    entry = _entry(call, device_entry_id)
    settings = entry.runtime_data.ev_settings
    serials = settings.serials if settings else []
    if serial is None:
        if len(serials) != 1:
            raise validation_error("charger_required")
        serial = serials[0]
    if serial not in serials:
        raise validation_error("not_a_charger")
    return entry, serial


async def _async_trigger_message(call: ServiceCall) -> None:
    await _async_require_admin(call)
    message = call.data[ATTR_MESSAGE]
    if message not in OCPP_MESSAGES:
        raise validation_error(
            "invalid_ocpp_message", message=message, allowed=", ".join(OCPP_MESSAGES)
        )
    entry, serial = _charger(call)
    runtime = entry.runtime_data
    async with command_errors(call.hass, entry, charger=True):
        await runtime.client.trigger_message(runtime.capabilities.site_id, serial, message)
    if runtime.ev is not None:
        runtime.ev.boost()
        await runtime.ev.async_request_refresh()


def _check_slot(slot: dict[str, Any], low: int | None, high: int | None, step: int) -> None:
    days: list[int] = slot["days"]
    if not days or any(not 1 <= day <= 7 for day in days):
        raise validation_error("invalid_schedule_days")
    if slot["start"] == slot["end"]:
        raise validation_error("invalid_schedule_times")
    level: int | None = slot.get("charging_level")
    if (
        level is not None
        and low is not None
        and high is not None
        and (not low <= level <= high or (level - low) % step)
    ):
        raise validation_error(
            "invalid_charging_current",
            value=str(level),
            min=str(low),
            max=str(high),
            step=str(step),
        )


def _merge_slots(current: list[ScheduleSlot], wanted: list[dict[str, Any]]) -> list[ScheduleSlot]:
    """New custom slots (updating those with a known id); other slot kinds are kept."""
    by_id = {s.id: s for s in current if s.schedule_type == CUSTOM_SLOT and s.id}
    custom: list[ScheduleSlot] = []
    for item in wanted:
        level: int | None = item.get("charging_level")
        base = by_id.get(str(item.get("id"))) or ScheduleSlot(id=None, schedule_type=CUSTOM_SLOT)
        custom.append(
            replace(
                base,
                start_time=format_hhmm(item["start"]),
                end_time=format_hhmm(item["end"]),
                days=sorted(set(item["days"])),
                enabled=item["enabled"],
                charging_level=level if level is not None else base.charging_level,
                charging_level_amp=level if level is not None else base.charging_level_amp,
            )
        )
    return custom + [s for s in current if s.schedule_type != CUSTOM_SLOT]


async def _async_set_charge_schedules(call: ServiceCall) -> None:
    await _async_require_admin(call)
    entry, serial = _charger(call)
    settings = entry.runtime_data.ev_settings
    assert settings is not None
    summary = settings.summaries.get(serial)
    low = summary.charge_min if summary else None
    high = summary.charge_max if summary else None
    granularity = summary.charge_granularity if summary else None
    # A step of 0 would accept nothing: only a positive granularity counts.
    step = granularity if granularity is not None and granularity > 0 else 1
    wanted: list[dict[str, Any]] = call.data[ATTR_SCHEDULES]
    for slot in wanted:
        _check_slot(slot, low, high, step)
    client, site_id = settings.client, settings.site_id
    async with command_errors(call.hass, entry, charger=True):
        # Read the list fresh: slots left out of the update may be deleted by the cloud.
        current = await client.schedules(site_id, serial)
        await client.set_schedules(site_id, serial, _merge_slots(current.slots, wanted))
    await settings.async_request_refresh()


async def _async_check_grid_control(entry: EnlightenConfigEntry) -> tuple[str, str]:
    """Refuse a grid action the site cannot take now; returns (site id, gateway serial)."""
    caps = entry.runtime_data.capabilities
    if not caps.has_system_controller or not caps.gateway_serial:
        raise control_error("grid_control_unsupported")
    check = await entry.runtime_data.client.grid_control_check(caps.site_id)
    if check.disable_grid_control:
        raise control_error("grid_control_disabled")
    if check.user_initiated_grid_toggle:
        raise control_error("grid_toggle_in_progress")
    if not check.allowed:
        raise control_error("grid_control_blocked", reasons=", ".join(check.blocked_reasons))
    return caps.site_id, caps.gateway_serial


async def _async_request_grid_otp(call: ServiceCall) -> None:
    await _async_require_admin(call)
    entry = _entry(call)
    async with command_errors(call.hass, entry):
        site_id, _serial = await _async_check_grid_control(entry)
        await entry.runtime_data.client.request_grid_otp(site_id)


async def _async_set_grid_connection(call: ServiceCall) -> None:
    await _async_require_admin(call)
    otp = str(call.data[ATTR_OTP]).strip()
    if not GRID_OTP_RE.match(otp):
        raise validation_error("invalid_grid_otp_format")
    entry = _entry(call)
    client = entry.runtime_data.client
    off_grid = call.data[ATTR_MODE] == "off"
    async with command_errors(call.hass, entry):
        site_id, serial = await _async_check_grid_control(entry)
        if not await client.verify_grid_otp(site_id, otp):
            raise validation_error("invalid_grid_otp")
        await client.set_grid_state(serial, off_grid)
    old, new = (
        (RELAY_CLOSED, RELAY_OFF_GRID) if off_grid else (RELAY_READY_FOR_RESYNC, RELAY_CLOSED)
    )
    try:
        await client.log_grid_change(serial, old, new)
    except EnlightenError as err:
        # The relay command was accepted; a failing audit log must not hide that.
        _LOGGER.warning("The grid change was sent but could not be logged: %s", err)
    if entry.runtime_data.site is not None:
        await entry.runtime_data.site.async_request_refresh()


async def _async_battery_command(call: ServiceCall) -> None:
    await _async_require_admin(call)
    target: int = call.data[ATTR_TARGET_RESERVE]
    duration: timedelta = call.data[ATTR_DURATION]
    if not MIN_RESERVE <= target <= MAX_RESERVE:
        raise validation_error("invalid_target_reserve", min=str(MIN_RESERVE), max=str(MAX_RESERVE))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise validation_error("invalid_command_duration")
    entry = _entry(call)
    manager = entry.runtime_data.battery_command
    if manager is None:
        raise validation_error("no_battery")
    async with command_errors(call.hass, entry):
        await manager.async_run(call.data[ATTR_MODE], target, duration)


async def _async_cancel_battery_command(call: ServiceCall) -> None:
    await _async_require_admin(call)
    entry = _entry(call)
    manager = entry.runtime_data.battery_command
    if manager is None:
        raise validation_error("no_battery_command")
    async with command_errors(call.hass, entry):
        await manager.async_cancel()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the service actions (once, from ``async_setup``)."""
    for name, handler, schema in (
        (SERVICE_TRIGGER_MESSAGE, _async_trigger_message, TRIGGER_MESSAGE_SCHEMA),
        (SERVICE_SET_CHARGE_SCHEDULES, _async_set_charge_schedules, SET_SCHEDULES_SCHEMA),
        (SERVICE_REQUEST_GRID_OTP, _async_request_grid_otp, ENTRY_SCHEMA),
        (SERVICE_SET_GRID_CONNECTION, _async_set_grid_connection, SET_GRID_SCHEMA),
        (SERVICE_BATTERY_COMMAND, _async_battery_command, BATTERY_COMMAND_SCHEMA),
        (SERVICE_CANCEL_BATTERY_COMMAND, _async_cancel_battery_command, ENTRY_SCHEMA),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema=schema)
