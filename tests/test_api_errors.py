"""HTTP status, transport and payload failures map to the exception hierarchy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from custom_components.enphase_enlighten.api import (
    AuthError,
    CommandRejected,
    EnlightenClient,
    EnlightenError,
    ForbiddenError,
    GatewayNotReporting,
    InvalidResponse,
    LiveStreamNotSupported,
    MethodNotAllowedError,
    NotFoundError,
    RateLimited,
    UnavailableError,
    UnsupportedEnvoy,
)
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

SITE = "1000001"
EV = "EV0000000001"
STATUS_PATH = "ev_chargers/status"


@pytest.fixture
async def client(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> AsyncIterator[EnlightenClient]:
    """A logged-in client with a short timeout."""
    api = EnlightenClient(
        client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url, request_timeout=1.0
    )
    await api.login()
    yield api


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, ForbiddenError),
        (404, NotFoundError),
        (405, MethodNotAllowedError),
        (466, UnsupportedEnvoy),
        (468, ForbiddenError),
        (472, LiveStreamNotSupported),
        (473, GatewayNotReporting),
        (500, UnavailableError),
        (502, UnavailableError),
        (503, UnavailableError),
        (550, UnavailableError),
        (551, UnavailableError),
        (552, UnavailableError),
        (418, EnlightenError),
    ],
)
async def test_status_mapping(
    client: EnlightenClient,
    simulator: EnlightenSimulator,
    status: int,
    error: type[EnlightenError],
) -> None:
    """Each status maps to its exception, which carries the status."""
    simulator.inject_fault(STATUS_PATH, status=status, count=1)
    with pytest.raises(error) as raised:
        await client.ev_status(SITE)
    assert type(raised.value) is error
    assert raised.value.status == status
    assert (await client.ev_status(SITE)).chargers  # one-shot fault


async def test_cloud_message_kept(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """The cloud's message is kept (redacted)."""
    simulator.inject_fault(
        STATUS_PATH,
        status=473,
        count=1,
        body='{"status": "error", "message": "Gateway GW1234567 down"}',
    )
    with pytest.raises(GatewayNotReporting) as raised:
        await client.ev_status(SITE)
    assert "down" in raised.value.message
    assert "GW1234567" not in str(raised.value)
    simulator.inject_fault(STATUS_PATH, status=500, count=1, body='{"error": {"message": "boom"}}')
    with pytest.raises(UnavailableError, match="boom"):
        await client.ev_status(SITE)
    simulator.inject_fault(STATUS_PATH, status=500, count=1, body="not json")
    with pytest.raises(UnavailableError, match="unavailable"):
        await client.ev_status(SITE)


@pytest.mark.parametrize("status", [400, 409, 422])
async def test_command_rejected(
    client: EnlightenClient, simulator: EnlightenSimulator, status: int
) -> None:
    """400/409/422 on a control call are CommandRejected; on a read a plain error."""
    simulator.inject_fault("preference", status=status, count=1, method="PUT")
    with pytest.raises(CommandRejected) as raised:
        await client.set_charge_mode(SITE, EV, "MANUAL_CHARGING")
    assert raised.value.status == status
    simulator.inject_fault(STATUS_PATH, status=status, count=1)
    with pytest.raises(EnlightenError) as read_error:
        await client.ev_status(SITE)
    assert not isinstance(read_error.value, CommandRejected)
    assert read_error.value.status == status


async def test_rate_limited_seconds(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """429 with Retry-After in seconds."""
    simulator.inject_fault(STATUS_PATH, status=429, count=1, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as raised:
        await client.ev_status(SITE)
    assert raised.value.retry_after == 120.0
    assert raised.value.status == 429


async def test_rate_limited_http_date(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """429 with Retry-After as an HTTP date; and without the header."""
    when = datetime.now(UTC) + timedelta(minutes=5)
    simulator.inject_fault(
        STATUS_PATH,
        status=429,
        count=1,
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )
    with pytest.raises(RateLimited) as raised:
        await client.ev_status(SITE)
    assert raised.value.retry_after is not None
    assert 200 < raised.value.retry_after <= 300
    simulator.inject_fault(STATUS_PATH, status=429, count=1)
    with pytest.raises(RateLimited) as bare:
        await client.ev_status(SITE)
    assert bare.value.retry_after is None


async def test_timeout(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A response slower than the timeout is UnavailableError."""
    fast = EnlightenClient(
        client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url, request_timeout=0.2
    )
    simulator.inject_fault(STATUS_PATH, latency=0.6, count=1)
    with pytest.raises(UnavailableError) as raised:
        await fast.ev_status(SITE)
    assert raised.value.status is None
    assert "timed out" in str(raised.value)
    await asyncio.sleep(0.6)  # let the simulator finish the slow handler


async def test_connection_reset(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """A dropped connection is UnavailableError."""
    # aiohttp itself retries an idempotent request once on a reused connection.
    simulator.inject_fault(STATUS_PATH, reset=True)
    with pytest.raises(UnavailableError, match="Connection error"):
        await client.ev_status(SITE)
    simulator.clear_faults()
    assert (await client.ev_status(SITE)).chargers


async def test_connection_refused(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Nothing listening is UnavailableError."""
    url = simulator.url
    await simulator.stop()
    api = EnlightenClient(client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=url)
    with pytest.raises(UnavailableError):
        await api.login()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("   ", "application/json"),
        ('"a string"', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("\xff\xfe", "application/octet-stream"),
    ],
)
async def test_invalid_payloads(
    client: EnlightenClient, simulator: EnlightenSimulator, body: str, content_type: str
) -> None:
    """Malformed JSON, empty bodies and wrong top-level types are InvalidResponse."""
    simulator.inject_fault(STATUS_PATH, status=200, count=1, body=body, content_type=content_type)
    with pytest.raises(InvalidResponse):
        await client.ev_status(SITE)


async def test_empty_body_allowed_for_commands(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A 2xx command answer with no body is fine."""
    simulator.inject_fault("stop_live_stream", status=202, count=1, body="")
    await client.stop_live_stream(SITE)
    simulator.inject_fault("trigger_message", status=202, count=1, body="")
    assert await client.trigger_message(SITE, EV, "MeterValues") == {}


async def test_login_page_means_auth_lost(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A persistent 200 text/html login page ends in AuthError after one re-login."""
    page = '<html><form action="/login/login"></form></html>'
    simulator.inject_fault("devices.json", status=200, body=page, content_type="text/html")
    simulator.clear_requests()
    with pytest.raises(AuthError) as raised:
        await client.devices(SITE)
    assert raised.value.status == 200
    assert sum(1 for r in simulator.requests if r.path == "/login/login.json") == 1
    simulator.clear_faults()
    simulator.inject_fault(
        "devices.json", status=200, count=1, body=" <html>", content_type="application/json"
    )
    assert (await client.devices(SITE)).gateways


async def test_redirect_means_auth_lost(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A redirect (to the login page) on an API call is treated as a lost session."""
    simulator.inject_fault(
        "devices.json", status=302, count=1, body="", headers={"Location": "/login"}
    )
    assert (await client.devices(SITE)).gateways


async def test_forbidden_write_not_retried_forever(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A 403 on a write is retried at most once, when the XSRF cookie changed meanwhile."""
    rotate = {"Set-Cookie": "BP-XSRF-Token=rotated-by-test; Path=/"}
    simulator.inject_fault("stormGuard/toggle", status=403, headers=rotate, method="PUT")
    simulator.clear_requests()
    with pytest.raises(ForbiddenError):
        await client.set_storm_guard(SITE, True, False)
    toggles = [r for r in simulator.requests if "stormGuard/toggle" in r.path]
    assert len(toggles) == 2
    assert toggles[1].headers["X-XSRF-Token"] == "rotated-by-test"


async def test_xsrf_rotation_retry_succeeds(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A write refused with a stale token succeeds on the retry with the new one."""
    stale = client.export_session()["cookies"]["BP-XSRF-Token"]
    # Make the client hold a stale token while the simulator keeps the real one.
    client._state.cookies["BP-XSRF-Token"] = "stale"
    simulator.inject_fault(
        "stormGuard/toggle",
        status=403,
        count=1,
        method="PUT",
        headers={"Set-Cookie": f"BP-XSRF-Token={stale}; Path=/"},
    )
    await client.set_storm_guard(SITE, True, False)
    assert simulator.site(SITE).battery is not None
    assert simulator.site(SITE).battery.storm_guard_state == "enabled"


async def test_write_refused_twice_after_rotation(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """Two rotations in a row: the second 403 is raised (one retry only)."""
    for value in ("first-rotation", "second-rotation"):
        simulator.inject_fault(
            "stormGuard/toggle",
            status=403,
            count=1,
            method="PUT",
            headers={"Set-Cookie": f"BP-XSRF-Token={value}; Path=/"},
        )
    simulator.clear_requests()
    with pytest.raises(ForbiddenError):
        await client.set_storm_guard(SITE, True, False)
    assert sum(1 for r in simulator.requests if "stormGuard/toggle" in r.path) == 2


async def test_generic_request(client: EnlightenClient, simulator: EnlightenSimulator) -> None:
    """request() is public: extra headers are sent; odd error bodies are tolerated."""
    assert client.base_url == simulator.url
    payload = await client.request("GET", "/app-api/search_sites.json", headers={"X-Test": "yes"})
    assert payload["sites"]
    assert simulator.requests[-1].headers["X-Test"] == "yes"
    simulator.inject_fault(STATUS_PATH, status=500, count=1, body="[1]")
    with pytest.raises(UnavailableError):
        await client.ev_status(SITE)
    simulator.inject_fault(
        STATUS_PATH,
        status=429,
        count=1,
        headers={"Retry-After": "Thu, 01 Jan 2099 00:00:00 -0000"},
    )
    with pytest.raises(RateLimited) as raised:
        await client.ev_status(SITE)
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[{"id": "EV1"}, "junk"]', [{"id": "EV1"}]),
        ('{"data": {"chargers": [{"id": "EV2"}]}}', [{"id": "EV2"}]),
        ('{"data": {"nothing": 1}}', []),
    ],
)
async def test_filter_criteria_shapes(
    client: EnlightenClient,
    simulator: EnlightenSimulator,
    body: str,
    expected: list[dict[str, str]],
) -> None:
    """Session filter criteria tolerate list, nested and empty shapes."""
    simulator.inject_fault("filter_criteria", status=200, count=1, body=body)
    assert await client.session_filter_criteria(SITE) == expected


async def test_wrong_shapes_of_small_endpoints(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """A wrong top-level type or no enabled mode is InvalidResponse."""
    simulator.inject_fault("filter_criteria", status=200, count=1, body='"text"')
    with pytest.raises(InvalidResponse):
        await client.session_filter_criteria(SITE)
    simulator.inject_fault("preference", status=200, count=1, body='{"data": {"modes": {}}}')
    with pytest.raises(InvalidResponse):
        await client.charge_mode(SITE, EV)
