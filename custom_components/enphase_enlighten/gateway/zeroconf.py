"""Helpers for IQ Gateways announced over zeroconf (``_enphase-envoy._tcp.local.``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ZEROCONF_SERVICE_TYPE = "_enphase-envoy._tcp.local."
TOKEN_AUTH_MIN_MAJOR = 7

_VERSION_RE = re.compile(r"^[A-Za-z]*\s*(\d+)(?:\.\d+)*")


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def firmware_major(firmware: str | None) -> int | None:
    """Major version of a firmware string such as ``7.6.175`` or ``D5.0.62``."""
    if not firmware or not (match := _VERSION_RE.match(firmware.strip())):
        return None
    return int(match.group(1))


def firmware_requires_token(firmware: str | None) -> bool | None:
    """Whether that firmware needs a JWT (7 and newer); None when the version is unknown."""
    major = firmware_major(firmware)
    return None if major is None else major >= TOKEN_AUTH_MIN_MAJOR


@dataclass(frozen=True, slots=True)
class ZeroconfGateway:
    """What a zeroconf announcement tells about a gateway."""

    serial: str
    firmware: str | None

    @property
    def requires_token(self) -> bool | None:
        """True for firmware 7+, False below, None when not announced."""
        return firmware_requires_token(self.firmware)


def parse_zeroconf_properties(properties: Mapping[Any, Any]) -> ZeroconfGateway | None:
    """Read ``serialnum`` and ``protovers`` from the service properties.

    Keys and values may be ``str`` (as Home Assistant hands them over) or raw ``bytes``.
    Returns None when no serial number is announced (not an IQ Gateway we can use).
    """
    props: dict[str, str | None] = {}
    for key, value in properties.items():
        name = _text(key)
        if name is not None:
            props[name.lower()] = _text(value)
    serial = props.get("serialnum")
    if serial is None:
        return None
    return ZeroconfGateway(serial=serial, firmware=props.get("protovers"))
