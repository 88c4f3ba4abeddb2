"""Unit tests of the API models, from the spec's example payloads and drifted shapes."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custom_components.enphase_enlighten.api import (
    BackupHistory,
    BatterySettings,
    BatteryStatus,
    ChargeMode,
    ChargerConfigItem,
    ChargerSummary,
    EventsPage,
    EvStatus,
    GridControlCheck,
    GridStateResult,
    InvalidResponse,
    Inventory,
    InverterList,
    InverterStatus,
    LifetimeEnergy,
    LiveStream,
    OffGridStatus,
    ProfileDetails,
    ScheduleList,
    ScheduleSlot,
    SessionHistoryPage,
    Site,
    SiteSettings,
    StormAlert,
    green_use_battery_from_payload,
    inverter_energy_from_payload,
    session_energy_kwh,
)

PAYLOADS = Path(__file__).parent / "fixtures" / "payloads"


def load(name: str) -> Any:
    """Load one example payload."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


# -- sites and EV -----------------------------------------------------------------------


def test_sites() -> None:
    """Site ids become strings and titles are kept."""
    sites = Site.list_from_payload(load("search_sites"))
    assert sites == [Site(site_id="1234567", title="Main Site", favourite=False)]
    assert sites[0].name == "Main Site"
    assert Site(site_id="42").name == "42"
    bare = Site.list_from_payload([{"id": 1}, {"title": "no id"}, "junk"])
    assert [s.site_id for s in bare] == ["1"]
    with pytest.raises(InvalidResponse):
        Site.list_from_payload({"sites": None})
    with pytest.raises(InvalidResponse):
        Site.list_from_payload("html")


def test_ev_status_modern() -> None:
    """The meta/data shape with connectors is read."""
    status = EvStatus.from_payload(load("ev_status"))
    assert not status.legacy
    assert status.timezone == "Region/City"
    assert status.server_time == datetime.fromtimestamp(1761456789.123, UTC)
    charger = status.chargers[0]
    assert charger.sn == "EV9876543210"
    assert status.get("EV9876543210") is charger
    assert status.get("nope") is None
    assert charger.plugged_in is True
    assert charger.charging is True
    assert charger.connector_status == "CHARGING"
    assert charger.status_info == "EVConnected"
    assert charger.status_reason is None
    assert charger.dlb_active is False
    assert charger.safe_limit_state == 1
    assert charger.last_reported == datetime(2025, 10, 25, 1, 12, 5, tzinfo=UTC)
    assert charger.offline_at is not None
    assert charger.mode == 0
    assert charger.commissioned is True
    assert charger.off_grid == "ON_GRID"
    session = charger.session
    assert session.energy_kwh == pytest.approx(3.54211)
    assert session.miles == 14.35
    assert session.cost is None
    assert session.charge_level == 32
    assert session.started_at == datetime.fromtimestamp(1761456500, UTC)
    assert session.plug_in_at is not None
    assert session.plug_out_at is None


def test_ev_status_legacy() -> None:
    """The flat evChargerData shape is read; small e_c is already kWh."""
    status = EvStatus.from_payload(load("ev_status_legacy"))
    assert status.legacy
    charger = status.chargers[0]
    assert charger.connector_status == "SUSPENDED_EV"
    assert charger.plugged_in is True
    assert charger.session.energy_kwh == 12.5
    assert charger.session.started_at == datetime.fromtimestamp(1761450000, UTC)
    assert charger.dlb_active is None


def test_ev_status_drift() -> None:
    """Entries without a serial are skipped; wrong types become None."""
    payload = {
        "data": {
            "chargers": [
                {"name": "no serial"},
                {
                    "sn": 123,
                    "connected": "yes",
                    "pluggedIn": None,
                    "charging": "bogus",
                    "session_d": "oops",
                    "connectors": [{"pluggedIn": False, "dlbActive": 1}],
                },
                "junk",
            ]
        }
    }
    status = EvStatus.from_payload(payload)
    assert [c.sn for c in status.chargers] == ["123"]
    charger = status.chargers[0]
    assert charger.connected is True
    assert charger.plugged_in is False
    assert charger.charging is None
    assert charger.dlb_active is True
    assert charger.session.energy_kwh is None
    assert EvStatus.from_payload({"data": {"chargers": []}}).chargers == []
    assert EvStatus.from_payload({"data": []}).chargers == []
    with pytest.raises(InvalidResponse):
        EvStatus.from_payload([])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3542.11, 3.54211), (12.5, 12.5), (200, 200.0), (201, 0.201), (-3, None), ("x", None)],
)
def test_session_energy(value: object, expected: float | None) -> None:
    """e_c is Wh above 200, else kWh."""
    result = session_energy_kwh(value)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_ev_summary() -> None:
    """List and single summary payloads."""
    summaries = ChargerSummary.list_from_payload(load("ev_summary_list"))
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary.serial == "EV1234567890"
    assert (summary.charge_min, summary.charge_max, summary.charge_granularity) == (6, 32, 1)
    assert summary.dlb_enabled is True
    assert summary.operating_voltage == 240.0
    assert summary.supports_use_battery is True
    one = ChargerSummary.one_from_payload(load("ev_charger_summary"))
    assert one.operating_voltage == 230.0
    assert one.is_connected is True
    assert one.status == "NORMAL"
    assert one.sku == "IQ-EVSE-EXAMPLE-0000"
    assert one.processor_board_version == "2.0.713.0"
    assert one.last_reported == datetime(2025, 1, 25, 9, 9, 1, 943000, tzinfo=UTC)
    assert ChargerSummary.list_from_payload({"data": []}) == []
    assert len(ChargerSummary.list_from_payload(load("ev_charger_summary"))) == 1
    with pytest.raises(InvalidResponse):
        ChargerSummary.one_from_payload({"data": {"displayName": "x"}})


def test_live_stream_and_config() -> None:
    """Live stream answer and session auth settings."""
    stream = LiveStream.from_payload(load("live_stream_start"))
    assert stream.status == "accepted"
    assert stream.duration_s == 900
    assert stream.topics == ["evse/<sn>/status"]
    items = ChargerConfigItem.list_from_payload(load("ev_charger_config_read"))
    assert [(i.key, i.enabled, i.pending) for i in items] == [
        ("rfidSessionAuthentication", False, False),
        ("sessionAuthentication", False, False),
    ]
    update = ChargerConfigItem.list_from_payload(load("ev_charger_config_update"))
    assert update[0].pending
    assert update[0].requested_value == "enabled"
    assert ChargerConfigItem.list_from_payload([{"key": "k", "value": "enabled"}])[0].enabled


def test_session_history() -> None:
    """History rows are read with kWh, seconds and dates."""
    page = SessionHistoryPage.from_payload(load("session_history"))
    assert page.has_more
    assert page.start_date == date(2022, 8, 10)
    assert page.end_date == date(2025, 10, 16)
    session = page.sessions[0]
    assert session.energy_kwh == 29.94
    assert session.active_charge_time_s == 15284
    assert session.session_id == "1700000001"
    assert session.start is not None and session.end is not None
    assert session.end > session.start
    assert session.cost_state == "COST_CALCULATED"
    empty = SessionHistoryPage.from_payload({"data": {"result": [], "hasMore": False}})
    assert empty.sessions == [] and not empty.has_more


def test_charge_mode() -> None:
    """The enabled mode is the active one."""
    mode = ChargeMode.from_payload(load("charge_mode"))
    assert mode.mode == "MANUAL_CHARGING"
    assert mode.enabled == {
        "MANUAL_CHARGING": True,
        "SCHEDULED_CHARGING": False,
        "GREEN_CHARGING": False,
    }
    green = ChargeMode.from_payload(
        {"data": {"modes": {"greenCharging": {"enabled": True}, "x": "junk"}}}
    )
    assert green.mode == "GREEN_CHARGING"
    assert ChargeMode.from_payload({"data": {"modes": {}}}).mode is None


def test_green_settings() -> None:
    """The use-battery flag is found by name."""
    assert green_use_battery_from_payload(load("green_settings")) is True
    assert green_use_battery_from_payload({"data": []}) is False
    with pytest.raises(InvalidResponse):
        green_use_battery_from_payload([])


def test_schedules_round_trip() -> None:
    """Every known slot field survives to_payload unchanged."""
    payload = load("schedules")
    schedules = ScheduleList.from_payload(payload)
    assert schedules.server_timestamp == "2025-01-01T00:00:00.000+00:00"
    assert schedules.config["isOffPeakEligible"] is True
    assert len(schedules.slots) == 2
    for slot, raw in zip(schedules.slots, payload["data"]["slots"], strict=True):
        assert slot.to_payload() == raw
    custom = schedules.slots[0]
    assert custom.start_time == "23:00"
    assert custom.days == [1, 2, 3, 4, 5, 6, 7]


def test_schedule_slot_normalisation() -> None:
    """Ids become strings, bools/ints are coerced, OFF_PEAK days default to all."""
    slot = ScheduleSlot.from_payload(
        {
            "id": 17,
            "scheduleType": "OFF_PEAK",
            "chargingLevel": "32",
            "remindFlag": 1,
            "enabled": "true",
            "days": None,
        }
    )
    body = slot.to_payload()
    assert body["id"] == "17"
    assert body["chargingLevel"] == 32
    assert body["remindFlag"] is True
    assert body["enabled"] is True
    assert body["days"] == [1, 2, 3, 4, 5, 6, 7]
    odd = ScheduleSlot.from_payload({"id": None, "days": [3, 3, 9, "1"]})
    assert odd.days == [3, 1]
    assert odd.to_payload()["id"] is None
    assert ScheduleSlot(id="a", schedule_type="CUSTOM").to_payload()["days"] == []


# -- site, energy, inventory ------------------------------------------------------------


def test_lifetime_energy() -> None:
    """Every non-empty flow is a series; empty flows are absent."""
    energy = LifetimeEnergy.from_payload(load("lifetime_energy"))
    assert energy.start_date == date(2023, 8, 10)
    assert energy.last_report == datetime.fromtimestamp(1765442709, UTC)
    assert energy.update_pending is False
    assert "heatpump" not in energy.series
    assert "water_heater" not in energy.flows
    assert energy.series["production"] == [12000, 8300, 9000, 26000]
    assert "import" not in energy.series  # all null: the site lacks the flow
    assert energy.bucket_dates()[-1] == date(2023, 8, 13)
    assert energy.daily("evse") == {
        date(2023, 8, 10): 0.0,
        date(2023, 8, 11): 0.0,
    }
    assert energy.latest() == 26000
    assert energy.latest("import") is None
    assert energy.daily("import") == {}
    assert energy.total() == 55300
    assert energy.total("import") is None
    assert energy.total("heatpump") is None


def test_lifetime_energy_drift() -> None:
    """Bad values become None; a missing start date is an invalid response."""
    energy = LifetimeEnergy.from_payload(
        {
            "start_date": "2024-01-01",
            "production": [1, -2, "x", math.nan, None, "5"],
            "charge": [None, -1, "x"],
        }
    )
    assert energy.flows == ["production"]
    assert energy.series["production"] == [1.0, None, None, None, None, 5.0]
    with pytest.raises(InvalidResponse):
        LifetimeEnergy.from_payload({"production": [1]})
    with pytest.raises(InvalidResponse):
        LifetimeEnergy.from_payload("nope")


def test_inventory() -> None:
    """Typed buckets are grouped; metadata objects give the site date."""
    inventory = Inventory.from_payload(load("devices"))
    assert inventory.site_date == date(2026, 2, 8)
    assert [d.serial for d in inventory.gateways] == ["GW0000000000"]
    assert inventory.gateways[0].firmware == "D8.X.XXXX"
    assert inventory.gateways[0].connected is True
    assert [d.serial for d in inventory.batteries] == ["BT0000000001"]
    assert inventory.batteries[0].warranty_end == date(2040, 9, 18)
    assert [d.serial for d in inventory.controllers] == ["SC0000000000"]
    assert inventory.relays == inventory.meters == inventory.chargers == inventory.others == []
    assert len(inventory.all_devices) == 3
    mixed = Inventory.from_payload(
        {
            "result": [
                {"type": "meter", "devices": [{"serial_number": "M1"}]},
                {"type": "iqevse", "devices": [{"serial_number": "EV1"}]},
                {"type": "mystery", "devices": [{"serial_number": "X1"}, "junk"]},
                {"type": "enrelay", "devices": []},
                {"devices": [{"serial_number": "ignored"}]},
                "junk",
            ]
        }
    )
    assert [d.serial for d in mixed.meters] == ["M1"]
    assert [d.serial for d in mixed.chargers] == ["EV1"]
    assert [d.device_type for d in mixed.others] == ["mystery"]
    assert mixed.site_date is None
    with pytest.raises(InvalidResponse):
        Inventory.from_payload({"result": {}})


def test_events() -> None:
    """Events and the cursor are read."""
    page = EventsPage.from_payload(load("events"))
    assert page.next_cursor == "1769999999:EV0000000000:795:-1"
    assert page.page_size == 30
    event = page.events[0]
    assert event.event_key == "evse_start_charging"
    assert event.date == datetime.fromtimestamp(1770000100, UTC)
    assert event.devices_impacted == ["IQ EV Charger (SNo. EV0000000000)"]
    assert event.standing is False
    assert EventsPage.from_payload({"events": [], "next": None}).next_cursor is None


def test_backup_history() -> None:
    """Durations are seconds; end = start + duration."""
    history = BackupHistory.from_payload(load("battery_backup_history"))
    assert history.total_records == 4
    assert history.total_backup_s == 307
    first = history.events[0]
    assert first.duration_s == 121
    assert first.end - first.start == timedelta(seconds=121)
    drift = BackupHistory.from_payload({"histories": [{"start_time": None}, {"start_time": 1}]})
    assert len(drift.events) == 1
    assert drift.events[0].duration_s == 0


def test_grid_models() -> None:
    """Grid check flags, state result and outage context."""
    check = GridControlCheck.from_payload(load("grid_control_check"))
    assert check.allowed
    assert check.blocked_reasons == []
    blocked = GridControlCheck.from_payload({"disableGridControl": True, "activeDownload": 1})
    assert not blocked.allowed
    assert blocked.blocked_reasons == ["disable_grid_control", "active_download"]
    result = GridStateResult.from_payload(load("grid_state"))
    assert result.request_id == "req_xxxxxxxxxxxxxxxxxxxxxxxx"
    assert result.context_ids == ["1700000000000000"]
    status = OffGridStatus.from_payload(load("off_grid_status"))
    assert status.is_grid_outage is False
    assert status.show_grid_connect is True
    assert status.has_battery is True


def test_inverters() -> None:
    """Inverter cards, energy map and status map (micros only)."""
    listing = InverterList.from_payload(load("inverters"))
    assert listing.total == 16
    assert listing.normal_count == 16
    assert [i.array_name for i in listing.inverters] == ["North", "West"]
    assert listing.inverters[0].firmware == "520-00082-r01-v04.30.32"
    no_total = InverterList.from_payload({"inverters": [{"serial_number": "1"}, {}]})
    assert no_total.total == 1
    assert inverter_energy_from_payload(load("inverter_energy_day"))["67XXXXXXXX13"] == 556
    assert inverter_energy_from_payload({"production": {"a": -1, "b": "3", "c": None}}) == {
        "b": 3.0
    }
    with pytest.raises(InvalidResponse):
        inverter_energy_from_payload({"production": []})
    statuses = InverterStatus.map_from_payload(load("inverter_status"))
    assert statuses["67XXXXXXXX13"].serial == "12XXXXXXXX62"
    assert statuses["67XXXXXXXX13"].device_id == "620042"
    mixed = InverterStatus.map_from_payload(
        {
            "1": {"serialNum": "A", "type": "IQ8M"},
            "2": {"serialNum": "B", "type": "IQ Battery 5P"},
            "3": {"serialNum": "C", "type": "Encharge PCU"},
            "4": {"type": "IQ7"},
            "5": "junk",
            "6": {"serialNum": "D"},
        }
    )
    assert sorted(mixed) == ["1", "6"]


# -- battery ----------------------------------------------------------------------------


def test_battery_status() -> None:
    """Percent strings become floats; per-battery entries are read."""
    status = BatteryStatus.from_payload(load("battery_status"))
    assert status.current_charge_pct == 48.0
    assert status.available_energy_kwh == 4.75
    assert status.max_capacity_kwh == 10.0
    assert status.included_count == 2
    assert len(status.storages) == len(status.included) == 2
    storage = status.storages[1]
    assert storage.current_charge_pct == 47.0
    assert storage.soh_pct == 100.0
    assert storage.cycle_count == 115
    assert storage.last_report == datetime.fromtimestamp(1770000011, UTC)
    drift = BatteryStatus.from_payload(
        {
            "current_charge": "-5%",
            "available_energy": "NaN",
            "storages": [{"serial_number": "B1", "excluded": True}, {"id": 3}],
        }
    )
    assert drift.current_charge_pct is None
    assert drift.available_energy_kwh is None
    assert drift.included == []
    with pytest.raises(InvalidResponse):
        BatteryStatus.from_payload(["x"])


def test_site_settings() -> None:
    """Capabilities and feature flags."""
    settings = SiteSettings.from_payload(load("site_settings"))
    assert settings.has_encharge and settings.has_enpower
    assert settings.timezone == "Region/City"
    assert settings.show_storm_guard
    assert settings.battery_grid_mode == "ImportExport"
    assert settings.feature_flags == {
        "HEMS_EV_Custom_Schedule": True,
        "Disable_Storm_Guard_Grid_Charging": False,
    }
    assert settings.is_owner is True
    assert settings.site_status == "normal"
    bare = SiteSettings.from_payload({"data": {}})
    assert not bare.has_encharge
    assert bare.feature_flags == {}


def test_profile() -> None:
    """Profile, reserve, pending change and cfg control."""
    details = ProfileDetails.from_payload(load("profile"))
    assert details.profile == "self-consumption"
    assert details.reserve == 20.0
    assert details.storm_guard_state == "disabled"
    assert not details.storm_guard_enabled
    assert details.operation_mode_sub_type == "prioritize-energy"
    assert details.evse_storm_enabled is False
    assert not details.has_pending_change
    assert details.cfg_control.force_schedule_supported is True
    assert details.evse_devices[0]["chargeMode"] == "MANUAL"
    pending = ProfileDetails.from_payload(
        {
            "data": {
                "profile": "self-consumption",
                "batteryBackupPercentage": 20,
                "stormGuardState": "enabled",
                "requestedConfig": {"profile": "backup_only", "batteryBackupPercentage": 100},
            }
        }
    )
    assert pending.has_pending_change
    assert pending.pending_profile == "backup_only"
    assert pending.pending_reserve == 100.0
    assert pending.storm_guard_enabled


def test_battery_settings() -> None:
    """Charge from grid, schedule minutes and shutdown level."""
    settings = BatterySettings.from_payload(load("battery_settings"))
    assert settings.charge_from_grid is True
    assert settings.charge_from_grid_schedule_enabled is True
    assert (settings.charge_begin_minutes, settings.charge_end_minutes) == (120, 300)
    assert (settings.very_low_soc, settings.very_low_soc_min, settings.very_low_soc_max) == (
        15.0,
        10.0,
        25.0,
    )
    assert settings.accepted_itc_disclaimer == "<timestamp>"
    assert settings.hide_charge_from_grid is False
    assert settings.use_battery_for_self_consumption is True
    drift = BatterySettings.from_payload({"data": {"chargeBeginTime": 5000}})
    assert drift.charge_begin_minutes is None


def test_storm_alert() -> None:
    """Alerts list and flags."""
    alert = StormAlert.from_payload(load("storm_alert"))
    assert alert.critical_alerts_override is True
    assert alert.alerts == []
    assert not alert.active
    active = StormAlert.from_payload({"stormAlerts": [{"id": 1}], "criticalAlertActive": False})
    assert active.active
