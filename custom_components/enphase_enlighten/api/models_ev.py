"""Models of the EV charger endpoints (spec sections 2.1-2.7, 3 and 4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Self

from ._parse import (
    JsonDict,
    as_bool,
    as_date,
    as_datetime,
    as_float,
    as_int,
    as_list,
    as_str,
    dicts,
    first,
    require_dict,
    unwrap,
)
from .errors import InvalidResponse

# Session energy above this value is reported in Wh, else in kWh (spec section 7).
WH_THRESHOLD = 200.0

CHARGE_MODES = ("MANUAL_CHARGING", "SCHEDULED_CHARGING", "GREEN_CHARGING")
_MODE_KEYS = {
    "manualCharging": "MANUAL_CHARGING",
    "scheduledCharging": "SCHEDULED_CHARGING",
    "greenCharging": "GREEN_CHARGING",
}
USE_BATTERY_SETTING = "USE_BATTERY_FOR_SELF_CONSUMPTION"


def session_energy_kwh(value: object) -> float | None:
    """Normalise a session energy ``e_c`` to kWh (Wh when above 200)."""
    energy = as_float(value, non_negative=True)
    if energy is None:
        return None
    return energy / 1000 if energy > WH_THRESHOLD else energy


@dataclass(frozen=True, slots=True)
class ChargerSession:
    """The current (or last) charging session of a charger."""

    energy_kwh: float | None = None
    miles: float | None = None
    cost: float | None = None
    plug_in_at: datetime | None = None
    plug_out_at: datetime | None = None
    started_at: datetime | None = None
    charge_level: int | None = None

    @classmethod
    def from_payload(cls, data: object) -> Self:
        """Parse ``session_d`` (modern or legacy keys)."""
        raw = data if isinstance(data, dict) else {}
        return cls(
            energy_kwh=session_energy_kwh(raw.get("e_c")),
            miles=as_float(raw.get("miles"), non_negative=True),
            cost=as_float(raw.get("session_cost"), non_negative=True),
            plug_in_at=as_datetime(raw.get("plg_in_at")),
            plug_out_at=as_datetime(raw.get("plg_out_at")),
            started_at=as_datetime(first(raw, "strt_chrg", "start_time")),
            charge_level=as_int(raw.get("charge_level"), non_negative=True),
        )


@dataclass(frozen=True, slots=True)
class ChargerStatus:
    """Runtime state of one charger (spec 2.1)."""

    sn: str
    name: str | None = None
    connected: bool | None = None
    plugged_in: bool | None = None
    charging: bool | None = None
    faulted: bool | None = None
    connector_status: str | None = None
    status_info: str | None = None
    status_reason: str | None = None
    dlb_active: bool | None = None
    safe_limit_state: int | None = None
    session: ChargerSession = field(default_factory=ChargerSession)
    last_reported: datetime | None = None
    offline_at: datetime | None = None
    mode: int | None = None
    commissioned: bool | None = None
    off_grid: str | None = None
    ev_manufacturer: str | None = None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self | None:
        """Parse one charger entry; returns None when it has no serial number."""
        sn = as_str(first(data, "sn", "serialNumber"))
        if sn is None:
            return None
        connectors = dicts(data.get("connectors"))
        conn = connectors[0] if connectors else {}

        def pick(key: str) -> Any:
            return first(data, key) if conn.get(key) is None else conn[key]

        return cls(
            sn=sn,
            name=as_str(first(data, "name", "displayName")),
            connected=as_bool(data.get("connected")),
            plugged_in=as_bool(
                pick("pluggedIn") if data.get("pluggedIn") is None else data["pluggedIn"]
            ),
            charging=as_bool(data.get("charging")),
            faulted=as_bool(data.get("faulted")),
            connector_status=as_str(pick("connectorStatusType")),
            status_info=as_str(pick("connectorStatusInfo")),
            status_reason=as_str(pick("connectorStatusReason")),
            dlb_active=as_bool(pick("dlbActive")),
            safe_limit_state=as_int(pick("safeLimitState")),
            session=ChargerSession.from_payload(data.get("session_d")),
            last_reported=as_datetime(first(data, "lst_rpt_at", "lastReportedAt")),
            offline_at=as_datetime(data.get("offlineAt")),
            mode=as_int(data.get("mode")),
            commissioned=as_bool(data.get("commissioned")),
            off_grid=as_str(data.get("offGrid")),
            ev_manufacturer=as_str(data.get("evManufacturerName")),
        )


@dataclass(frozen=True, slots=True)
class EvStatus:
    """All chargers of a site (spec 2.1, modern ``meta/data`` or legacy flat shape)."""

    chargers: list[ChargerStatus]
    server_time: datetime | None = None
    timezone: str | None = None
    legacy: bool = False

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse either response shape."""
        root = require_dict(payload, "ev status")
        legacy = "evChargerData" in root and "data" not in root
        if legacy:
            raw_chargers = root.get("evChargerData")
            data: JsonDict = root
        else:
            data = unwrap(root)
            raw_chargers = first(data, "chargers", "evChargerData")
        chargers = [c for c in map(ChargerStatus.from_payload, dicts(raw_chargers)) if c]
        meta = root.get("meta")
        return cls(
            chargers=chargers,
            server_time=as_datetime(meta.get("serverTimeStamp"))
            if isinstance(meta, dict)
            else None,
            timezone=as_str(data.get("tz")),
            legacy=legacy,
        )

    def get(self, sn: str) -> ChargerStatus | None:
        """Return the charger with serial ``sn``."""
        return next((c for c in self.chargers if c.sn == sn), None)


@dataclass(frozen=True, slots=True)
class ChargerSummary:
    """Metadata of one charger (spec 2.2)."""

    serial: str
    display_name: str | None = None
    model: str | None = None
    sku: str | None = None
    part_number: str | None = None
    firmware: str | None = None
    processor_board_version: str | None = None
    max_current: float | None = None
    charge_min: int | None = None
    charge_max: int | None = None
    charge_granularity: int | None = None
    supports_use_battery: bool | None = None
    dlb_enabled: bool | None = None
    operating_voltage: float | None = None
    last_reported: datetime | None = None
    is_connected: bool | None = None
    status: str | None = None
    phase_count: int | None = None
    timezone: str | None = None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self | None:
        """Parse one summary entry; returns None when it has no serial number."""
        serial = as_str(first(data, "serialNumber", "sn"))
        if serial is None:
            return None
        levels = data.get("chargeLevelDetails")
        levels = levels if isinstance(levels, dict) else {}
        return cls(
            serial=serial,
            display_name=as_str(data.get("displayName")),
            model=as_str(data.get("modelName")),
            sku=as_str(data.get("sku")),
            part_number=as_str(data.get("partNumber")),
            firmware=as_str(data.get("firmwareVersion")),
            processor_board_version=as_str(data.get("processorBoardVersion")),
            max_current=as_float(data.get("maxCurrent"), non_negative=True),
            charge_min=as_int(levels.get("min"), non_negative=True),
            charge_max=as_int(levels.get("max"), non_negative=True),
            charge_granularity=as_int(levels.get("granularity"), non_negative=True),
            supports_use_battery=as_bool(data.get("supportsUseBattery")),
            dlb_enabled=as_bool(data.get("dlbEnabled")),
            operating_voltage=as_float(data.get("operatingVoltage"), non_negative=True),
            last_reported=as_datetime(data.get("lastReportedAt")),
            is_connected=as_bool(data.get("isConnected")),
            status=as_str(data.get("status")),
            phase_count=as_int(data.get("phaseCount"), non_negative=True),
            timezone=as_str(data.get("timezone")),
        )

    @classmethod
    def list_from_payload(cls, payload: object) -> list[Self]:
        """Parse the list endpoint (``data`` array)."""
        root = require_dict(payload, "ev summary")
        raw = root.get("data")
        if isinstance(raw, dict):
            raw = [raw]
        return [s for s in map(cls.from_payload, dicts(raw)) if s]

    @classmethod
    def one_from_payload(cls, payload: object) -> Self:
        """Parse the per-charger endpoint (``data`` object)."""
        root = require_dict(payload, "ev charger summary")
        summary = cls.from_payload(unwrap(root))
        if summary is None:
            raise InvalidResponse("ev charger summary: no serial number")
        return summary


@dataclass(frozen=True, slots=True)
class LiveStream:
    """Answer to a live stream start (spec 2.3)."""

    status: str | None
    topics: list[str]
    duration_s: int | None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the start answer."""
        root = unwrap(require_dict(payload, "live stream"))
        return cls(
            status=as_str(root.get("status")),
            topics=[t for t in map(as_str, as_list(root.get("topics"))) if t],
            duration_s=as_int(root.get("duration_s"), non_negative=True),
        )


@dataclass(frozen=True, slots=True)
class ChargerConfigItem:
    """One session authentication setting (spec 2.5)."""

    key: str
    value: str | None
    requested_value: str | None
    status: int | None

    @property
    def enabled(self) -> bool:
        """Whether the (current) value is ``enabled``."""
        return (self.value or "").lower() == "enabled"

    @property
    def pending(self) -> bool:
        """Whether a requested change has not been applied yet."""
        return self.requested_value is not None and self.requested_value != self.value

    @classmethod
    def list_from_payload(cls, payload: object) -> list[Self]:
        """Parse the ``data`` array."""
        root = payload if isinstance(payload, list) else require_dict(payload, "ev config")
        raw = root if isinstance(root, list) else root.get("data")
        return [
            cls(
                key=key,
                value=as_str(item.get("value")),
                requested_value=as_str(item.get("reqValue")),
                status=as_int(item.get("status")),
            )
            for item in dicts(raw)
            if (key := as_str(item.get("key")))
        ]


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """One past charging session (spec 2.7)."""

    id: str | None
    session_id: str | None
    start: datetime | None
    end: datetime | None
    energy_kwh: float | None
    active_charge_time_s: int | None
    miles_added: float | None
    cost: float | None
    avg_cost_per_kwh: float | None
    cost_state: str | None
    auth_type: str | None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self:
        """Parse one history row."""
        return cls(
            id=as_str(data.get("id")),
            session_id=as_str(data.get("sessionId")),
            start=as_datetime(data.get("startTime")),
            end=as_datetime(data.get("endTime")),
            energy_kwh=as_float(data.get("aggEnergyValue"), non_negative=True),
            active_charge_time_s=as_int(data.get("activeChargeTime"), non_negative=True),
            miles_added=as_float(data.get("milesAdded"), non_negative=True),
            cost=as_float(data.get("sessionCost"), non_negative=True),
            avg_cost_per_kwh=as_float(data.get("avgCostPerUnitEnergy"), non_negative=True),
            cost_state=as_str(data.get("sessionCostState")),
            auth_type=as_str(data.get("authType")),
        )


@dataclass(frozen=True, slots=True)
class SessionHistoryPage:
    """A page of charging sessions (spec 2.7)."""

    sessions: list[ChargingSession]
    has_more: bool
    offset: int | None = None
    limit: int | None = None
    start_date: date | None = None
    end_date: date | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the ``data`` envelope."""
        data = unwrap(require_dict(payload, "session history"))
        return cls(
            sessions=[ChargingSession.from_payload(r) for r in dicts(data.get("result"))],
            has_more=bool(as_bool(data.get("hasMore"))),
            offset=as_int(data.get("offset"), non_negative=True),
            limit=as_int(data.get("limit"), non_negative=True),
            start_date=as_date(data.get("startDate")),
            end_date=as_date(data.get("endDate")),
        )


@dataclass(frozen=True, slots=True)
class ChargeMode:
    """Charge mode preference (spec 4.1)."""

    mode: str | None
    enabled: dict[str, bool]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse ``data.modes``; the active mode is the enabled one."""
        data = unwrap(require_dict(payload, "charge mode"))
        modes = data.get("modes")
        enabled: dict[str, bool] = {}
        active: str | None = None
        for key, item in modes.items() if isinstance(modes, dict) else ():
            if not isinstance(item, dict):
                continue
            name = as_str(item.get("chargingMode")) or _MODE_KEYS.get(str(key), str(key))
            on = bool(as_bool(item.get("enabled")))
            enabled[name] = on
            if on and active is None:
                active = name
        if active is None:
            active = as_str(first(data, "mode", "chargingMode"))
        return cls(mode=active, enabled=enabled)


def green_use_battery_from_payload(payload: object) -> bool:
    """Read the ``USE_BATTERY_FOR_SELF_CONSUMPTION`` flag (spec 4.3).

    A charger without the setting (empty ``data``) reports False.
    """
    root = require_dict(payload, "green charging settings")
    for item in dicts(root.get("data")):
        if item.get("chargerSettingName") == USE_BATTERY_SETTING:
            return bool(as_bool(item.get("enabled")))
    return False


_ALL_DAYS = [1, 2, 3, 4, 5, 6, 7]


def _days(value: object) -> list[int] | None:
    if not isinstance(value, list):
        return None
    days: list[int] = []
    for day in map(as_int, value):
        if day is not None and 1 <= day <= 7 and day not in days:
            days.append(day)
    return days


@dataclass(frozen=True, slots=True)
class ScheduleSlot:
    """One charging schedule slot (spec 4.4); ``to_payload`` builds the PATCH form."""

    id: str | None
    schedule_type: str | None
    start_time: str | None = None
    end_time: str | None = None
    charging_level: int | None = None
    charging_level_amp: int | None = None
    days: list[int] | None = None
    remind_time: int | None = None
    remind_flag: bool = False
    enabled: bool = False
    recurring_kind: str | None = None
    charge_level_type: str | None = None
    source_type: str | None = None
    reminder_time_utc: str | None = None
    serialized_days: str | None = None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self:
        """Parse one slot."""
        return cls(
            id=as_str(data.get("id")),
            schedule_type=as_str(data.get("scheduleType")),
            start_time=as_str(data.get("startTime")),
            end_time=as_str(data.get("endTime")),
            charging_level=as_int(data.get("chargingLevel"), non_negative=True),
            charging_level_amp=as_int(data.get("chargingLevelAmp"), non_negative=True),
            days=_days(data.get("days")),
            remind_time=as_int(data.get("remindTime"), non_negative=True),
            remind_flag=bool(as_bool(data.get("remindFlag"))),
            enabled=bool(as_bool(data.get("enabled"))),
            recurring_kind=as_str(data.get("recurringKind")),
            charge_level_type=as_str(data.get("chargeLevelType")),
            source_type=as_str(data.get("sourceType")),
            reminder_time_utc=as_str(data.get("reminderTimeUtc")),
            serialized_days=as_str(data.get("serializedDays")),
        )

    def to_payload(self) -> JsonDict:
        """Return the slot as the scheduler expects it in a PATCH (spec 4.5)."""
        days = self.days
        if not days and self.schedule_type == "OFF_PEAK":
            days = list(_ALL_DAYS)
        return {
            "id": None if self.id is None else str(self.id),
            "startTime": self.start_time,
            "endTime": self.end_time,
            "chargingLevel": None if self.charging_level is None else int(self.charging_level),
            "chargingLevelAmp": (
                None if self.charging_level_amp is None else int(self.charging_level_amp)
            ),
            "scheduleType": self.schedule_type,
            "days": list(days) if days is not None else [],
            "remindTime": None if self.remind_time is None else int(self.remind_time),
            "remindFlag": bool(self.remind_flag),
            "enabled": bool(self.enabled),
            "recurringKind": self.recurring_kind,
            "chargeLevelType": self.charge_level_type,
            "sourceType": self.source_type,
            "reminderTimeUtc": self.reminder_time_utc,
            "serializedDays": self.serialized_days,
        }


@dataclass(frozen=True, slots=True)
class ScheduleList:
    """All schedule slots of a charger plus the scheduler config (spec 4.4)."""

    slots: list[ScheduleSlot]
    config: dict[str, Any]
    server_timestamp: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse ``data.slots`` and ``data.config``."""
        root = require_dict(payload, "schedules")
        data = unwrap(root)
        meta = root.get("meta")
        config = data.get("config")
        return cls(
            slots=[ScheduleSlot.from_payload(s) for s in dicts(data.get("slots"))],
            config=dict(config) if isinstance(config, dict) else {},
            server_timestamp=as_str(meta.get("serverTimeStamp"))
            if isinstance(meta, dict)
            else None,
        )
