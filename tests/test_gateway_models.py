"""Parsing of gateway payloads into the frozen models, and the error mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from pyenphase.exceptions import (
    EnvoyAuthenticationError,
    EnvoyAuthenticationRequired,
    EnvoyClientClosedError,
    EnvoyCommunicationError,
    EnvoyError,
    EnvoyFirmwareCheckError,
    EnvoyFirmwareFatalCheckError,
    EnvoyHTTPStatusError,
    EnvoyPoorDataQuality,
    EnvoyProbeFailed,
)
from pyenphase.models.acb import EnvoyACBPower, EnvoyBatteryAggregate
from pyenphase.models.encharge import EnvoyEnchargeAggregate
from pyenphase.models.enpower import EnvoyEnpower
from pyenphase.models.envoy import EnvoyData
from pyenphase.models.system_consumption import EnvoySystemConsumption

from custom_components.enphase_enlighten.gateway import (
    GatewayAuthError,
    GatewayData,
    GatewayError,
    GatewayUnavailable,
    LocalEnergyTotals,
    RelayStatus,
    parse_inventory,
    url_host,
)
from custom_components.enphase_enlighten.gateway.client import translate_errors
from custom_components.enphase_enlighten.gateway.models import (
    battery_from,
    build_gateway_data,
    epoch_to_datetime,
    grid_from,
)


def enpower(oper: str) -> EnvoyEnpower:
    return EnvoyEnpower(
        grid_mode="multimode-offgrid",
        admin_state=24,
        admin_state_str="ENPWR_STATE_OPER_OPEN",
        comm_level_2_4_ghz=5,
        comm_level_sub_ghz=5,
        communicating=True,
        firmware_loaded_date=0,
        firmware_version="1.2",
        installed_date=0,
        last_report_date=0,
        mains_admin_state="open",
        mains_oper_state=oper,
        operating=None,
        part_number="830-01760-r46",
        serial_number="1",
        temperature=80,
        temperature_unit="F",
        zigbee_dongle_fw_version=None,
    )


def encharge_aggregate(capacity: int = 10000) -> EnvoyEnchargeAggregate:
    return EnvoyEnchargeAggregate(
        available_energy=4000,
        backup_reserve=1000,
        state_of_charge=40,
        reserve_state_of_charge=15,
        configured_reserve_state_of_charge=10,
        max_available_capacity=capacity,
    )


# -- batteries and grid ---------------------------------------------------------------------


def test_no_battery_data() -> None:
    assert battery_from(EnvoyData()) is None
    assert grid_from(EnvoyData()) is None


def test_ac_batteries_only() -> None:
    data = EnvoyData(
        acb_power=EnvoyACBPower(
            power=260, charge_wh=930, state_of_charge=25, state="discharging", batteries=3
        ),
        acb_inventory=cast("Any", {"ACB1": SimpleNamespace(percent_full=24)}),
    )
    battery = battery_from(data)
    assert battery is not None
    assert (battery.soc, battery.available_energy_wh, battery.reserve_soc) == (25, 930, None)
    assert dict(battery.per_battery_soc) == {"ACB1": 24}


def test_encharge_and_ac_batteries_combined_soc() -> None:
    data = EnvoyData(
        encharge_aggregate=encharge_aggregate(),
        battery_aggregate=EnvoyBatteryAggregate(
            available_energy=5000, state_of_charge=33, max_available_capacity=15000
        ),
    )
    battery = battery_from(data)
    assert battery is not None
    assert (battery.soc, battery.reserve_soc, battery.configured_reserve_soc) == (33, 15, 10)
    assert battery.capacity_wh == 10000


def test_controller_without_batteries_has_no_battery() -> None:
    assert battery_from(EnvoyData(encharge_aggregate=encharge_aggregate(capacity=0))) is None


@pytest.mark.parametrize(("oper", "on_grid"), [("closed", True), ("open", False), ("", None)])
def test_grid_state(oper: str, on_grid: bool | None) -> None:
    grid = grid_from(EnvoyData(enpower=enpower(oper)))
    assert grid is not None
    assert grid.on_grid is on_grid
    assert grid.mains_admin_state == "open" and grid.grid_mode == "multimode-offgrid"


def test_build_with_net_consumption_only() -> None:
    data = build_gateway_data(
        serial="1",
        firmware="8.3.5433",
        part_number=None,
        data=EnvoyData(
            system_net_consumption=EnvoySystemConsumption(
                watt_hours_lifetime=10, watt_hours_last_7_days=5, watt_hours_today=1, watts_now=-3
            )
        ),
        devices={},
        relays={},
    )
    assert data.production is None and data.consumption is None
    assert data.net_consumption == LocalEnergyTotals(-3, 1, 5, 10)
    assert data.metered
    assert not GatewayData(serial="1", firmware="5", part_number=None, production=None).metered


# -- inventory ------------------------------------------------------------------------------


def test_parse_inventory_tolerates_odd_shapes() -> None:
    payload = [
        "junk",
        {"type": "PCU"},
        {
            "type": "PCU",
            "devices": [
                "junk",
                {"serial_num": "", "producing": True},
                {"serial_num": "old", "admin_state": 0},
                {
                    "serial_num": 12345,
                    "producing": "yes",
                    "communicating": True,
                    "last_rpt_date": "1694554838",
                    "device_status": ["envoy.global.ok", 7],
                },
                {"serial_num": "p2", "device_status": "envoy.global.ok", "last_rpt_date": 0},
            ],
        },
        {"devices": [{"serial_num": "x1"}]},
    ]
    devices, relays = parse_inventory(payload)
    assert relays == {}
    assert set(devices) == {"12345", "p2", "x1"}
    first = devices["12345"]
    assert (first.producing, first.communicating, first.provisioned) == (None, True, None)
    assert first.last_report_at == datetime(2023, 9, 12, 21, 40, 38, tzinfo=UTC)
    assert first.status_codes == ("envoy.global.ok",)
    assert devices["p2"].status_codes == () and devices["p2"].last_report_at is None
    assert devices["x1"].device_type == "UNKNOWN"
    assert parse_inventory({"not": "a list"}) == ({}, {})


def test_parse_relay_variants() -> None:
    payload = [
        {
            "type": "NSRB",
            "devices": [
                {
                    "serial_num": "r1",
                    "relay": "CLOSED",
                    "line-count": "1",
                    "line1-connected": True,
                    "line2-connected": True,
                },
                {"serial_num": "r2"},
                {"serial_num": "r3", "relay": "open", "line-count": True, "line3-connected": False},
            ],
        }
    ]
    _, relays = parse_inventory(payload)
    assert relays["r1"] == RelayStatus("r1", True, "CLOSED", 1, True, None, None)
    assert relays["r2"] == RelayStatus("r2", None, None, None, None, None, None)
    assert relays["r3"].closed is False and relays["r3"].line_count is None
    assert relays["r3"].line3_connected is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1694554838, datetime(2023, 9, 12, 21, 40, 38, tzinfo=UTC)),
        ("1694554838", datetime(2023, 9, 12, 21, 40, 38, tzinfo=UTC)),
        (1694554838.0, datetime(2023, 9, 12, 21, 40, 38, tzinfo=UTC)),
        (0, None),
        (None, None),
        (True, None),
        ("soon", None),
    ],
)
def test_epoch_to_datetime(value: Any, expected: datetime | None) -> None:
    assert epoch_to_datetime(value) == expected


# -- error mapping and hosts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected", "status"),
    [
        (EnvoyAuthenticationError("bad token"), GatewayAuthError, None),
        (EnvoyAuthenticationRequired("login"), GatewayAuthError, None),
        (EnvoyFirmwareFatalCheckError(500, "Timeout connecting"), GatewayUnavailable, None),
        (EnvoyFirmwareCheckError(503, "busy"), GatewayUnavailable, 503),
        (EnvoyFirmwareCheckError(404, "nope"), GatewayError, 404),
        (EnvoyHTTPStatusError(502, "/x"), GatewayUnavailable, 502),
        (EnvoyHTTPStatusError(429, "/x"), GatewayUnavailable, 429),
        (EnvoyHTTPStatusError(400, "/x"), GatewayError, 400),
        (EnvoyCommunicationError("down"), GatewayUnavailable, None),
        (EnvoyPoorDataQuality("zeros"), GatewayUnavailable, None),
        (EnvoyProbeFailed("no production"), GatewayUnavailable, None),
        (EnvoyClientClosedError("closed"), GatewayError, None),
        (EnvoyError(), GatewayError, None),
        (aiohttp.ServerDisconnectedError(), GatewayUnavailable, None),
        (TimeoutError(), GatewayUnavailable, None),
    ],
)
def test_translate_errors(
    raised: BaseException, expected: type[GatewayError], status: int | None
) -> None:
    with pytest.raises(GatewayError) as err, translate_errors():
        raise raised
    assert type(err.value) is expected
    assert err.value.status == status
    assert err.value.__cause__ is raised
    assert str(err.value)


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), translate_errors():
        raise KeyError("bug")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("envoy.local:8443", "envoy.local:8443"),
        (" fe80::1 ", "[fe80::1]"),
        ("[fe80::1]:443", "[fe80::1]:443"),
    ],
)
def test_url_host(host: str, expected: str) -> None:
    assert url_host(host) == expected
