"""Site data in the simulator: lifetime buckets, inverter energy, inventory, discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator
from tests.simulator.driver import SimDriver

pytestmark = pytest.mark.usefixtures("socket_enabled")

FULL = 1000001
MICROS = 1000002
LARGE = 1000004
# 2025-01-15 23:00 UTC is 10:00 on 16 January in Sydney (the full site).
SYDNEY_MORNING = datetime(2025, 1, 15, 23, 0, tzinfo=UTC)
LIFETIME = f"/pv/systems/{FULL}/lifetime_energy"


@asynccontextmanager
async def _sim_at(
    start: datetime, session: aiohttp.ClientSession
) -> AsyncIterator[tuple[EnlightenSimulator, SimDriver]]:
    async with EnlightenSimulator(start=start) as sim:
        driver = SimDriver(session, sim.url)
        await driver.login(MULTI_EMAIL, MULTI_PASSWORD)
        yield sim, driver


async def _driver(sim: EnlightenSimulator, session: aiohttp.ClientSession) -> SimDriver:
    driver = SimDriver(session, sim.url)
    await driver.login(MULTI_EMAIL, MULTI_PASSWORD)
    return driver


def _energy_path(site: int, start: date, end: date) -> str:
    return (
        f"/systems/{site}/inverter_data_x/energy.json"
        f"?start_date={start.isoformat()}&end_date={end.isoformat()}"
    )


async def test_lifetime_buckets_are_daily_and_consistent(
    client_session: aiohttp.ClientSession,
) -> None:
    """Three years of daily buckets to today; the flows add up per day."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (_, driver):
        body = (await driver.get(LIFETIME)).json
    assert body["start_date"] == (date(2025, 1, 16) - timedelta(days=1095)).isoformat()
    length = len(body["production"])
    assert length == 1096
    flows = [k for k, v in body.items() if isinstance(v, list) and v]
    assert all(len(body[f]) == length for f in flows)
    assert body["heatpump"] == body["water_heater"] == []
    for day in range(length - 1):
        prod = body["production"][day]
        assert (
            abs(
                prod
                - body["solar_home"][day]
                - body["solar_grid"][day]
                - body["solar_battery"][day]
            )
            <= 2
        )
        home = body["solar_home"][day] + body["battery_home"][day] + body["grid_home"][day]
        assert abs(body["consumption"][day] - home) <= 2
        assert body["charge"][day] == body["solar_battery"][day] + body["grid_battery"][day]
        assert 0 <= body["evse"][day] <= body["consumption"][day]
    assert len(set(body["production"])) > 500


async def test_lifetime_is_deterministic(client_session: aiohttp.ClientSession) -> None:
    """Two simulators at the same moment serve identical buckets."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (_, driver):
        first = (await driver.get(LIFETIME)).json
    async with _sim_at(SYDNEY_MORNING, client_session) as (_, driver):
        second = (await driver.get(LIFETIME)).json
    assert first == second


async def test_today_bucket_grows_and_new_day_appends(
    client_session: aiohttp.ClientSession,
) -> None:
    """Today's bucket grows with simulated time; crossing local midnight adds a bucket."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (sim, driver):
        morning = (await driver.get(LIFETIME)).json
        sim.advance(3 * 3600)
        noon = (await driver.get(LIFETIME)).json
        assert len(noon["production"]) == len(morning["production"])
        assert noon["production"][-1] > morning["production"][-1] > 0
        assert noon["consumption"][-1] > morning["consumption"][-1]
        assert noon["production"][:-1] == morning["production"][:-1]
        assert noon["last_report_date"] > morning["last_report_date"]
        sim.advance(12 * 3600)
        tomorrow = (await driver.get(LIFETIME)).json
    assert tomorrow["start_date"] == morning["start_date"]
    assert len(tomorrow["production"]) == len(morning["production"]) + 1
    assert tomorrow["production"][-2] >= noon["production"][-1]
    assert tomorrow["production"][-1] < tomorrow["production"][-2]


async def test_revised_bucket_and_charging_energy(client_session: aiohttp.ClientSession) -> None:
    """revise_bucket overwrites a past day; charging adds to today's evse/consumption."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (sim, driver):
        site = sim.site(FULL)
        before = (await driver.get(LIFETIME)).json
        assert before["update_pending"] is False
        site.revise_bucket(3, "production", 12345)
        after = (await driver.get(LIFETIME)).json
        assert after["production"][-4] == 12345
        assert after["update_pending"] is True
        assert after["production"][:-4] == before["production"][:-4]
        await driver.call(
            "POST",
            f"/service/evse_controller/{FULL}/ev_chargers/EV0000000001/start_charging",
            json={"chargingLevel": 32, "connectorId": 1},
        )
        baseline = (await driver.get(LIFETIME)).json
        sim.advance(3600)
        charged = (await driver.get(LIFETIME)).json
        expected = baseline["evse"][-1] + 32 * 230
        assert charged["evse"][-1] == pytest.approx(expected, abs=200)
        assert charged["consumption"][-1] > baseline["consumption"][-1] + 32 * 230 - 1


async def test_other_sites_energy_shapes(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Large site: two years and 100 inverters; micros-only: production only."""
    driver = await _driver(simulator, client_session)
    large = (await driver.get(f"/pv/systems/{LARGE}/lifetime_energy")).json
    assert len(large["production"]) == 731
    assert large["charge"][0] is None
    assert large["evse"] == []
    assert isinstance(large["consumption"][0], int)
    today = simulator.site(LARGE).today()
    production = (await driver.get(_energy_path(LARGE, today, today))).json["production"]
    assert len(production) == 100
    micros = (await driver.get(f"/pv/systems/{MICROS}/lifetime_energy")).json
    assert all(v is None for v in micros["consumption"])
    assert all(isinstance(v, int) for v in micros["production"])


async def test_inverter_energy_windows(client_session: aiohttp.ClientSession) -> None:
    """Single days are deterministic; windows sum their days; lifetime is cumulative."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (sim, driver):
        site = sim.site(FULL)
        days = [date(2024, 12, 1) + timedelta(days=i) for i in range(3)]
        singles = [(await driver.get(_energy_path(FULL, d, d))).json["production"] for d in days]
        window = (await driver.get(_energy_path(FULL, days[0], days[-1]))).json
        assert window["start_date"] == "2024-12-01"
        assert window["end_date"] == "2024-12-03"
        for inverter_id, total in window["production"].items():
            assert abs(total - sum(s[inverter_id] for s in singles)) <= 2
        assert set(singles[0]) == {inv.inverter_id for inv in site.inverters}
        lifetime = (await driver.get(_energy_path(FULL, date(2000, 1, 1), date(2100, 1, 1)))).json
        assert all(lifetime["production"][k] > 200 * v for k, v in singles[0].items())
        lifetime_sum = sum(lifetime["production"].values())
        buckets = (await driver.get(LIFETIME)).json["production"]
        assert lifetime_sum == pytest.approx(sum(buckets), rel=0.001)
        assert (await driver.get(_energy_path(FULL, days[2], days[0]))).status == 400
        bad = f"/systems/{FULL}/inverter_data_x/energy.json?start_date=x&end_date=y"
        assert (await driver.get(bad)).status == 400


async def test_shading_and_cloudy_factors(client_session: aiohttp.ClientSession) -> None:
    """Per-inverter factors shade one panel; cloudy days scale every panel that day."""
    async with _sim_at(SYDNEY_MORNING, client_session) as (sim, driver):
        site = sim.site(FULL)
        day = date(2025, 1, 10)
        other = date(2025, 1, 11)
        base = (await driver.get(_energy_path(FULL, day, day))).json["production"]
        base_other = (await driver.get(_energy_path(FULL, other, other))).json["production"]
        shaded = site.inverters[3]
        site.inverter_daily_factor[shaded.serial] = 0.6
        after = (await driver.get(_energy_path(FULL, day, day))).json["production"]
        assert after[shaded.inverter_id] == pytest.approx(base[shaded.inverter_id] * 0.6, abs=1)
        unshaded = [k for k in base if k != shaded.inverter_id]
        assert all(after[k] == base[k] for k in unshaded)
        site.cloudy_days[day] = 0.3
        cloudy = (await driver.get(_energy_path(FULL, day, day))).json["production"]
        assert all(cloudy[k] == pytest.approx(after[k] * 0.3, abs=1) for k in base)
        same = (await driver.get(_energy_path(FULL, other, other))).json["production"]
        assert same[unshaded[0]] == base_other[unshaded[0]]
        buckets = (await driver.get(LIFETIME)).json
        index = (day - date.fromisoformat(buckets["start_date"])).days
        assert buckets["production"][index] == pytest.approx(sum(cloudy.values()), abs=16)


async def test_inverter_inventory_and_status_map(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """inverters.json pages and filters; the status map joins ids to serials."""
    driver = await _driver(simulator, client_session)
    page = (await driver.get(f"/app-api/{LARGE}/inverters.json?limit=10&offset=90")).json
    assert page["total"] == 100
    assert len(page["inverters"]) == 10
    assert page["inverters"][-1]["array_name"] == "D"
    site = simulator.site(FULL)
    target = site.inverters[5]
    target.status = "error"
    full = (await driver.get(f"/app-api/{FULL}/inverters.json")).json
    assert (full["total"], full["error_count"], full["normal_count"]) == (16, 1, 15)
    search = target.serial[-4:]
    found = (await driver.get(f"/app-api/{FULL}/inverters.json?search={search}")).json
    assert [i["serial_number"] for i in found["inverters"]] == [target.serial]
    assert found["total"] == 1
    west = (await driver.get(f"/app-api/{FULL}/inverters.json?search=west")).json
    assert west["total"] == 8
    status = (await driver.get(f"/systems/{FULL}/inverter_status_x.json")).json
    assert len(status) == 18
    assert status[target.inverter_id]["serialNum"] == target.serial
    assert status[target.inverter_id]["statusCode"] == "error"
    pcus = [v for v in status.values() if v["type"] == "ENCHARGE"]
    assert [p["serialNum"] for p in pcus] == ["BT0000000001", "BT0000000002"]
    micros = (await driver.get(f"/systems/{MICROS}/inverter_status_x.json")).json
    assert len(micros) == 8
    assert {v["type"] for v in micros.values()} == {"IQ7PLUS"}


async def test_devices_inventory(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """devices.json mixes typed buckets and the curr_date_site metadata object."""
    driver = await _driver(simulator, client_session)
    result = (await driver.get(f"/app-api/{FULL}/devices.json")).json["result"]
    types = [item.get("type") for item in result]
    assert types == ["envoy", "meter", "encharge", "enpower", "iqevse", None]
    assert result[-1] == {"curr_date_site": simulator.site(FULL).today().isoformat()}
    assert len(result[2]["devices"]) == 2
    micros = (await driver.get(f"/app-api/{MICROS}/devices.json")).json["result"]
    by_type = {item.get("type"): item for item in micros}
    assert by_type["encharge"]["devices"] == []
    assert by_type["enpower"]["devices"] == []
    assert "iqevse" not in by_type


async def test_search_sites_filters(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """searchText filters by name or id; favourite=true keeps starred sites."""
    driver = await _driver(simulator, client_session)
    every = (await driver.get("/app-api/search_sites.json?searchText=&favourite=false")).json
    assert [s["id"] for s in every["sites"]] == [1000001, 1000002, 1000003, 1000004]
    barn = (await driver.get("/app-api/search_sites.json?searchText=barn")).json
    assert [s["title"] for s in barn["sites"]] == ["Legacy Barn"]
    by_id = (await driver.get("/app-api/search_sites.json?searchText=1000004")).json
    assert [s["id"] for s in by_id["sites"]] == [1000004]
    starred = (await driver.get("/app-api/search_sites.json?favourite=true")).json
    assert [s["id"] for s in starred["sites"]] == [1000001]


async def test_backup_history(
    simulator: EnlightenSimulator, client_session: aiohttp.ClientSession
) -> None:
    """Backup history is newest first with local offsets; micros-only has none."""
    driver = await _driver(simulator, client_session)
    body = (await driver.get(f"/app-api/{FULL}/battery_backup_history.json")).json
    assert body["total_records"] == 4
    assert body["total_backup"] == 121 + 74 + 95 + 17
    starts = [datetime.fromisoformat(h["start_time"]) for h in body["histories"]]
    assert starts == sorted(starts, reverse=True)
    assert all(s.utcoffset() in (timedelta(hours=10), timedelta(hours=11)) for s in starts)
    empty = (await driver.get(f"/app-api/{MICROS}/battery_backup_history.json")).json
    assert empty == {"total_records": 0, "total_backup": 0, "histories": []}
