"""The gateway simulator itself: captured replies, gateway-like auth, faults, request log."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.gateway_sim import (
    RELAY_SERIAL,
    FixtureSet,
    GatewaySimulator,
    fixture_key,
    fixtures_available,
)
from tests.gateway_sim.testing import SimulatorPool, no_verify_session


@pytest.fixture
async def sims(socket_enabled: None) -> AsyncIterator[SimulatorPool]:
    pool = SimulatorPool()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with no_verify_session() as client_session:
        yield client_session


def digest(user: str, password: str) -> tuple[aiohttp.DigestAuthMiddleware]:
    return (aiohttp.DigestAuthMiddleware(user, password),)


# -- fixture files --------------------------------------------------------------------------


def test_fixture_keys() -> None:
    assert fixture_key("/api/v1/production/inverters") == "api_v1_production_inverters"
    assert fixture_key("/production.json", "details=1") == "production.json_details_1"
    assert fixture_key("/inventory.json", "deleted=1&a=b") == "inventory.json_deleted_1_a_b"


def test_missing_fixture_sets(tmp_path: Path) -> None:
    assert not fixtures_available(base=tmp_path / "nowhere")
    assert not fixtures_available("9.9.9", base=tmp_path)
    with pytest.raises(FileNotFoundError):
        FixtureSet("9.9.9", tmp_path)
    (tmp_path / "no_info").mkdir()
    with pytest.raises(FileNotFoundError):
        FixtureSet("no_info", tmp_path)
    (tmp_path / "bad_info").mkdir()
    (tmp_path / "bad_info" / "info").write_text("<envoy_info></envoy_info>")
    with pytest.raises(ValueError, match="device"):
        FixtureSet("bad_info", tmp_path)


async def test_pool_skips_without_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.gateway_sim.testing.fixtures_available", lambda name: False)
    with pytest.raises(pytest.skip.Exception, match="shared/fixtures/envoy"):
        await SimulatorPool().start("5.0.62")


async def test_captured_statuses_and_content_types(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("5.0.62")
    async with session.get(f"{sim.url}/info") as resp:
        assert (resp.status, resp.content_type) == (200, "text/xml")
        assert "<sn>121621012167</sn>" in await resp.text()
    async with session.get(f"{sim.url}/production.json?details=1") as resp:
        assert (resp.status, resp.content_type) == (200, "application/json")
        assert (await resp.json())["production"][0]["wNow"] == 7904
    mw = digest("envoy", sim.serial[-6:])
    async with session.get(f"{sim.url}/ivp/ensemble/inventory", middlewares=mw) as resp:
        assert resp.status == 404
        assert resp.headers["Content-Type"] == "application/json; charset=ISO-8859-4"
    async with session.get(f"{sim.url}/no/such/thing", middlewares=mw) as resp:
        assert resp.status == 404
    async with session.post(f"{sim.url}/ivp/meters", middlewares=mw, json={}) as resp:
        assert resp.status == 405


async def test_sets_without_logs_get_guessed_content_types(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("7.3.130")
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    async with session.get(f"{sim.url}/production.json", headers=headers) as resp:
        assert (resp.status, resp.content_type) == (200, "application/json")
    sim.set_payload("/home", b"<html>home</html>", content_type="text/html")
    async with session.get(f"{sim.url}/home", headers=headers) as resp:
        assert (resp.status, await resp.text()) == (200, "<html>home</html>")


# -- authentication -------------------------------------------------------------------------


async def test_digest_auth_below_firmware_7(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("5.0.62")
    assert sim.url.startswith("http://") and not sim.requires_token
    url = f"{sim.url}/api/v1/production/inverters"
    async with session.get(url) as resp:
        assert resp.status == 401
        challenge = resp.headers["WWW-Authenticate"]
        assert challenge.startswith("Digest ") and 'realm="enphaseenergy.com"' in challenge
    async with session.get(url, middlewares=digest("envoy", "123456")) as resp:
        assert resp.status == 401
    async with session.get(url, middlewares=digest("envoy", sim.serial[-6:])) as resp:
        assert resp.status == 200 and len(await resp.json()) == 40
    async with session.get(f"{sim.url}/api/v1/production") as resp:
        assert resp.status == 200  # public on this firmware
    forged = 'Digest username="envoy", realm="enphaseenergy.com", nonce="x", uri="/", response="0"'
    async with session.get(url, headers={"Authorization": forged}) as resp:
        assert resp.status == 401
    async with session.get(url, headers={"Authorization": "Basic ZW52b3k6MTIzNDU2"}) as resp:
        assert resp.status == 401
    async with session.get(f"{sim.url}/auth/check_jwt") as resp:
        assert resp.status == 404


async def test_digest_rejects_replayed_uri_and_other_algorithms(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("5.0.62")
    url = f"{sim.url}/ivp/meters"
    async with session.get(url, middlewares=digest("envoy", sim.serial[-6:])) as resp:
        assert resp.status == 200
    header = next(
        r.headers["Authorization"] for r in reversed(sim.requests) if r.headers.get("Authorization")
    )
    async with session.get(
        f"{sim.url}/ivp/meters/readings", headers={"Authorization": header}
    ) as resp:
        assert resp.status == 401  # signed for another URI
    sha = header.replace("algorithm=MD5", "algorithm=SHA-256")
    async with session.get(url, headers={"Authorization": sha}) as resp:
        assert resp.status == 401
    no_qop = header.split(", qop=")[0]
    async with session.get(url, headers={"Authorization": no_qop}) as resp:
        assert resp.status == 401


async def test_token_auth_from_firmware_7(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("7.6.175_with_cts")
    assert sim.url.startswith("https://") and sim.requires_token
    url = f"{sim.url}/api/v1/production"
    async with session.get(url) as resp:
        assert resp.status == 401
    token = sim.issue_token(lifetime=3600)
    bearer = {"Authorization": f"Bearer {token}"}
    async with session.get(url, headers=bearer) as resp:
        assert resp.status == 200
    async with session.get(f"{sim.url}/auth/check_jwt", headers=bearer) as resp:
        assert resp.status == 200 and "Valid token" in await resp.text()
        session_id = resp.cookies["sessionId"].value
    async with session.get(url, headers={"Cookie": f"sessionId={session_id}"}) as resp:
        assert resp.status == 200
    async with session.get(url, headers={"Cookie": "sessionId=forged"}) as resp:
        assert resp.status == 401
    foreign = sim.issue_token(serial="999999999999")
    async with session.get(url, headers={"Authorization": f"Bearer {foreign}"}) as resp:
        assert resp.status == 401
    async with session.get(url, headers={"Authorization": "Bearer garbage"}) as resp:
        assert resp.status == 401
    async with session.get(f"{sim.url}/auth/check_jwt") as resp:
        assert resp.status == 401

    sim.advance(3601)
    async with session.get(url, headers=bearer) as resp:
        assert resp.status == 401
    fresh = sim.issue_token()
    sim.revoke_tokens()
    async with session.get(url, headers={"Authorization": f"Bearer {fresh}"}) as resp:
        assert resp.status == 401


async def test_fake_token_service_input_checks(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("7.6.175_with_cts")
    async with session.post(sim.token_url, data="{not json") as resp:
        assert resp.status == 400
    async with session.post(sim.token_url, json=[1]) as resp:
        assert resp.status == 400
    async with session.post(sim.login_url, data={"user[email]": "", "user[password]": ""}) as r:
        assert r.status == 401


# -- inventory, relays, overrides -----------------------------------------------------------


async def test_inventory_relays_and_flags(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("8.3.5433_tot_is_net_cons")
    sim.add_relay(line_count=3, lines=[True])
    sim.add_relay("122000000002", closed=False, reason="dc-fault", last_report=1700000000)
    sim.set_device_flags("532437030305", operating=True)
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    async with session.get(f"{sim.url}/inventory.json", headers=headers) as resp:
        groups = await resp.json()
    by_type = {g["type"]: g["devices"] for g in groups}
    relays = {d["serial_num"]: d for d in by_type["NSRB"]}
    assert relays[RELAY_SERIAL]["relay"] == "closed"
    assert (relays[RELAY_SERIAL]["line2-connected"], relays[RELAY_SERIAL]["line-count"]) == (
        False,
        3,
    )
    assert relays["122000000002"]["relay"] == "open"
    assert relays["122000000002"]["reason_code"] == 1
    assert relays["122000000002"]["last_rpt_date"] == "1700000000"
    pcu = next(d for d in by_type["PCU"] if d["serial_num"] == "532437030305")
    assert pcu["operating"] is True


async def test_inventory_drops_decommissioned_unless_asked(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start("8.3.5169_with_generator")
    sim.set_device_flags("482208990001", admin_state=0)
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    async with session.get(f"{sim.url}/inventory.json", headers=headers) as resp:
        serials = {d["serial_num"] for g in await resp.json() for d in g["devices"]}
    assert "482208990001" not in serials
    async with session.get(f"{sim.url}/inventory.json?deleted=1", headers=headers) as resp:
        serials = {d["serial_num"] for g in await resp.json() for d in g["devices"]}
    assert "482208990001" in serials


# -- faults and the request log -------------------------------------------------------------


async def test_faults_and_request_log(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start("5.0.62")
    url = f"{sim.url}/api/v1/production"
    sim.inject_fault("/api/v1/production", status=503, count=2, body="busy", headers={"X-A": "1"})
    sim.inject_fault("/production.json", status=500, method="POST")
    for _ in range(2):
        async with session.get(url) as resp:
            assert (resp.status, await resp.text(), resp.headers["X-A"]) == (503, "busy", "1")
    async with session.get(url) as resp:
        assert resp.status == 200
    async with session.get(f"{sim.url}/production.json") as resp:
        assert resp.status == 200  # the fault only hits POSTs
    sim.latency = 0.01
    sim.inject_fault("/info", latency=0.01, status=502)
    async with session.get(f"{sim.url}/info?x=1", headers={"X-Test": "yes"}) as resp:
        assert resp.status == 502
    sim.clear_faults()
    last = sim.requests[-1]
    assert (last.method, last.path, last.query, last.headers["X-Test"]) == (
        "GET",
        "/info",
        {"x": "1"},
        "yes",
    )
    assert last.at <= sim.now
    assert sim.paths()[:3] == ["/api/v1/production"] * 3
    sim.clear_requests()
    assert sim.requests == []


async def test_http_control_surface(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start("7.6.175_with_cts")
    control = f"{sim.url}/__sim__"
    async with session.post(
        f"{control}/fault", json={"path_contains": "/info", "status": 500}
    ) as r:
        assert r.status == 200
    async with session.get(f"{sim.url}/info") as resp:
        assert resp.status == 500
    async with session.delete(f"{control}/faults") as r:
        assert r.status == 200
    async with session.get(f"{control}/requests") as r:
        assert await r.json() == [{"method": "GET", "path": "/info", "query": {}}]
    async with session.delete(f"{control}/requests") as r:
        assert r.status == 200 and sim.requests == []
    async with session.post(f"{control}/token", json={"lifetime": 60}) as r:
        token = (await r.json())["token"]
    async with session.post(f"{control}/advance", json={"seconds": 120}) as r:
        assert r.status == 200
    async with session.get(
        f"{sim.url}/api/v1/production", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 401
    async with session.post(f"{control}/revoke_tokens") as r:
        assert r.status == 200
    async with session.post(f"{control}/relay", json={"serial": "1", "closed": False}) as r:
        assert r.status == 200 and sim.relays["1"].closed is False
    async with session.get(f"{control}/state") as r:
        state = await r.json()
    assert (state["serial"], state["firmware"], state["relays"]) == (
        "122238082763",
        "7.6.175",
        ["1"],
    )
    async with session.get(f"{control}/nope") as r:
        assert r.status == 404


def test_standalone_entry_point_rejects_unknown_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.gateway_sim.__main__ import main

    monkeypatch.setattr(sys, "argv", ["gateway_sim", "--fixture", "0.0.0_missing"])
    with pytest.raises(SystemExit, match="not found"):
        main()


def test_simulator_rejects_unknown_sets() -> None:
    with pytest.raises(FileNotFoundError):
        GatewaySimulator("0.0.0_missing")
