"""Typed, frozen models of the Enlighten payloads.

Each model has a ``from_payload`` (or ``list_from_payload``/``map_from_payload``)
classmethod that parses a decoded JSON payload once: units are normalised
(percent strings to floats, session energy to kWh, epochs to aware datetimes),
unusable values become ``None`` and a payload of a fundamentally wrong type
raises :class:`~.errors.InvalidResponse`.
"""

from __future__ import annotations

from .models_battery import (
    BatterySettings,
    BatteryStatus,
    BatteryStorage,
    CfgControl,
    ProfileDetails,
    SiteSettings,
    StormAlert,
)
from .models_ev import (
    CHARGE_MODES,
    ChargeMode,
    ChargerConfigItem,
    ChargerSession,
    ChargerStatus,
    ChargerSummary,
    ChargingSession,
    EvStatus,
    LiveStream,
    ScheduleList,
    ScheduleSlot,
    SessionHistoryPage,
    green_use_battery_from_payload,
    session_energy_kwh,
)
from .models_site import (
    BackupEvent,
    BackupHistory,
    EventsPage,
    GridControlCheck,
    GridStateResult,
    HomeownerEvent,
    Inventory,
    InventoryDevice,
    Inverter,
    InverterList,
    InverterStatus,
    LifetimeEnergy,
    OffGridStatus,
    Site,
    inverter_energy_from_payload,
)

__all__ = [
    "CHARGE_MODES",
    "BackupEvent",
    "BackupHistory",
    "BatterySettings",
    "BatteryStatus",
    "BatteryStorage",
    "CfgControl",
    "ChargeMode",
    "ChargerConfigItem",
    "ChargerSession",
    "ChargerStatus",
    "ChargerSummary",
    "ChargingSession",
    "EvStatus",
    "EventsPage",
    "GridControlCheck",
    "GridStateResult",
    "HomeownerEvent",
    "Inventory",
    "InventoryDevice",
    "Inverter",
    "InverterList",
    "InverterStatus",
    "LifetimeEnergy",
    "LiveStream",
    "OffGridStatus",
    "ProfileDetails",
    "ScheduleList",
    "ScheduleSlot",
    "SessionHistoryPage",
    "Site",
    "SiteSettings",
    "StormAlert",
    "green_use_battery_from_payload",
    "inverter_energy_from_payload",
    "session_energy_kwh",
]
