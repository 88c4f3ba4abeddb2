"""EV start/stop command variants: fixed fallback order and per-client memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.enphase_enlighten.api import (
    CommandRejected,
    EnlightenClient,
    MethodNotAllowedError,
    NotFoundError,
)
from custom_components.enphase_enlighten.api.ev import START_VARIANTS, STOP_VARIANTS
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

SITE = "1000001"
EV = "EV0000000001"


@pytest.fixture
async def client(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> AsyncIterator[EnlightenClient]:
    """A logged-in client; the car is plugged in."""
    api = EnlightenClient(client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url)
    await api.login()
    simulator.site(SITE).chargers[EV].plugged_in = True
    simulator.clear_requests()
    yield api


def attempts(simulator: EnlightenSimulator, name: str) -> list[tuple[str, str, object]]:
    """(method, collection, body) of every start/stop request, in order."""
    result = []
    for r in simulator.requests:
        if r.path.endswith(f"/{name}_charging"):
            collection = "ev_charger" if "/ev_charger/" in r.path else "ev_chargers"
            result.append((r.method, collection, json.loads(r.body) if r.body else None))
    return result


CAMEL = {"chargingLevel": 16, "connectorId": 1}
SNAKE = {"charging_level": 16, "connector_id": 1}


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("canonical", [("POST", "ev_chargers", CAMEL)]),
        ("put", [("POST", "ev_chargers", CAMEL), ("PUT", "ev_chargers", CAMEL)]),
        (
            "singular",
            [
                ("POST", "ev_chargers", CAMEL),
                ("PUT", "ev_chargers", CAMEL),
                ("POST", "ev_charger", CAMEL),
            ],
        ),
        # 400 on the camelCase body skips the other camelCase variants.
        ("snake_case", [("POST", "ev_chargers", CAMEL), ("POST", "ev_chargers", SNAKE)]),
    ],
)
async def test_start_fallback_order(
    client: EnlightenClient,
    simulator: EnlightenSimulator,
    variant: str,
    expected: list[tuple[str, str, object]],
) -> None:
    """Variants are tried in the fixed order and the working one is remembered."""
    simulator.site(SITE).chargers[EV].accepted_variant = variant
    await client.start_charging(SITE, EV, 16)
    assert attempts(simulator, "start") == expected
    simulator.clear_requests()
    await client.start_charging(SITE, EV, 16)
    assert attempts(simulator, "start") == expected[-1:]


async def test_start_no_body_variant(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """Without amps the client reaches the no-body variant; with amps it does not."""
    simulator.site(SITE).chargers[EV].accepted_variant = "no_body"
    with pytest.raises(CommandRejected) as rejected:
        await client.start_charging(SITE, EV, 16)
    assert rejected.value.status == 400
    assert attempts(simulator, "start") == [
        ("POST", "ev_chargers", CAMEL),
        ("POST", "ev_chargers", SNAKE),
    ]
    simulator.clear_requests()
    await client.start_charging(SITE, EV)
    assert attempts(simulator, "start") == [
        ("POST", "ev_chargers", {"connectorId": 1}),
        ("POST", "ev_chargers", {"connector_id": 1}),
        ("POST", "ev_chargers", None),
    ]
    simulator.clear_requests()
    await client.start_charging(SITE, EV)
    assert attempts(simulator, "start") == [("POST", "ev_chargers", None)]


async def test_remembered_variant_falls_back(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """When the remembered variant stops working the others are tried again."""
    charger = simulator.site(SITE).chargers[EV]
    charger.accepted_variant = "put"
    await client.start_charging(SITE, EV, 16)
    charger.accepted_variant = "canonical"
    simulator.clear_requests()
    await client.start_charging(SITE, EV, 16)
    assert attempts(simulator, "start") == [
        ("PUT", "ev_chargers", CAMEL),
        ("POST", "ev_chargers", CAMEL),
    ]


async def test_start_conflict_is_immediate(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """409 (not plugged in) is raised at once, without trying other variants."""
    simulator.site(SITE).chargers[EV].plugged_in = False
    with pytest.raises(CommandRejected) as rejected:
        await client.start_charging(SITE, EV, 16)
    assert rejected.value.status == 409
    assert len(attempts(simulator, "start")) == 1
    simulator.inject_fault("start_charging", status=422, count=1)
    with pytest.raises(CommandRejected):
        await client.start_charging(SITE, EV, 16)


async def test_start_all_variants_missing(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """When every variant is 404/405 the last error is raised."""
    simulator.inject_fault("start_charging", status=404)
    with pytest.raises(NotFoundError):
        await client.start_charging(SITE, EV, 16)
    assert len(attempts(simulator, "start")) == len(START_VARIANTS)


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("canonical", [("PUT", "ev_chargers", None)]),
        ("post", [("PUT", "ev_chargers", None), ("POST", "ev_chargers", None)]),
        (
            "singular",
            [
                ("PUT", "ev_chargers", None),
                ("POST", "ev_chargers", None),
                ("PUT", "ev_charger", None),
            ],
        ),
    ],
)
async def test_stop_fallback_order(
    client: EnlightenClient,
    simulator: EnlightenSimulator,
    variant: str,
    expected: list[tuple[str, str, object]],
) -> None:
    """Stop variants in order, remembered separately from start."""
    simulator.site(SITE).chargers[EV].accepted_stop_variant = variant
    await client.stop_charging(SITE, EV)
    assert attempts(simulator, "stop") == expected
    simulator.clear_requests()
    await client.stop_charging(SITE, EV)
    assert attempts(simulator, "stop") == expected[-1:]
    await client.start_charging(SITE, EV, 16)
    assert attempts(simulator, "start")[0] == ("POST", "ev_chargers", CAMEL)


async def test_stop_all_variants_refused(
    client: EnlightenClient, simulator: EnlightenSimulator
) -> None:
    """405 everywhere ends with MethodNotAllowedError."""
    simulator.inject_fault("stop_charging", status=405)
    with pytest.raises(MethodNotAllowedError):
        await client.stop_charging(SITE, EV)
    assert len(attempts(simulator, "stop")) == len(STOP_VARIANTS)
