"""GatewayClient against the local gateway simulator (captured firmware payloads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from custom_components.enphase_enlighten.gateway import (
    GatewayAuthError,
    GatewayClient,
    GatewayData,
    GatewayError,
    GatewaySerialMismatch,
    GatewayUnavailable,
    LocalInverterReading,
    token_expires_at,
)
from tests.gateway_sim import CLOUD_EMAIL, CLOUD_PASSWORD, MFA_EMAIL, MFA_PASSWORD, RELAY_SERIAL
from tests.gateway_sim.server import GatewaySimulator
from tests.gateway_sim.testing import SimulatorPool, no_verify_session

LEGACY = "5.0.62"
METERED = "7.6.175_with_cts"
BATTERY = "8.2.127_with_3cts_and_battery_split"
GENERATOR = "8.3.5169_with_generator"


@pytest.fixture
async def sims(socket_enabled: None) -> AsyncIterator[SimulatorPool]:
    """Simulators on 127.0.0.1 (the test harness still refuses every other host)."""
    pool = SimulatorPool()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with no_verify_session() as client_session:
        yield client_session


def make_client(
    session: aiohttp.ClientSession, sim: GatewaySimulator, **kwargs: Any
) -> GatewayClient:
    kwargs.setdefault("retry_wait", 0)
    kwargs.setdefault("max_attempts", 1)
    kwargs.setdefault("login_url", sim.login_url)
    kwargs.setdefault("token_url", sim.token_url)
    return GatewayClient(session, sim.host, sim.serial, **kwargs)


def account() -> dict[str, str]:
    return {"username": CLOUD_EMAIL, "password": CLOUD_PASSWORD}


def eim(sim: GatewaySimulator, section: str, measurement: str) -> dict[str, Any]:
    doc = sim.fixture_json("production.json")
    return next(
        item
        for item in doc[section]
        if item.get("type") == "eim" and item.get("measurementType") == measurement
    )


def assert_inverters_match(data: GatewayData, sim: GatewaySimulator) -> None:
    captured = [i for i in sim.fixture_json("api_v1_production_inverters") if i["devType"] == 1]
    assert set(data.inverters) == {i["serialNumber"] for i in captured}
    for item in captured:
        assert data.inverters[item["serialNumber"]] == LocalInverterReading(
            serial=item["serialNumber"],
            last_report_watts=item["lastReportWatts"],
            max_report_watts=item["maxReportWatts"],
            last_report_at=datetime.fromtimestamp(item["lastReportDate"], UTC),
        )


# -- firmware 5: digest auth, not metered --------------------------------------------------


async def test_legacy_firmware_reads_production_and_inverters(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY)
    client = make_client(session, sim)
    assert client.firmware is None and client.requires_token is None and client.data is None
    assert (client.host, client.serial, client.part_number) == (sim.host, sim.serial, None)

    data = await client.update()

    assert (data.serial, data.firmware, data.part_number) == (
        "121621012167",
        "5.0.62",
        "800-00551-r02",
    )
    assert client.requires_token is False and client.token is None
    assert client.token_needs_renewal() is False
    v1 = sim.fixture_json("api_v1_production")
    assert data.production is not None
    assert (data.production.watts_now, data.production.wh_today) == (7907, 20161)
    assert (data.production.wh_last_7_days, data.production.wh_lifetime) == (366671, 133798553)
    assert data.production.watts_now == v1["wattsNow"]
    assert data.consumption is None and data.net_consumption is None and not data.metered
    assert data.battery is None and data.grid is None
    assert len(data.inverters) == 40
    assert_inverters_match(data, sim)
    first = data.inverters["121547059079"]
    assert (first.last_report_watts, first.max_report_watts) == (202, 246)
    assert first.last_report_at == datetime(2023, 9, 12, 21, 40, 38, tzinfo=UTC)
    # per-device flags from the inventory
    device = data.devices["121547059079"]
    assert device.device_type == "PCU"
    assert (device.producing, device.communicating, device.provisioned, device.operating) == (
        True,
        True,
        True,
        True,
    )
    assert client.data is data
    assert asdict(data)["inverters"]["121547059079"]["max_report_watts"] == 246  # diagnostics
    # protected endpoints carried digest credentials for the envoy user; none was a Bearer
    protected = [r for r in sim.requests if r.path == "/api/v1/production/inverters"]
    assert protected
    assert any('username="envoy"' in r.headers.get("Authorization", "") for r in protected)
    assert not any("Bearer" in r.headers.get("Authorization", "") for r in sim.requests)


async def test_legacy_wrong_password_is_an_auth_error(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY)
    client = make_client(session, sim, username="envoy", password="000000")
    await client.setup()
    with pytest.raises(GatewayAuthError):
        await client.authenticate()


async def test_legacy_custom_local_user(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY, local_users={"owner": "s3cret"})
    data = await make_client(session, sim, username="owner", password="s3cret").update()
    assert len(data.inverters) == 40


# -- firmware 7: JWT, metered with CTs -----------------------------------------------------


async def test_token_firmware_reads_metered_values(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    token = sim.issue_token()
    client = make_client(session, sim, token=token)

    data = await client.update()

    assert (data.serial, data.firmware) == ("122238082763", "7.6.175")
    assert client.requires_token is True and client.token == token
    assert data.metered
    for totals, section, measurement in (
        (data.production, "production", "production"),
        (data.consumption, "consumption", "total-consumption"),
        (data.net_consumption, "consumption", "net-consumption"),
    ):
        captured = eim(sim, section, measurement)
        assert totals is not None
        assert totals.watts_now == round(captured["wNow"])
        assert totals.wh_today == round(captured["whToday"])
        assert totals.wh_last_7_days == round(captured["whLastSevenDays"])
        assert totals.wh_lifetime == round(captured["whLifetime"])
    assert data.production is not None and data.production.watts_now == 488
    assert data.consumption is not None and data.consumption.wh_lifetime == 5145154
    assert len(data.inverters) == 7
    assert_inverters_match(data, sim)
    assert sim.url.startswith("https://")
    assert "/auth/check_jwt" in sim.paths()
    gated = [r for r in sim.requests if r.path not in ("/info",)]
    assert all(r.headers.get("Authorization") == f"Bearer {token}" for r in gated)


async def test_missing_token_without_account_is_an_auth_error(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim)
    with pytest.raises(GatewayAuthError):
        await client.update()
    assert "/auth/check_jwt" not in sim.paths()


async def test_token_fetched_from_account_when_missing(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, **account())
    assert client.can_renew_token

    data = await client.update()

    assert data.production is not None
    assert sim.tokens_issued == 1
    assert client.token is not None
    assert sim.paths()[:4] == ["/info", "/login/login.json", "/tokens", "/auth/check_jwt"]


async def test_expired_token_is_renewed_before_use(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    old = sim.issue_token(lifetime=-60)
    client = make_client(session, sim, token=old, **account())
    assert client.token_needs_renewal() is True

    await client.update()

    assert client.token != old and sim.tokens_issued == 1
    assert client.token_needs_renewal() is False
    assert sim.paths()[1] == "/login/login.json"  # no round trip with the dead token


async def test_expired_token_without_account_is_an_auth_error(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, token=sim.issue_token(lifetime=-60))
    with pytest.raises(GatewayAuthError):
        await client.update()


async def test_token_rejected_by_gateway_is_renewed_once(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    old = sim.issue_token()
    sim.revoke_tokens()
    client = make_client(session, sim, token=old, **account())

    await client.update()

    assert client.token != old and sim.tokens_issued == 1
    assert sim.paths().count("/auth/check_jwt") == 2


async def test_renewed_token_also_rejected_is_an_auth_error(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.inject_fault("/auth/check_jwt", status=401)
    client = make_client(session, sim, token=sim.issue_token(lifetime=-1), **account())
    with pytest.raises(GatewayAuthError):
        await client.update()
    assert sim.tokens_issued == 1


async def test_token_expiring_between_polls_is_renewed(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.token_lifetime = 3600
    client = make_client(session, sim, **account())
    await client.update()
    first = client.token
    assert sim.tokens_issued == 1

    sim.advance(7200)  # the gateway now considers the token expired
    sim.clear_requests()
    data = await client.update()

    assert data.production is not None
    assert sim.tokens_issued == 2 and client.token != first
    assert "/tokens" in sim.paths()


async def test_token_rejected_between_polls_without_account(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, token=sim.issue_token())
    await client.update()
    sim.revoke_tokens()
    with pytest.raises(GatewayAuthError):
        await client.update()


async def test_token_renewal_detection(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(METERED)
    token = sim.issue_token(lifetime=365 * 86400)
    client = make_client(session, sim, token=token)
    await client.authenticate()
    expires = client.token_expires_at
    assert expires == token_expires_at(token)
    assert expires is not None
    assert client.token_needs_renewal(expires - timedelta(days=31)) is False
    assert client.token_needs_renewal(expires - timedelta(days=29)) is True
    assert client.token_needs_renewal(expires - timedelta(days=2), timedelta(days=1)) is False


async def test_explicit_renew_token(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, token=sim.issue_token(), **account())
    await client.update()
    new = await client.renew_token()
    assert new == client.token and sim.tokens_issued == 1
    await client.update()
    assert client.data is not None


async def test_renew_token_before_setup_only_fetches(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, **account())
    token = await client.renew_token()
    assert client.token == token
    assert sim.paths() == ["/login/login.json", "/tokens"]


async def test_renew_token_without_account(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    with pytest.raises(GatewayAuthError):
        await make_client(session, sim, token=sim.issue_token()).renew_token()


async def test_renew_token_needs_a_serial(sims: SimulatorPool) -> None:
    sim = await sims.start(METERED)
    async with no_verify_session() as client_session:
        client = GatewayClient(client_session, sim.host, **account())
        with pytest.raises(GatewayError, match="serial"):
            await client.renew_token()


async def test_mfa_account_cannot_fetch_a_token(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, username=MFA_EMAIL, password=MFA_PASSWORD)
    with pytest.raises(GatewayAuthError, match="multi-factor"):
        await client.update()


# -- firmware 8: batteries and the IQ System Controller --------------------------------------


async def test_battery_and_grid(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(BATTERY)
    data = await make_client(session, sim, token=sim.issue_token()).update()

    secctrl = sim.fixture_json("ivp_ensemble_secctrl")
    assert data.battery is not None
    assert data.battery.soc == secctrl["ENC_agg_soc"] == 21
    assert data.battery.reserve_soc == secctrl["adjusted_backup_soc"] == 20
    assert data.battery.configured_reserve_soc == secctrl["configured_backup_soc"]
    assert data.battery.available_energy_wh == 5250
    assert data.battery.capacity_wh == 25000
    assert dict(data.battery.per_battery_soc) == {f"1234567890100{n}": 21 for n in range(2, 7)}
    assert data.grid is not None
    assert data.grid.on_grid is True
    assert (data.grid.mains_admin_state, data.grid.grid_mode) == ("closed", "multimode-ongrid")
    assert data.metered and len(data.inverters) == 5
    assert_inverters_match(data, sim)


async def test_grid_outage_is_reported(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(BATTERY)
    inventory = sim.fixture_json("ivp_ensemble_inventory")
    for group in inventory:
        for device in group["devices"]:
            if group["type"] == "ENPOWER":
                device["mains_oper_state"] = "open"
    sim.set_payload("/ivp/ensemble/inventory", inventory)
    data = await make_client(session, sim, token=sim.issue_token()).update()
    assert data.grid is not None and data.grid.on_grid is False


async def test_system_controller_without_batteries(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(GENERATOR)
    data = await make_client(session, sim, token=sim.issue_token()).update()
    assert data.battery is None
    assert data.grid is not None and data.grid.on_grid is True
    # the captured inventory: flags as captured, the system controller submodule included
    assert data.devices["202410990002"].device_type == "ESUB"
    assert data.devices["202410990002"].producing is False
    assert data.devices["482208990001"].firmware == "521-00005-r06-v02.61.01"
    assert data.relays == {}


# -- relays and device flags ----------------------------------------------------------------


async def test_relay_state_and_lines(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(LEGACY)
    relay = sim.add_relay(closed=False, line_count=2, lines=[True, False], reason="grid-fault")
    client = make_client(session, sim)

    data = await client.update()

    state = data.relays[RELAY_SERIAL]
    assert (state.closed, state.state, state.line_count) == (False, "open", 2)
    assert (state.line1_connected, state.line2_connected, state.line3_connected) == (
        True,
        False,
        None,
    )
    assert state.reason == "grid-fault"
    device = data.devices[RELAY_SERIAL]
    assert device.device_type == "NSRB"
    assert (device.producing, device.communicating, device.provisioned, device.operating) == (
        False,
        True,
        True,
        True,
    )

    relay.closed = True
    relay.line_count = 3
    relay.lines = [True, True, True]
    data = await client.update()
    state = data.relays[RELAY_SERIAL]
    assert state.closed is True and state.line3_connected is True


async def test_device_flags_follow_the_inventory(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.set_device_flags("121823030072", producing=False, communicating=False)
    data = await make_client(session, sim, token=sim.issue_token()).update()
    flags = data.devices["121823030072"]
    assert (flags.producing, flags.communicating, flags.provisioned, flags.operating) == (
        False,
        False,
        True,
        True,
    )


@pytest.mark.parametrize("status", [404, 401])
async def test_inventory_the_gateway_lacks_is_not_asked_again(
    sims: SimulatorPool, session: aiohttp.ClientSession, status: int
) -> None:
    sim = await sims.start(METERED)
    sim.inject_fault("/inventory.json", status=status)
    client = make_client(session, sim, token=sim.issue_token())
    data = await client.update()
    assert data.devices == {} and data.relays == {} and len(data.inverters) == 7
    sim.clear_requests()
    await client.update()
    assert "/inventory.json" not in sim.paths()


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 302},
        {"status": 200, "body": "<html>not json</html>"},
        {"reset": True},
    ],
)
async def test_inventory_glitch_keeps_last_known_devices(
    sims: SimulatorPool, session: aiohttp.ClientSession, fault: dict[str, Any]
) -> None:
    sim = await sims.start(LEGACY)
    sim.add_relay()
    client = make_client(session, sim)
    first = await client.update()
    sim.inject_fault("/inventory.json", **fault)
    second = await client.update()
    assert second.devices == first.devices and RELAY_SERIAL in second.relays
    sim.clear_faults()
    sim.relays[RELAY_SERIAL].closed = False
    third = await client.update()
    assert third.relays[RELAY_SERIAL].closed is False


# -- availability and other failures ----------------------------------------------------


async def test_serial_mismatch(sims: SimulatorPool, session: aiohttp.ClientSession) -> None:
    sim = await sims.start(LEGACY)
    client = GatewayClient(session, sim.host, "000000000001")
    with pytest.raises(GatewaySerialMismatch) as err:
        await client.setup()
    assert (err.value.expected, err.value.actual) == ("000000000001", sim.serial)


async def test_info_not_ready_is_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.inject_fault("/info", status=503)
    with pytest.raises(GatewayUnavailable) as err:
        await make_client(session, sim).setup()
    assert err.value.status == 503


async def test_info_missing_is_a_gateway_error(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.inject_fault("/info", status=404)
    with pytest.raises(GatewayError) as err:
        await make_client(session, sim).setup()
    assert not isinstance(err.value, GatewayUnavailable) and err.value.status == 404


async def test_endpoint_503_during_update_is_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    client = make_client(session, sim, token=sim.issue_token())
    await client.update()
    sim.inject_fault("/production.json", status=503)
    with pytest.raises(GatewayUnavailable) as err:
        await client.update()
    assert err.value.status == 503
    assert client.data is not None  # last good data stays available


async def test_gateway_gone_is_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY)
    client = make_client(session, sim)
    await client.update()
    await sim.stop()
    with pytest.raises(GatewayUnavailable):
        await client.update()


async def test_dropped_connections_are_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY)
    client = make_client(session, sim)
    await client.update()
    sim.inject_fault("/api/v1/production", reset=True)
    with pytest.raises(GatewayUnavailable):
        await client.update()


async def test_slow_gateway_times_out_as_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(LEGACY)
    client = make_client(session, sim, request_timeout=0.5)
    await client.update()
    sim.inject_fault("/api/v1/production", latency=5)
    with pytest.raises(GatewayUnavailable):
        await client.update()


async def test_no_production_endpoint_is_unavailable(
    sims: SimulatorPool, session: aiohttp.ClientSession
) -> None:
    sim = await sims.start(METERED)
    sim.inject_fault("production", status=404)
    with pytest.raises(GatewayUnavailable, match="production"):
        await make_client(session, sim, token=sim.issue_token()).update()


async def test_unreachable_host_at_setup(
    sims: SimulatorPool, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tenacity
    from pyenphase.firmware import EnvoyFirmware

    monkeypatch.setattr(EnvoyFirmware._get_info.retry, "wait", tenacity.wait_none())  # type: ignore[attr-defined]
    sim = await sims.start(LEGACY)
    host = sim.host
    await sim.stop()
    with pytest.raises(GatewayUnavailable):
        await GatewayClient(session, host).setup()


async def test_closed_session_is_a_gateway_error(sims: SimulatorPool) -> None:
    sim = await sims.start(LEGACY)
    closed = no_verify_session()
    await closed.close()
    with pytest.raises(GatewayError):
        await GatewayClient(closed, sim.host).setup()
