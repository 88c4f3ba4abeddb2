"""Local IQ Gateway simulator for tests (serves captured gateway payloads on 127.0.0.1)."""

from .fixtures import FIXTURES_DIR, FixtureResponse, FixtureSet, fixture_key, fixtures_available
from .server import (
    BLOCKED_EMAIL,
    BLOCKED_PASSWORD,
    CLOUD_EMAIL,
    CLOUD_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    RELAY_SERIAL,
    GatewaySimulator,
    RecordedRequest,
    RelayDevice,
)

__all__ = [
    "BLOCKED_EMAIL",
    "BLOCKED_PASSWORD",
    "CLOUD_EMAIL",
    "CLOUD_PASSWORD",
    "FIXTURES_DIR",
    "MFA_EMAIL",
    "MFA_PASSWORD",
    "RELAY_SERIAL",
    "FixtureResponse",
    "FixtureSet",
    "GatewaySimulator",
    "RecordedRequest",
    "RelayDevice",
    "fixture_key",
    "fixtures_available",
]
