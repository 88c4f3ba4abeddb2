"""Typed, frozen snapshots of what the local IQ Gateway reports.

Built once per poll from pyenphase's ``EnvoyData`` and the gateway's ``/inventory.json``.
Units: watts (W) and watt-hours (Wh), state of charge in percent, times as aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pyenphase.models.envoy import EnvoyData

# Inventory device groups in /inventory.json
DEVICE_TYPE_MICROINVERTER = "PCU"
DEVICE_TYPE_RELAY = "NSRB"
DEVICE_TYPE_AC_BATTERY = "ACB"


def _frozen[V](data: Mapping[str, V] | None = None) -> Mapping[str, V]:
    # A private copy typed read-only; a plain dict keeps dataclasses.asdict() working.
    return dict(data or {})


@dataclass(frozen=True, slots=True)
class LocalEnergyTotals:
    """Power now and energy counters of one measurement (production or consumption)."""

    watts_now: float
    wh_today: float
    wh_last_7_days: float
    wh_lifetime: float


@dataclass(frozen=True, slots=True)
class LocalInverterReading:
    """The last report of one microinverter."""

    serial: str
    last_report_watts: float
    max_report_watts: float
    last_report_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """One device from the gateway inventory with its status flags."""

    serial: str
    device_type: str
    part_number: str | None = None
    firmware: str | None = None
    producing: bool | None = None
    communicating: bool | None = None
    provisioned: bool | None = None
    operating: bool | None = None
    last_report_at: datetime | None = None
    status_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RelayStatus:
    """A network system relay (Q-Relay, inventory type ``NSRB``).

    ``closed`` True means the relay contact is closed (the array is connected to the grid).
    ``lineN_connected`` is None for lines the relay does not have (``line-count``).
    """

    serial: str
    closed: bool | None
    state: str | None
    line_count: int | None
    line1_connected: bool | None
    line2_connected: bool | None
    line3_connected: bool | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LocalBatteryStatus:
    """Aggregated battery figures (IQ Battery / Encharge and AC Battery)."""

    soc: float | None
    reserve_soc: float | None = None
    configured_reserve_soc: float | None = None
    available_energy_wh: float | None = None
    capacity_wh: float | None = None
    per_battery_soc: Mapping[str, float] = field(default_factory=_frozen)


@dataclass(frozen=True, slots=True)
class GridStatus:
    """Grid connection as seen by the IQ System Controller (Enpower)."""

    on_grid: bool | None
    mains_admin_state: str | None
    mains_oper_state: str | None
    grid_mode: str | None


@dataclass(frozen=True, slots=True)
class GatewayData:
    """Everything one poll of the gateway produced."""

    serial: str
    firmware: str
    part_number: str | None
    production: LocalEnergyTotals | None
    consumption: LocalEnergyTotals | None = None
    net_consumption: LocalEnergyTotals | None = None
    inverters: Mapping[str, LocalInverterReading] = field(default_factory=_frozen)
    relays: Mapping[str, RelayStatus] = field(default_factory=_frozen)
    devices: Mapping[str, DeviceStatus] = field(default_factory=_frozen)
    battery: LocalBatteryStatus | None = None
    grid: GridStatus | None = None

    @property
    def metered(self) -> bool:
        """True when the gateway measures consumption (CTs installed and enabled)."""
        return self.consumption is not None or self.net_consumption is not None


# ---------------------------------------------------------------------------------------------
# Parsing helpers (tolerant of missing or oddly typed fields)


class _Totals(Protocol):
    @property
    def watts_now(self) -> int: ...
    @property
    def watt_hours_today(self) -> int: ...
    @property
    def watt_hours_last_7_days(self) -> int: ...
    @property
    def watt_hours_lifetime(self) -> int: ...


def epoch_to_datetime(value: Any) -> datetime | None:
    """Epoch seconds (int, float or numeric string) to aware UTC; None if absent or zero."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def totals_from(model: _Totals | None) -> LocalEnergyTotals | None:
    """Convert a pyenphase production/consumption model."""
    if model is None:
        return None
    return LocalEnergyTotals(
        watts_now=model.watts_now,
        wh_today=model.watt_hours_today,
        wh_last_7_days=model.watt_hours_last_7_days,
        wh_lifetime=model.watt_hours_lifetime,
    )


def battery_from(data: EnvoyData) -> LocalBatteryStatus | None:
    """Aggregate battery state from whatever battery data pyenphase found."""
    per_battery: dict[str, float] = {}
    for serial, power in (data.encharge_power or {}).items():
        per_battery[serial] = power.soc
    for serial, acb_device in (data.acb_inventory or {}).items():
        per_battery[serial] = acb_device.percent_full
    agg = data.encharge_aggregate
    # An IQ System Controller without batteries still reports an all-zero aggregate.
    if agg is not None and (data.encharge_inventory or agg.max_available_capacity):
        soc: float | None = agg.state_of_charge
        if data.battery_aggregate is not None:  # Encharge plus AC Batteries
            soc = data.battery_aggregate.state_of_charge
        return LocalBatteryStatus(
            soc=soc,
            reserve_soc=agg.reserve_state_of_charge,
            configured_reserve_soc=agg.configured_reserve_state_of_charge,
            available_energy_wh=agg.available_energy,
            capacity_wh=agg.max_available_capacity,
            per_battery_soc=_frozen(per_battery),
        )
    if (acb := data.acb_power) is not None:
        return LocalBatteryStatus(
            soc=acb.state_of_charge,
            available_energy_wh=acb.charge_wh,
            per_battery_soc=_frozen(per_battery),
        )
    return None


def grid_from(data: EnvoyData) -> GridStatus | None:
    """Grid state from the IQ System Controller, when there is one."""
    enpower = data.enpower
    if enpower is None:
        return None
    oper = _str(enpower.mains_oper_state)
    return GridStatus(
        on_grid=None if oper is None else oper == "closed",
        mains_admin_state=_str(enpower.mains_admin_state),
        mains_oper_state=oper,
        grid_mode=_str(enpower.grid_mode),
    )


def inverters_from(data: EnvoyData) -> dict[str, LocalInverterReading]:
    """Per-microinverter last reports."""
    return {
        serial: LocalInverterReading(
            serial=serial,
            last_report_watts=inv.last_report_watts,
            max_report_watts=inv.max_report_watts,
            last_report_at=epoch_to_datetime(inv.last_report_date),
        )
        for serial, inv in data.inverters.items()
    }


def _relay_from(serial: str, device: Mapping[str, Any]) -> RelayStatus:
    state = _str(device.get("relay"))
    line_count = _int(device.get("line-count"))

    def line(n: int) -> bool | None:
        if line_count is not None and n > line_count:
            return None
        return _bool(device.get(f"line{n}-connected"))

    return RelayStatus(
        serial=serial,
        closed=None if state is None else state.lower() == "closed",
        state=state,
        line_count=line_count,
        line1_connected=line(1),
        line2_connected=line(2),
        line3_connected=line(3),
        reason=_str(device.get("reason")),
    )


def parse_inventory(
    payload: Any,
) -> tuple[dict[str, DeviceStatus], dict[str, RelayStatus]]:
    """Devices (with status flags) and relays from an ``/inventory.json`` document.

    Decommissioned devices (``admin_state`` 0) are left out; unknown shapes give empty maps.
    """
    devices: dict[str, DeviceStatus] = {}
    relays: dict[str, RelayStatus] = {}
    if not isinstance(payload, list):
        return devices, relays
    for group in payload:
        if not isinstance(group, dict) or not isinstance(group.get("devices"), list):
            continue
        device_type = _str(group.get("type")) or "UNKNOWN"
        for device in group["devices"]:
            if not isinstance(device, dict) or device.get("admin_state") == 0:
                continue
            serial = device.get("serial_num")
            if isinstance(serial, int) and not isinstance(serial, bool):
                serial = str(serial)
            if not isinstance(serial, str) or not serial:
                continue
            codes = device.get("device_status")
            devices[serial] = DeviceStatus(
                serial=serial,
                device_type=device_type,
                part_number=_str(device.get("part_num")),
                firmware=_str(device.get("img_pnum_running")),
                producing=_bool(device.get("producing")),
                communicating=_bool(device.get("communicating")),
                provisioned=_bool(device.get("provisioned")),
                operating=_bool(device.get("operating")),
                last_report_at=epoch_to_datetime(device.get("last_rpt_date")),
                status_codes=tuple(c for c in codes if isinstance(c, str))
                if isinstance(codes, list)
                else (),
            )
            if device_type == DEVICE_TYPE_RELAY:
                relays[serial] = _relay_from(serial, device)
    return devices, relays


def build_gateway_data(
    *,
    serial: str,
    firmware: str,
    part_number: str | None,
    data: EnvoyData,
    devices: Mapping[str, DeviceStatus],
    relays: Mapping[str, RelayStatus],
) -> GatewayData:
    """Assemble the frozen snapshot of one poll."""
    return GatewayData(
        serial=serial,
        firmware=firmware,
        part_number=part_number,
        production=totals_from(data.system_production),
        consumption=totals_from(data.system_consumption),
        net_consumption=totals_from(data.system_net_consumption),
        inverters=_frozen(inverters_from(data)),
        relays=_frozen(relays),
        devices=_frozen(devices),
        battery=battery_from(data),
        grid=grid_from(data),
    )
