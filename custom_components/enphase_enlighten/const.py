"""Constants for the Enphase Enlighten integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "enphase_enlighten"
MANUFACTURER: Final = "Enphase Energy"

# Platforms are forwarded in this order; later platforms append to the list.
PLATFORMS: Final[list[Platform]] = [
    Platform.SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SWITCH,
    Platform.TIME,
    Platform.BINARY_SENSOR,
    Platform.EVENT,
]

# Config entry data keys.
CONF_BASE_URL: Final = "base_url"
CONF_SITE_ID: Final = "site_id"
CONF_SITE_NAME: Final = "site_name"
CONF_USER_ID: Final = "user_id"
CONF_SESSION: Final = "session"

# Config flow fields that are not stored as such.
CONF_STORE_PASSWORD: Final = "store_password"
CONF_OTP: Final = "otp"
CONF_RESEND: Final = "resend"
SECTION_ADVANCED: Final = "advanced"

# Polling cadences (seconds). They are not options: to poll at other times, turn
# polling off in the entry's system options and call homeassistant.update_entity.
DEFAULT_EV_INTERVAL: Final = 60
DEFAULT_SITE_INTERVAL: Final = 300
DEFAULT_ENERGY_INTERVAL: Final = 900
DEFAULT_INVENTORY_INTERVAL: Final = 3600

# Former options (entries before version 1.2); async_migrate_entry drops them.
CONF_EV_INTERVAL: Final = "ev_interval"
CONF_SITE_INTERVAL: Final = "site_interval"
CONF_ENERGY_INTERVAL: Final = "energy_interval"
CONF_INVENTORY_INTERVAL: Final = "inventory_interval"
REMOVED_INTERVAL_OPTIONS: Final[tuple[str, ...]] = (
    CONF_EV_INTERVAL,
    CONF_SITE_INTERVAL,
    CONF_ENERGY_INTERVAL,
    CONF_INVENTORY_INTERVAL,
)

# Fast EV polling while charging, after a command, or during a live stream.
EV_FAST_INTERVAL: Final = timedelta(seconds=15)
EV_BOOST_DURATION: Final = timedelta(minutes=5)

# Options: device families to create.
CONF_DEVICE_FAMILIES: Final = "device_families"
FAMILY_EV: Final = "ev"
FAMILY_BATTERY: Final = "battery"
FAMILY_MICROINVERTERS: Final = "microinverters"
FAMILY_GATEWAY_DEVICES: Final = "gateway_devices"
DEVICE_FAMILIES: Final[tuple[str, ...]] = (
    FAMILY_EV,
    FAMILY_BATTERY,
    FAMILY_MICROINVERTERS,
    FAMILY_GATEWAY_DEVICES,
)

# Options: microinverter under-performance detection.
CONF_UNDERPERFORMANCE_THRESHOLD: Final = "underperformance_threshold"
CONF_UNDERPERFORMANCE_DAYS: Final = "underperformance_days"
DEFAULT_UNDERPERFORMANCE_THRESHOLD: Final = 3.5
MIN_UNDERPERFORMANCE_THRESHOLD: Final = 2.0
MAX_UNDERPERFORMANCE_THRESHOLD: Final = 6.0
DEFAULT_UNDERPERFORMANCE_DAYS: Final = 3
MIN_UNDERPERFORMANCE_DAYS: Final = 1
MAX_UNDERPERFORMANCE_DAYS: Final = 14

# Persistent storage (event cursor, energy guard).
STORAGE_VERSION: Final = 1

# Local IQ Gateway (optional): entry data key holding its connection settings.
CONF_GATEWAY: Final = "gateway"
CONF_SERIAL: Final = "serial"
CONF_FIRMWARE: Final = "firmware"
CONF_TOKEN_URL: Final = "token_url"
# Config flow fields of the gateway step (not stored as such).
CONF_CONNECT_GATEWAY: Final = "connect_gateway"
CONF_GATEWAY_ACTION: Final = "action"
SECTION_LOCAL_USER: Final = "local_user"
GATEWAY_ACTION_CONNECT: Final = "connect"
GATEWAY_ACTION_SKIP: Final = "skip"
GATEWAY_ACTION_REMOVE: Final = "remove"
# The gateway refreshes its own figures every few minutes; reading it every minute
# keeps the live values current without loading it.
GATEWAY_INTERVAL: Final = timedelta(seconds=60)


def site_identifier(site_id: str) -> tuple[str, str]:
    """Device registry identifier of the site device."""
    return (DOMAIN, f"site_{site_id}")


def device_identifier(serial: str) -> tuple[str, str]:
    """Device registry identifier of a piece of hardware."""
    return (DOMAIN, serial)
