"""Diagnostics must not leak credentials, session material or identifiers."""

from __future__ import annotations

import json

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.enphase_enlighten.const import CONF_GATEWAY, CONF_SESSION
from tests.gateway_helpers import LEGACY, METERED, TokenService, align_cloud, gateway_entry
from tests.gateway_sim.testing import SimulatorPool
from tests.helpers import create_entry, setup_integration
from tests.simulator import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    EnlightenSimulator,
)

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")


def _simulator_secrets(simulator: EnlightenSimulator, site_id: int) -> set[str]:
    """Everything identifying in the simulator's state of one site."""
    site = simulator.site(site_id)
    secrets = {str(site_id), site.gateway.serial}
    if site.gateway.ip:
        secrets.add(site.gateway.ip)
    secrets.update(m.serial for m in site.meters)
    if site.enpower is not None:
        secrets.add(site.enpower.serial)
    if site.battery is not None:
        secrets.update(s.serial for s in site.battery.storages)
    secrets.update(i.serial for i in site.inverters)
    secrets.update(i.inverter_id for i in site.inverters)
    secrets.update(site.chargers)
    secrets.update(c.uuid for c in site.chargers.values())
    return secrets


@pytest.mark.parametrize(
    "account",
    [
        (DEMO_EMAIL, DEMO_PASSWORD, 1000001),
        (MFA_EMAIL, MFA_PASSWORD, 1000001),
        (MULTI_EMAIL, MULTI_PASSWORD, 1000003),
    ],
    ids=["demo_full", "mfa_full", "multi_legacy"],
)
async def test_diagnostics_redact_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: EnlightenSimulator,
    account: tuple[str, str, int],
) -> None:
    """No password, session id, token, cookie value, e-mail or serial appears."""
    email, password, site_id = account
    entry = await create_entry(
        hass, simulator, email=email, password=password, site_id=str(site_id)
    )
    assert await setup_integration(hass, entry)
    if email != MFA_EMAIL:
        # A silent re-login gives the client a second session that must not leak either
        # (an MFA account cannot log in again without a code).
        simulator.expire_sessions()
        await entry.runtime_data.energy.async_refresh()
        assert entry.runtime_data.energy.last_update_success

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)

    session = entry.data[CONF_SESSION]
    exported = entry.runtime_data.client.export_session()
    secrets = {email, password, "@example.com"}
    for source in (session, exported):
        secrets.update(source["cookies"].values())
        secrets.update(str(source[key]) for key in ("session_id", "manager_token", "user_id"))
    secrets.update(_simulator_secrets(simulator, site_id))
    leaked = sorted(s for s in secrets if s and s in text)
    assert leaked == []

    # Still useful: the shape and the non-identifying state are there.
    assert diagnostics["entry"]["data"]["base_url"] == simulator.url
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["capabilities"]["has_microinverters"] is True
    coordinators = diagnostics["coordinators"]
    assert coordinators["energy"]["last_update_success"] is True
    assert coordinators["energy"]["data"]["lifetime"]["series"]["production"]["buckets"] > 0
    assert coordinators["inventory"]["data"]["inverters"]


def test_scrub_masks_leftovers() -> None:
    """The last line of defence masks secrets hidden inside free text and keys."""
    from custom_components.enphase_enlighten.diagnostics import _scrub

    secrets = {"GW0000000001", "1000001"}
    assert _scrub(
        {"note": "gateway GW0000000001 of 1000001", "GW0000000001": [1, "x"]}, secrets
    ) == {"note": "gateway **REDACTED** of **REDACTED**", "**REDACTED**": [1, "x"]}


@pytest.mark.parametrize("firmware", [LEGACY, METERED])
async def test_diagnostics_redact_the_gateway(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: EnlightenSimulator,
    firmware: str,
) -> None:
    """The local gateway's readings are there; its address, credentials and serials not."""
    pool = SimulatorPool()
    users = {"owner": "s3cret-local"}
    gateway = await pool.start(firmware, local_users=users)
    service = TokenService(gateway)
    await service.start()
    try:
        align_cloud(simulator, gateway, inverters=4)
        local_user = {"username": "owner", "password": users["owner"]}
        credentials = {} if gateway.requires_token else local_user
        entry = await gateway_entry(hass, simulator, gateway, service.url, **credentials)
        assert await setup_integration(hass, entry)
        await hass.async_block_till_done(wait_background_tasks=True)
        local = entry.runtime_data.gateway
        assert local is not None and local.data is not None

        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        # Stop polling before the gateway goes away (no connection reset in flight).
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await service.stop()
        await pool.close()
    text = json.dumps(diagnostics)

    stored = entry.data[CONF_GATEWAY]
    secrets = {gateway.host, gateway.serial, *local.data.inverters}
    secrets.update(str(stored[k]) for k in ("token", "username", "password") if k in stored)
    assert len(secrets) > 3
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []
    section = diagnostics["gateway"]
    assert section["last_update_success"] is True
    assert section["data"]["firmware"] == local.data.firmware
    assert len(section["data"]["inverters"]) == len(local.data.inverters)
    assert diagnostics["entry"]["data"][CONF_GATEWAY]["host"] == "**REDACTED**"
