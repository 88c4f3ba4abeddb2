"""Sensor platform: snapshots per scenario, values, partial failures, monotonic energy."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.enphase_enlighten.api import ChargerSession, ChargerStatus
from custom_components.enphase_enlighten.coordinator.energy import EnergyData
from custom_components.enphase_enlighten.descriptions.common import enum_value
from custom_components.enphase_enlighten.descriptions.sensor import (
    DEVICE_STATUSES,
    EV_MODERN_SENSORS,
    EV_SENSORS,
    GRID_MODES,
    PROFILES,
    SITE_ENERGY_SENSORS,
    inverter_reading,
)
from tests.entity_setup import (
    BATTERY_OR_EV_PATHS,
    SCENARIOS,
    SITE_LEGACY,
    SITE_MICROS,
    advance,
    all_entities_enabled,
    entity_ids,
    only_platforms,
    setup_site,
    state_value,
)
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

EV_SN = "EV0000000001"
CHARGER = "sensor.iq_ev_charger_000001"


@pytest.fixture(autouse=True)
def sensors_only() -> Iterator[None]:
    """Load the sensor platform only."""
    with only_platforms(Platform.SENSOR):
        yield


def _float(hass: HomeAssistant, entity_id: str) -> float:
    return float(state_value(hass, entity_id))


@pytest.mark.parametrize("site_id", SCENARIOS)
async def test_snapshots(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    site_id: str,
) -> None:
    """Every sensor of each scenario: registry entry and state."""
    with all_entities_enabled():
        entry = await setup_site(hass, sim, site_id)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_entity_counts_and_defaults(hass: HomeAssistant, sim: EnlightenSimulator) -> None:
    """Noisy diagnostics start disabled; settings with a control have no sensor."""
    entry = await setup_site(hass, sim)
    registry = er.async_get(hass)
    entries = er.async_entries_for_config_entry(registry, entry.entry_id)
    disabled = {e.entity_id for e in entries if e.disabled_by is not None}
    assert "sensor.iq_ev_charger_000001_last_reported" in disabled
    sensors = {e.unique_id for e in entries if e.domain == "sensor"}
    for key in ("battery_profile", "battery_reserve", "shutdown_level", "charge_from_grid_start"):
        assert f"1000001_{key}" not in sensors
    assert "sensor.iq8m_001001_last_reported" in disabled
    assert "sensor.iq_ev_charger_000001_connector_status" not in disabled
    assert hass.states.get("sensor.iq_ev_charger_000001_last_reported") is None
    # 16 microinverters x 4, 2 batteries x 5, gateway/meters/controller x 2, ...
    assert len([e for e in entries if e.unique_id.startswith("12100000")]) == 64


async def test_ev_sensor_values(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Charging moves the connector status, session energy and charge time."""
    entry = await setup_site(hass, sim)
    assert state_value(hass, f"{CHARGER}_connector_status") == "suspended_evse"
    assert state_value(hass, f"{CHARGER}_charging_time") == STATE_UNKNOWN
    assert state_value(hass, f"{CHARGER}_maximum_current") == "32.0"
    state = hass.states.get(f"{CHARGER}_session_cost")
    assert state is not None
    assert state.attributes["unit_of_measurement"] == hass.config.currency

    charger = sim.site(1000001).chargers[EV_SN]
    charger.charging = True
    sim.tick()
    await advance(hass, sim, freezer, 1800)
    ev = entry.runtime_data.ev
    assert ev is not None
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_value(hass, f"{CHARGER}_connector_status") == "charging"
    assert _float(hass, f"{CHARGER}_charging_time") == pytest.approx(30, abs=1)
    assert _float(hass, f"{CHARGER}_session_energy") > 0
    assert _float(hass, f"{CHARGER}_range_added") > 0

    charger.plugged_in = False
    await advance(hass, sim, freezer, 60)
    await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_value(hass, f"{CHARGER}_connector_status") == "available"
    # The finished session keeps its length (plug-in to plug-out).
    assert _float(hass, f"{CHARGER}_session_duration") > 30


async def test_legacy_charger_has_no_modern_only_sensors(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """The legacy status shape lacks connector details, so those sensors do not exist."""
    entry = await setup_site(hass, sim, SITE_LEGACY)
    sensors = [e for e in entity_ids(hass, entry, "sensor") if "barn_charger" in e]
    assert sensors == [
        "sensor.barn_charger_charging_time",
        "sensor.barn_charger_connector_status",
        "sensor.barn_charger_last_session_cost",
        "sensor.barn_charger_last_session_duration",
        "sensor.barn_charger_last_session_end",
        "sensor.barn_charger_last_session_energy",
        "sensor.barn_charger_last_session_range_added",
        "sensor.barn_charger_lifetime_energy",
        "sensor.barn_charger_maximum_current",
        "sensor.barn_charger_session_energy",
    ]
    assert state_value(hass, "sensor.barn_charger_connector_status") == "charging"
    assert _float(hass, "sensor.barn_charger_session_energy") < 200


async def test_micros_only_site_makes_no_battery_or_ev_requests(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Neither setup nor hours of polling touch a battery or EV endpoint."""
    entry = await setup_site(hass, sim, SITE_MICROS)
    for _ in range(3):
        await advance(hass, sim, freezer, 3601)
    paths = [r.path for r in sim.requests]
    assert any("inverter_status_x" in p for p in paths)
    assert [p for p in paths if any(part in p for part in BATTERY_OR_EV_PATHS)] == []
    sensors = entity_ids(hass, entry, "sensor")
    assert not [e for e in sensors if "battery" in e or "charger" in e or "backup" in e]
    assert "sensor.cabin_lifetime_production" in sensors
    assert "sensor.cabin_lifetime_consumption" not in sensors


async def test_failing_optional_endpoint_keeps_others_available(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """A battery status outage at setup leaves profile, energy and EV sensors working."""
    sim.inject_fault("battery_status.json", status=503)
    sim.inject_fault("inverter_data_x", status=503)
    entry = await setup_site(hass, sim)
    assert state_value(hass, "sensor.demo_home_battery_level") == STATE_UNAVAILABLE
    assert state_value(hass, "sensor.iq_battery_5p_000001_battery_level") == STATE_UNAVAILABLE
    assert state_value(hass, "sensor.iq8m_001001_energy_today") == STATE_UNAVAILABLE
    assert state_value(hass, "sensor.iq8m_001001_status") == "normal"
    assert state_value(hass, "sensor.demo_home_active_storm_alerts") == "0"
    assert _float(hass, "sensor.demo_home_lifetime_production") > 0
    assert state_value(hass, f"{CHARGER}_connector_status") == "suspended_evse"

    sim.clear_faults()
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await hass.async_block_till_done()
    assert _float(hass, "sensor.demo_home_battery_level") == 48
    assert _float(hass, "sensor.iq_battery_5p_000001_battery_level") == 48


async def test_failing_ev_endpoint_keeps_site_sensors(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """The EV coordinator failing makes only the charger's status sensors unavailable."""
    entry = await setup_site(hass, sim)
    ev = entry.runtime_data.ev
    assert ev is not None
    sim.inject_fault("ev_chargers/status", status=503)
    for _ in range(3):
        await ev.async_refresh()
    await hass.async_block_till_done()
    assert state_value(hass, f"{CHARGER}_connector_status") == STATE_UNAVAILABLE
    assert state_value(hass, f"{CHARGER}_maximum_current") == "32.0"
    assert state_value(hass, "sensor.demo_home_battery_level") != STATE_UNAVAILABLE


ENERGY_KEYS = ("lifetime", "today", "energy_today", "lifetime_energy")


def _energy_states(hass: HomeAssistant, entry_entities: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for entity_id in entry_entities:
        state = hass.states.get(entity_id)
        if state is None or state.attributes.get("device_class") != "energy":
            continue
        values[entity_id] = float(state.state)
    return values


async def test_energy_sensors_never_decrease(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Lower, missing or NaN buckets never move an energy sensor down within a day."""
    entry = await setup_site(hass, sim)
    sensors = entity_ids(hass, entry, "sensor")
    before = _energy_states(hass, sensors)
    assert len(before) > 40
    energy = entry.runtime_data.energy

    today = energy.data.site_date.isoformat()
    broken = {
        "system_id": 1000001,
        "start_date": today,
        "production": [1.0],
        "consumption": ["NaN"],
        "import": [None],
        "evse": [-5],
    }
    sim.inject_fault("lifetime_energy", status=200, body=json.dumps(broken))
    sim.inject_fault("inverter_data_x", status=200, body='{"production": {}}')
    await energy.async_refresh()
    await hass.async_block_till_done()
    after = _energy_states(hass, sensors)
    assert after.keys() == before.keys()
    for entity_id, value in before.items():
        assert after[entity_id] >= value, entity_id
        assert not math.isnan(after[entity_id])

    # A late downward revision by the cloud does not lower the lifetime totals.
    sim.clear_faults()
    sim.site(1000001).revise_bucket(3, "production", 0)
    sim.site(1000001).revise_bucket(3, "consumption", 0)
    previous = after
    for _ in range(3):
        await advance(hass, sim, freezer, 901)
        current = _energy_states(hass, sensors)
        for entity_id, value in previous.items():
            assert current[entity_id] >= value, entity_id
        previous = current


async def test_site_energy_sensors_appear_when_the_flow_does(
    hass: HomeAssistant, sim: EnlightenSimulator
) -> None:
    """Without lifetime data at setup, the site energy sensors come later without a reload."""
    sim.inject_fault("lifetime_energy", status=503)
    entry = await setup_site(hass, sim, SITE_MICROS)
    assert hass.states.get("sensor.cabin_lifetime_production") is None
    sim.clear_faults()
    await entry.runtime_data.energy.async_refresh()
    await hass.async_block_till_done()
    assert _float(hass, "sensor.cabin_lifetime_production") > 0


async def test_battery_and_grid_values(
    hass: HomeAssistant, sim: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Storm alerts, backup history and battery figures."""
    site_state = sim.site(1000001)
    assert site_state.battery is not None
    site_state.battery.storm_alerts = [{"id": "a1", "type": "Severe Thunderstorm"}]
    site_state.battery.storages[1].status = "mystery"
    entry = await setup_site(hass, sim)
    state = hass.states.get("sensor.demo_home_active_storm_alerts")
    assert state is not None
    assert state.state == "1"
    assert state.attributes["alerts"] == [{"id": "a1", "type": "Severe Thunderstorm"}]
    assert state_value(hass, "sensor.demo_home_backup_events") == "4"
    assert _float(hass, "sensor.demo_home_total_backup_time") == pytest.approx(307 / 60)
    last = hass.states.get("sensor.demo_home_last_backup_start")
    assert last is not None
    assert last.attributes["duration_s"] == 121
    assert state_value(hass, "sensor.iq_battery_5p_000001_status") == "normal"
    # A status the integration does not know is shown as unknown, never as an error.
    assert state_value(hass, "sensor.iq_battery_5p_000002_status") == STATE_UNKNOWN
    assert state_value(hass, "sensor.demo_home_batteries_included") == "2"
    assert entry.runtime_data.site is not None


@pytest.mark.parametrize(
    ("payload", "events", "seconds"),
    [
        # The cloud's totals of the history it keeps.
        ({"total_records": 4, "total_backup": 307}, "4", 307),
        # Without them, the figures of the listed (windowed) events.
        ({}, "2", 195),
    ],
)
async def test_backup_figures_have_no_state_class(
    hass: HomeAssistant,
    sim: EnlightenSimulator,
    payload: dict[str, int],
    events: str,
    seconds: int,
) -> None:
    """Counts and sums over a history that forgets old events can drop: no statistics."""
    histories = [
        {"start_time": "2025-10-17T14:38:30+11:00", "duration": 121},
        {"start_time": "2025-10-16T18:30:09+11:00", "duration": 74},
    ]
    sim.inject_fault(
        "battery_backup_history",
        status=200,
        body=json.dumps(payload | {"histories": histories}),
    )
    await setup_site(hass, sim)
    count = hass.states.get("sensor.demo_home_backup_events")
    duration = hass.states.get("sensor.demo_home_total_backup_time")
    assert count is not None
    assert duration is not None
    assert count.state == events
    assert float(duration.state) == pytest.approx(seconds / 60)
    assert "state_class" not in count.attributes
    assert "state_class" not in duration.attributes


def test_enum_value() -> None:
    """Cloud enums map onto the option lists; unknown values become None."""
    assert enum_value("SUSPENDED_EV", ["suspended_ev"]) == "suspended_ev"
    assert enum_value("self-consumption", PROFILES) == "self_consumption"
    assert enum_value("ImportExport", GRID_MODES) == "import_export"
    assert enum_value("not_reporting", DEVICE_STATUSES) == "not_reporting"
    assert enum_value("Sideways", GRID_MODES) is None
    assert enum_value("", PROFILES) is None
    assert enum_value(None, PROFILES) is None


def test_descriptions_without_data() -> None:
    """Descriptions cope with a charger and energy data that report nothing."""
    bare = ChargerStatus(sn="EV1", session=ChargerSession())
    assert [d.value_fn(bare) for d in (*EV_SENSORS, *EV_MODERN_SENSORS)] == [None] * 10
    plugged = dt_util.utcnow() - timedelta(minutes=30)
    stale_unplug = ChargerStatus(
        sn="EV1",
        session=ChargerSession(plug_in_at=plugged, plug_out_at=plugged - timedelta(hours=1)),
    )
    duration = next(d for d in EV_MODERN_SENSORS if d.key == "session_duration")
    assert duration.value_fn(stale_unplug) == pytest.approx(30)
    empty = EnergyData(site_date=dt_util.now().date(), timezone="UTC")
    assert [d.value_fn(empty) for d in SITE_ENERGY_SENSORS] == [None] * 14
    assert inverter_reading(empty, "121000001001") is None
