"""Options, capabilities and the typed data of each cadence: the bottom of the coordinators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from homeassistant.config_entries import ConfigEntry

from ..api import (
    BackupHistory,
    BatterySettings,
    BatteryStatus,
    ChargerStatus,
    ChargerSummary,
    GridControlCheck,
    Inventory,
    Inverter,
    InverterList,
    OffGridStatus,
    ProfileDetails,
    SiteSettings,
    StormAlert,
)
from ..api.sessions import LastSession
from ..const import (
    CONF_DEVICE_FAMILIES,
    CONF_UNDERPERFORMANCE_DAYS,
    CONF_UNDERPERFORMANCE_THRESHOLD,
    DEFAULT_UNDERPERFORMANCE_DAYS,
    DEFAULT_UNDERPERFORMANCE_THRESHOLD,
    DEVICE_FAMILIES,
)


@dataclass(frozen=True, slots=True)
class EnlightenOptions:
    """The entry options with their defaults applied."""

    device_families: tuple[str, ...] = DEVICE_FAMILIES
    underperformance_threshold: float = DEFAULT_UNDERPERFORMANCE_THRESHOLD
    underperformance_days: int = DEFAULT_UNDERPERFORMANCE_DAYS

    @classmethod
    def from_entry(cls, entry: ConfigEntry[Any]) -> Self:
        """Read the options of ``entry``."""
        opts = entry.options
        families = opts.get(CONF_DEVICE_FAMILIES, DEVICE_FAMILIES)
        return cls(
            device_families=tuple(f for f in DEVICE_FAMILIES if f in families),
            underperformance_threshold=float(
                opts.get(CONF_UNDERPERFORMANCE_THRESHOLD, DEFAULT_UNDERPERFORMANCE_THRESHOLD)
            ),
            underperformance_days=int(
                opts.get(CONF_UNDERPERFORMANCE_DAYS, DEFAULT_UNDERPERFORMANCE_DAYS)
            ),
        )

    def family_enabled(self, family: str) -> bool:
        """Whether devices of ``family`` are created (and their endpoints polled)."""
        return family in self.device_families


@dataclass(frozen=True, slots=True)
class SiteCapabilities:
    """What the site has, decided once at setup; absent hardware is never polled.

    ``has_battery``/``has_charger``/``has_microinverters`` already take the
    device-family options into account.
    """

    site_id: str
    has_battery: bool
    has_system_controller: bool
    has_charger: bool
    has_microinverters: bool
    timezone: str | None
    gateway_serial: str | None
    settings: SiteSettings | None
    inventory: Inventory
    chargers: tuple[ChargerSummary, ...]


@dataclass(frozen=True, slots=True)
class EvData:
    """EV charger status (spec 2.1) keyed by charger serial."""

    chargers: dict[str, ChargerStatus]
    legacy_shape: bool
    fast_polling: bool
    live_stream_until: datetime | None


@dataclass(frozen=True, slots=True)
class RequestedProfile:
    """A profile/reserve change sent to the cloud, shown until the cloud reflects it."""

    profile: str
    reserve: int
    at: datetime


@dataclass(frozen=True, slots=True)
class SiteData:
    """Battery and grid state (5 min cadence); a part is None until first read."""

    battery_status: BatteryStatus | None = None
    profile: ProfileDetails | None = None
    battery_settings: BatterySettings | None = None
    storm_alert: StormAlert | None = None
    grid_check: GridControlCheck | None = None
    off_grid: OffGridStatus | None = None


@dataclass(frozen=True, slots=True)
class InventoryData:
    """Hardware of the site (1 h cadence); dicts are keyed by serial."""

    devices: Inventory | None = None
    inverters: dict[str, Inverter] = field(default_factory=dict)
    inverter_summary: InverterList | None = None
    chargers: dict[str, ChargerSummary] = field(default_factory=dict)
    backup_history: BackupHistory | None = None
    last_sessions: dict[str, LastSession] = field(default_factory=dict)
