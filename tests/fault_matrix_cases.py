"""The fault matrix's cases: the faults, the endpoint families, and the summary table.

Shared by ``test_fault_matrix`` and the terminal summary hook in ``conftest``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

SITE = "1000001"
LOGIN = "/login/login.json"
# Short client timeout during the "timeout" cells, so that they cost only a moment.
CLIENT_TIMEOUT = 0.5
SLOW = 1.2
TICK_SLACK = timedelta(seconds=5)
LOGIN_PAGE = (
    '<!DOCTYPE html><html><body><form action="/login/login" method="post">'
    '<input name="user[email]"></form></body></html>'
)

type Json = Any
type Mutator = Callable[[Json], Json]


# -- payload mutations ------------------------------------------------------------


def wrong_types(value: Json) -> Json:
    """Same shape, every leaf replaced by a value of another JSON type."""
    if isinstance(value, dict):
        return {k: wrong_types(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return [wrong_types(v) for v in value]
        return {"unexpected": True}
    if isinstance(value, (bool, int | float)):
        return "n/a"
    if isinstance(value, str):
        return ["n/a"]
    return {}


def _numbers(value: Json, replacement: float) -> Json:
    if isinstance(value, dict):
        return {k: _numbers(v, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, replacement) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return replacement
    return value


def all_zero(value: Json) -> Json:
    """Every number (energy arrays included) set to zero."""
    return _numbers(value, 0)


def all_nan(value: Json) -> Json:
    """Every number (energy arrays included) set to NaN (valid for Python's json)."""
    return _numbers(value, math.nan)


# -- the faults -------------------------------------------------------------------

AUTH, FAIL, RATE, PAYLOAD = "auth", "fail", "rate", "payload"


@dataclass(frozen=True)
class Fault:
    """One way an endpoint can misbehave."""

    name: str
    kind: str
    status: int | None = None
    body: str | None = None
    content_type: str = "application/json"
    retry_after: bool = False
    reset: bool = False
    latency: float = 0.0
    mutate: Mutator | None = None


def _status(code: int) -> Fault:
    return Fault(str(code), FAIL, status=code)


FAULTS: tuple[Fault, ...] = (
    Fault("401", AUTH, status=401, body='{"message": "Not Authorized"}'),
    *(_status(code) for code in (403, 404, 405, 409, 422)),
    Fault("429 Retry-After", RATE, status=429, retry_after=True),
    Fault("429", RATE, status=429),
    *(_status(code) for code in (500, 502, 503, 550, 551, 552)),
    Fault("timeout", FAIL, latency=SLOW),
    Fault("connection reset", FAIL, reset=True),
    Fault("HTML login page", AUTH, status=200, body=LOGIN_PAGE, content_type="text/html"),
    Fault("malformed JSON", FAIL, status=200, body='{"data": [1, 2'),
    Fault("empty body", FAIL, status=200, body=""),
    Fault("wrong types", PAYLOAD, mutate=wrong_types),
    Fault("all-zero numbers", PAYLOAD, mutate=all_zero),
    Fault("NaN numbers", PAYLOAD, mutate=all_nan),
)


# -- the endpoint families ----------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A polled endpoint: the fault matches ``fragment``; ``path``/``params`` sample it."""

    fragment: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    method: str = "GET"


@dataclass(frozen=True)
class Family:
    """Endpoints that fail together, the coordinators reading them and their data."""

    name: str
    label: str
    endpoints: tuple[Endpoint, ...]
    coordinators: tuple[str, ...] = ()
    part: Callable[[Any], Any] = lambda runtime: None
    # Seconds between reads of the family's endpoints when longer than the interval.
    cadence: float = 0


EVSE = "/service/evse_controller"
BATTERY_CONFIG = "/service/batteryConfig/api/v1"


def _site_part(runtime: Any, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(runtime.site.data, name) for name in names)


FAMILIES: tuple[Family, ...] = (
    Family(
        "auth/login",
        "login",
        (Endpoint(LOGIN, LOGIN, method="POST"),),
        ("ev",),
        lambda rt: rt.ev.data.chargers,
    ),
    Family(
        "site discovery",
        "sites",
        (Endpoint("search_sites", "/app-api/search_sites.json"),),
    ),
    Family(
        "EV status",
        "ev",
        (Endpoint("ev_chargers/status", f"{EVSE}/{SITE}/ev_chargers/status"),),
        ("ev",),
        lambda rt: rt.ev.data.chargers,
    ),
    Family(
        "EV summary",
        "ev_sum",
        (
            Endpoint(
                "ev_chargers/summary",
                f"{EVSE}/api/v2/{SITE}/ev_chargers/summary",
                {"filter_retired": "true"},
            ),
        ),
        ("inventory",),
        lambda rt: rt.inventory.data.chargers,
        # Hourly, each in its own 15-minute slot of the inventory runs.
        cadence=60 * 60,
    ),
    Family(
        "battery status",
        "batt",
        (Endpoint("battery_status.json", f"/pv/settings/{SITE}/battery_status.json"),),
        ("site",),
        lambda rt: _site_part(rt, "battery_status"),
    ),
    Family(
        "BatteryConfig",
        "bcfg",
        (
            Endpoint("/profile/", f"{BATTERY_CONFIG}/profile/{SITE}", {"source": "enho"}),
            Endpoint("/batterySettings/", f"{BATTERY_CONFIG}/batterySettings/{SITE}"),
            Endpoint("/stormGuard/", f"{BATTERY_CONFIG}/stormGuard/{SITE}/stormAlert"),
        ),
        ("site",),
        lambda rt: _site_part(rt, "profile", "battery_settings", "storm_alert"),
        cadence=15 * 60,
    ),
    Family(
        "grid",
        "grid",
        (
            Endpoint("grid_control_check", f"/app-api/{SITE}/grid_control_check.json"),
            Endpoint("off_grid_due", f"/app-api/{SITE}/off_grid_due_to_grid_outage"),
        ),
        ("site",),
        lambda rt: _site_part(rt, "grid_check", "off_grid"),
        cadence=60 * 60,
    ),
    Family(
        "inventory devices",
        "devices",
        (Endpoint("devices.json", f"/app-api/{SITE}/devices.json"),),
        ("inventory",),
        lambda rt: rt.inventory.data.devices,
        # Hourly, each in its own 15-minute slot of the inventory runs.
        cadence=60 * 60,
    ),
    Family(
        "inverters",
        "invs",
        (
            Endpoint("inverters.json", f"/app-api/{SITE}/inverters.json", {"limit": "500"}),
            Endpoint("inverter_status_x", f"/systems/{SITE}/inverter_status_x.json"),
            Endpoint(
                "inverter_data_x",
                f"/systems/{SITE}/inverter_data_x/energy.json",
                {"start_date": "{today}", "end_date": "{today}"},
            ),
        ),
        ("inventory", "energy"),
        lambda rt: (
            rt.inventory.data.inverters,
            rt.energy.data.inverter_status,
            rt.energy.data.inverter_today_wh,
            rt.energy.data.inverter_lifetime_wh,
        ),
        cadence=60 * 60,
    ),
    Family(
        "lifetime energy",
        "life",
        (Endpoint("lifetime_energy", f"/pv/systems/{SITE}/lifetime_energy"),),
        ("energy",),
        lambda rt: rt.energy.data.lifetime,
    ),
    Family(
        "events",
        "events",
        (
            Endpoint(
                "events/homeowner",
                f"/service/events-platform-service/v1.0/{SITE}/events/homeowner",
                {"page_size": "30", "locale": "en"},
            ),
        ),
        ("energy",),
        lambda rt: rt.energy.data.events,
    ),
    Family(
        "backup history",
        "backup",
        (Endpoint("battery_backup_history", f"/app-api/{SITE}/battery_backup_history.json"),),
        ("inventory",),
        lambda rt: rt.inventory.data.backup_history,
        # Hourly, each in its own 15-minute slot of the inventory runs.
        cadence=60 * 60,
    ),
)


def energy_values(runtime: Any) -> dict[str, float | None]:
    """Every energy total the sensors show: site flows and each microinverter."""
    data = runtime.energy.data
    values: dict[str, float | None] = {}
    for flow, totals in data.totals.items():
        values[f"{flow} today"] = totals.today_kwh
        values[f"{flow} lifetime"] = totals.lifetime_kwh
    for serial, wh in data.inverter_today_wh.items():
        values[f"{serial} today"] = wh
    for serial, wh in data.inverter_lifetime_wh.items():
        values[f"{serial} lifetime"] = wh
    return values


def lowered(before: dict[str, float | None], after: dict[str, float | None]) -> list[str]:
    """Energy totals that went down or disappeared."""
    return [
        key
        for key, value in before.items()
        if value is not None and ((now := after.get(key)) is None or now < value)
    ]


# fault name -> family label -> passed
RESULTS: dict[str, dict[str, bool]] = {}


def matrix_report() -> list[str]:
    """The summary table (faults x families), printed by the terminal summary hook."""
    if not RESULTS:
        return []
    labels = [f.label for f in FAMILIES if any(f.label in row for row in RESULTS.values())]
    width = max(len(f.name) for f in FAULTS)
    lines = [" ".join([f"{'fault':<{width}}", *(f"{lb:>7}" for lb in labels), "   pass"])]
    passed = total = 0
    for fault in FAULTS:
        row = RESULTS.get(fault.name, {})
        cells = [f"{'-' if lb not in row else ('ok' if row[lb] else 'FAIL'):>7}" for lb in labels]
        ok = sum(row.values())
        passed += ok
        total += len(row)
        lines.append(" ".join([f"{fault.name:<{width}}", *cells, f"{ok:>4}/{len(row)}"]))
    lines.append(f"{passed}/{total} cells passed")
    return lines
