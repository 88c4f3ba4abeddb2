"""Fault injection, request log, latency and the HTTP control surface of the simulator."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator
from tests.simulator.driver import SimDriver

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL = 1000001
DEVICES = f"/app-api/{FULL}/devices.json"
STATUS = f"/service/evse_controller/{FULL}/ev_chargers/status"


async def _driver(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    await driver.login(DEMO_EMAIL, DEMO_PASSWORD)
    return driver


async def test_fault_status_count_and_default_body(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A counted fault fails that many matching requests, then the real answer returns."""
    driver = await _driver(simulator, client_session)
    simulator.inject_fault("ev_chargers/status", status=473, count=2)
    for _ in range(2):
        reply = await driver.get(STATUS)
        assert reply.status == 473
        assert reply.json == {"status": "error", "message": "IQ_GATEWAY_NOT_REPORTING"}
    assert (await driver.get(STATUS)).status == 200
    assert simulator.faults == []
    assert (await driver.get(DEVICES)).status == 200


async def test_fault_body_content_type_and_headers(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Custom body, content type and headers (e.g. Retry-After) are sent as given."""
    driver = await _driver(simulator, client_session)
    simulator.inject_fault(
        "devices.json", status=429, headers={"Retry-After": "17"}, body='{"message": "slow"}'
    )
    reply = await driver.get(DEVICES)
    assert (reply.status, reply.headers["Retry-After"], reply.json) == (
        429,
        "17",
        {"message": "slow"},
    )
    assert (await driver.get(DEVICES)).status == 429
    simulator.clear_faults()
    simulator.inject_fault(
        "devices.json", status=200, body="<html>maintenance</html>", content_type="text/html"
    )
    page = await driver.get(DEVICES)
    assert (page.status, page.content_type, page.text) == (
        200,
        "text/html",
        "<html>maintenance</html>",
    )
    simulator.clear_faults()
    simulator.inject_fault("devices.json", status=200, body="{not json", count=1)
    assert (await driver.get(DEVICES)).text == "{not json"
    assert (await driver.get(DEVICES)).json["result"]


async def test_fault_method_filter_and_latency_only(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Method filters restrict faults; latency-only faults pass through to the handler."""
    driver = await _driver(simulator, client_session)
    start = f"/service/evse_controller/{FULL}/ev_chargers/EV0000000001/start_charging"
    simulator.inject_fault("EV0000000001", status=550, method="post")
    assert (await driver.get(STATUS)).status == 200
    reply = await driver.call("POST", start, json={"chargingLevel": 16, "connectorId": 1})
    assert (reply.status, reply.json["message"]) == (550, "SERVICE_UNREACHABLE")
    simulator.clear_faults()
    simulator.inject_fault("ev_chargers/status", latency=0.01, count=1)
    assert (await driver.get(STATUS)).status == 200
    assert simulator.faults == []


async def test_fault_reset_drops_the_connection(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """reset=True closes the transport without an HTTP answer.

    aiohttp retries an idempotent request once when a reused keep-alive connection drops,
    so two resets are needed for a GET to fail.
    """
    driver = await _driver(simulator, client_session)
    simulator.inject_fault("devices.json", reset=True, count=2)
    with pytest.raises(aiohttp.ClientConnectionError):
        await driver.get(DEVICES)
    assert len(simulator.requests_to("devices.json")) == 2
    assert (await driver.get(DEVICES)).status == 200
    simulator.inject_fault("grid_toggle_otp.json", reset=True, count=1, method="POST")
    with pytest.raises(aiohttp.ClientConnectionError):
        await driver.call(
            "POST", "/app-api/grid_toggle_otp.json", data={"otp": "1", "site_id": "1"}
        )


async def test_faults_apply_before_auth(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Faults hit unauthenticated endpoints too (e.g. login returning 503)."""
    simulator.inject_fault("/login/login.json", status=503, count=1)
    driver = SimDriver(client_session, simulator.url)
    assert (await driver.login(DEMO_EMAIL, DEMO_PASSWORD)).status == 503
    assert (await driver.login(DEMO_EMAIL, DEMO_PASSWORD)).status == 200


async def test_request_log_and_global_latency(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Every cloud request is recorded with its details; control calls are not."""
    driver = await _driver(simulator, client_session)
    simulator.latency = 0.01
    simulator.clear_requests()
    await driver.get(f"/app-api/{FULL}/inverters.json?limit=5&offset=0&search=")
    await driver.call(
        "PUT",
        f"/service/batteryConfig/api/v1/batterySettings/{FULL}?userId=4000001",
        json={"veryLowSoc": 12},
    )
    async with client_session.get(f"{simulator.url}/__sim__/state") as resp:
        assert resp.status == 200
    assert [r.method for r in simulator.requests] == ["GET", "PUT"]
    first, second = simulator.requests
    assert first.path == f"/app-api/{FULL}/inverters.json"
    assert first.query == {"limit": "5", "offset": "0", "search": ""}
    assert first.headers["e-auth-token"] == driver.session_id
    assert first.at == simulator.now
    assert second.body == '{"veryLowSoc": 12}'
    assert simulator.requests_to("batterySettings", "put") == [second]
    simulator.clear_requests()
    assert simulator.requests == []


async def test_http_control_surface(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The /__sim__ endpoints drive faults, time, sessions, state and the log."""
    base = f"{simulator.url}/__sim__"
    driver = await _driver(simulator, client_session)

    async def post(path: str, body: object) -> tuple[int, object]:
        async with client_session.post(base + path, json=body) as resp:
            return resp.status, await resp.json()

    status, _ = await post("/fault", {"path_contains": "devices.json", "status": 502, "count": 1})
    assert status == 200
    assert (await driver.get(DEVICES)).status == 502
    await post("/fault", {"path_contains": "devices.json", "status": 500})
    async with client_session.delete(base + "/faults") as resp:
        assert resp.status == 200
    assert (await driver.get(DEVICES)).status == 200
    assert (await post("/fault", {"status": 500}))[0] == 400
    assert (await post("/fault", {"path_contains": "x", "nope": 1}))[0] == 400

    async with client_session.get(base + "/requests") as resp:
        log = await resp.json()
    assert log[-1]["path"] == DEVICES
    async with client_session.delete(base + "/requests") as resp:
        assert resp.status == 200
    assert simulator.requests == []

    before = simulator.now
    status, _ = await post("/advance", {"seconds": 90})
    assert status == 200
    assert simulator.now - before == timedelta(seconds=90)
    assert (await post("/advance", {"seconds": -1}))[0] == 400

    async with client_session.get(base + "/state") as resp:
        state = await resp.json()
    charger = state["sites"]["1000001"]["chargers"]["EV0000000001"]
    assert charger["plugged_in"] is True
    assert state["sites"]["1000002"]["battery"] is None
    assert state["login_otp"] == simulator.login_otp

    path = "chargers.EV0000000001.plugged_in"
    status, _ = await post("/set", {"site_id": FULL, "path": path, "value": False})
    assert status == 200
    assert simulator.site(FULL).chargers["EV0000000001"].plugged_in is False
    assert (await post("/set", {"site_id": FULL, "path": "nope.x", "value": 1}))[0] == 400

    assert (await post("/latency", {"seconds": 0.01}))[0] == 200
    assert simulator.latency == 0.01
    async with client_session.get(base + "/otp") as resp:
        assert (await resp.json())["grid_otp"] == simulator.grid_otp

    status, _ = await post("/expire_sessions", {})
    assert status == 200
    assert (await driver.get(DEVICES)).is_login_page
    assert (await post("/reset", {}))[0] == 200
    assert simulator.latency == 0.0
    assert simulator.site(FULL).chargers["EV0000000001"].plugged_in is True
