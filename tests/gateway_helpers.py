"""Shared pieces of the local gateway tests: a token service, cloud/gateway alignment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from homeassistant.const import CONF_HOST, CONF_TOKEN
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.api import EnlightenClient
from custom_components.enphase_enlighten.const import (
    CONF_FIRMWARE,
    CONF_GATEWAY,
    CONF_SERIAL,
    CONF_TOKEN_URL,
)
from tests.gateway_sim import GatewaySimulator
from tests.helpers import create_entry
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

LEGACY = "5.0.62"
METERED = "7.6.175_with_cts"
BATTERY = "8.2.127_with_3cts_and_battery_split"


@dataclass
class TokenCall:
    """One request to the token service."""

    session_id: str
    serial: str
    username: str


@dataclass
class TokenService:
    """A stand-in for the Enphase token service (Entrez) on 127.0.0.1.

    It hands out tokens the gateway simulator accepts; ``status`` makes it refuse.
    """

    gateway: GatewaySimulator
    status: int = 200
    calls: list[TokenCall] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        """The token endpoint."""
        return f"http://127.0.0.1:{self.port}/tokens"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/tokens", self._tokens)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut down."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _tokens(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = json.loads(await request.text())
        self.calls.append(TokenCall(body["session_id"], body["serial_num"], body["username"]))
        if self.status != 200:
            return web.Response(status=self.status, text="refused")
        if not body["session_id"]:
            return web.Response(status=401, text="no session")
        return web.Response(text=self.gateway.issue_token(serial=body["serial_num"]))


def align_cloud(
    simulator: EnlightenSimulator,
    gateway: GatewaySimulator,
    site_id: int = 1000001,
    *,
    inverters: int = 0,
) -> list[str]:
    """Make the cloud site list the simulated gateway (serial, address) and, optionally,
    its first ``inverters`` microinverters; returns the aligned inverter serials."""
    site = simulator.site(site_id)
    site.gateway.serial = gateway.serial
    site.gateway.ip = gateway.host
    local = [
        i["serialNumber"]
        for i in gateway.fixture_json("api_v1_production_inverters")
        if i.get("devType", 1) == 1
    ]
    aligned = local[: min(inverters, len(site.inverters))]
    for cloud_inverter, serial in zip(site.inverters, aligned, strict=False):
        cloud_inverter.serial = serial
    return aligned


def gateway_data(
    gateway: GatewaySimulator, token_url: str, *, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The entry data ``gateway`` part as the flow stores it."""
    data: dict[str, Any] = {
        CONF_HOST: gateway.host,
        CONF_SERIAL: gateway.serial,
        CONF_FIRMWARE: gateway.firmware,
        CONF_TOKEN_URL: token_url,
    }
    if gateway.requires_token:
        data[CONF_TOKEN] = token or gateway.issue_token()
    data.update(extra)
    return data


async def gateway_entry(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    gateway: GatewaySimulator,
    token_url: str,
    *,
    site_id: str = "1000001",
    token: str | None = None,
    options: dict[str, Any] | None = None,
    **extra: Any,
) -> MockConfigEntry:
    """An entry of ``site_id`` with the simulated gateway configured."""
    return await create_entry(
        hass,
        simulator,
        email=MULTI_EMAIL,
        password=MULTI_PASSWORD,
        site_id=site_id,
        options=options,
        data={CONF_GATEWAY: gateway_data(gateway, token_url, token=token, **extra)},
    )


async def cloud_devices(simulator: EnlightenSimulator, site_id: str) -> Any:
    """The raw devices.json of a cloud site (to build modified copies)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        client = EnlightenClient(session, MULTI_EMAIL, MULTI_PASSWORD, base_url=simulator.url)
        await client.login()
        return await client.request("GET", f"/app-api/{site_id}/devices.json")
