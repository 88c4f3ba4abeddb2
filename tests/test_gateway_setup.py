"""Gateway coordinator: setup and unload, polling, token renewal and the repair issue,
read-back of cloud battery writes (against the local gateway simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.api import AuthError, EnlightenClient
from custom_components.enphase_enlighten.const import (
    CONF_FIRMWARE,
    CONF_GATEWAY,
    CONF_SERIAL,
    DOMAIN,
)
from custom_components.enphase_enlighten.coordinator.gateway import (
    GatewayConfig,
    GatewayCoordinator,
    reserve_matches,
)
from custom_components.enphase_enlighten.gateway import (
    DEFAULT_TOKEN_URL,
    LocalBatteryStatus,
    token_expires_at,
)
from tests.entity_setup import advance, only_platforms
from tests.gateway_helpers import (
    BATTERY,
    LEGACY,
    METERED,
    TokenService,
    align_cloud,
    gateway_entry,
)
from tests.gateway_sim import GatewaySimulator
from tests.gateway_sim.testing import SimulatorPool
from tests.helpers import create_entry, setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

DAY = 86400


@pytest.fixture(autouse=True)
def local_platforms() -> Iterator[None]:
    """Only the platforms that carry gateway entities."""
    with only_platforms(Platform.SENSOR, Platform.BINARY_SENSOR):
        yield


@pytest.fixture
async def pool() -> AsyncIterator[SimulatorPool]:
    """Local gateway simulators on 127.0.0.1."""
    gateways = SimulatorPool()
    try:
        yield gateways
    finally:
        await gateways.close()


type Start = Callable[..., Awaitable[tuple[GatewaySimulator, TokenService]]]


@pytest.fixture
async def start(pool: SimulatorPool, sim: EnlightenSimulator) -> AsyncIterator[Start]:
    """Start a gateway simulator (listed by cloud site 1000001) and its token service."""
    services: list[TokenService] = []

    async def _start(fixture: str, **kwargs: Any) -> tuple[GatewaySimulator, TokenService]:
        gateway = await pool.start(fixture, **kwargs)
        align_cloud(sim, gateway)
        service = TokenService(gateway)
        await service.start()
        services.append(service)
        return gateway, service

    try:
        yield _start
    finally:
        for service in services:
            await service.stop()


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> GatewayCoordinator:
    assert await setup_integration(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.gateway
    assert coordinator is not None
    return coordinator


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"gateway_token_expired_{entry.entry_id}")


def _stored(entry: MockConfigEntry) -> dict[str, Any]:
    stored: dict[str, Any] = entry.data[CONF_GATEWAY]
    return stored


def _aging_token(gateway: GatewaySimulator, days_left: float) -> str:
    """A one-year owner token issued long ago, expiring in ``days_left`` days."""
    gateway.advance(-(365 - days_left) * DAY)
    token = gateway.issue_token(lifetime=365 * DAY)
    gateway.advance((365 - days_left) * DAY)
    return token


def _bearers(gateway: GatewaySimulator) -> set[str]:
    return {
        r.headers["Authorization"][7:]
        for r in gateway.requests
        if r.headers.get("Authorization", "").startswith("Bearer ")
    }


# -- setup, unload --------------------------------------------------------------------------


async def test_no_gateway_configured(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Entries without a gateway behave as before: no coordinator, no local session."""
    entry = await create_entry(hass, sim)
    assert await setup_integration(hass, entry)
    assert entry.runtime_data.gateway is None


async def test_legacy_gateway_setup_and_unload(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """Firmware 5: digest with the default user, polled every 60 s, stopped on unload."""
    gateway, service = await start(LEGACY)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)

    assert coordinator.update_interval == timedelta(seconds=60)
    assert coordinator.data is not None and coordinator.data.serial == gateway.serial
    assert coordinator.requires_token is False
    assert coordinator.data.production is not None
    assert coordinator.data.production.watts_now == 7907
    assert service.calls == []
    assert any('username="envoy"' in r.headers.get("Authorization", "") for r in gateway.requests)

    gateway.clear_requests()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert gateway.requests == []


async def test_polls_every_minute(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """A new read of the gateway each minute."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    await _setup(hass, entry)
    gateway.clear_requests()
    await advance(hass, sim, freezer, 60)
    assert "/production.json" in gateway.paths() or "/production" in gateway.paths()
    assert "/info" not in gateway.paths()


async def test_custom_local_user(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """Below firmware 7 the stored local user is used."""
    gateway, service = await start(LEGACY, local_users={"owner": "s3cret"})
    entry = await gateway_entry(
        hass, sim, gateway, service.url, **{CONF_USERNAME: "owner", CONF_PASSWORD: "s3cret"}
    )
    coordinator = await _setup(hass, entry)
    assert coordinator.last_update_success and coordinator.data is not None


async def test_legacy_wrong_password_is_not_a_token_issue(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """A refused local user fails the refresh; no token repair issue, no token request."""
    gateway, service = await start(LEGACY, local_users={"envoy": "000000"})
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    assert coordinator.data is None and not coordinator.last_update_success
    assert coordinator.last_exception is not None
    assert "refused the local user" in str(coordinator.last_exception)
    assert _issue(hass, entry) is None and service.calls == []
    assert entry.state is ConfigEntryState.LOADED  # the cloud part is unaffected


async def test_unreachable_gateway_does_not_block_setup(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """The gateway is optional: setup finishes, local data follows when it answers."""
    gateway, service = await start(METERED)
    gateway.inject_fault("/production", status=503)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert coordinator.data is None
    assert "cannot be read" in str(coordinator.last_exception)

    gateway.clear_faults()
    await advance(hass, sim, freezer, 60)
    assert coordinator.data is not None and coordinator.last_update_success


async def test_firmware_change_is_stored(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """After a firmware update the new version is remembered."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url, **{CONF_FIRMWARE: "7.0.88"})
    await _setup(hass, entry)
    assert _stored(entry)[CONF_FIRMWARE] == "7.6.175"


def test_gateway_config_round_trip() -> None:
    """Stored settings: unset values are left out, the token service has a default."""
    config = GatewayConfig.from_data({CONF_HOST: "192.0.2.5", CONF_SERIAL: "1"})
    assert config.token_url == DEFAULT_TOKEN_URL and config.requires_token is False
    assert config.as_data() == {
        CONF_HOST: "192.0.2.5",
        CONF_SERIAL: "1",
        "token_url": DEFAULT_TOKEN_URL,
    }
    assert GatewayConfig("h", "1", firmware="8.2.4").requires_token is True


# -- token renewal --------------------------------------------------------------------------


async def test_token_renewed_before_expiry(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """A token expiring within 30 days is replaced through the Enlighten session."""
    gateway, service = await start(METERED)
    old = _aging_token(gateway, 20)
    entry = await gateway_entry(hass, sim, gateway, service.url, token=old)
    coordinator = await _setup(hass, entry)

    assert len(service.calls) == 1
    call = service.calls[0]
    assert (call.serial, call.username) == (gateway.serial, entry.data["email"])
    assert call.session_id == entry.runtime_data.client.session_id
    new = _stored(entry)[CONF_TOKEN]
    assert new != old and coordinator.gateway.token == new
    expires = token_expires_at(new)
    assert expires is not None and expires > token_expires_at(old)  # type: ignore[operator]
    assert _bearers(gateway) == {new}  # the old token was not even tried
    assert coordinator.data is not None and _issue(hass, entry) is None


async def test_fresh_token_is_kept(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """A token far from expiry is used as is, poll after poll."""
    gateway, service = await start(METERED)
    token = gateway.issue_token()
    entry = await gateway_entry(hass, sim, gateway, service.url, token=token)
    await _setup(hass, entry)
    await advance(hass, sim, freezer, 60)
    assert service.calls == [] and _stored(entry)[CONF_TOKEN] == token


async def test_failed_early_renewal_keeps_the_valid_token(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """Renewal ahead of expiry fails: the still valid token keeps working, no issue;
    Enlighten is asked again only after a pause."""
    gateway, service = await start(METERED)
    service.status = 503
    old = _aging_token(gateway, 20)
    entry = await gateway_entry(hass, sim, gateway, service.url, token=old)
    coordinator = await _setup(hass, entry)
    assert len(service.calls) == 1
    assert coordinator.data is not None and _issue(hass, entry) is None
    assert _stored(entry)[CONF_TOKEN] == old

    await advance(hass, sim, freezer, 60)
    assert len(service.calls) == 1  # not at every poll

    service.status = 200
    await advance(hass, sim, freezer, 15 * 60)
    assert len(service.calls) == 2
    assert _stored(entry)[CONF_TOKEN] != old


async def test_revoked_token_is_renewed(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """The gateway refuses the token between polls: a new one, no issue."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    old = _stored(entry)[CONF_TOKEN]
    gateway.revoke_tokens()
    await advance(hass, sim, freezer, 60)
    assert len(service.calls) == 1
    assert _stored(entry)[CONF_TOKEN] != old
    assert coordinator.last_update_success and _issue(hass, entry) is None


async def test_expired_token_raises_repair_issue_until_fixed(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """Expired and not renewable: a repair issue; it goes once a token is had again."""
    gateway, service = await start(METERED)
    service.status = 401
    entry = await gateway_entry(
        hass, sim, gateway, service.url, token=gateway.issue_token(lifetime=-60)
    )
    coordinator = await _setup(hass, entry)

    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "gateway_token_expired"
    assert issue.severity is ir.IssueSeverity.ERROR and not issue.is_fixable
    assert issue.translation_placeholders == {
        "site_name": entry.title,
        "serial": gateway.serial,
    }
    assert coordinator.data is None
    assert "no new token" in str(coordinator.last_exception)
    assert entry.state is ConfigEntryState.LOADED
    assert len(service.calls) == 1

    await advance(hass, sim, freezer, 60)
    assert len(service.calls) == 1 and _issue(hass, entry) is not None

    service.status = 200
    await advance(hass, sim, freezer, 15 * 60)
    assert _issue(hass, entry) is None
    assert coordinator.data is not None and coordinator.last_update_success


async def test_renewed_token_also_refused(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """The gateway refuses even the new token: repair issue."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    await _setup(hass, entry)
    gateway.inject_fault("/auth/check_jwt", status=401)
    gateway.revoke_tokens()
    await advance(hass, sim, freezer, 60)
    assert len(service.calls) == 1
    assert _issue(hass, entry) is not None


async def test_expiring_token_renewed_but_refused(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """Renewed ahead of a poll that is still refused: no second renewal, an issue."""
    gateway, service = await start(METERED)
    gateway.inject_fault("/auth/check_jwt", status=401)
    entry = await gateway_entry(hass, sim, gateway, service.url, token=_aging_token(gateway, 2))
    await _setup(hass, entry)
    assert len(service.calls) == 1
    assert _issue(hass, entry) is not None


@pytest.mark.parametrize(
    "breakage",
    [
        patch.object(EnlightenClient, "ensure_session", side_effect=AuthError("gone")),
        patch.object(EnlightenClient, "session_id", new_callable=PropertyMock, return_value=None),
    ],
    ids=["cloud_auth_lost", "no_cloud_session"],
)
async def test_renewal_needs_the_cloud_session(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, breakage: Any
) -> None:
    """Without a usable Enlighten session no token is requested: repair issue."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    gateway.revoke_tokens()
    with breakage:
        await coordinator.async_refresh()
    assert service.calls == []
    assert _issue(hass, entry) is not None


async def test_remove_entry_drops_the_issue(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """Removing the entry removes its repair issue."""
    gateway, service = await start(METERED)
    service.status = 401
    entry = await gateway_entry(
        hass, sim, gateway, service.url, token=gateway.issue_token(lifetime=-60)
    )
    await _setup(hass, entry)
    assert _issue(hass, entry) is not None
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None


# -- availability ---------------------------------------------------------------------------


async def test_gateway_outage(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """Failed reads keep the last data for two polls, then it is stale."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    gateway.inject_fault("/production", status=503)
    for expected_fresh in (True, True, False):
        await advance(hass, sim, freezer, 60)
        assert coordinator.data_fresh is expected_fresh
    gateway.clear_faults()
    await advance(hass, sim, freezer, 60)
    assert coordinator.data_fresh and coordinator.failed_reads == 0


# -- read-back of cloud battery writes ------------------------------------------------------


def _set_reserve(gateway: GatewaySimulator, reserve: int) -> None:
    secctrl = gateway.fixture_json("ivp_ensemble_secctrl")
    secctrl["configured_backup_soc"] = reserve
    secctrl["adjusted_backup_soc"] = reserve
    gateway.set_payload("/ivp/ensemble/secctrl", secctrl)


async def test_confirm_battery_reserve(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start, freezer: FrozenDateTimeFactory
) -> None:
    """A reserve written through the cloud is confirmed by reading the gateway back."""
    gateway, service = await start(BATTERY)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    battery = coordinator.data.battery if coordinator.data else None
    assert battery is not None and battery.configured_reserve_soc is not None
    current = round(battery.configured_reserve_soc)

    assert coordinator.battery_reserve_matches(current) is True
    assert await coordinator.async_confirm_battery(reserve=current) is True
    assert await coordinator.async_confirm_battery(reserve=40) is False

    # Waiting (untracked task: block_till_done must not wait for it): the gateway
    # picks the new value up a few minutes later.
    loop = asyncio.get_running_loop()
    task = loop.create_task(
        coordinator.async_confirm_battery(reserve=40, wait=timedelta(minutes=5))
    )
    await advance(hass, sim, freezer, 60)
    assert not task.done()
    _set_reserve(gateway, 40)
    await advance(hass, sim, freezer, 60)
    assert await task is True

    # Never reached within the wait.
    task = loop.create_task(
        coordinator.async_confirm_battery(reserve=55, wait=timedelta(seconds=90))
    )
    for _ in range(3):  # the wait starts after the refresh the call asks for
        await advance(hass, sim, freezer, 60)
    assert await task is False

    # Only reads ever reach the gateway.
    assert {r.method for r in gateway.requests} == {"GET"}


async def test_confirm_battery_without_battery(
    hass: HomeAssistant, sim: EnlightenSimulator, start: Start
) -> None:
    """No battery on the gateway: it cannot tell (None), the cloud stays the judge."""
    gateway, service = await start(METERED)
    entry = await gateway_entry(hass, sim, gateway, service.url)
    coordinator = await _setup(hass, entry)
    assert await coordinator.async_confirm_battery(reserve=30) is None
    assert reserve_matches(None, 30) is None
    assert coordinator.data is not None
    no_reserve = replace(coordinator.data, battery=LocalBatteryStatus(soc=50))
    assert reserve_matches(no_reserve, 30) is None
    adjusted_only = replace(coordinator.data, battery=LocalBatteryStatus(soc=50, reserve_soc=30))
    assert reserve_matches(adjusted_only, 30) is True
