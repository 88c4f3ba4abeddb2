"""A fake Enlighten cloud for tests, benchmarks and demos.

``EnlightenSimulator`` is a real aiohttp server on 127.0.0.1 serving the Enlighten web/app
endpoints the integration uses, with four scenario sites, real login/MFA/XSRF mechanics,
a simulated clock, and fault injection. Run it standalone with
``python -m tests.simulator --port 8123``.
"""

from .accounts import (
    BLOCKED_EMAIL,
    BLOCKED_PASSWORD,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    SITE_FULL,
    SITE_LARGE,
    SITE_LEGACY,
    SITE_MICROS,
)
from .app import EnlightenSimulator
from .faults import Fault, RecordedRequest
from .state import BatteryState, ChargerState, GridState, InverterState, SiteState

__all__ = [
    "BLOCKED_EMAIL",
    "BLOCKED_PASSWORD",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "MFA_EMAIL",
    "MFA_PASSWORD",
    "MULTI_EMAIL",
    "MULTI_PASSWORD",
    "SITE_FULL",
    "SITE_LARGE",
    "SITE_LEGACY",
    "SITE_MICROS",
    "BatteryState",
    "ChargerState",
    "EnlightenSimulator",
    "Fault",
    "GridState",
    "InverterState",
    "RecordedRequest",
    "SiteState",
]
