"""The simulator serves every spec endpoint with the spec's payload shapes."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator
from tests.simulator.driver import SimDriver
from tests.simulator.shape import assert_shape, load_example

FULL = 1000001
MICROS = 1000002
LEGACY = 1000003
SN = "EV0000000001"
EVC = "/service/evse_controller"
SCHED = "/service/evse_scheduler/api/v1/iqevc/charging-mode"
BC = "/service/batteryConfig/api/v1"
HIST = "/service/enho_historical_events_ms"
USER = "4000003"

pytestmark = pytest.mark.usefixtures("socket_enabled")

Setup = Callable[[EnlightenSimulator, SimDriver], Awaitable[None]]


@dataclass
class Case:
    """One request and the spec example its answer must look like."""

    id: str
    method: str
    path: str
    example: str | None
    json: Any = None
    form: dict[str, str] | None = None
    nullable: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    maps: tuple[str, ...] = ()
    setup: Setup | None = None
    status: int = 200
    check: Callable[[Any], None] | None = field(default=None, repr=False)


async def _verify_grid_otp(sim: EnlightenSimulator, driver: SimDriver) -> None:
    await driver.get(f"/app-api/{FULL}/grid_toggle_otp.json")
    reply = await driver.call(
        "POST", "/app-api/grid_toggle_otp.json", data={"otp": sim.grid_otp, "site_id": str(FULL)}
    )
    assert reply.json == {"valid": True}


def _history_body() -> dict[str, Any]:
    return {
        "source": "evse",
        "params": {
            "offset": 0,
            "limit": 20,
            "startDate": "01-01-2000",
            "endDate": "31-12-2099",
            "timezone": "Australia/Sydney",
        },
    }


def _check_filter_criteria(body: Any) -> None:
    assert body["source"] == "evse"
    assert body["data"] == [{"id": SN, "name": "IQ EV Charger", "type": "evse"}]


def _check_lifetime_micros(body: Any) -> None:
    length = len(body["production"])
    assert length == 400
    assert body["consumption"] == [None] * length
    assert body["charge"] == [None] * length
    assert body["evse"] == []
    assert body["heatpump"] == []
    assert body["water_heater"] == []


SLOTS = [
    {
        "id": f"{FULL}:{SN}:slot-1",
        "startTime": "22:00",
        "endTime": "05:00",
        "chargingLevel": 100,
        "chargingLevelAmp": None,
        "scheduleType": "CUSTOM",
        "days": [1, 2, 3],
        "remindTime": 10,
        "remindFlag": True,
        "enabled": True,
        "recurringKind": "Recurring",
        "chargeLevelType": "Weekly",
        "sourceType": "SYSTEM",
    }
]

CASES = [
    Case(
        "1.1", "GET", "/app-api/search_sites.json?searchText=&favourite=false", "1.1_search_sites"
    ),
    Case(
        "2.1-modern",
        "GET",
        f"{EVC}/{FULL}/ev_chargers/status",
        "2.1_status",
        nullable=("*.strt_chrg",),
    ),
    Case("2.1-legacy", "GET", f"{EVC}/{LEGACY}/ev_chargers/status", "2.1_status_legacy"),
    Case("2.1-none", "GET", f"{EVC}/{MICROS}/ev_chargers/status", "2.1_status"),
    Case(
        "2.2-list",
        "GET",
        f"{EVC}/api/v2/{FULL}/ev_chargers/summary?filter_retired=true",
        "2.2_summary_list",
    ),
    Case("2.2-one", "GET", f"{EVC}/api/v2/{FULL}/ev_chargers/{SN}/summary", "2.2_summary_one"),
    Case("2.3", "GET", f"{EVC}/{FULL}/ev_chargers/start_live_stream", "2.3_start_live_stream"),
    Case("2.4", "GET", f"{EVC}/{FULL}/ev_chargers/stop_live_stream", "2.4_stop_live_stream"),
    Case(
        "2.5-read",
        "POST",
        f"{EVC}/api/v1/{FULL}/ev_chargers/{SN}/ev_charger_config",
        "2.5_config_read",
        json=[{"key": "rfidSessionAuthentication"}, {"key": "sessionAuthentication"}],
    ),
    Case(
        "2.5-write",
        "PUT",
        f"{EVC}/api/v1/{FULL}/ev_chargers/{SN}/ev_charger_config",
        "2.5_config_write",
        json=[{"key": "sessionAuthentication", "value": "enabled"}],
        nullable=("$.data[].value",),
    ),
    Case(
        "2.6",
        "GET",
        f"{HIST}/{FULL}/filter_criteria?source=evse&requestId=x&username={USER}",
        None,
        check=_check_filter_criteria,
    ),
    Case(
        "2.7",
        "POST",
        f"{HIST}/{FULL}/sessions/{SN}/history",
        "2.7_history",
        json=_history_body(),
        nullable=("*.milesAdded",),
    ),
    Case("2.8-full", "GET", f"/pv/systems/{FULL}/lifetime_energy", "2.8_lifetime_energy"),
    Case(
        "2.8-micros",
        "GET",
        f"/pv/systems/{MICROS}/lifetime_energy",
        "2.8_lifetime_energy",
        nullable=("$.*[]",),
        check=_check_lifetime_micros,
    ),
    Case("2.9", "GET", f"/app-api/{FULL}/devices.json", "2.9_devices"),
    Case(
        "2.10",
        "GET",
        f"/service/events-platform-service/v1.0/{FULL}/events/homeowner?page_size=30&locale=en",
        "2.10_events",
        nullable=("*.message_params",),
    ),
    Case("2.11", "GET", f"/app-api/{FULL}/battery_backup_history.json", "2.11_backup_history"),
    Case("2.12", "GET", f"/app-api/{FULL}/grid_control_check.json", "2.12_grid_control_check"),
    Case("2.12.1", "GET", f"/app-api/{FULL}/grid_toggle_otp.json", "2.12.1_grid_toggle_otp"),
    Case(
        "2.12.2",
        "POST",
        "/app-api/grid_toggle_otp.json",
        "2.12.2_grid_toggle_verify",
        form={"otp": "0000", "site_id": str(FULL)},
    ),
    Case(
        "2.12.3",
        "POST",
        "/pv/settings/grid_state.json",
        "2.12.3_grid_state",
        form={"envoy_serial_number": "GW0000000001", "state": "1"},
        setup=_verify_grid_otp,
    ),
    Case(
        "2.12.4",
        "POST",
        "/pv/settings/log_grid_change.json",
        "2.12.4_log_grid_change",
        form={
            "envoy_serial_number": "GW0000000001",
            "old_state": "OPER_RELAY_CLOSED",
            "new_state": "OPER_RELAY_OFFGRID_AC_GRID_PRESENT",
        },
    ),
    Case("2.12.5", "GET", f"/app-api/{FULL}/off_grid_due_to_grid_outage", "2.12.5_off_grid"),
    Case(
        "2.13",
        "GET",
        f"/app-api/{FULL}/inverters.json?limit=20&offset=0&search=",
        "2.13_inverters",
    ),
    Case(
        "2.14-day",
        "GET",
        f"/systems/{FULL}/inverter_data_x/energy.json?start_date=2025-01-10&end_date=2025-01-10",
        "2.14_inverter_energy_day",
        maps=("$.production",),
    ),
    Case(
        "2.14-lifetime",
        "GET",
        f"/systems/{FULL}/inverter_data_x/energy.json?start_date=2020-01-01&end_date=2099-01-01",
        "2.14_inverter_energy_lifetime",
        maps=("$.production",),
    ),
    Case(
        "2.15",
        "GET",
        f"/systems/{FULL}/inverter_status_x.json",
        "2.15_inverter_status",
        maps=("$",),
    ),
    Case("2.16", "GET", f"/pv/settings/{FULL}/battery_status.json", "2.16_battery_status"),
    Case(
        "3.1",
        "POST",
        f"{EVC}/{FULL}/ev_chargers/{SN}/start_charging",
        "3.1_start_charging",
        json={"chargingLevel": 16, "connectorId": 1},
    ),
    Case("3.2", "PUT", f"{EVC}/{FULL}/ev_chargers/{SN}/stop_charging", "3.2_stop_charging"),
    Case(
        "3.3",
        "POST",
        f"{EVC}/{FULL}/ev_charger/{SN}/trigger_message",
        "3.3_trigger_message",
        json={"requestedMessage": "MeterValues"},
    ),
    Case("4.1", "GET", f"{SCHED}/{FULL}/{SN}/preference", "4.1_preference"),
    Case(
        "4.2",
        "PUT",
        f"{SCHED}/{FULL}/{SN}/preference",
        "4.1_preference",
        json={"mode": "MANUAL_CHARGING"},
    ),
    Case("4.3-get", "GET", f"{SCHED}/GREEN_CHARGING/{FULL}/{SN}/settings", "4.3_green_settings"),
    Case(
        "4.3-put",
        "PUT",
        f"{SCHED}/GREEN_CHARGING/{FULL}/{SN}/settings",
        "4.3_green_settings_put",
        json={
            "chargerSettingList": [
                {
                    "chargerSettingName": "USE_BATTERY_FOR_SELF_CONSUMPTION",
                    "enabled": False,
                    "value": None,
                    "loader": False,
                }
            ]
        },
    ),
    Case("4.4", "GET", f"{SCHED}/SCHEDULED_CHARGING/{FULL}/{SN}/schedules", "4.4_schedules"),
    Case(
        "4.5",
        "PATCH",
        f"{SCHED}/SCHEDULED_CHARGING/{FULL}/{SN}/schedules",
        "4.4_schedules",
        json={"meta": {"serverTimeStamp": "2025-01-01T00:00:00.000+00:00"}, "data": SLOTS},
    ),
    Case("5.1", "GET", f"{BC}/mqttSignedUrl/{FULL}", "5.1_mqtt_signed_url"),
    Case("5.2", "GET", f"{BC}/siteSettings/{FULL}?userId={USER}", "5.2_site_settings"),
    Case(
        "5.3",
        "GET",
        f"{BC}/profile/{FULL}?source=enho&userId={USER}&locale=en",
        "5.3_profile",
        extra=("$.data.requestedConfig", "$.data.cfgControl.forceScheduleOpted"),
    ),
    Case(
        "5.4-set",
        "PUT",
        f"{BC}/profile/{FULL}?userId={USER}",
        "5.4_success",
        json={"profile": "self-consumption", "batteryBackupPercentage": 10},
    ),
    Case(
        "5.4-cancel",
        "PUT",
        f"{BC}/cancel/profile/{FULL}?userId={USER}",
        "5.4_success",
        json={},
    ),
    Case(
        "5.5-get",
        "GET",
        f"{BC}/batterySettings/{FULL}?source=enho&userId={USER}",
        "5.5_battery_settings",
        nullable=("$.data.acceptedItcDisclaimer",),
    ),
    Case(
        "5.5-put",
        "PUT",
        f"{BC}/batterySettings/{FULL}?userId={USER}",
        "5.4_success",
        json={"veryLowSoc": 20},
    ),
    Case("5.6-get", "GET", f"{BC}/stormGuard/{FULL}/stormAlert", "5.6_storm_alert"),
    Case(
        "5.6-put",
        "PUT",
        f"{BC}/stormGuard/toggle/{FULL}?userId={USER}",
        "5.4_success",
        json={"stormGuardState": "enabled", "evseStormEnabled": True},
    ),
]


async def _login(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    reply = await driver.login(MULTI_EMAIL, MULTI_PASSWORD)
    assert reply.status == 200
    return driver


async def _run(case: Case, sim: EnlightenSimulator, driver: SimDriver) -> None:
    if case.setup is not None:
        await case.setup(sim, driver)
    reply = await driver.call(case.method, case.path, json=case.json, data=case.form)
    assert reply.status == case.status, reply.text
    assert reply.content_type == "application/json"
    body = reply.json
    if case.example is not None:
        assert_shape(
            load_example(case.example),
            body,
            nullable=case.nullable,
            extra=case.extra,
            maps=case.maps,
        )
    if case.check is not None:
        case.check(body)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_endpoint_matches_spec_example(
    case: Case, simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Each endpoint answers with the keys and value types of its spec example."""
    driver = await _login(simulator, client_session)
    await _run(case, simulator, driver)


def _route_regex(canonical: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(canonical))
    return re.compile(f"^{pattern}$")


async def test_every_route_is_exercised(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The cases above cover every registered cloud route (control routes aside)."""
    driver = await _login(simulator, client_session)
    for case in CASES:
        await _run(case, simulator, driver)
    await driver.call("PUT", f"{EVC}/{FULL}/ev_charger/{SN}/start_charging", json={})
    await driver.call("POST", f"{EVC}/{FULL}/ev_charger/{SN}/stop_charging")
    await driver.call("PUT", f"{EVC}/{FULL}/ev_chargers/{SN}/start_charging")
    await driver.call("POST", f"{EVC}/{FULL}/ev_chargers/{SN}/stop_charging")
    await driver.call("POST", f"{EVC}/{FULL}/ev_charger/{SN}/start_charging")
    await driver.call("PUT", f"{EVC}/{FULL}/ev_charger/{SN}/stop_charging")
    mfa = SimDriver(client_session, simulator.url)
    await mfa.login("mfa@example.com", "mfa-password")
    assert (await mfa.resend_otp()).json == load_example("6.3_resend")
    assert_shape(
        load_example("6.2_validate_ok"),
        (await mfa.validate_otp("mfa@example.com", simulator.login_otp)).json,
    )
    seen = {(r.method, r.path) for r in simulator.requests}
    missing = []
    for route in simulator.app.router.routes():
        canonical = route.resource.canonical if route.resource else ""
        if canonical.startswith("/__sim__") or route.method == "HEAD":
            continue
        regex = _route_regex(canonical)
        if not any(m == route.method and regex.match(p) for m, p in seen):
            missing.append(f"{route.method} {canonical}")
    assert not missing, missing


async def test_unknown_path_is_404_json(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Unknown paths answer 404 with a JSON body, before any auth check."""
    async with client_session.get(f"{simulator.url}/app-api/nothing/here") as resp:
        assert resp.status == 404
        assert (await resp.json())["message"] == "Not Found"


async def test_wrong_verb_is_405_json(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A known path with the wrong method answers 405 JSON with Allow."""
    driver = await _login(simulator, client_session)
    reply = await driver.call("DELETE", f"{EVC}/{FULL}/ev_chargers/status")
    assert reply.status == 405
    assert reply.json["message"] == "Method not allowed"
    assert reply.headers["Allow"] == "GET"
    reply = await driver.call("GET", f"{EVC}/{FULL}/ev_chargers/{SN}/stop_charging")
    assert reply.status == 405


async def test_unknown_site_and_foreign_site(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Unknown sites: 468 on the EV controller, 404 elsewhere; other accounts' sites: 403."""
    driver = await _login(simulator, client_session)
    assert (await driver.get(f"{EVC}/999/ev_chargers/status")).status == 468
    assert (await driver.get("/app-api/999/devices.json")).status == 404
    demo = SimDriver(client_session, simulator.url)
    await demo.login("demo@example.com", "demo-password")
    reply = await demo.get(f"/app-api/{MICROS}/devices.json")
    assert reply.status == 403
    assert reply.json["message"] == "Forbidden"


async def test_unknown_charger_is_404(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A charger serial the site does not have answers 404 JSON."""
    driver = await _login(simulator, client_session)
    reply = await driver.get(f"{EVC}/api/v2/{FULL}/ev_chargers/EVNOPE/summary")
    assert reply.status == 404
    assert reply.json["message"] == "Charger not found"


async def test_no_battery_site_battery_endpoints(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Sites without batteries: settings say so, battery-only endpoints answer 404."""
    driver = await _login(simulator, client_session)
    settings = (await driver.get(f"{BC}/siteSettings/{MICROS}?userId={USER}")).json
    assert settings["data"]["hasEncharge"] is False
    assert (await driver.get(f"{BC}/profile/{MICROS}?userId={USER}")).status == 404
    status = (await driver.get(f"/pv/settings/{MICROS}/battery_status.json")).json
    assert status["storages"] == []
    assert status["current_charge"] is None
    live = await driver.get(f"{EVC}/{MICROS}/ev_chargers/start_live_stream")
    assert live.status == 472
    assert live.json["message"] == "LIVE_STREAM_NOT_SUPPORTED"
    summary = (await driver.get(f"{EVC}/api/v2/{MICROS}/ev_chargers/summary")).json
    assert summary == {"data": []}


async def test_standalone_server_prints_url_and_credentials() -> None:
    """``python -m tests.simulator`` serves on 127.0.0.1 and prints how to log in."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        demo = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        assert "demo@example.com / demo-password" in demo
    finally:
        proc.terminate()
        await proc.wait()
