"""Mutable state of the simulated sites (what the fake cloud serves and changes).

Tests reach these objects through ``sim.site(site_id)`` and may set attributes directly;
the simulator reconciles side effects (plug-in/out, charging start/stop) on the next
request or ``advance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .timefmt import Clock

PROFILES = ("self-consumption", "cost_savings", "backup_only")
CHARGE_MODES = ("MANUAL_CHARGING", "SCHEDULED_CHARGING", "GREEN_CHARGING")
START_VARIANTS = ("canonical", "put", "singular", "snake_case", "no_body")
STOP_VARIANTS = ("canonical", "post", "singular")

INFO = "Info"
# event_key -> (event_type_id, type, description template, status)
EVENT_CATALOG: dict[str, tuple[int, str, str, str]] = {
    "evse_start_charging": (
        795,
        "IQ EV Charger",
        "Charging started on {name} (SNo. {serial}).",
        INFO,
    ),
    "evse_stop_charging": (
        796,
        "IQ EV Charger",
        "Charging stopped on {name} (SNo. {serial}).",
        INFO,
    ),
    "evse_plugged_in": (797, "IQ EV Charger", "EV plugged in to {name} (SNo. {serial}).", "Info"),
    "evse_unplugged": (798, "IQ EV Charger", "EV unplugged from {name} (SNo. {serial}).", "Info"),
    "envoy_not_reporting": (
        101,
        "IQ Gateway",
        "{name} (SNo. {serial}) is not reporting.",
        "Closed",
    ),
    "micro_low_production": (
        402,
        "Microinverter",
        "Low production on {name} (SNo. {serial}).",
        "Closed",
    ),
    "profile_changed": (610, "IQ Battery", "Battery profile changed to {name}.", "Info"),
    "grid_state_changed": (620, "IQ System Controller", "{name}", "Info"),
}


@dataclass
class DeviceCard:
    """A gateway, meter or system controller card of devices.json."""

    name: str
    serial: str
    sku_id: str
    sw_version: str
    status: str = "normal"
    connected: bool = True
    ip: str | None = None
    channel_type: str | None = None
    emu_version: str | None = None
    warranty_end_date: str | None = None


@dataclass
class StorageState:
    """One IQ Battery."""

    id: int
    serial: str
    name: str
    sku_id: str
    soc: float
    capacity_kwh: float
    max_power_kw: float
    cycle_count: int
    soh: int
    sw_version: str
    warranty_end_date: str
    inverter_id: str = ""
    excluded: bool = False
    status: str = "normal"
    error_code: int | None = None
    error_text: str | None = None
    led_status: int = 17


@dataclass
class BatteryState:
    """Battery profile, reserve, storm guard and battery settings of a site."""

    storages: list[StorageState] = field(default_factory=list)
    profile: str = "self-consumption"
    reserve: int = 20
    operation_mode_sub_type: str = "prioritize-energy"
    requested: dict[str, Any] | None = None
    requested_at: datetime | None = None
    pending_delay: float = 60.0
    storm_guard_state: str = "disabled"
    evse_storm_enabled: bool = False
    accepted_storm_guard_disclaimer: bool = False
    storm_alerts: list[dict[str, Any]] = field(default_factory=list)
    critical_alert_active: bool = False
    critical_alerts_override: bool = True
    very_low_soc: int = 15
    very_low_soc_min: int = 10
    very_low_soc_max: int = 25
    charge_from_grid: bool = False
    charge_from_grid_schedule_enabled: bool = False
    charge_begin_time: int = 120
    charge_end_time: int = 300
    accepted_itc_disclaimer: str | None = None
    battery_grid_mode: str = "ImportExport"
    hide_charge_from_grid: bool = False
    envoy_supports_vls: bool = True
    use_battery_for_self_consumption: bool = True

    @property
    def soc(self) -> float:
        """Combined state of charge (%) of the included batteries."""
        included = [s for s in self.storages if not s.excluded]
        capacity = sum(s.capacity_kwh for s in included)
        if not capacity:
            return 0.0
        return sum(s.soc * s.capacity_kwh for s in included) / capacity


@dataclass
class GridState:
    """Grid relay and grid-control guard flags."""

    off_grid: bool = False
    disable_grid_control: bool = False
    active_download: bool = False
    sunlight_backup_system_check: bool = False
    grid_outage_check: bool = False
    user_initiated_grid_toggle: bool = False
    outage: bool = False
    relay_state: str = "OPER_RELAY_CLOSED"
    change_log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class InverterState:
    """One microinverter."""

    inverter_id: str
    serial: str
    device_id: int
    model: str
    array_name: str
    sku_id: str
    part_num: str
    sku: int
    fw1: str
    fw2: str
    weight: float
    status: str = "normal"


@dataclass
class ChargeSession:
    """A finished charging session (2.7 history row)."""

    session_id: int
    start: datetime
    end: datetime
    energy_kwh: float
    active_s: int
    miles: float | None
    cost: float | None
    manual_overridden: bool = True


@dataclass
class EventRecord:
    """One homeowner event (2.10)."""

    id: int
    key: str
    serial: str
    name: str
    at: datetime
    cleared_at: datetime | None
    params: str | None = None


@dataclass
class ChargerState:
    """An IQ EV Charger."""

    sn: str
    name: str
    shape: str
    model_name: str
    sku: str
    part_number: str
    voltage: int
    min_amps: int
    max_amps: int
    firmware: str
    application_version: str
    processor_board_version: str
    power_board_version: str
    uuid: str
    manufacturer: str | None = None
    granularity: int = 1
    connected: bool = True
    plugged_in: bool = False
    charging: bool = False
    faulted: bool = False
    charging_level: int = 32
    mode: str = "MANUAL_CHARGING"
    green_use_battery: bool = True
    supports_use_battery: bool = True
    session_auth: str | None = None
    rfid_auth: str = "disabled"
    dlb_enabled: int = 1
    dlb_active: bool = False
    safe_limit_state: int = 0
    connector_reason: str = ""
    accepted_variant: str | None = None
    accepted_stop_variant: str | None = None
    ev_capacity_wh: float = 60000.0
    session_energy_wh: float = 0.0
    plug_in_at: datetime | None = None
    plug_out_at: datetime | None = None
    charge_started_at: datetime | None = None
    last_reported_at: datetime | None = None
    schedules: list[dict[str, Any]] = field(default_factory=list)
    schedule_sync_status: str = "synced"
    sessions: list[ChargeSession] = field(default_factory=list)
    last_trigger: str | None = None
    seen_plugged: bool = field(default=False, repr=False)
    last_tick: datetime | None = field(default=None, repr=False)
    active_since: datetime | None = field(default=None, repr=False)
    active_energy_start: float = field(default=0.0, repr=False)

    @property
    def power_w(self) -> float:
        """Charging power while charging (W)."""
        return float(self.charging_level * self.voltage) if self.charging else 0.0

    def connector_status(self) -> str:
        """connectorStatusType as reported by the cloud."""
        if self.faulted:
            return "FAULTED"
        if not self.plugged_in:
            return "AVAILABLE"
        if self.charging:
            return "CHARGING"
        if self.session_energy_wh >= self.ev_capacity_wh:
            return "SUSPENDED_EV"
        return "SUSPENDED_EVSE"

    def valid_level(self, amps: int) -> bool:
        """Whether ``amps`` is within chargeLevelDetails."""
        return (
            self.min_amps <= amps <= self.max_amps
            and (amps - self.min_amps) % self.granularity == 0
        )


@dataclass
class SiteState:
    """Everything the simulator knows about one site."""

    site_id: int
    name: str
    scenario: str
    timezone: str
    locale: str
    country_code: str
    region: str
    continent_code: str
    isd_code: str
    support_phone: str
    seed: int
    history_days: int
    daily_production_wh: float
    daily_consumption_wh: float
    has_consumption: bool
    has_battery_flows: bool
    has_evse_flow: bool
    gateway: DeviceCard
    clock: Clock = field(repr=False)
    meters: list[DeviceCard] = field(default_factory=list)
    enpower: DeviceCard | None = None
    battery: BatteryState | None = None
    grid: GridState = field(default_factory=GridState)
    inverters: list[InverterState] = field(default_factory=list)
    chargers: dict[str, ChargerState] = field(default_factory=dict)
    inverter_daily_factor: dict[str, float] = field(default_factory=dict)
    cloudy_days: dict[date | str, float] = field(default_factory=dict)
    revisions: dict[tuple[date, str], int] = field(default_factory=dict)
    extra_energy: dict[date, dict[str, float]] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    backup_history: list[tuple[datetime, int]] = field(default_factory=list)
    live_stream_until: datetime | None = None
    favourite: bool = False
    start_date: date | None = None

    @property
    def tz(self) -> ZoneInfo:
        """Site time zone."""
        return ZoneInfo(self.timezone)

    @property
    def has_battery(self) -> bool:
        """Whether the site has IQ Batteries."""
        return self.battery is not None and bool(self.battery.storages)

    def local_now(self) -> datetime:
        """Simulated now in the site's time zone."""
        return self.clock.now().astimezone(self.tz)

    def today(self) -> date:
        """Simulated site-local date."""
        return self.local_now().date()

    def first_day(self) -> date:
        """Date of the first lifetime bucket."""
        if self.start_date is None:
            self.start_date = self.today() - timedelta(days=self.history_days - 1)
        return self.start_date

    def local_midnight(self, day: date) -> datetime:
        """Aware datetime of the start of ``day`` in the site zone."""
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def revise_bucket(self, days_ago: int, flow: str, wh: int) -> None:
        """Overwrite one daily bucket (a late revision by the cloud)."""
        self.revisions[(self.today() - timedelta(days=days_ago), flow)] = wh

    def add_event(
        self,
        key: str,
        serial: str,
        name: str,
        *,
        at: datetime | None = None,
        params: str | None = None,
    ) -> EventRecord:
        """Append a homeowner event."""
        when = at or self.clock.now()
        next_id = max((e.id for e in self.events), default=self.site_id * 1000) + 1
        cleared = when if EVENT_CATALOG[key][3] == "Info" else when + timedelta(minutes=37)
        record = EventRecord(next_id, key, serial, name, when, cleared, params)
        self.events.append(record)
        return record

    def inverter_by_serial(self, serial: str) -> InverterState | None:
        """Find a microinverter by serial number."""
        return next((i for i in self.inverters if i.serial == serial), None)
