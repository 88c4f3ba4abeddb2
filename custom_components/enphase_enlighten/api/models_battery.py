"""Models of the battery status (2.16) and BatteryConfig (5.x) endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from ._parse import (
    JsonDict,
    as_bool,
    as_datetime,
    as_dict,
    as_float,
    as_int,
    as_percent,
    as_str,
    dicts,
    first,
    require_dict,
    unwrap,
)


@dataclass(frozen=True, slots=True)
class BatteryStorage:
    """One battery of the battery card (spec 2.16)."""

    serial: str
    id: str | None = None
    current_charge_pct: float | None = None
    available_energy_kwh: float | None = None
    max_capacity_kwh: float | None = None
    available_power_kw: float | None = None
    max_power_kw: float | None = None
    excluded: bool = False
    status: str | None = None
    status_text: str | None = None
    last_report: datetime | None = None
    cycle_count: int | None = None
    battery_mode: str | None = None
    rated_power_w: float | None = None
    soh_pct: float | None = None
    error_code: str | None = None
    error_text: str | None = None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self | None:
        """Parse one storage entry; None when it has no serial number."""
        serial = as_str(data.get("serial_number"))
        if serial is None:
            return None
        return cls(
            serial=serial,
            id=as_str(data.get("id")),
            current_charge_pct=as_percent(data.get("current_charge")),
            available_energy_kwh=as_float(data.get("available_energy"), non_negative=True),
            max_capacity_kwh=as_float(data.get("max_capacity"), non_negative=True),
            available_power_kw=as_float(data.get("available_power"), non_negative=True),
            max_power_kw=as_float(data.get("max_power"), non_negative=True),
            excluded=bool(as_bool(data.get("excluded"))),
            status=as_str(data.get("status")),
            status_text=as_str(data.get("statusText")),
            last_report=as_datetime(data.get("last_report")),
            cycle_count=as_int(data.get("cycle_count"), non_negative=True),
            battery_mode=as_str(data.get("battery_mode")),
            rated_power_w=as_float(data.get("rated_power"), non_negative=True),
            soh_pct=as_percent(data.get("battery_soh")),
            error_code=as_str(data.get("error_code")),
            error_text=as_str(data.get("error_text")),
        )


@dataclass(frozen=True, slots=True)
class BatteryStatus:
    """Site battery card (spec 2.16): fleet totals plus one entry per battery."""

    current_charge_pct: float | None
    available_energy_kwh: float | None
    max_capacity_kwh: float | None
    available_power_kw: float | None
    max_power_kw: float | None
    storages: list[BatteryStorage]
    included_count: int | None = None
    excluded_count: int | None = None
    total_micros: int | None = None
    active_micros: int | None = None
    inactive_micros: int | None = None

    @property
    def included(self) -> list[BatteryStorage]:
        """Batteries taking part in the fleet figures."""
        return [s for s in self.storages if not s.excluded]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the card."""
        root = require_dict(payload, "battery status")
        return cls(
            current_charge_pct=as_percent(root.get("current_charge")),
            available_energy_kwh=as_float(root.get("available_energy"), non_negative=True),
            max_capacity_kwh=as_float(root.get("max_capacity"), non_negative=True),
            available_power_kw=as_float(root.get("available_power"), non_negative=True),
            max_power_kw=as_float(root.get("max_power"), non_negative=True),
            storages=[
                s for s in map(BatteryStorage.from_payload, dicts(root.get("storages"))) if s
            ],
            included_count=as_int(root.get("included_count"), non_negative=True),
            excluded_count=as_int(root.get("excluded_count"), non_negative=True),
            total_micros=as_int(root.get("total_micros"), non_negative=True),
            active_micros=as_int(root.get("active_micros"), non_negative=True),
            inactive_micros=as_int(root.get("inactive_micros"), non_negative=True),
        )


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """BatteryConfig site settings: capabilities and UI gating (spec 5.2)."""

    has_encharge: bool
    has_enpower: bool
    timezone: str | None = None
    country_code: str | None = None
    region: str | None = None
    locale: str | None = None
    show_production: bool = False
    show_consumption: bool = False
    show_charge_from_grid: bool = False
    show_savings_mode: bool = False
    show_storm_guard: bool = False
    show_full_backup: bool = False
    show_battery_backup_percentage: bool = False
    is_charging_modes_enabled: bool = False
    battery_grid_mode: str | None = None
    feature_flags: dict[str, bool] = field(default_factory=dict)
    is_owner: bool | None = None
    is_installer: bool | None = None
    site_status: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse ``data``."""
        data = unwrap(require_dict(payload, "site settings"))

        def flag(key: str) -> bool:
            return bool(as_bool(data.get(key)))

        user = as_dict(data.get("userDetails"))
        features = as_dict(data.get("featureDetails"))
        return cls(
            has_encharge=flag("hasEncharge"),
            has_enpower=flag("hasEnpower"),
            timezone=as_str(data.get("timezone")),
            country_code=as_str(data.get("countryCode")),
            region=as_str(data.get("region")),
            locale=as_str(data.get("locale")),
            show_production=flag("showProduction"),
            show_consumption=flag("showConsumption"),
            show_charge_from_grid=flag("showChargeFromGrid"),
            show_savings_mode=flag("showSavingsMode"),
            show_storm_guard=flag("showStormGuard"),
            show_full_backup=flag("showFullBackup"),
            show_battery_backup_percentage=flag("showBatteryBackupPercentage"),
            is_charging_modes_enabled=flag("isChargingModesEnabled"),
            battery_grid_mode=as_str(data.get("batteryGridMode")),
            feature_flags={
                str(k): v for k, raw in features.items() if (v := as_bool(raw)) is not None
            },
            is_owner=as_bool(user.get("isOwner")),
            is_installer=as_bool(user.get("isInstaller")),
            site_status=as_str(as_dict(data.get("siteStatus")).get("code")),
        )


@dataclass(frozen=True, slots=True)
class CfgControl:
    """Charge-from-grid control gating of the profile payload."""

    show: bool | None = None
    enabled: bool | None = None
    schedule_supported: bool | None = None
    force_schedule_supported: bool | None = None
    force_schedule_opted: bool | None = None

    @classmethod
    def from_payload(cls, data: object) -> Self:
        """Parse ``cfgControl``."""
        raw = as_dict(data)
        return cls(
            show=as_bool(raw.get("show")),
            enabled=as_bool(raw.get("enabled")),
            schedule_supported=as_bool(raw.get("scheduleSupported")),
            force_schedule_supported=as_bool(raw.get("forceScheduleSupported")),
            force_schedule_opted=as_bool(raw.get("forceScheduleOpted")),
        )


@dataclass(frozen=True, slots=True)
class ProfileDetails:
    """System profile, reserve and pending change (spec 5.3)."""

    profile: str | None
    reserve: float | None
    storm_guard_state: str | None = None
    operation_mode_sub_type: str | None = None
    evse_storm_enabled: bool | None = None
    pending_profile: str | None = None
    pending_reserve: float | None = None
    cfg_control: CfgControl = field(default_factory=CfgControl)
    polling_interval: int | None = None
    supports_mqtt: bool | None = None
    evse_devices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def storm_guard_enabled(self) -> bool:
        """Whether Storm Guard is on."""
        return (self.storm_guard_state or "").lower() == "enabled"

    @property
    def has_pending_change(self) -> bool:
        """Whether a profile/reserve change is waiting to take effect."""
        return self.pending_profile is not None or self.pending_reserve is not None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse ``data``; ``requestedConfig`` holds the pending change."""
        data = unwrap(require_dict(payload, "profile"))
        pending = as_dict(first(data, "requestedConfig", "pendingConfig"))
        devices = as_dict(data.get("devices"))
        return cls(
            profile=as_str(data.get("profile")),
            reserve=as_percent(data.get("batteryBackupPercentage")),
            storm_guard_state=as_str(data.get("stormGuardState")),
            operation_mode_sub_type=as_str(data.get("operationModeSubType")),
            evse_storm_enabled=as_bool(data.get("evseStormEnabled")),
            pending_profile=as_str(pending.get("profile")),
            pending_reserve=as_percent(pending.get("batteryBackupPercentage")),
            cfg_control=CfgControl.from_payload(data.get("cfgControl")),
            polling_interval=as_int(data.get("pollingInterval"), non_negative=True),
            supports_mqtt=as_bool(data.get("supportsMqtt")),
            evse_devices=dicts(devices.get("iqEvse")),
        )


@dataclass(frozen=True, slots=True)
class BatterySettings:
    """Battery details: charge from grid, schedule, shutdown level (spec 5.5)."""

    profile: str | None
    reserve: float | None
    charge_from_grid: bool | None = None
    charge_from_grid_schedule_enabled: bool | None = None
    charge_begin_minutes: int | None = None
    charge_end_minutes: int | None = None
    very_low_soc: float | None = None
    very_low_soc_min: float | None = None
    very_low_soc_max: float | None = None
    battery_grid_mode: str | None = None
    accepted_itc_disclaimer: str | None = None
    hide_charge_from_grid: bool | None = None
    storm_guard_state: str | None = None
    envoy_supports_vls: bool | None = None
    use_battery_for_self_consumption: bool | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse ``data``."""
        data = unwrap(require_dict(payload, "battery settings"))
        evse = as_dict(as_dict(data.get("devices")).get("iqEvse"))
        return cls(
            profile=as_str(data.get("profile")),
            reserve=as_percent(data.get("batteryBackupPercentage")),
            charge_from_grid=as_bool(data.get("chargeFromGrid")),
            charge_from_grid_schedule_enabled=as_bool(data.get("chargeFromGridScheduleEnabled")),
            charge_begin_minutes=_minutes(data.get("chargeBeginTime")),
            charge_end_minutes=_minutes(data.get("chargeEndTime")),
            very_low_soc=as_percent(data.get("veryLowSoc")),
            very_low_soc_min=as_percent(data.get("veryLowSocMin")),
            very_low_soc_max=as_percent(data.get("veryLowSocMax")),
            battery_grid_mode=as_str(data.get("batteryGridMode")),
            accepted_itc_disclaimer=as_str(data.get("acceptedItcDisclaimer")),
            hide_charge_from_grid=as_bool(data.get("hideChargeFromGrid")),
            storm_guard_state=as_str(data.get("stormGuardState")),
            envoy_supports_vls=as_bool(data.get("envoySupportsVls")),
            use_battery_for_self_consumption=as_bool(evse.get("useBatteryFrSelfConsumption")),
        )


def _minutes(value: object) -> int | None:
    minutes = as_int(value, non_negative=True)
    return minutes if minutes is not None and minutes < 24 * 60 else None


@dataclass(frozen=True, slots=True)
class StormAlert:
    """Storm Guard alerts (spec 5.6)."""

    critical_alerts_override: bool | None
    alerts: list[dict[str, Any]]
    critical_alert_active: bool | None

    @property
    def active(self) -> bool:
        """Whether a storm alert is currently in effect."""
        return bool(self.alerts) or bool(self.critical_alert_active)

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the alert state."""
        root = unwrap(require_dict(payload, "storm alert"))
        return cls(
            critical_alerts_override=as_bool(root.get("criticalAlertsOverride")),
            alerts=dicts(root.get("stormAlerts")),
            critical_alert_active=as_bool(root.get("criticalAlertActive")),
        )
