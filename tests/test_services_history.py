"""Charging session history: the get_charging_sessions action and last-session sensors."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.api import EnlightenClient
from custom_components.enphase_enlighten.api.sessions import LAST_SESSION_DAYS, async_fetch_sessions
from custom_components.enphase_enlighten.const import DOMAIN
from custom_components.enphase_enlighten.history.actions import (
    MAX_RANGE_DAYS,
    SERVICE_GET_CHARGING_SESSIONS,
)
from tests.helpers import create_entry, setup_integration
from tests.history_helpers import ZoneLoadGuard
from tests.simulator import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    EnlightenSimulator,
)

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

SITE = "1000001"
EV_SN = "EV0000000001"
HISTORY = "/history"


async def _setup(
    hass: HomeAssistant, simulator: EnlightenSimulator, site_id: str = SITE
) -> MockConfigEntry:
    if site_id == SITE:
        entry = await create_entry(hass, simulator)
    else:
        entry = await create_entry(
            hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id=site_id
        )
    assert await setup_integration(hass, entry)
    return entry


def _sim_sessions(simulator: EnlightenSimulator, start: date, end: date) -> list[Any]:
    site = simulator.site(1000001)
    return sorted(
        (
            s
            for s in site.chargers[EV_SN].sessions
            if start <= s.start.astimezone(site.tz).date() <= end
        ),
        key=lambda s: s.start,
        reverse=True,
    )


async def _call(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, SERVICE_GET_CHARGING_SESSIONS, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_sessions_action_pages_through_history(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Every session of a half-year range, newest first, paged 20 at a time."""
    entry = await _setup(hass, simulator)
    today = simulator.site(1000001).today()
    start = today - timedelta(days=200)
    expected = _sim_sessions(simulator, start, today)
    assert len(expected) > 40  # several pages
    simulator.clear_requests()

    response = await _call(
        hass,
        config_entry_id=entry.entry_id,
        start_date=start.isoformat(),
        end_date=today.isoformat(),
    )
    pages = simulator.requests_to(HISTORY)
    assert len(pages) == math.ceil(len(expected) / 20)
    assert [p.body.count('"offset"') for p in pages] == [1] * len(pages)
    assert response["start_date"] == start.isoformat()
    assert response["end_date"] == today.isoformat()
    assert response["truncated"] is False
    rows = response["sessions"]
    assert [r["session_id"] for r in rows] == [str(s.session_id) for s in expected]
    first = rows[0]
    assert first["charger"] == EV_SN
    assert first["energy_kwh"] == pytest.approx(expected[0].energy_kwh)
    assert first["active_charge_time_s"] == expected[0].active_s
    assert first["cost"] == pytest.approx(expected[0].cost)
    assert dt_util.parse_datetime(first["start"]) == expected[0].start
    assert dt_util.parse_datetime(first["end"]) == expected[0].end

    # The charger as a device, the only site left out, the end date left out.
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, EV_SN), entry.entry_id)
    assert device is not None
    recent = await _call(
        hass, device_id=device.id, start_date=(today - timedelta(days=10)).isoformat()
    )
    assert recent["end_date"] == today.isoformat()
    assert [r["session_id"] for r in recent["sessions"]] == [
        str(s.session_id) for s in _sim_sessions(simulator, today - timedelta(days=10), today)
    ]


async def test_sessions_paging_is_bounded(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """A history longer than the page bound is cut short and says so."""
    client = EnlightenClient(client_session, DEMO_EMAIL, DEMO_PASSWORD, base_url=simulator.url)
    await client.login()
    today = simulator.site(1000001).today()
    sessions, truncated = await async_fetch_sessions(
        client,
        SITE,
        EV_SN,
        today - timedelta(days=200),
        today,
        timezone="Australia/Sydney",
        page_size=5,
        max_pages=2,
    )
    assert truncated is True
    assert len(sessions) == 10
    none, cut = await async_fetch_sessions(
        client, SITE, EV_SN, today + timedelta(days=1), today + timedelta(days=2), timezone="UTC"
    )
    assert (none, cut) == ([], False)


async def test_sessions_action_refuses_bad_input(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Date ranges, devices and sites without chargers are checked before any request."""
    entry = await _setup(hass, simulator)
    today = date.today()
    simulator.clear_requests()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start_date": today, "end_date": today - timedelta(days=1)}, "invalid_date_range"),
        (
            {"start_date": today - timedelta(days=MAX_RANGE_DAYS), "end_date": today},
            "invalid_date_range",
        ),
        ({"start_date": today, "device_id": "nope"}, "invalid_device"),
    ]
    gateway = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "GW0000000001"), entry.entry_id
    )
    assert gateway is not None
    cases.append(({"start_date": today, "device_id": gateway.id}, "not_a_charger"))
    for data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, config_entry_id=entry.entry_id, **data)
        assert err.value.translation_key == key
    assert simulator.requests_to(HISTORY) == []

    cabin = await _setup(hass, simulator, "1000002")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, config_entry_id=cabin.entry_id, start_date=today)
    assert err.value.translation_key == "no_charger"


async def test_sessions_action_loads_no_zone_in_the_event_loop(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The site's zone (for today's date) is looked up asynchronously, off the loop."""
    entry = await _setup(hass, simulator)
    today = simulator.site(1000001).today()
    with ZoneLoadGuard() as guard:
        response = await _call(
            hass,
            config_entry_id=entry.entry_id,
            start_date=(today - timedelta(days=30)).isoformat(),
        )
    assert guard.loads == []
    assert response["end_date"] == today.isoformat()  # today at the site
    assert [r["session_id"] for r in response["sessions"]] == [
        str(s.session_id) for s in _sim_sessions(simulator, today - timedelta(days=30), today)
    ]


@pytest.mark.parametrize(
    ("status", "key"),
    [(503, "service_unavailable"), (429, "history_rate_limited"), (401, "auth_failed")],
)
async def test_sessions_action_errors(
    hass: HomeAssistant, simulator: EnlightenSimulator, status: int, key: str
) -> None:
    """Cloud failures become translated errors; a lost session asks to sign in again."""
    entry = await _setup(hass, simulator)
    simulator.inject_fault(HISTORY, status=status)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, config_entry_id=entry.entry_id, start_date=date.today())
    assert err.value.translation_key == key
    reauth = list(entry.async_get_active_flows(hass, {"reauth"}))
    assert bool(reauth) is (status == 401)


async def test_last_session_sensors(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The newest session of the last month feeds the last-session sensors (one request)."""
    simulator.clear_requests()
    await _setup(hass, simulator)
    site = simulator.site(1000001)
    today = site.today()
    newest = _sim_sessions(simulator, today - timedelta(days=LAST_SESSION_DAYS), today)[0]
    assert len(simulator.requests_to(HISTORY)) == 1

    def value(key: str) -> str:
        state = hass.states.get(f"sensor.iq_ev_charger_000001_last_session_{key}")
        assert state is not None, key
        return state.state

    assert float(value("energy")) == pytest.approx(newest.energy_kwh)
    assert float(value("cost")) == pytest.approx(newest.cost)
    assert float(value("duration")) == pytest.approx((newest.end - newest.start).seconds / 60)
    assert dt_util.parse_datetime(value("end")) == newest.end
    energy = hass.states.get("sensor.iq_ev_charger_000001_last_session_energy")
    assert energy is not None
    assert energy.attributes["session_id"] == str(newest.session_id)
    assert energy.attributes["charge_time_min"] == pytest.approx(newest.active_s / 60, abs=0.1)
    miles = hass.states.get("sensor.iq_ev_charger_000001_last_session_range_added")
    assert miles is not None
    if newest.miles is not None:  # shown in the unit system's length unit
        assert miles.attributes["unit_of_measurement"] == "km"
        assert float(miles.state) == pytest.approx(newest.miles * 1.609344, rel=1e-4)


async def test_last_session_sensors_without_recent_sessions(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """No session in the last month: the sensors are known to have no value."""
    simulator.site(1000001).chargers[EV_SN].sessions.clear()
    await _setup(hass, simulator)
    state = hass.states.get("sensor.iq_ev_charger_000001_last_session_energy")
    assert state is not None
    assert state.state == "unknown"
    assert state.attributes.get("session_id") is None
    duration = hass.states.get("sensor.iq_ev_charger_000001_last_session_duration")
    assert duration is not None
    assert duration.state == "unknown"


async def test_sites_without_chargers_never_read_sessions(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """The micros-only site makes no session history request."""
    simulator.clear_requests()
    await _setup(hass, simulator, "1000002")
    assert simulator.requests_to("enho_historical_events_ms") == []
