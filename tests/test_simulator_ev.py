"""EV charger state in the simulator: charging, variants, sessions, scheduler, events."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator
from tests.simulator.driver import SimDriver

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL = 1000001
LEGACY = 1000003
SN = "EV0000000001"
LEGACY_SN = "EV0000000003"
EVC = "/service/evse_controller"
START = f"{EVC}/{FULL}/ev_chargers/{SN}/start_charging"
STOP = f"{EVC}/{FULL}/ev_chargers/{SN}/stop_charging"
STATUS = f"{EVC}/{FULL}/ev_chargers/status"
SCHED = "/service/evse_scheduler/api/v1/iqevc/charging-mode"
EVENTS = f"/service/events-platform-service/v1.0/{FULL}/events/homeowner"
HISTORY = f"/service/enho_historical_events_ms/{FULL}/sessions/{SN}/history"


async def _driver(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    await driver.login(MULTI_EMAIL, MULTI_PASSWORD)
    return driver


async def _charger(driver: SimDriver) -> dict[str, Any]:
    body = (await driver.get(STATUS)).json
    charger: dict[str, Any] = body["data"]["chargers"][0]
    return charger


async def test_start_and_stop_charging(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Start applies the level and reports CHARGING; stop returns to a suspended state."""
    driver = await _driver(simulator, client_session)
    before = await _charger(driver)
    assert before["pluggedIn"] is True
    assert before["charging"] is False
    assert before["session_d"]["strt_chrg"] is None
    reply = await driver.call("POST", START, json={"chargingLevel": 16, "connectorId": 1})
    assert reply.json == {"status": "accepted", "chargingLevel": 16}
    charging = await _charger(driver)
    assert charging["charging"] is True
    assert charging["session_d"]["charge_level"] == 16
    assert charging["session_d"]["strt_chrg"] == int(simulator.now.timestamp() * 1000)
    assert charging["connectors"][0]["connectorStatusType"] == "CHARGING"
    state = simulator.site(FULL).chargers[SN]
    assert (state.charging, state.charging_level) == (True, 16)
    assert (await driver.call("PUT", STOP)).json == {"status": "accepted"}
    stopped = await _charger(driver)
    assert stopped["charging"] is False
    assert stopped["connectors"][0]["connectorStatusType"] == "SUSPENDED_EVSE"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"chargingLevel": 5, "connectorId": 1}, "range [6-32]"),
        ({"chargingLevel": 33, "connectorId": 1}, "range [6-32]"),
        ({"chargingLevel": "16", "connectorId": 1}, "integer"),
        ({"chargingLevel": 16, "connectorId": 0}, "greater than 0"),
    ],
)
async def test_start_rejects_bad_input(
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
    body: dict[str, Any],
    detail: str,
) -> None:
    """Levels outside chargeLevelDetails and bad connector ids answer 400."""
    driver = await _driver(simulator, client_session)
    reply = await driver.call("POST", START, json=body)
    assert reply.status == 400
    assert detail in reply.json["details"]
    assert simulator.site(FULL).chargers[SN].charging is False


async def test_start_when_unplugged_is_409(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """An unplugged charger refuses to start; plugging in again re-enables it."""
    driver = await _driver(simulator, client_session)
    charger = simulator.site(FULL).chargers[SN]
    charger.plugged_in = False
    reply = await driver.call("POST", START, json={"chargingLevel": 16, "connectorId": 1})
    assert reply.status == 409
    assert reply.json == {"status": "error", "message": "Charger not plugged in"}
    status = await _charger(driver)
    assert status["pluggedIn"] is False
    assert status["session_d"]["plg_out_at"].endswith("Z[UTC]")
    assert status["connectors"][0]["connectorStatusType"] == "AVAILABLE"
    charger.plugged_in = True
    reply = await driver.call("POST", START, json={"chargingLevel": 10, "connectorId": 1})
    assert reply.status == 200
    assert (await _charger(driver))["session_d"]["e_c"] == 0


async def test_session_energy_grows_with_simulated_time(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Energy accrues at amps x voltage while charging and stops at the EV's capacity."""
    driver = await _driver(simulator, client_session)
    await driver.call("POST", START, json={"chargingLevel": 16, "connectorId": 1})
    simulator.advance(3600)
    first = (await _charger(driver))["session_d"]
    assert first["e_c"] == pytest.approx(16 * 230, abs=0.1)
    assert first["miles"] == pytest.approx(16 * 230 / 1000 * 4, abs=0.01)
    simulator.advance(86400)
    await driver.login(MULTI_EMAIL, MULTI_PASSWORD)  # the web session is a day old
    full = await _charger(driver)
    assert full["charging"] is False
    assert full["session_d"]["e_c"] == pytest.approx(60000)
    assert full["connectors"][0]["connectorStatusType"] == "SUSPENDED_EV"


async def test_unplug_while_charging_records_session(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Unplugging mid-session ends charging and adds a history row."""
    driver = await _driver(simulator, client_session)
    charger = simulator.site(FULL).chargers[SN]
    sessions_before = len(charger.sessions)
    await driver.call("POST", START, json={"chargingLevel": 32, "connectorId": 1})
    simulator.advance(1800)
    charger.plugged_in = False
    status = await _charger(driver)
    assert (status["charging"], status["pluggedIn"]) == (False, False)
    assert len(charger.sessions) == sessions_before + 1
    assert charger.sessions[-1].energy_kwh == pytest.approx(32 * 230 / 2 / 1000, abs=0.01)


VARIANT_CALLS: list[tuple[str, str, str, Any]] = [
    ("canonical", "POST", "ev_chargers", {"chargingLevel": 20, "connectorId": 1}),
    ("put", "PUT", "ev_chargers", {"chargingLevel": 20, "connectorId": 1}),
    ("singular", "POST", "ev_charger", {"chargingLevel": 20, "connectorId": 1}),
    ("snake_case", "POST", "ev_chargers", {"charging_level": 20, "connector_id": 1}),
    ("no_body", "POST", "ev_chargers", None),
]


@pytest.mark.parametrize("accepted", [v[0] for v in VARIANT_CALLS])
async def test_start_accepts_only_the_configured_variant(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession, accepted: str
) -> None:
    """With accepted_variant set, every other variant is refused (404/405/400)."""
    driver = await _driver(simulator, client_session)
    charger = simulator.site(FULL).chargers[SN]
    charger.accepted_variant = accepted
    charger.charging_level = 20
    for name, method, segment, body in VARIANT_CALLS:
        path = f"{EVC}/{FULL}/{segment}/{SN}/start_charging"
        reply = await driver.call(method, path, json=body)
        if name == accepted:
            assert reply.status == 200, reply.text
            assert reply.json["chargingLevel"] == 20
        else:
            assert reply.status in (400, 404, 405), (name, reply.status)
    assert charger.charging is True


@pytest.mark.parametrize(
    ("accepted", "method", "segment"),
    [
        ("canonical", "PUT", "ev_chargers"),
        ("post", "POST", "ev_chargers"),
        ("singular", "PUT", "ev_charger"),
    ],
)
async def test_stop_accepts_only_the_configured_variant(
    simulator: EnlightenSimulator,
    client_session: aiohttp.ClientSession,
    accepted: str,
    method: str,
    segment: str,
) -> None:
    """Stop variants: PUT canonical, POST, singular path."""
    driver = await _driver(simulator, client_session)
    charger = simulator.site(FULL).chargers[SN]
    await driver.call("POST", START, json={"chargingLevel": 20, "connectorId": 1})
    charger.accepted_stop_variant = accepted
    other = "POST" if method == "PUT" else "PUT"
    assert (await driver.call(other, f"{EVC}/{FULL}/{segment}/{SN}/stop_charging")).status == 405
    assert charger.charging is True
    reply = await driver.call(method, f"{EVC}/{FULL}/{segment}/{SN}/stop_charging")
    assert reply.status == 200
    assert charger.charging is False


async def test_legacy_charger_shape_and_kwh(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The legacy site reports the flat evChargerData shape with kWh session energy."""
    driver = await _driver(simulator, client_session)
    body = (await driver.get(f"{EVC}/{LEGACY}/ev_chargers/status")).json
    charger = body["evChargerData"][0]
    assert charger["charging"] is True
    assert 0 < charger["session_d"]["e_c"] < 200
    assert charger["session_d"]["start_time"] == int(simulator.now.timestamp()) - 40 * 60
    simulator.advance(3600)
    later = (await driver.get(f"{EVC}/{LEGACY}/ev_chargers/status")).json["evChargerData"][0]
    assert later["session_d"]["e_c"] == pytest.approx(charger["session_d"]["e_c"] + 9.6, abs=0.01)
    live = await driver.get(f"{EVC}/{LEGACY}/ev_chargers/start_live_stream")
    assert live.json["duration_s"] == 900


async def test_offline_gateway_and_charger(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Commands answer 473 with the gateway offline and 552 with the charger offline."""
    driver = await _driver(simulator, client_session)
    site = simulator.site(FULL)
    body = {"chargingLevel": 16, "connectorId": 1}
    site.gateway.connected = False
    assert (await driver.call("POST", START, json=body)).status == 473
    assert (await driver.get(f"{EVC}/{FULL}/ev_chargers/start_live_stream")).status == 473
    site.gateway.connected = True
    site.chargers[SN].connected = False
    reply = await driver.call("POST", START, json=body)
    assert (reply.status, reply.json["message"]) == (552, "CONNECTION_NOT_ESTABLISHED")
    assert (await _charger(driver))["connected"] is False
    site.chargers[SN].connected = True
    site.chargers[SN].faulted = True
    assert (await driver.call("POST", START, json=body)).status == 409
    assert (await _charger(driver))["connectors"][0]["connectorStatusType"] == "FAULTED"


async def test_trigger_message_validation(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Only known OCPP messages are accepted."""
    driver = await _driver(simulator, client_session)
    path = f"{EVC}/{FULL}/ev_charger/{SN}/trigger_message"
    assert (await driver.call("POST", path, json={"requestedMessage": "Nope"})).status == 400
    reply = await driver.call("POST", path, json={"requestedMessage": "StatusNotification"})
    assert reply.json["message"] == "StatusNotification"
    assert simulator.site(FULL).chargers[SN].last_trigger == "StatusNotification"


async def test_session_authentication_config(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """PUT answers status 2 with the prior value, later reads show the new value (status 1)."""
    driver = await _driver(simulator, client_session)
    path = f"{EVC}/api/v1/{FULL}/ev_chargers/{SN}/ev_charger_config"
    read = [{"key": "sessionAuthentication"}]
    first = (await driver.call("POST", path, json=read)).json["data"][0]
    assert first == {"key": "sessionAuthentication", "value": None, "reqValue": None, "status": 1}
    write = [{"key": "sessionAuthentication", "value": "enabled"}]
    answer = (await driver.call("PUT", path, json=write)).json["data"][0]
    assert answer == {
        "key": "sessionAuthentication",
        "value": None,
        "reqValue": "enabled",
        "status": 2,
    }
    after = (await driver.call("POST", path, json=read)).json["data"][0]
    assert (after["value"], after["status"]) == ("enabled", 1)
    bad = await driver.call("PUT", path, json=[{"key": "sessionAuthentication", "value": "on"}])
    assert bad.status == 400
    assert (await driver.call("POST", path, json=[{"key": "x"}])).status == 400


async def test_session_history_pagination(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """offset/limit pages walk every session once, newest first; hasMore ends the walk."""
    driver = await _driver(simulator, client_session)
    params = {"startDate": "01-01-2000", "endDate": "31-12-2099", "timezone": "UTC"}
    seen: list[int] = []
    offset = 0
    while True:
        body = {"source": "evse", "params": params | {"offset": offset, "limit": 25}}
        data = (await driver.call("POST", HISTORY, json=body)).json["data"]
        seen.extend(row["sessionId"] for row in data["result"])
        assert (data["offset"], data["limit"]) == (offset, 25)
        if not data["hasMore"]:
            break
        offset += 25
    charger = simulator.site(FULL).chargers[SN]
    assert len(seen) == len(charger.sessions) > 25
    assert seen == sorted(seen, reverse=True)
    today = simulator.now.strftime("%d-%m-%Y")
    narrow = {"source": "evse", "params": {"startDate": today, "endDate": today, "timezone": "UTC"}}
    # The scenario's sessions are dated back from now: at some hours one ended today.
    earlier = (await driver.call("POST", HISTORY, json=narrow)).json["data"]["result"]
    await driver.call("POST", START, json={"chargingLevel": 32, "connectorId": 1})
    simulator.advance(600)
    await driver.call("PUT", STOP)
    rows = (await driver.call("POST", HISTORY, json=narrow)).json["data"]["result"]
    assert len(rows) == len(earlier) + 1
    assert rows[0]["aggEnergyValue"] == pytest.approx(32 * 230 / 6 / 1000, abs=0.01)
    assert rows[0]["activeChargeTime"] == 600
    bad = {"source": "evse", "params": {"startDate": "2025-01-01", "endDate": today}}
    assert (await driver.call("POST", HISTORY, json=bad)).status == 400


async def test_events_pagination_and_new_events(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The next cursor walks all events; charging start/stop adds events on top."""
    driver = await _driver(simulator, client_session)
    ids: list[int] = []
    cursor: str | None = None
    while True:
        query = f"?page_size=30&locale=en{'&next=' + cursor if cursor else ''}"
        body = (await driver.get(EVENTS + query)).json
        ids.extend(e["id"] for e in body["events"])
        cursor = body["next"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == len(simulator.site(FULL).events)
    assert len(ids) > 60
    await driver.call("POST", START, json={"chargingLevel": 32, "connectorId": 1})
    simulator.advance(60)
    await driver.call("PUT", STOP)
    top = (await driver.get(EVENTS + "?page_size=2")).json["events"]
    assert [e["event_key"] for e in top] == ["evse_stop_charging", "evse_start_charging"]
    assert top[1]["message_params"] == "Charge Level = 32, Mode = Charge Now"
    assert (await driver.get(EVENTS + "?next=1:2:3:4")).status == 400


async def test_charge_mode_preference(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """PUT sets the mode and mirrors the GET payload; unknown modes are 400."""
    driver = await _driver(simulator, client_session)
    path = f"{SCHED}/{FULL}/{SN}/preference"
    reply = await driver.call("PUT", path, json={"mode": "GREEN_CHARGING"})
    modes = reply.json["data"]["modes"]
    assert modes["greenCharging"] == {"enabled": True, "chargingMode": "GREEN_CHARGING"}
    assert modes["manualCharging"] == {"enabled": False}
    assert (await driver.get(path)).json == reply.json
    assert simulator.site(FULL).chargers[SN].mode == "GREEN_CHARGING"
    reason = (await _charger(driver))["connectors"][0]["connectorStatusReason"]
    assert reason == "INSUFFICIENT_SOLAR"
    assert (await driver.call("PUT", path, json={"mode": "FAST"})).status == 400


async def test_green_use_battery_setting(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """The USE_BATTERY_FOR_SELF_CONSUMPTION toggle round-trips."""
    driver = await _driver(simulator, client_session)
    path = f"{SCHED}/GREEN_CHARGING/{FULL}/{SN}/settings"
    item = {"chargerSettingName": "USE_BATTERY_FOR_SELF_CONSUMPTION", "enabled": False}
    assert (await driver.call("PUT", path, json={"chargerSettingList": [item]})).status == 200
    assert (await driver.get(path)).json["data"][0]["enabled"] is False
    assert simulator.site(FULL).chargers[SN].green_use_battery is False
    bad = {"chargerSettingList": [item | {"enabled": "no"}]}
    assert (await driver.call("PUT", path, json=bad)).status == 400
    legacy = f"{SCHED}/GREEN_CHARGING/{LEGACY}/{LEGACY_SN}/settings"
    assert (await driver.get(legacy)).json["data"] == []


async def test_schedules_patch_replaces_list(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """PATCH replaces every slot; 100/null levels normalise to the charger maximum."""
    driver = await _driver(simulator, client_session)
    path = f"{SCHED}/SCHEDULED_CHARGING/{FULL}/{SN}/schedules"
    before = (await driver.get(path)).json["data"]["slots"]
    assert [s["scheduleType"] for s in before] == ["CUSTOM", "OFF_PEAK"]
    new_slot = {
        "startTime": "01:00",
        "endTime": "04:30",
        "chargingLevel": 100,
        "chargingLevelAmp": None,
        "scheduleType": "CUSTOM",
        "days": [6, 7],
        "remindFlag": False,
        "enabled": True,
    }
    reply = await driver.call("PATCH", path, json={"meta": {}, "data": [new_slot]})
    slots = reply.json["data"]["slots"]
    assert len(slots) == 1
    assert slots[0]["id"].startswith(f"{FULL}:{SN}:")
    assert (slots[0]["chargingLevel"], slots[0]["chargingLevelAmp"]) == (32, 32)
    assert (await driver.get(path)).json["data"]["slots"] == slots
    for bad in (
        new_slot | {"startTime": "25:00"},
        new_slot | {"days": [0]},
        new_slot | {"scheduleType": "WEEKLY"},
        new_slot | {"chargingLevel": 50, "chargingLevelAmp": 50},
    ):
        assert (await driver.call("PATCH", path, json={"data": [bad]})).status == 400
    assert (await driver.call("PATCH", path, json={"data": []})).json["data"]["slots"] == []
