"""Diagnostics for Enphase Enlighten, with credentials and identifiers redacted."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_EMAIL, CONF_HOST, CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_GATEWAY, CONF_SESSION, CONF_SITE_ID, CONF_SITE_NAME, CONF_USER_ID
from .runtime import EnlightenConfigEntry, EnlightenRuntimeData

# Keys whose values are personal, secret or identify hardware.
TO_REDACT = {
    CONF_EMAIL,
    CONF_PASSWORD,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_SITE_NAME,
    CONF_USER_ID,
    CONF_HOST,
    CONF_USERNAME,
    CONF_TOKEN,
    "cookies",
    "session_id",
    "manager_token",
    "title",
    "unique_id",
    "serial",
    "sn",
    "serial_number",
    "gateway_serial",
    "inverter_id",
    "device_id",
    "system_id",
    "id",
    "uuid",
    "evse_devices",
    "ip",
    "mac",
    "description",
    "devices_impacted",
    "name",
    "display_name",
}

# Lifetime energy arrays are long; diagnostics keep their length and last values.
_SERIES_TAIL = 3


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EnlightenConfigEntry
) -> dict[str, Any]:
    """Return redacted diagnostics of a config entry."""
    runtime: EnlightenRuntimeData = entry.runtime_data
    secrets = _secrets(entry, runtime)
    serial_aliases = {
        serial: f"device_{index}" for index, serial in enumerate(sorted(_serials(runtime)), 1)
    }
    coordinators = {
        coordinator.name.rsplit(" ", 1)[-1]: {
            "last_update_success": coordinator.last_update_success,
            "update_interval": (
                coordinator.update_interval.total_seconds() if coordinator.update_interval else None
            ),
            "last_exception": repr(coordinator.last_exception)
            if coordinator.last_exception
            else None,
            "data": _plain(coordinator.data),
        }
        for coordinator in runtime.coordinators
    }
    capabilities = _plain(runtime.capabilities)
    # The setup-time inventory is repeated in the inventory coordinator's data.
    capabilities.pop("inventory", None)
    capabilities.pop("chargers", None)
    diagnostics = {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "capabilities": capabilities,
        "coordinators": coordinators,
        "gateway": _gateway(runtime),
    }
    aliased = _alias_keys(diagnostics, serial_aliases)
    redacted = async_redact_data(aliased, TO_REDACT)
    scrubbed: dict[str, Any] = _scrub(redacted, secrets)
    return scrubbed


def _gateway(runtime: EnlightenRuntimeData) -> dict[str, Any] | None:
    """The local gateway's state (its settings are in the entry data, redacted)."""
    if (gateway := runtime.gateway) is None:
        return None
    return {
        "last_update_success": gateway.last_update_success,
        "last_exception": repr(gateway.last_exception) if gateway.last_exception else None,
        "data": _plain(gateway.data),
    }


def _plain(value: Any) -> Any:
    """Turn dataclasses into dicts, shortening the lifetime energy series."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        plain = {str(k): _plain(v) for k, v in value.items()}
        series = plain.get("series")
        if isinstance(series, dict):
            plain["series"] = {
                flow: {"buckets": len(values), "last": values[-_SERIES_TAIL:]}
                for flow, values in series.items()
            }
        return plain
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _serials(runtime: EnlightenRuntimeData) -> set[str]:
    """Every hardware serial and inverter id the coordinators know."""
    serials: set[str] = set()
    capabilities = runtime.capabilities
    serials.update(d.serial for d in capabilities.inventory.all_devices if d.serial)
    serials.update(c.serial for c in capabilities.chargers)
    if (inventory := runtime.inventory.data) is not None:
        serials.update(inventory.inverters)
        serials.update(inventory.chargers)
        if inventory.devices is not None:
            serials.update(d.serial for d in inventory.devices.all_devices if d.serial)
    if (energy := runtime.energy.data) is not None:
        serials.update(energy.inverter_today_wh)
        serials.update(energy.inverter_lifetime_wh)
        for status in energy.inverter_status.values():
            serials.update(v for v in (status.serial, status.inverter_id, status.device_id) if v)
        serials.update(e.serial for e in energy.events if e.serial)
    if runtime.site is not None and runtime.site.data is not None:
        battery = runtime.site.data.battery_status
        if battery is not None:
            serials.update(s.serial for s in battery.storages)
            serials.update(s.id for s in battery.storages if s.id)
    if runtime.ev is not None and runtime.ev.data is not None:
        serials.update(runtime.ev.data.chargers)
    if runtime.gateway is not None and (local := runtime.gateway.data) is not None:
        serials.add(local.serial)
        for readings in (local.inverters, local.relays, local.devices):
            serials.update(readings)
    return serials


def _secrets(entry: EnlightenConfigEntry, runtime: EnlightenRuntimeData) -> set[str]:
    """Values that must not appear anywhere in the output."""
    values: set[str] = set(_serials(runtime))
    session = entry.data.get(CONF_SESSION) or {}
    exported = runtime.client.export_session()
    for source in (session, exported):
        values.update(str(v) for v in (source.get("cookies") or {}).values())
        values.update(
            str(source[key])
            for key in ("session_id", "manager_token", "user_id")
            if source.get(key)
        )
    for key in (CONF_EMAIL, CONF_PASSWORD, CONF_SITE_ID, CONF_USER_ID):
        if entry.data.get(key):
            values.add(str(entry.data[key]))
    gateway = entry.data.get(CONF_GATEWAY) or {}
    values.update(
        str(gateway[key])
        for key in (CONF_HOST, CONF_TOKEN, CONF_USERNAME, CONF_PASSWORD)
        if gateway.get(key)
    )
    # Very short values (a cookie "1") would blank out unrelated text.
    return {v for v in values if len(v) >= 4}


def _alias_keys(value: Any, aliases: dict[str, str]) -> Any:
    """Replace dict keys that are serials (e.g. inverter energy maps) by aliases."""
    if isinstance(value, dict):
        return {aliases.get(k, k): _alias_keys(v, aliases) for k, v in value.items()}
    if isinstance(value, list):
        return [_alias_keys(v, aliases) for v in value]
    return value


def _scrub(value: Any, secrets: set[str]) -> Any:
    """Last line of defence: mask any secret that slipped into a key or a text."""
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    return value
