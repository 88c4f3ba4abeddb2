"""Models of the site, energy, inventory, grid and microinverter endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
)
from .errors import InvalidResponse

# Top-level keys of lifetime_energy that are not energy series.
_ENERGY_META = frozenset({"system_id", "start_date", "last_report_date", "update_pending"})


@dataclass(frozen=True, slots=True)
class Site:
    """A site the account can see (spec 1.1)."""

    site_id: str
    title: str | None = None
    favourite: bool = False

    @property
    def name(self) -> str:
        """Display name: the title, else the id."""
        return self.title or self.site_id

    @classmethod
    def list_from_payload(cls, payload: object) -> list[Self]:
        """Parse ``{"sites": [...]}`` (a bare array is accepted too)."""
        raw = payload if isinstance(payload, list) else require_dict(payload, "sites").get("sites")
        if not isinstance(raw, list):
            raise InvalidResponse("search sites: no sites array")
        sites: list[Self] = []
        for item in dicts(raw):
            site_id = as_str(first(item, "id", "site_id", "system_id"))
            # Enlighten site ids are positive integers; anything else is not a site.
            if site_id is not None and site_id.isascii() and site_id.isdigit() and int(site_id):
                sites.append(
                    cls(
                        site_id=site_id,
                        title=as_str(first(item, "title", "name")),
                        favourite=bool(as_bool(item.get("favourite"))),
                    )
                )
        return sites


@dataclass(frozen=True, slots=True)
class LifetimeEnergy:
    """Daily (or interval) energy buckets in Wh per flow (spec 2.8).

    ``series`` only holds flows with at least one value; a missing flow means the
    site lacks it (the cloud sends an empty or an all-null array).  Values that
    are null, negative or not numbers are ``None``.
    """

    start_date: date
    last_report: datetime | None
    update_pending: bool | None
    series: dict[str, list[float | None]]
    system_id: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the payload; every list-valued key is a flow."""
        return cls.parse_after(payload, {}, {})[0]

    @classmethod
    def parse_after(
        cls,
        payload: object,
        raw_before: Mapping[str, list[Any]],
        parsed_before: Mapping[str, list[float | None]],
    ) -> tuple[Self, dict[str, list[Any]], dict[str, list[float | None]]]:
        """Parse the payload, reusing the parsed buckets of a previous one where equal.

        ``raw_before``/``parsed_before`` are the previous payload's arrays per flow,
        as sent and as parsed; this payload's are returned beside the result. A
        flow whose array is unchanged gets the very list parsed before.
        """
        root = require_dict(payload, "lifetime energy")
        start = as_date(root.get("start_date"))
        if start is None:
            raise InvalidResponse("lifetime energy: no start_date")
        raw_now: dict[str, list[Any]] = {}
        parsed_now: dict[str, list[float | None]] = {}
        series: dict[str, list[float | None]] = {}
        for key, value in root.items():
            if key in _ENERGY_META or not isinstance(value, list) or not value:
                continue
            values = _buckets(value, raw_before.get(key), parsed_before.get(key))
            raw_now[key], parsed_now[key] = value, values
            if values.count(None) < len(values):
                series[key] = values
        energy = cls(
            start_date=start,
            last_report=as_datetime(root.get("last_report_date")),
            update_pending=as_bool(root.get("update_pending")),
            series=series,
            system_id=as_str(root.get("system_id")),
        )
        return energy, raw_now, parsed_now

    @property
    def flows(self) -> list[str]:
        """Names of the flows the site has."""
        return list(self.series)

    def bucket_dates(self, flow: str = "production") -> list[date]:
        """Dates of the buckets of ``flow`` assuming daily buckets from ``start_date``."""
        return [self.start_date + timedelta(days=i) for i in range(len(self.series.get(flow, [])))]

    def daily(self, flow: str = "production") -> dict[date, float | None]:
        """Map each bucket date to its value (Wh) for ``flow``."""
        return dict(zip(self.bucket_dates(flow), self.series.get(flow, []), strict=True))

    def latest(self, flow: str = "production") -> float | None:
        """The last reported (non-null) bucket of ``flow``."""
        return next((v for v in reversed(self.series.get(flow, [])) if v is not None), None)

    def total(self, flow: str = "production") -> float | None:
        """Sum of the known buckets of ``flow`` (Wh), None when the flow is absent."""
        values = [v for v in self.series.get(flow, []) if v is not None]
        return sum(values) if values else None


# Trailing buckets of a flow that are always parsed again: today's and the recent days
# the cloud may still complete late. Older buckets equal to the previous payload's are
# reused as parsed before.
REPARSED_TAIL = 7


def _buckets(
    raw: list[Any], raw_before: list[Any] | None, parsed_before: list[float | None] | None
) -> list[float | None]:
    """Wh per bucket (None when unusable), reusing ``parsed_before`` where ``raw`` is unchanged.

    A bucket parses from its own raw value alone, so an equal prefix parses to
    an equal prefix. (List equality takes ``1`` and ``1.0`` as equal, which parse
    alike; it would also take ``true`` for ``1``, which these arrays never hold.)
    """
    if raw_before is not None and parsed_before is not None:
        keep = max(len(raw_before) - REPARSED_TAIL, 0)
        if raw[:keep] == raw_before[:keep]:
            if raw[keep:] == raw_before[keep:]:
                return parsed_before
            return parsed_before[:keep] + [as_float(v, non_negative=True) for v in raw[keep:]]
    return [as_float(v, non_negative=True) for v in raw]


class LifetimeEnergyReader:
    """Parses the lifetime energy payloads of one site, one refresh after another.

    The payload repeats years of daily buckets and only the last ones change, so
    the unchanged buckets are not parsed again, and a payload equal to the
    previous one gives the previous result itself. The reader keeps the arrays
    of the last payload to compare: pass each payload once, as decoded.
    """

    __slots__ = ("_last", "_parsed", "_raw")

    def __init__(self) -> None:
        """Start with no previous payload."""
        self._raw: dict[str, list[Any]] = {}
        self._parsed: dict[str, list[float | None]] = {}
        self._last: LifetimeEnergy | None = None

    def parse(self, payload: object) -> LifetimeEnergy:
        """Parse ``payload`` like ``LifetimeEnergy.from_payload``."""
        energy, self._raw, self._parsed = LifetimeEnergy.parse_after(
            payload, self._raw, self._parsed
        )
        # Unchanged flows hold the very lists of the last result: cheap to compare.
        if (last := self._last) is not None and energy == last:
            return last
        self._last = energy
        return energy


# devices.json bucket types -> Inventory attribute.
_GROUPS: dict[str, str] = {
    "envoy": "gateways",
    "gateway": "gateways",
    "encharge": "batteries",
    "battery": "batteries",
    "enpower": "controllers",
    "system_controller": "controllers",
    "enrelay": "relays",
    "relay": "relays",
    "meter": "meters",
    "meters": "meters",
    "iqevse": "chargers",
    "evse": "chargers",
    "ev_charger": "chargers",
}


@dataclass(frozen=True, slots=True)
class InventoryDevice:
    """One device card of devices.json (spec 2.9)."""

    device_type: str
    serial: str | None
    name: str | None = None
    sku: str | None = None
    status: str | None = None
    status_text: str | None = None
    last_report: datetime | None = None
    connected: bool | None = None
    firmware: str | None = None
    channel_type: str | None = None
    warranty_end: date | None = None

    @classmethod
    def from_payload(cls, device_type: str, data: JsonDict) -> Self:
        """Parse one device of a typed bucket."""
        return cls(
            device_type=device_type,
            serial=as_str(first(data, "serial_number", "serialNumber", "sn")),
            name=as_str(data.get("name")),
            sku=as_str(data.get("sku_id")),
            status=as_str(data.get("status")),
            status_text=as_str(data.get("statusText")),
            last_report=as_datetime(data.get("last_report")),
            connected=as_bool(data.get("connected")),
            firmware=as_str(first(data, "envoy_sw_version", "sw_version", "firmware")),
            channel_type=as_str(data.get("channel_type")),
            warranty_end=as_date(data.get("warranty_end_date")),
        )


@dataclass(frozen=True, slots=True)
class Inventory:
    """Site hardware grouped by kind (spec 2.9); unknown kinds go to ``others``."""

    gateways: list[InventoryDevice]
    batteries: list[InventoryDevice]
    controllers: list[InventoryDevice]
    relays: list[InventoryDevice]
    meters: list[InventoryDevice]
    chargers: list[InventoryDevice]
    others: list[InventoryDevice]
    site_date: date | None = None

    @property
    def all_devices(self) -> list[InventoryDevice]:
        """Every device of every group."""
        return [
            *self.gateways,
            *self.batteries,
            *self.controllers,
            *self.relays,
            *self.meters,
            *self.chargers,
            *self.others,
        ]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the mixed ``result`` array of buckets and metadata objects."""
        root = require_dict(payload, "devices")
        raw = root.get("result")
        if not isinstance(raw, list):
            raise InvalidResponse("devices: no result array")
        groups: dict[str, list[InventoryDevice]] = {
            name: [] for name in (*set(_GROUPS.values()), "others")
        }
        site_date: date | None = None
        for item in dicts(raw):
            if "curr_date_site" in item:
                site_date = as_date(item.get("curr_date_site"))
            kind = as_str(item.get("type"))
            if kind is None:
                continue
            group = groups[_GROUPS.get(kind.lower(), "others")]
            group.extend(InventoryDevice.from_payload(kind, d) for d in dicts(item.get("devices")))
        return cls(site_date=site_date, **groups)


@dataclass(frozen=True, slots=True)
class HomeownerEvent:
    """One row of the events history (spec 2.10)."""

    id: str | None
    status: str | None
    type: str | None
    description: str | None
    event_key: str | None
    event_type_id: int | None
    serial: str | None
    standing: bool | None
    start: datetime | None
    cleared: datetime | None
    date: datetime | None
    recommended_action: str | None
    devices_impacted: list[str]
    message_params: str | None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self:
        """Parse one event."""
        return cls(
            id=as_str(data.get("id")),
            status=as_str(data.get("status")),
            type=as_str(data.get("type")),
            description=as_str(data.get("description")),
            event_key=as_str(data.get("event_key")),
            event_type_id=as_int(data.get("event_type_id")),
            serial=as_str(data.get("serial_num")),
            standing=as_bool(data.get("standing")),
            start=as_datetime(data.get("event_start_date")),
            cleared=as_datetime(data.get("event_clear_date")),
            date=as_datetime(data.get("event_date")),
            recommended_action=as_str(data.get("recommended_action")),
            devices_impacted=[d for d in map(as_str, as_list(data.get("devices_impacted"))) if d],
            message_params=as_str(data.get("message_params")),
        )


@dataclass(frozen=True, slots=True)
class EventsPage:
    """A page of homeowner events; ``next_cursor`` fetches the next one."""

    events: list[HomeownerEvent]
    next_cursor: str | None
    page_size: int | None = None
    site_timezone: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the page."""
        root = require_dict(payload, "events")
        return cls(
            events=[HomeownerEvent.from_payload(e) for e in dicts(root.get("events"))],
            next_cursor=as_str(root.get("next")),
            page_size=as_int(root.get("page_size"), non_negative=True),
            site_timezone=as_str(root.get("site_timezone")),
        )


@dataclass(frozen=True, slots=True)
class BackupEvent:
    """One backup (outage) period."""

    start: datetime
    duration_s: int

    @property
    def end(self) -> datetime:
        """End of the backup period."""
        return self.start + timedelta(seconds=self.duration_s)


@dataclass(frozen=True, slots=True)
class BackupHistory:
    """Backup history of the site (spec 2.11)."""

    total_records: int | None
    total_backup_s: int | None
    events: list[BackupEvent]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the history; rows without a start time are skipped."""
        root = require_dict(payload, "backup history")
        events: list[BackupEvent] = []
        for row in dicts(root.get("histories")):
            start = as_datetime(row.get("start_time"))
            duration = as_int(row.get("duration"), non_negative=True)
            if start is not None:
                events.append(BackupEvent(start=start, duration_s=duration or 0))
        return cls(
            total_records=as_int(root.get("total_records"), non_negative=True),
            total_backup_s=as_int(root.get("total_backup"), non_negative=True),
            events=events,
        )


@dataclass(frozen=True, slots=True)
class GridControlCheck:
    """Guard conditions of a grid toggle (spec 2.12)."""

    disable_grid_control: bool
    active_download: bool
    sunlight_backup_system_check: bool
    grid_outage_check: bool
    user_initiated_grid_toggle: bool

    @property
    def blocked_reasons(self) -> list[str]:
        """Names of the conditions that currently block a toggle."""
        return [
            name
            for name in (
                "disable_grid_control",
                "active_download",
                "sunlight_backup_system_check",
                "grid_outage_check",
                "user_initiated_grid_toggle",
            )
            if getattr(self, name)
        ]

    @property
    def allowed(self) -> bool:
        """Whether a grid toggle may be started now."""
        return not self.blocked_reasons

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the flags; missing flags are false."""
        root = require_dict(payload, "grid control check")

        def flag(key: str) -> bool:
            return bool(as_bool(root.get(key)))

        return cls(
            disable_grid_control=flag("disableGridControl"),
            active_download=flag("activeDownload"),
            sunlight_backup_system_check=flag("sunlightBackupSystemCheck"),
            grid_outage_check=flag("gridOutageCheck"),
            user_initiated_grid_toggle=flag("userInitiatedGridToggle"),
        )


@dataclass(frozen=True, slots=True)
class GridStateResult:
    """Answer of a grid state command (spec 2.12.3)."""

    request_id: str | None
    context_ids: list[str]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the queued request."""
        root = require_dict(payload, "grid state")
        return cls(
            request_id=as_str(root.get("request_id")),
            context_ids=[c for c in map(as_str, as_list(root.get("context_ids"))) if c],
        )


@dataclass(frozen=True, slots=True)
class OffGridStatus:
    """Grid outage context (spec 2.12.5)."""

    is_grid_outage: bool | None
    show_grid_connect: bool | None
    has_battery: bool | None
    is_sunlight_backup: bool | None
    country_code: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the context (contact details are not kept)."""
        root = require_dict(payload, "off grid status")
        return cls(
            is_grid_outage=as_bool(root.get("is_grid_outage")),
            show_grid_connect=as_bool(root.get("show_grid_connect")),
            has_battery=as_bool(root.get("has_battery")),
            is_sunlight_backup=as_bool(root.get("is_sunlight_backup")),
            country_code=as_str(root.get("country_code")),
        )


@dataclass(frozen=True, slots=True)
class Inverter:
    """One microinverter card (spec 2.13)."""

    serial: str
    model: str | None = None
    array_name: str | None = None
    sku: str | None = None
    part_number: str | None = None
    status: str | None = None
    status_text: str | None = None
    last_report: datetime | None = None
    firmware: str | None = None
    firmware2: str | None = None
    warranty_end: date | None = None

    @classmethod
    def from_payload(cls, data: JsonDict) -> Self | None:
        """Parse one card; None when it has no serial number."""
        serial = as_str(data.get("serial_number"))
        if serial is None:
            return None
        return cls(
            serial=serial,
            model=as_str(data.get("name")),
            array_name=as_str(data.get("array_name")),
            sku=as_str(data.get("sku_id")),
            part_number=as_str(data.get("part_num")),
            status=as_str(data.get("status")),
            status_text=as_str(data.get("statusText")),
            last_report=as_datetime(data.get("last_report")),
            firmware=as_str(data.get("fw1")),
            firmware2=as_str(data.get("fw2")),
            warranty_end=as_date(data.get("warranty_end_date")),
        )


@dataclass(frozen=True, slots=True)
class InverterList:
    """A page of microinverters (spec 2.13); ``total`` counts every match."""

    total: int
    inverters: list[Inverter]
    not_reporting: int | None = None
    error_count: int | None = None
    warning_count: int | None = None
    normal_count: int | None = None

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """Parse the page."""
        root = require_dict(payload, "inverters")
        inverters = [i for i in map(Inverter.from_payload, dicts(root.get("inverters"))) if i]
        total = as_int(root.get("total"), non_negative=True)
        return cls(
            total=len(inverters) if total is None else total,
            inverters=inverters,
            not_reporting=as_int(root.get("not_reporting"), non_negative=True),
            error_count=as_int(root.get("error_count"), non_negative=True),
            warning_count=as_int(root.get("warning_count"), non_negative=True),
            normal_count=as_int(root.get("normal_count"), non_negative=True),
        )


def inverter_energy_from_payload(payload: object) -> dict[str, float]:
    """Parse ``production`` of spec 2.14 into Wh keyed by inverter id."""
    root = require_dict(payload, "inverter energy")
    production = root.get("production")
    if not isinstance(production, dict):
        raise InvalidResponse("inverter energy: no production object")
    result: dict[str, float] = {}
    for key, value in production.items():
        energy = as_float(value, non_negative=True)
        if energy is not None:
            result[str(key)] = energy
    return result


# Device types of inverter_status_x that are not microinverters.
_NON_MICRO = (
    "batt",
    "encharge",
    "enpower",
    "acb",
    "storage",
    "evse",
    "charger",
    "meter",
    "envoy",
    "gateway",
    "relay",
    "controller",
)


@dataclass(frozen=True, slots=True)
class InverterStatus:
    """Join of an inverter id with its serial and status (spec 2.15)."""

    inverter_id: str
    serial: str
    status_code: str | None = None
    status: str | None = None
    device_id: str | None = None
    device_type: str | None = None
    emu_version: str | None = None

    @classmethod
    def map_from_payload(cls, payload: object) -> dict[str, Self]:
        """Parse the map, keeping microinverters only."""
        root = require_dict(payload, "inverter status")
        result: dict[str, Self] = {}
        for key, item in root.items():
            if not isinstance(item, dict):
                continue
            serial = as_str(first(item, "serialNum", "serial_number"))
            kind = as_str(item.get("type"))
            if serial is None or (kind and any(w in kind.lower() for w in _NON_MICRO)):
                continue
            result[str(key)] = cls(
                inverter_id=str(key),
                serial=serial,
                status_code=as_str(item.get("statusCode")),
                status=as_str(item.get("status")),
                device_id=as_str(item.get("deviceId")),
                device_type=kind,
                emu_version=as_str(item.get("emu_version")),
            )
        return result
