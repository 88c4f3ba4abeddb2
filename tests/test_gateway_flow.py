"""Config flow, gateway part: the optional gateway step, zeroconf discovery, reconfigure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from ipaddress import ip_address
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.const import CONF_EMAIL, CONF_HOST, CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.config_flow_gateway import (
    normalise_gateway_host,
    normalise_token_url,
    parse_cloud_gateways,
    split_host,
    with_address,
)
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_CONNECT_GATEWAY,
    CONF_FIRMWARE,
    CONF_GATEWAY,
    CONF_GATEWAY_ACTION,
    CONF_OTP,
    CONF_SERIAL,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_STORE_PASSWORD,
    CONF_TOKEN_URL,
    DOMAIN,
    SECTION_ADVANCED,
    SECTION_LOCAL_USER,
)
from custom_components.enphase_enlighten.gateway import DEFAULT_TOKEN_URL
from tests.gateway_helpers import (
    BATTERY,
    LEGACY,
    METERED,
    TokenService,
    align_cloud,
    gateway_data,
)
from tests.gateway_sim import GatewaySimulator
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

SETUP_ENTRY = "custom_components.enphase_enlighten.async_setup_entry"


@pytest.fixture
def no_setup() -> Iterator[AsyncMock]:
    """Do not set created entries up (flow-only tests)."""
    with patch(SETUP_ENTRY, return_value=True) as mock:
        yield mock


@pytest.fixture
async def pool() -> AsyncIterator[SimulatorPool]:
    """Local gateway simulators on 127.0.0.1."""
    gateways = SimulatorPool()
    try:
        yield gateways
    finally:
        await gateways.close()


@pytest.fixture
async def services() -> AsyncIterator[list[TokenService]]:
    """Token services started by the tests (stopped at the end)."""
    started: list[TokenService] = []
    try:
        yield started
    finally:
        for service in started:
            await service.stop()


async def _gateway(
    pool: SimulatorPool,
    services: list[TokenService],
    simulator: EnlightenSimulator,
    fixture: str,
    *,
    site_id: int = 1000001,
    **kwargs: Any,
) -> tuple[GatewaySimulator, TokenService]:
    gateway = await pool.start(fixture, **kwargs)
    align_cloud(simulator, gateway, site_id)
    service = TokenService(gateway)
    await service.start()
    services.append(service)
    return gateway, service


def _credentials(
    simulator: EnlightenSimulator,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    *,
    connect_gateway: bool = True,
) -> dict[str, Any]:
    return {
        CONF_EMAIL: email,
        CONF_PASSWORD: password,
        CONF_STORE_PASSWORD: True,
        CONF_CONNECT_GATEWAY: connect_gateway,
        SECTION_ADVANCED: {CONF_BASE_URL: simulator.url},
    }


def _gateway_input(
    host: str,
    token_url: str = DEFAULT_TOKEN_URL,
    *,
    action: str = "connect",
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    local: dict[str, Any] = {}
    if username is not None:
        local[CONF_USERNAME] = username
    if password is not None:
        local[CONF_PASSWORD] = password
    data: dict[str, Any] = {
        CONF_GATEWAY_ACTION: action,
        CONF_HOST: host,
        SECTION_LOCAL_USER: local,
        SECTION_ADVANCED: {CONF_TOKEN_URL: token_url},
    }
    if token is not None:
        data[CONF_TOKEN] = token
    return data


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    schema = result["data_schema"].schema
    return {
        str(key): key.description.get("suggested_value")
        for key in schema
        if getattr(key, "description", None)
    }


async def _submit(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(flow_id, user_input))


async def _to_gateway_step(
    hass: HomeAssistant, simulator: EnlightenSimulator, **credentials: Any
) -> dict[str, Any]:
    result = dict(
        await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    )
    result = await _submit(hass, result["flow_id"], _credentials(simulator, **credentials))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "gateway"
    return result


def _zeroconf(serial: str | None, *addresses: str, firmware: str = "7.6.175") -> Any:
    ips = [ip_address(a) for a in addresses]
    properties = {"protovers": firmware}
    if serial is not None:
        properties["serialnum"] = serial
    return ZeroconfServiceInfo(
        ip_address=ips[0],
        ip_addresses=ips,
        port=80,
        hostname="envoy.local.",
        type="_enphase-envoy._tcp.local.",
        name="Envoy._enphase-envoy._tcp.local.",
        properties=properties,
    )


# -- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.10", "192.0.2.10"),
        (" 192.0.2.10:8443 ", "192.0.2.10:8443"),
        ("http://envoy.local/", "envoy.local"),
        ("https://192.0.2.10:443", "192.0.2.10:443"),
        ("fe80::1", "fe80::1"),
        ("[fe80::1]:8080", "[fe80::1]:8080"),
        ("", None),
        ("192.0.2.10/home", None),
        ("user@192.0.2.10", None),
        ("http://[bad", None),
    ],
)
def test_normalise_gateway_host(raw: str, expected: str | None) -> None:
    """Addresses with optional port; paths, users and junk are refused."""
    assert normalise_gateway_host(raw) == expected


def test_host_helpers() -> None:
    """A rediscovered address keeps a configured port; token URL rules."""
    assert split_host("192.0.2.1:81") == ("192.0.2.1", 81)
    assert with_address("192.0.2.9", "192.0.2.1:81") == "192.0.2.9:81"
    assert with_address("192.0.2.9", "192.0.2.1") == "192.0.2.9"
    assert with_address("192.0.2.9", "not a host/x") == "192.0.2.9"
    assert normalise_token_url("https://entrez.example/tokens") == "https://entrez.example/tokens"
    assert normalise_token_url("http://127.0.0.1:1/tokens") == "http://127.0.0.1:1/tokens"
    assert normalise_token_url("http://example.com/tokens") is None
    assert normalise_token_url("tokens") is None
    assert normalise_token_url("http://[bad") is None


def test_parse_cloud_gateways() -> None:
    """Gateway cards of devices.json; odd shapes are skipped."""
    payload = {
        "result": [
            {"type": "envoy", "devices": [{"serial_number": "1", "ip": "192.0.2.1"}, "junk"]},
            {"type": "envoy", "devices": [{"serial_number": "2", "ip": ""}, {"ip": "x"}]},
            {"type": "meter", "devices": [{"serial_number": "3"}]},
            "junk",
        ]
    }
    found = parse_cloud_gateways(payload)
    assert {s: g.ip for s, g in found.items()} == {"1": "192.0.2.1", "2": None}
    assert parse_cloud_gateways([]) == {} and parse_cloud_gateways({"result": {}}) == {}


# -- user flow with the gateway step ------------------------------------------------------


@pytest.mark.usefixtures("no_setup")
async def test_user_form_offers_the_gateway(hass: HomeAssistant) -> None:
    """The credentials form has the (unticked) gateway box."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["data_schema"] is not None
    (marker,) = [k for k in result["data_schema"].schema if k == CONF_CONNECT_GATEWAY]
    assert marker.default() is False


@pytest.mark.usefixtures("no_setup")
async def test_token_gateway_with_token_from_account(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Firmware 7: pre-filled from the cloud inventory, token through the flow's session."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    result = await _to_gateway_step(hass, simulator)
    assert result["description_placeholders"] == {"site_name": "Demo Home"}
    suggested = _suggested(result)
    assert suggested[CONF_HOST] == gateway.host  # the cloud's address for the gateway

    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "1000001"
    stored = result["data"][CONF_GATEWAY]
    assert stored[CONF_HOST] == gateway.host
    assert stored[CONF_SERIAL] == gateway.serial
    assert stored[CONF_FIRMWARE] == "7.6.175"
    assert stored[CONF_TOKEN_URL] == service.url
    assert CONF_USERNAME not in stored and CONF_PASSWORD not in stored
    (call,) = service.calls
    assert call.session_id == result["data"][CONF_SESSION]["session_id"]
    assert (call.username, call.serial) == (DEMO_EMAIL, gateway.serial)
    assert stored[CONF_TOKEN] in {r.headers.get("Authorization", "")[7:] for r in gateway.requests}


@pytest.mark.usefixtures("no_setup")
async def test_mfa_account_gets_a_token_too(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """With MFA the session of the code step is what asks for the token."""
    gateway, service = await _gateway(pool, services, simulator, METERED, site_id=1000002)
    result = dict(
        await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    )
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, MFA_EMAIL, MFA_PASSWORD)
    )
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["step_id"] == "site"
    result = await _submit(hass, result["flow_id"], {CONF_SITE_ID: "1000002"})
    assert result["step_id"] == "gateway"
    assert result["description_placeholders"] == {"site_name": "Cabin"}
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_GATEWAY][CONF_SERIAL] == gateway.serial
    assert service.calls[0].username == MFA_EMAIL


@pytest.mark.usefixtures("no_setup")
async def test_pasted_token(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """A pasted token is used as is; Enlighten is not asked."""
    gateway, service = await _gateway(pool, services, simulator, BATTERY)
    token = gateway.issue_token()
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(
        hass, result["flow_id"], _gateway_input(gateway.host, service.url, token=f" {token} ")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_GATEWAY][CONF_TOKEN] == token
    assert result["data"][CONF_GATEWAY][CONF_FIRMWARE] == "8.2.127"
    assert service.calls == []


@pytest.mark.usefixtures("no_setup")
async def test_legacy_gateway_local_user(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Firmware 5: a wrong local user is refused; the default one needs nothing stored."""
    gateway, _service = await _gateway(pool, services, simulator, LEGACY)
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(
        hass, result["flow_id"], _gateway_input(gateway.host, username="envoy", password="0000")
    )
    assert result["errors"] == {"base": "gateway_invalid_auth"}
    # The form comes back with what was typed.
    assert _suggested(result)[CONF_HOST] == gateway.host

    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_GATEWAY] == {
        CONF_HOST: gateway.host,
        CONF_SERIAL: gateway.serial,
        CONF_FIRMWARE: "5.0.62",
        CONF_TOKEN_URL: DEFAULT_TOKEN_URL,
    }
    assert not any("Bearer" in r.headers.get("Authorization", "") for r in gateway.requests)


@pytest.mark.usefixtures("no_setup")
async def test_legacy_gateway_custom_user(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """A custom local user is stored for the coordinator."""
    gateway, _service = await _gateway(
        pool, services, simulator, LEGACY, local_users={"owner": "pw"}
    )
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(
        hass,
        result["flow_id"],
        _gateway_input(gateway.host, username=" owner ", password="pw"),
    )
    stored = result["data"][CONF_GATEWAY]
    assert (stored[CONF_USERNAME], stored[CONF_PASSWORD]) == ("owner", "pw")


@pytest.mark.usefixtures("no_setup")
async def test_skip_the_gateway(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Skipping creates the cloud entry only."""
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(hass, result["flow_id"], _gateway_input("", action="skip"))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_GATEWAY not in result["data"]


@pytest.mark.usefixtures("no_setup")
async def test_unticked_box_skips_the_step(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Without the box ticked no gateway step is shown."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _credentials(simulator, connect_gateway=False)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_GATEWAY not in result["data"]


@pytest.mark.usefixtures("no_setup")
async def test_gateway_step_errors(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Each problem shows its error and the form again; then it works."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    result = await _to_gateway_step(hass, simulator)
    flow_id = result["flow_id"]

    result = await _submit(hass, flow_id, _gateway_input("192.0.2.1/x", service.url))
    assert result["errors"] == {CONF_HOST: "invalid_gateway_host"}
    result = await _submit(hass, flow_id, _gateway_input(gateway.host, "http://example.com/t"))
    assert result["errors"] == {"base": "invalid_token_url"}

    gateway.inject_fault("/info", status=404, count=1)
    result = await _submit(hass, flow_id, _gateway_input(gateway.host, service.url))
    assert result["errors"] == {"base": "gateway_cannot_connect"}

    service.status = 401
    result = await _submit(hass, flow_id, _gateway_input(gateway.host, service.url))
    assert result["errors"] == {"base": "gateway_token_failed"}
    service.status = 200

    expired = gateway.issue_token(lifetime=-60)
    result = await _submit(hass, flow_id, _gateway_input(gateway.host, service.url, token=expired))
    assert result["errors"] == {"base": "gateway_invalid_auth"}

    gateway.inject_fault("/production", status=503)
    result = await _submit(hass, flow_id, _gateway_input(gateway.host, service.url))
    assert result["errors"] == {"base": "gateway_cannot_connect"}
    gateway.clear_faults()

    result = await _submit(hass, flow_id, _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("no_setup")
async def test_gateway_of_another_site(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """A gateway the site's inventory does not list is refused."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    simulator.site(1000001).gateway.serial = "999999999999"
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["errors"] == {"base": "gateway_wrong_site"}


@pytest.mark.usefixtures("no_setup")
async def test_cloud_inventory_unreadable(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Without the cloud inventory: nothing pre-filled, no site check, still works."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    simulator.inject_fault("devices.json", status=500)
    result = await _to_gateway_step(hass, simulator)
    assert _suggested(result).get(CONF_HOST) is None
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY


# -- zeroconf ---------------------------------------------------------------------------


@pytest.mark.usefixtures("no_setup")
async def test_discovery_of_a_new_gateway(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """A discovered gateway leads through sign-in to a pre-filled gateway step."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    result = dict(
        await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_ZEROCONF},
            data=_zeroconf(gateway.serial, "fe80::1", "127.0.0.1"),
        )
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    (marker,) = [k for k in result["data_schema"].schema if k == CONF_CONNECT_GATEWAY]
    assert marker.default() is True
    flows = hass.config_entries.flow.async_progress()
    assert flows[0]["context"]["title_placeholders"] == {"serial": gateway.serial}
    assert flows[0]["context"]["unique_id"] == f"gateway_{gateway.serial}"

    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["step_id"] == "gateway"
    assert _suggested(result)[CONF_HOST] == "127.0.0.1"  # announced (the port is ours)
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == "1000001"
    assert result["data"][CONF_GATEWAY][CONF_SERIAL] == gateway.serial


@pytest.mark.usefixtures("no_setup")
async def test_user_flow_answers_the_discovery(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Connecting a gateway by hand removes its pending discovery."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    discovery = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(gateway.serial, "127.0.0.1")
    )
    result = await _to_gateway_step(hass, simulator)
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    flows = {f["flow_id"] for f in hass.config_entries.flow.async_progress()}
    assert discovery["flow_id"] not in flows


@pytest.mark.usefixtures("no_setup")
async def test_discovery_updates_the_address_of_a_configured_gateway(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Already configured: the new address is stored (port kept), nothing else asked."""
    entry = await create_entry(
        hass,
        simulator,
        logged_in=False,
        data={CONF_GATEWAY: {CONF_HOST: "192.0.2.1:8443", CONF_SERIAL: "122238082763"}},
    )
    other = await create_entry(hass, simulator, site_id="1000002", logged_in=False)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf("122238082763", "192.0.2.77")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "gateway_already_configured"
    assert entry.data[CONF_GATEWAY][CONF_HOST] == "192.0.2.77:8443"
    assert CONF_GATEWAY not in other.data
    assert entry.state is ConfigEntryState.NOT_LOADED

    # Same address again: nothing changes.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf("122238082763", "192.0.2.77")
    )
    assert result["reason"] == "gateway_already_configured"
    assert entry.data[CONF_GATEWAY][CONF_HOST] == "192.0.2.77:8443"


async def test_discovery_reloads_a_loaded_entry(
    hass: HomeAssistant, simulator: EnlightenSimulator, no_setup: AsyncMock
) -> None:
    """A loaded entry is reloaded to use the new address."""
    entry = await create_entry(
        hass,
        simulator,
        logged_in=False,
        data={CONF_GATEWAY: {CONF_HOST: "192.0.2.1", CONF_SERIAL: "122238082763"}},
    )
    assert await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    with patch.object(hass.config_entries, "async_schedule_reload") as reload:
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_ZEROCONF},
            data=_zeroconf("122238082763", "192.0.2.78"),
        )
    assert result["reason"] == "gateway_already_configured"
    reload.assert_called_once_with(entry.entry_id)
    assert entry.data[CONF_GATEWAY][CONF_HOST] == "192.0.2.78"


@pytest.mark.usefixtures("no_setup")
@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (_zeroconf(None, "192.0.2.5"), "not_enphase_gateway"),
        (_zeroconf("122238082763", "fe80::1"), "not_ipv4_address"),
    ],
)
async def test_discovery_not_usable(hass: HomeAssistant, info: Any, reason: str) -> None:
    """No serial number, or no IPv4 address: aborted."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == reason


@pytest.mark.usefixtures("no_setup")
async def test_ignored_gateway_stays_ignored(hass: HomeAssistant) -> None:
    """A gateway the user ignored is not offered again."""
    MockConfigEntry(
        domain=DOMAIN, source=SOURCE_IGNORE, unique_id="gateway_122238082763"
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf("122238082763", "192.0.2.5")
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_discovery_links_a_configured_site(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """A configured site whose gateway shows up: connect it with the entry's session."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    assert entry.runtime_data.gateway is None

    result = dict(
        await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_zeroconf(gateway.serial, "127.0.0.1")
        )
    )
    assert result["step_id"] == "gateway"
    assert result["description_placeholders"] == {"site_name": "Demo Home"}
    assert _suggested(result)[CONF_HOST] == "127.0.0.1"
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "gateway_linked"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.data[CONF_GATEWAY][CONF_SERIAL] == gateway.serial
    assert service.calls[0].session_id == entry.runtime_data.client.session_id
    coordinator = entry.runtime_data.gateway
    assert coordinator is not None and coordinator.data is not None


async def test_discovery_link_skipped_or_gone(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Skipping does not link; an entry unloaded meanwhile has no session for a token;
    an entry removed meanwhile cannot be linked."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)

    async def discover() -> dict[str, Any]:
        return dict(
            await hass.config_entries.flow.async_init(
                DOMAIN,
                context={"source": SOURCE_ZEROCONF},
                data=_zeroconf(gateway.serial, "127.0.0.1"),
            )
        )

    result = await discover()
    result = await _submit(hass, result["flow_id"], _gateway_input("", action="skip"))
    assert result["reason"] == "gateway_not_linked"
    assert CONF_GATEWAY not in entry.data

    result = await discover()
    assert await hass.config_entries.async_unload(entry.entry_id)
    unloaded = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert unloaded["errors"] == {"base": "gateway_token_failed"}
    assert await hass.config_entries.async_remove(entry.entry_id)
    token = gateway.issue_token()
    gone = await _submit(
        hass, result["flow_id"], _gateway_input(gateway.host, service.url, token=token)
    )
    assert gone["reason"] == "gateway_not_linked"


# -- reconfigure ----------------------------------------------------------------------------


def _reconfigure_input(simulator: EnlightenSimulator, connect: bool) -> dict[str, Any]:
    return _credentials(simulator, MULTI_EMAIL, MULTI_PASSWORD, connect_gateway=connect)


@pytest.mark.usefixtures("no_setup")
async def test_reconfigure_adds_the_gateway(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """Reconfigure with the box ticked: sign in, then the gateway step."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    entry = await create_entry(hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD)
    result = dict(await entry.start_reconfigure_flow(hass))
    (marker,) = [k for k in result["data_schema"].schema if k == CONF_CONNECT_GATEWAY]
    assert marker.default() is False
    result = await _submit(hass, result["flow_id"], _reconfigure_input(simulator, True))
    assert result["step_id"] == "gateway"
    options = result["data_schema"].schema[CONF_GATEWAY_ACTION].config["options"]
    assert options == ["connect", "skip"]
    result = await _submit(hass, result["flow_id"], _gateway_input(gateway.host, service.url))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_GATEWAY][CONF_SERIAL] == gateway.serial
    assert entry.data[CONF_EMAIL] == MULTI_EMAIL


@pytest.mark.usefixtures("no_setup")
async def test_reconfigure_changes_skips_or_removes(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    pool: SimulatorPool,
    services: list[TokenService],
) -> None:
    """With a gateway configured: pre-filled, keep it (skip), or remove it."""
    gateway, service = await _gateway(pool, services, simulator, METERED)
    stored = gateway_data(gateway, service.url)
    entry = await create_entry(
        hass,
        simulator,
        email=MULTI_EMAIL,
        password=MULTI_PASSWORD,
        data={CONF_GATEWAY: stored},
    )

    result = dict(await entry.start_reconfigure_flow(hass))
    result = await _submit(hass, result["flow_id"], _reconfigure_input(simulator, True))
    suggested = _suggested(result)
    assert suggested[CONF_HOST] == gateway.host
    section = result["data_schema"].schema[SECTION_ADVANCED]
    (url_marker,) = section.schema.schema
    assert url_marker.description["suggested_value"] == service.url
    options = result["data_schema"].schema[CONF_GATEWAY_ACTION].config["options"]
    assert options == ["connect", "skip", "remove"]
    result = await _submit(hass, result["flow_id"], _gateway_input("", action="skip"))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_GATEWAY] == stored

    result = dict(await entry.start_reconfigure_flow(hass))
    result = await _submit(hass, result["flow_id"], _reconfigure_input(simulator, False))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_GATEWAY] == stored

    result = dict(await entry.start_reconfigure_flow(hass))
    result = await _submit(hass, result["flow_id"], _reconfigure_input(simulator, True))
    result = await _submit(hass, result["flow_id"], _gateway_input("", action="remove"))
    assert result["reason"] == "reconfigure_successful"
    assert CONF_GATEWAY not in entry.data


@pytest.mark.usefixtures("no_setup")
async def test_reauth_keeps_the_gateway(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Reauthentication does not touch the gateway settings."""
    stored = {CONF_HOST: "192.0.2.1", CONF_SERIAL: "1"}
    entry = await create_entry(hass, simulator, logged_in=False, data={CONF_GATEWAY: stored})
    result = dict(await entry.start_reauth_flow(hass))
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_STORE_PASSWORD: False}
    )
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_GATEWAY] == stored and CONF_PASSWORD not in entry.data


def test_gateway_texts_exist() -> None:
    """Every error, abort and selector option of the gateway step has an English text."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent / "custom_components" / DOMAIN
    en = json.loads((root / "translations" / "en.json").read_text())
    code = (root / "config_flow_gateway.py").read_text()
    errors = set(re.findall(r'errors\[(?:"base"|CONF_HOST)\] = "(\w+)"', code))
    aborts = set(re.findall(r'reason="(\w+)"', code))
    assert errors and errors <= set(en["config"]["error"])
    assert aborts and aborts <= set(en["config"]["abort"])
    assert set(en["selector"]["gateway_action"]["options"]) == {"connect", "skip", "remove"}
    step = en["config"]["step"]["gateway"]
    assert set(step["data"]) == {CONF_GATEWAY_ACTION, CONF_HOST, CONF_TOKEN}
    assert set(step["sections"]) == {SECTION_LOCAL_USER, SECTION_ADVANCED}
    assert "{serial}" in en["config"]["flow_title"]
