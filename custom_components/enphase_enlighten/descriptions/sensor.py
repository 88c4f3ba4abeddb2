"""Sensor descriptions: what each sensor reads from its data source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfLength,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from ..api import (
    BackupHistory,
    BatterySettings,
    BatteryStatus,
    BatteryStorage,
    ChargerStatus,
    ChargerSummary,
    InventoryDevice,
    Inverter,
    InverterList,
    StormAlert,
)
from ..coordinator.energy import EnergyData, FlowTotals
from .common import EnlightenEntityDescription, enum_value

CONNECTOR_STATUSES = [
    "available",
    "preparing",
    "charging",
    "finishing",
    "suspended",
    "suspended_ev",
    "suspended_evse",
    "reserved",
    "unavailable",
    "faulted",
]
DEVICE_STATUSES = ["normal", "warning", "error", "not_reporting"]
PROFILES = ["self_consumption", "cost_savings", "backup_only"]
GRID_MODES = ["import_export", "import_only", "export_only"]

type SensorValue = StateType | datetime


@dataclass(frozen=True, kw_only=True)
class EnlightenSensorEntityDescription[SourceT](
    EnlightenEntityDescription[SourceT], SensorEntityDescription
):
    """A sensor reading ``value_fn`` from its source."""

    value_fn: Callable[[SourceT], SensorValue]
    currency: bool = False


# --------------------------------------------------------------------------- EV chargers


def _minutes_since(start: datetime | None, end: datetime | None = None) -> float | None:
    if start is None:
        return None
    return max(((end or dt_util.utcnow()) - start).total_seconds(), 0.0) / 60


def _session_minutes(status: ChargerStatus) -> float | None:
    session = status.session
    end = session.plug_out_at
    if end is not None and session.plug_in_at is not None and end < session.plug_in_at:
        end = None
    return _minutes_since(session.plug_in_at, end)


def _charge_minutes(status: ChargerStatus) -> float | None:
    return _minutes_since(status.session.started_at) if status.charging else None


# Sensors every status shape (modern and legacy) reports.
EV_SENSORS: tuple[EnlightenSensorEntityDescription[ChargerStatus], ...] = (
    EnlightenSensorEntityDescription(
        key="connector_status",
        translation_key="connector_status",
        device_class=SensorDeviceClass.ENUM,
        options=CONNECTOR_STATUSES,
        value_fn=lambda s: enum_value(s.connector_status, CONNECTOR_STATUSES),
        attr_fn=lambda s: {"status_info": s.status_info},
    ),
    EnlightenSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda s: s.session.energy_kwh,
    ),
    EnlightenSensorEntityDescription(
        key="charge_time",
        translation_key="charge_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_charge_minutes,
    ),
)
# Sensors only the modern (meta/data) status shape reports.
EV_MODERN_SENSORS: tuple[EnlightenSensorEntityDescription[ChargerStatus], ...] = (
    EnlightenSensorEntityDescription(
        key="status_reason",
        translation_key="status_reason",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: (s.status_reason or "").lower() or None,
    ),
    EnlightenSensorEntityDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_session_minutes,
    ),
    EnlightenSensorEntityDescription(
        key="plug_in_time",
        translation_key="plug_in_time",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.session.plug_in_at,
    ),
    EnlightenSensorEntityDescription(
        key="miles_added",
        translation_key="miles_added",
        device_class=SensorDeviceClass.DISTANCE,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfLength.MILES,
        suggested_display_precision=1,
        value_fn=lambda s: s.session.miles,
    ),
    EnlightenSensorEntityDescription(
        key="session_cost",
        translation_key="session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        currency=True,
        value_fn=lambda s: s.session.cost,
    ),
    EnlightenSensorEntityDescription(
        key="charging_current",
        translation_key="charging_current",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        value_fn=lambda s: s.session.charge_level,
    ),
    EnlightenSensorEntityDescription(
        key="last_reported",
        translation_key="last_reported",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda s: s.last_reported,
    ),
)
EV_SUMMARY_SENSORS: tuple[EnlightenSensorEntityDescription[ChargerSummary], ...] = (
    EnlightenSensorEntityDescription(
        key="max_current",
        translation_key="max_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=lambda s: s.max_current,
    ),
)
EV_ENERGY_SENSORS: tuple[EnlightenSensorEntityDescription[FlowTotals], ...] = (
    EnlightenSensorEntityDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda t: t.lifetime_kwh,
    ),
)


# --------------------------------------------------------------------------- site energy


@dataclass(frozen=True, kw_only=True)
class EnlightenEnergySensorEntityDescription(EnlightenSensorEntityDescription[EnergyData]):
    """A site energy total; ``flow`` names the lifetime_energy series it needs."""

    flow: str


def _site_energy(key: str, flow: str, *, lifetime: bool) -> EnlightenEnergySensorEntityDescription:
    def value(data: EnergyData) -> float | None:
        totals = data.totals.get(flow)
        if totals is None:
            return None
        return totals.lifetime_kwh if lifetime else totals.today_kwh

    return EnlightenEnergySensorEntityDescription(
        key=key,
        translation_key=key,
        flow=flow,
        value_fn=value,
        exists_fn=lambda data: flow in data.totals,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
    )


SITE_ENERGY_SENSORS: tuple[EnlightenEnergySensorEntityDescription, ...] = (
    _site_energy("production_today", "production", lifetime=False),
    _site_energy("production_lifetime", "production", lifetime=True),
    _site_energy("consumption_today", "consumption", lifetime=False),
    _site_energy("consumption_lifetime", "consumption", lifetime=True),
    _site_energy("grid_import_today", "import", lifetime=False),
    _site_energy("grid_import_lifetime", "import", lifetime=True),
    _site_energy("grid_export_today", "export", lifetime=False),
    _site_energy("grid_export_lifetime", "export", lifetime=True),
    _site_energy("battery_charge_today", "charge", lifetime=False),
    _site_energy("battery_charge_lifetime", "charge", lifetime=True),
    _site_energy("battery_discharge_today", "discharge", lifetime=False),
    _site_energy("battery_discharge_lifetime", "discharge", lifetime=True),
    _site_energy("ev_charging_today", "evse", lifetime=False),
    _site_energy("ev_charging_lifetime", "evse", lifetime=True),
)


# --------------------------------------------------------------------------- batteries


def _count(
    key: str, value_fn: Callable[[Any], int | None], **kwargs: Any
) -> EnlightenSensorEntityDescription[Any]:
    return EnlightenSensorEntityDescription(
        key=key,
        translation_key=key,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=value_fn,
        **kwargs,
    )


SITE_BATTERY_SENSORS: tuple[EnlightenSensorEntityDescription[BatteryStatus], ...] = (
    EnlightenSensorEntityDescription(
        key="battery_level",
        translation_key="battery_level",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda b: b.current_charge_pct,
    ),
    EnlightenSensorEntityDescription(
        key="battery_available_energy",
        translation_key="battery_available_energy",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda b: b.available_energy_kwh,
    ),
    EnlightenSensorEntityDescription(
        key="battery_max_capacity",
        translation_key="battery_max_capacity",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=2,
        value_fn=lambda b: b.max_capacity_kwh,
    ),
    # What the batteries that take part can deliver (excluded ones not counted): a
    # capability like the maximum power, not a flow, so no statistics.
    EnlightenSensorEntityDescription(
        key="battery_available_power",
        translation_key="battery_available_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=2,
        value_fn=lambda b: b.available_power_kw,
    ),
    EnlightenSensorEntityDescription(
        key="battery_max_power",
        translation_key="battery_max_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=2,
        value_fn=lambda b: b.max_power_kw,
    ),
    _count(
        "batteries_included",
        lambda b: b.included_count if b.included_count is not None else len(b.included),
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    _count(
        "batteries_excluded",
        lambda b: b.excluded_count,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    _count(
        "battery_active_micros",
        lambda b: b.active_micros,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        attr_fn=lambda b: {"total": b.total_micros, "inactive": b.inactive_micros},
    ),
)
BATTERY_SENSORS: tuple[EnlightenSensorEntityDescription[BatteryStorage], ...] = (
    EnlightenSensorEntityDescription(
        key="battery_level",
        translation_key="battery_level",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda b: b.current_charge_pct,
    ),
    EnlightenSensorEntityDescription(
        key="state_of_health",
        translation_key="state_of_health",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=lambda b: b.soh_pct,
    ),
    EnlightenSensorEntityDescription(
        key="cycle_count",
        translation_key="cycle_count",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda b: b.cycle_count,
    ),
    EnlightenSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=DEVICE_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda b: enum_value(b.status, DEVICE_STATUSES),
        attr_fn=lambda b: {
            "status_text": b.status_text,
            "error_code": b.error_code,
            "error_text": b.error_text,
        },
    ),
    EnlightenSensorEntityDescription(
        key="last_reported",
        translation_key="last_reported",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda b: b.last_report,
    ),
)


# --------------------------------------------------------------------------- battery settings

# Settings that have a control entity (the profile select, the reserve and shutdown
# numbers, the charge-from-grid times, the Storm Guard switch) have no sensor: the
# control shows the value, and the profile select the active profile and reserve
# while a change is pending.
STORM_SENSORS: tuple[EnlightenSensorEntityDescription[StormAlert], ...] = (
    _count(
        "storm_alerts",
        lambda a: len(a.alerts),
        attr_fn=lambda a: {
            "alerts": a.alerts,
            "critical_alert_active": a.critical_alert_active,
            "critical_alerts_override": a.critical_alerts_override,
        },
    ),
)
BATTERY_SETTINGS_SENSORS: tuple[EnlightenSensorEntityDescription[BatterySettings], ...] = (
    EnlightenSensorEntityDescription(
        key="battery_grid_mode",
        translation_key="battery_grid_mode",
        device_class=SensorDeviceClass.ENUM,
        options=GRID_MODES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda s: enum_value(s.battery_grid_mode, GRID_MODES),
    ),
)


# --------------------------------------------------------------------------- grid


def _last_backup(history: BackupHistory) -> datetime | None:
    return max((e.start for e in history.events), default=None)


# The cloud's totals cover the history it keeps, and without them the figures are
# sums over the events listed: either can drop when old events leave the history,
# and neither is a reading of the moment. So no state class (no statistics).
BACKUP_SENSORS: tuple[EnlightenSensorEntityDescription[BackupHistory], ...] = (
    EnlightenSensorEntityDescription(
        key="backup_events",
        translation_key="backup_events",
        value_fn=lambda h: h.total_records if h.total_records is not None else len(h.events),
    ),
    EnlightenSensorEntityDescription(
        key="backup_duration",
        translation_key="backup_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda h: (
            h.total_backup_s
            if h.total_backup_s is not None
            else sum(e.duration_s for e in h.events)
        ),
    ),
    EnlightenSensorEntityDescription(
        key="last_backup_start",
        translation_key="last_backup_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_backup,
        attr_fn=lambda h: next(
            (
                {"duration_s": e.duration_s, "end": e.end.isoformat()}
                for e in sorted(h.events, key=lambda e: e.start, reverse=True)
            ),
            {},
        ),
    ),
)


# --------------------------------------------------------------------------- devices


DEVICE_SENSORS: tuple[EnlightenSensorEntityDescription[InventoryDevice], ...] = (
    EnlightenSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=DEVICE_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda d: enum_value(d.status, DEVICE_STATUSES),
        attr_fn=lambda d: {"status_text": d.status_text},
    ),
    EnlightenSensorEntityDescription(
        key="last_reported",
        translation_key="last_reported",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda d: d.last_report,
    ),
)


# --------------------------------------------------------------------------- microinverters


@dataclass(frozen=True, slots=True)
class InverterEnergy:
    """What the energy coordinator knows about one microinverter."""

    today_wh: float | None
    lifetime_wh: float | None
    status: str | None
    status_text: str | None


def inverter_reading(data: EnergyData, serial: str) -> InverterEnergy | None:
    status = data.inverter_status.get(serial)
    today = data.inverter_today_wh.get(serial)
    lifetime = data.inverter_lifetime_wh.get(serial)
    if status is None and today is None and lifetime is None:
        return None
    return InverterEnergy(
        today_wh=today,
        lifetime_wh=lifetime,
        status=status.status_code if status else None,
        status_text=status.status if status else None,
    )


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else wh / 1000


INVERTER_SENSORS: tuple[EnlightenSensorEntityDescription[InverterEnergy], ...] = (
    EnlightenSensorEntityDescription(
        key="energy_today",
        translation_key="energy_today",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda r: _kwh(r.today_wh),
        available_fn=lambda r: r.today_wh is not None,
    ),
    EnlightenSensorEntityDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda r: _kwh(r.lifetime_wh),
        available_fn=lambda r: r.lifetime_wh is not None,
    ),
    EnlightenSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=DEVICE_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda r: enum_value(r.status, DEVICE_STATUSES),
        attr_fn=lambda r: {"status_text": r.status_text},
        parts=("inverter_status",),
    ),
)
INVERTER_CARD_SENSORS: tuple[EnlightenSensorEntityDescription[Inverter], ...] = (
    EnlightenSensorEntityDescription(
        key="last_reported",
        translation_key="last_reported",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda i: i.last_report,
    ),
)
INVERTER_COUNT_SENSORS: tuple[EnlightenSensorEntityDescription[InverterList], ...] = (
    _count("inverters_reporting", lambda s: max(s.total - (s.not_reporting or 0), 0)),
    _count("inverters_not_reporting", lambda s: s.not_reporting),
    _count("inverters_with_errors", lambda s: s.error_count),
)
