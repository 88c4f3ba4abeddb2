"""History actions: the charging sessions of a date range as response data (spec 2.7)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import probatio as vol
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import service
from homeassistant.util import dt as dt_util

from ..api import AuthError, ChargingSession, EnlightenError, MfaRequired, RateLimited
from ..api.sessions import async_fetch_sessions, session_row
from ..const import DOMAIN
from ..control.errors import validation_error
from ..runtime import EnlightenConfigEntry

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_START_DATE: Final = "start_date"
ATTR_END_DATE: Final = "end_date"

SERVICE_GET_CHARGING_SESSIONS: Final = "get_charging_sessions"

MAX_RANGE_DAYS: Final = 366
"""Longest date range one call may ask for."""

GET_CHARGING_SESSIONS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_START_DATE): cv.date,
        vol.Optional(ATTR_END_DATE): cv.date,
    }
)


def _target(call: ServiceCall) -> tuple[EnlightenConfigEntry, list[str]]:
    """The entry and the charger serials the call is about (every charger by default)."""
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    serial: str | None = None
    if device_id := call.data.get(ATTR_DEVICE_ID):
        device = dr.async_get(call.hass).async_get(device_id)
        serial = next(
            (ident for domain, ident in (device.identifiers if device else ()) if domain == DOMAIN),
            None,
        )
        if device is None or serial is None:
            raise validation_error("invalid_device")
        entry_id = entry_id or device.config_entry_id
    entry: EnlightenConfigEntry = service.async_get_config_entry(call.hass, DOMAIN, entry_id)
    runtime = entry.runtime_data
    chargers = [c.serial for c in runtime.capabilities.chargers if c.serial]
    if runtime.inventory.data is not None:
        chargers += [s for s in runtime.inventory.data.chargers if s not in chargers]
    if not chargers:
        raise validation_error("no_charger")
    if serial is None:
        return entry, chargers
    if serial not in chargers:
        raise validation_error("not_a_charger")
    return entry, [serial]


def _date_range(call: ServiceCall, today: date) -> tuple[date, date]:
    start: date = call.data[ATTR_START_DATE]
    end: date = call.data.get(ATTR_END_DATE) or max(today, start)
    if end < start or (end - start) >= timedelta(days=MAX_RANGE_DAYS):
        raise validation_error("invalid_date_range", max_days=str(MAX_RANGE_DAYS))
    return start, end


async def _async_get_charging_sessions(call: ServiceCall) -> ServiceResponse:
    entry, serials = _target(call)
    runtime = entry.runtime_data
    timezone = runtime.energy.timezone
    # Looked up asynchronously: a zone not loaded yet is read from disk in the executor.
    zone = await dt_util.async_get_time_zone(timezone) or dt_util.get_default_time_zone()
    start, end = _date_range(call, dt_util.now(zone).date())
    rows: list[tuple[str, ChargingSession]] = []
    truncated = False
    try:
        for serial in serials:
            sessions, cut = await async_fetch_sessions(
                runtime.client, runtime.capabilities.site_id, serial, start, end, timezone=timezone
            )
            rows += [(serial, s) for s in sessions]
            truncated = truncated or cut
    except (AuthError, MfaRequired) as err:
        entry.async_start_reauth(call.hass)
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed") from err
    except RateLimited as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="history_rate_limited"
        ) from err
    except EnlightenError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="service_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err
    rows.sort(key=lambda r: r[1].start.timestamp() if r[1].start else 0.0, reverse=True)
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "sessions": [session_row(serial, session) for serial, session in rows],
        "truncated": truncated,
    }


@callback
def async_setup_history_services(hass: HomeAssistant) -> None:
    """Register the history actions (once, from ``async_setup``)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_CHARGING_SESSIONS,
        _async_get_charging_sessions,
        schema=GET_CHARGING_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
