"""Local IQ Gateway (Envoy) access: a typed adapter over pyenphase.

Pure Python and aiohttp; no Home Assistant imports so it can be tested (and shipped) alone.
"""

from __future__ import annotations

from .client import DEFAULT_LOCAL_USERNAME, DEFAULT_TIMEOUT, GatewayClient, url_host
from .errors import GatewayAuthError, GatewayError, GatewaySerialMismatch, GatewayUnavailable
from .models import (
    DeviceStatus,
    GatewayData,
    GridStatus,
    LocalBatteryStatus,
    LocalEnergyTotals,
    LocalInverterReading,
    RelayStatus,
    parse_inventory,
)
from .token import (
    DEFAULT_LOGIN_URL,
    DEFAULT_RENEWAL_MARGIN,
    DEFAULT_TOKEN_URL,
    fetch_gateway_token,
    request_gateway_token,
    token_claims,
    token_expires_at,
    token_needs_renewal,
)
from .zeroconf import (
    ZEROCONF_SERVICE_TYPE,
    ZeroconfGateway,
    firmware_major,
    firmware_requires_token,
    parse_zeroconf_properties,
)

__all__ = [
    "DEFAULT_LOCAL_USERNAME",
    "DEFAULT_LOGIN_URL",
    "DEFAULT_RENEWAL_MARGIN",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_URL",
    "ZEROCONF_SERVICE_TYPE",
    "DeviceStatus",
    "GatewayAuthError",
    "GatewayClient",
    "GatewayData",
    "GatewayError",
    "GatewaySerialMismatch",
    "GatewayUnavailable",
    "GridStatus",
    "LocalBatteryStatus",
    "LocalEnergyTotals",
    "LocalInverterReading",
    "RelayStatus",
    "ZeroconfGateway",
    "fetch_gateway_token",
    "firmware_major",
    "firmware_requires_token",
    "parse_inventory",
    "parse_zeroconf_properties",
    "request_gateway_token",
    "token_claims",
    "token_expires_at",
    "token_needs_renewal",
    "url_host",
]
