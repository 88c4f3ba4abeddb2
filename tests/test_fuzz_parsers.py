"""Fuzzed payloads: every parser either returns sane data or raises the client's own error."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.enphase_enlighten.api import (
    BackupHistory,
    BatterySettings,
    BatteryStatus,
    ChargeMode,
    ChargerConfigItem,
    ChargerSummary,
    EnlightenError,
    EventsPage,
    EvStatus,
    GridControlCheck,
    GridStateResult,
    Inventory,
    InverterList,
    InverterStatus,
    LifetimeEnergy,
    LiveStream,
    OffGridStatus,
    ProfileDetails,
    ScheduleList,
    SessionHistoryPage,
    Site,
    SiteSettings,
    StormAlert,
)
from custom_components.enphase_enlighten.api.auth import parse_set_cookie, token_claims
from custom_components.enphase_enlighten.api.client import parse_retry_after
from custom_components.enphase_enlighten.api.models import (
    green_use_battery_from_payload,
    inverter_energy_from_payload,
)
from tests.strategies import AWKWARD_TEXT, damaged_payload, json_junk, load_example

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

type Parser = Callable[[Any], Any]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Pure parser tests: no Home Assistant instance is needed."""


# parser name -> (parser, example payloads: the seed's fixtures and spec examples)
PARSERS: dict[str, tuple[Parser, tuple[str, ...]]] = {
    "Site.list_from_payload": (
        Site.list_from_payload,
        ("search_sites.json", "1.1_search_sites.json"),
    ),
    "EvStatus.from_payload": (
        EvStatus.from_payload,
        ("ev_status.json", "ev_status_legacy.json", "2.1_status.json", "2.1_status_legacy.json"),
    ),
    "ChargerSummary.list_from_payload": (
        ChargerSummary.list_from_payload,
        ("ev_summary_list.json", "2.2_summary_list.json"),
    ),
    "ChargerSummary.one_from_payload": (
        ChargerSummary.one_from_payload,
        ("ev_charger_summary.json", "2.2_summary_one.json"),
    ),
    "LiveStream.from_payload": (
        LiveStream.from_payload,
        ("live_stream_start.json", "2.3_start_live_stream.json"),
    ),
    "ChargerConfigItem.list_from_payload": (
        ChargerConfigItem.list_from_payload,
        ("ev_charger_config_read.json", "2.5_config_read.json", "2.5_config_write.json"),
    ),
    "SessionHistoryPage.from_payload": (
        SessionHistoryPage.from_payload,
        ("session_history.json", "2.7_history.json"),
    ),
    "LifetimeEnergy.from_payload": (
        LifetimeEnergy.from_payload,
        ("lifetime_energy.json", "2.8_lifetime_energy.json"),
    ),
    "Inventory.from_payload": (Inventory.from_payload, ("devices.json", "2.9_devices.json")),
    "EventsPage.from_payload": (EventsPage.from_payload, ("events.json", "2.10_events.json")),
    "BackupHistory.from_payload": (
        BackupHistory.from_payload,
        ("battery_backup_history.json", "2.11_backup_history.json"),
    ),
    "GridControlCheck.from_payload": (
        GridControlCheck.from_payload,
        ("grid_control_check.json", "2.12_grid_control_check.json"),
    ),
    "GridStateResult.from_payload": (
        GridStateResult.from_payload,
        ("grid_state.json", "2.12.3_grid_state.json"),
    ),
    "OffGridStatus.from_payload": (
        OffGridStatus.from_payload,
        ("off_grid_status.json", "2.12.5_off_grid.json"),
    ),
    "InverterList.from_payload": (
        InverterList.from_payload,
        ("inverters.json", "2.13_inverters.json"),
    ),
    "inverter_energy_from_payload": (
        inverter_energy_from_payload,
        (
            "inverter_energy_day.json",
            "inverter_energy_lifetime.json",
            "2.14_inverter_energy_day.json",
            "2.14_inverter_energy_lifetime.json",
        ),
    ),
    "InverterStatus.map_from_payload": (
        InverterStatus.map_from_payload,
        ("inverter_status.json", "2.15_inverter_status.json"),
    ),
    "BatteryStatus.from_payload": (
        BatteryStatus.from_payload,
        ("battery_status.json", "2.16_battery_status.json"),
    ),
    "ChargeMode.from_payload": (
        ChargeMode.from_payload,
        ("charge_mode.json", "4.1_preference.json"),
    ),
    "green_use_battery_from_payload": (
        green_use_battery_from_payload,
        ("green_settings.json", "4.3_green_settings.json"),
    ),
    "ScheduleList.from_payload": (
        ScheduleList.from_payload,
        ("schedules.json", "4.4_schedules.json"),
    ),
    "SiteSettings.from_payload": (
        SiteSettings.from_payload,
        ("site_settings.json", "5.2_site_settings.json"),
    ),
    "ProfileDetails.from_payload": (
        ProfileDetails.from_payload,
        ("profile.json", "5.3_profile.json"),
    ),
    "BatterySettings.from_payload": (
        BatterySettings.from_payload,
        ("battery_settings.json", "5.5_battery_settings.json"),
    ),
    "StormAlert.from_payload": (
        StormAlert.from_payload,
        ("storm_alert.json", "5.6_storm_alert.json"),
    ),
}

CASES = [(name, example) for name, (_, examples) in PARSERS.items() for example in examples]


# Fields that carry the cloud's JSON through unparsed (echoed back on writes).
RAW_FIELDS = frozenset({"config", "alerts", "evse_devices"})


def _non_finite(value: Any, path: str = "") -> list[str]:
    """Paths of NaN/inf floats anywhere in a parsed result (models promise none)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "<value>"]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {
            f.name: getattr(value, f.name)
            for f in dataclasses.fields(value)
            if f.name not in RAW_FIELDS
        }
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{path}[{i}]")]
    return []


def _parse(parser: Parser, payload: Any) -> Any:
    """Run the parser; the client's own errors are the only acceptable failure."""
    try:
        return parser(payload)
    except EnlightenError:
        return None


def test_every_parser_has_examples() -> None:
    """The examples exist and parse cleanly, so the fuzzing starts from real shapes."""
    for name, example in CASES:
        parser = PARSERS[name][0]
        assert parser(load_example(example)) is not None, (name, example)


@pytest.mark.parametrize(("name", "example"), CASES, ids=[f"{n}-{e}" for n, e in CASES])
@FUZZ
@given(data=st.data())
def test_damaged_payloads(name: str, example: str, data: st.DataObject) -> None:
    """Dropped keys, nulls, wrong types, huge/NaN numbers, unicode: no foreign exception."""
    parser = PARSERS[name][0]
    payload = data.draw(damaged_payload(load_example(example)), label="payload")
    result = _parse(parser, payload)
    assert _non_finite(result) == []


@pytest.mark.parametrize("name", list(PARSERS))
@FUZZ
@given(payload=json_junk())
def test_arbitrary_json(name: str, payload: Any) -> None:
    """Any JSON value at all is either parsed or refused with InvalidResponse."""
    _parse(PARSERS[name][0], payload)


@FUZZ
@given(header=st.one_of(st.text(max_size=80), st.sampled_from(AWKWARD_TEXT)))
def test_header_parsers(header: str) -> None:
    """Set-Cookie, Retry-After and JWT parsing never raise on odd input."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    parsed = parse_set_cookie(header, now)
    assert parsed is None or isinstance(parsed[0], str)
    delay = parse_retry_after(header, now)
    assert delay is None or (math.isfinite(delay) and delay >= 0)
    assert isinstance(token_claims(header), dict)
