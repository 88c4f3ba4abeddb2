"""Login, MFA, session loss, header rules and XSRF rotation of the simulator."""

from __future__ import annotations

from http.cookies import SimpleCookie

import aiohttp
import jwt
import pytest

from tests.simulator import (
    BLOCKED_EMAIL,
    BLOCKED_PASSWORD,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    EnlightenSimulator,
)
from tests.simulator.driver import Reply, SimDriver
from tests.simulator.shape import assert_shape, load_example

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL = 1000001
SCHED_PREF = "/service/evse_scheduler/api/v1/iqevc/charging-mode/1000001/EV0000000001/preference"
BC_PROFILE = "/service/batteryConfig/api/v1/profile/1000001"
DEVICES = "/app-api/1000001/devices.json"
STATUS = "/service/evse_controller/1000001/ev_chargers/status"


def _set_cookies(reply: Reply) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in reply.headers.getall("Set-Cookie", []):
        jar: SimpleCookie = SimpleCookie()
        jar.load(raw)
        out.update({k: m.value for k, m in jar.items()})
    return out


async def _demo(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    await driver.login(DEMO_EMAIL, DEMO_PASSWORD)
    return driver


async def test_login_without_mfa(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A plain login returns session_id + an HS256 JWT and sets the four cookies."""
    driver = SimDriver(client_session, simulator.url)
    reply = await driver.login(DEMO_EMAIL.upper(), DEMO_PASSWORD)
    assert reply.status == 200
    body = reply.json
    assert_shape(load_example("6.1_login_ok"), body)
    cookies = _set_cookies(reply)
    assert set(cookies) == {
        "_enlighten_4_session",
        "XSRF-TOKEN",
        "BP-XSRF-Token",
        "enlighten_manager_token_production",
    }
    assert cookies["enlighten_manager_token_production"] == body["manager_token"]
    claims = jwt.decode(
        body["manager_token"],
        simulator.auth.secret,
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims["session_id"] == body["session_id"]
    assert claims["user_id"] == "4000001"
    assert claims["email"] == DEMO_EMAIL
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iat"] == int(simulator.now.timestamp())
    assert (await driver.get(DEVICES)).status == 200


async def test_login_failures(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Wrong password and blocked accounts answer success=false."""
    driver = SimDriver(client_session, simulator.url)
    bad = await driver.login(DEMO_EMAIL, "nope")
    assert (bad.status, bad.json) == (200, {"success": False, "isBlocked": False})
    unknown = await driver.login("who@example.com", "x")
    assert unknown.json == {"success": False, "isBlocked": False}
    blocked = await driver.login(BLOCKED_EMAIL, BLOCKED_PASSWORD)
    assert blocked.json == {"success": False, "isBlocked": True}
    assert driver.session_id is None


async def test_mfa_flow(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """MFA login: pre-auth cookies, wrong code, resend rotating code and nonce, success."""
    driver = SimDriver(client_session, simulator.url)
    first = await driver.login(MFA_EMAIL, MFA_PASSWORD)
    assert first.json == load_example("6.1_login_mfa")
    cookies = _set_cookies(first)
    assert set(cookies) == {"_enlighten_4_session", "login_otp_nonce", "email", "XSRF-TOKEN"}
    assert driver.session_id is None
    wrong = await driver.validate_otp(MFA_EMAIL, "000000")
    assert wrong.json == load_example("6.2_validate_invalid")
    old_otp, old_nonce = simulator.login_otp, cookies["login_otp_nonce"]
    assert old_otp == "123456"
    resend = await driver.resend_otp()
    assert resend.json == {"success": True, "isBlocked": False}
    assert simulator.login_otp != old_otp
    assert len(simulator.login_otp) == 6
    assert _set_cookies(resend)["login_otp_nonce"] != old_nonce
    assert (await driver.validate_otp(MFA_EMAIL, old_otp)).json["isValid"] is False
    ok = await driver.validate_otp(MFA_EMAIL, simulator.login_otp)
    assert ok.status == 200
    assert_shape(load_example("6.2_validate_ok"), ok.json)
    assert "BP-XSRF-Token" in _set_cookies(ok)
    assert (await driver.get("/app-api/1000002/devices.json")).status == 200


async def test_mfa_blocks_after_five_wrong_codes(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The fifth wrong code blocks the pending login, even for the right code."""
    driver = SimDriver(client_session, simulator.url)
    await driver.login(MFA_EMAIL, MFA_PASSWORD)
    answers = [(await driver.validate_otp(MFA_EMAIL, "999999")).json for _ in range(5)]
    assert answers[:4] == [{"isValid": False, "isBlocked": False}] * 4
    assert answers[4] == load_example("6.2_validate_blocked")
    right = await driver.validate_otp(MFA_EMAIL, simulator.login_otp)
    assert right.json == {"isValid": False, "isBlocked": True}


async def test_mfa_nonce_expiry_and_missing_cookies(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A code older than 10 minutes, or no pre-auth cookies, answers 401."""
    stranger = SimDriver(client_session, simulator.url)
    assert (await stranger.validate_otp(MFA_EMAIL, "123456")).status == 401
    assert (await stranger.resend_otp()).status == 401
    driver = SimDriver(client_session, simulator.url)
    await driver.login(MFA_EMAIL, MFA_PASSWORD)
    simulator.advance(601)
    expired = await driver.validate_otp(MFA_EMAIL, simulator.login_otp)
    assert expired.status == 401
    await driver.resend_otp()
    assert (await driver.validate_otp(MFA_EMAIL, simulator.login_otp)).status == 200


@pytest.mark.parametrize(
    "path",
    [
        DEVICES,
        "/app-api/search_sites.json",
        "/pv/systems/1000001/lifetime_energy",
        "/pv/settings/1000001/battery_status.json",
        "/systems/1000001/inverter_status_x.json",
    ],
)
async def test_auth_lost_is_html_login_page(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession, path: str
) -> None:
    """Without a session, web paths answer 200 text/html with the login form (the quirk)."""
    reply = await SimDriver(client_session, simulator.url).get(path)
    assert reply.status == 200
    assert reply.is_login_page


async def test_auth_lost_on_service_is_401(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Without a session, /service paths answer 401 JSON."""
    reply = await SimDriver(client_session, simulator.url).get(STATUS)
    assert (reply.status, reply.json) == (401, {"message": "Not Authorized"})


async def test_session_loss_paths(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Wrong e-auth-token, expire_sessions() and session age all drop the session."""
    driver = await _demo(simulator, client_session)
    wrong = await driver.get(DEVICES, headers={"e-auth-token": "bogus"})
    assert wrong.is_login_page
    assert (await driver.get(DEVICES, omit=("e-auth-token",))).is_login_page
    assert (await driver.get(DEVICES)).status == 200
    simulator.expire_sessions()
    assert (await driver.get(DEVICES)).is_login_page
    assert (await driver.get(STATUS)).status == 401
    await driver.login(DEMO_EMAIL, DEMO_PASSWORD)
    assert (await driver.get(DEVICES)).status == 200
    simulator.advance(86401)
    assert (await driver.get(DEVICES)).is_login_page


async def test_bearer_token_rules(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Scheduler calls need the session's own unexpired JWT."""
    driver = await _demo(simulator, client_session)
    assert (await driver.get(SCHED_PREF)).status == 200
    assert (await driver.get(SCHED_PREF, omit=("Authorization",))).status == 401
    forged = jwt.encode({"session_id": driver.session_id, "exp": 4102444800}, "k" * 32, "HS256")
    bad = await driver.get(SCHED_PREF, headers={"Authorization": f"Bearer {forged}"})
    assert bad.status == 401
    driver2 = await _demo(simulator, client_session)
    simulator.advance(3601)
    assert (await driver2.get(SCHED_PREF)).status == 401
    assert (await driver2.get(DEVICES)).status == 200


async def test_service_header_rules(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """batteryConfig needs Username (and a matching userId); history needs username+requestid."""
    driver = await _demo(simulator, client_session)
    assert (await driver.get(BC_PROFILE)).status == 200
    assert (await driver.get(BC_PROFILE, omit=("Username",))).status == 401
    assert (await driver.get(f"{BC_PROFILE}?userId=4000999")).status == 403
    path = "/service/enho_historical_events_ms/1000001/filter_criteria?source=evse"
    assert (await driver.get(path)).status == 200
    assert (await driver.get(path, omit=("requestid",))).status == 401
    assert (await driver.get(path, headers={"username": "1"})).status == 401


async def test_xsrf_required_for_writes(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """batteryConfig PUTs need X-XSRF-Token; form POSTs need X-CSRF-Token."""
    driver = await _demo(simulator, client_session)
    body = {"stormGuardState": "enabled", "evseStormEnabled": False}
    toggle = "/service/batteryConfig/api/v1/stormGuard/toggle/1000001"
    refused = await driver.call("PUT", toggle, json=body, omit=("X-XSRF-Token",))
    assert refused.status == 403
    assert (await driver.call("PUT", toggle, json=body)).status == 200
    form = {"otp": "1111", "site_id": str(FULL)}
    no_csrf = await driver.call(
        "POST", "/app-api/grid_toggle_otp.json", data=form, omit=("X-CSRF-Token",)
    )
    assert no_csrf.status == 403
    assert (await driver.call("POST", "/app-api/grid_toggle_otp.json", data=form)).status == 200


async def test_xsrf_rotation_every_tenth_request(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The 10th authenticated request rotates both XSRF cookies; old values stop working."""
    driver = await _demo(simulator, client_session)
    old = dict(driver.cookies)
    for _ in range(9):
        reply = await driver.get(DEVICES)
        assert "XSRF-TOKEN" not in _set_cookies(reply)
    tenth = await driver.get(DEVICES)
    rotated = _set_cookies(tenth)
    assert rotated.keys() == {"XSRF-TOKEN", "BP-XSRF-Token"}
    assert rotated["XSRF-TOKEN"] != old["XSRF-TOKEN"]
    assert rotated["BP-XSRF-Token"] != old["BP-XSRF-Token"]
    toggle = "/service/batteryConfig/api/v1/stormGuard/toggle/1000001"
    body = {"stormGuardState": "disabled", "evseStormEnabled": False}
    stale = await driver.call(
        "PUT", toggle, json=body, headers={"X-XSRF-Token": old["BP-XSRF-Token"]}
    )
    assert stale.status == 403
    assert (await driver.call("PUT", toggle, json=body)).status == 200
