"""Build the simulated sites from the scenario data files next to this module."""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..engine import COST_PER_KWH, MILES_PER_KWH
from ..state import (
    BatteryState,
    ChargerState,
    ChargeSession,
    DeviceCard,
    GridState,
    InverterState,
    SiteState,
    StorageState,
)
from ..timefmt import Clock

SCENARIO_DIR = Path(__file__).parent
SCENARIO_FILES = ("full.json", "micros_only.json", "legacy.json", "large.json")
SESSION_HISTORY_DAYS = 180
EVENT_HISTORY_DAYS = 60


def load_definitions() -> list[dict[str, Any]]:
    """The raw scenario definitions, in site-id order."""
    return [json.loads((SCENARIO_DIR / name).read_text()) for name in SCENARIO_FILES]


def build_sites(clock: Clock) -> dict[int, SiteState]:
    """Fresh state for every scenario site."""
    sites = [build_site(d, clock) for d in load_definitions()]
    return {s.site_id: s for s in sites}


def _card(data: dict[str, Any]) -> DeviceCard:
    return DeviceCard(
        name=data["name"],
        serial=data["serial"],
        sku_id=data["sku_id"],
        sw_version=data["sw_version"],
        ip=data.get("ip"),
        channel_type=data.get("channel_type"),
        emu_version=data.get("emu_version"),
        warranty_end_date=data.get("warranty_end_date", "2035-01-01"),
    )


def build_site(d: dict[str, Any], clock: Clock) -> SiteState:
    """One site from its scenario definition."""
    site_id = int(d["site_id"])
    rng = random.Random(d["seed"])
    flows = d["flows"]
    site = SiteState(
        site_id=site_id,
        name=d["name"],
        scenario=d["scenario"],
        timezone=d["timezone"],
        locale=d["locale"],
        country_code=d["country_code"],
        region=d["region"],
        continent_code=d["continent_code"],
        isd_code=d["isd_code"],
        support_phone=d["support_phone"],
        seed=int(d["seed"]),
        history_days=int(d["history_days"]),
        daily_production_wh=float(d["daily_production_wh"]),
        daily_consumption_wh=float(d["daily_consumption_wh"]),
        has_consumption=bool(flows["consumption"]),
        has_battery_flows=bool(flows["battery"]),
        has_evse_flow=bool(flows["evse"]),
        gateway=_card(d["gateway"]),
        clock=clock,
        meters=[_card(m) for m in d["meters"]],
        enpower=_card(d["enpower"]) if d["enpower"] else None,
        favourite=bool(d.get("favourite", False)),
    )
    index = 0
    for array in d["arrays"]:
        for _ in range(int(array["count"])):
            index += 1
            site.inverters.append(
                InverterState(
                    inverter_id=f"67{site_id:07d}{index:03d}",
                    serial=f"12{site_id:07d}{index:03d}",
                    device_id=62_000_000 + (site_id % 1000) * 1000 + index,
                    model=array["model"],
                    array_name=array["name"],
                    sku_id=array["sku_id"],
                    part_num=array["part_num"],
                    sku=int(array["sku"]),
                    fw1=array["fw1"],
                    fw2=array["fw2"],
                    weight=float(array["orientation"]) * rng.uniform(0.97, 1.03),
                )
            )
    if d["batteries"]:
        site.battery = BatteryState(
            storages=[
                StorageState(
                    id=int(b["id"]),
                    serial=b["serial"],
                    name=b["name"],
                    sku_id=b["sku_id"],
                    soc=float(b["soc"]),
                    capacity_kwh=float(b["capacity_kwh"]),
                    max_power_kw=float(b["max_power_kw"]),
                    cycle_count=int(b["cycle_count"]),
                    soh=int(b["soh"]),
                    sw_version=b["sw_version"],
                    warranty_end_date=b["warranty_end_date"],
                    inverter_id=f"67{site_id:07d}9{n:02d}",
                )
                for n, b in enumerate(d["batteries"], start=1)
            ]
        )
    site.grid = GridState(disable_grid_control=site.battery is None)
    now = clock.now()
    for c in d["chargers"]:
        charger = _build_charger(c, site_id, now, rng)
        charger.supports_use_battery = site.battery is not None
        site.chargers[charger.sn] = charger
    for entry in d["backup_history"]:
        day = site.today() - timedelta(days=int(entry["days_ago"]))
        start = datetime.combine(
            day, time(entry["hour"], entry["minute"], entry["second"]), tzinfo=site.tz
        )
        site.backup_history.append((start, int(entry["duration"])))
    _seed_events(site, rng)
    return site


def _build_charger(
    c: dict[str, Any], site_id: int, now: datetime, rng: random.Random
) -> ChargerState:
    ch = ChargerState(
        sn=c["sn"],
        name=c["name"],
        shape=c["shape"],
        model_name=c["model_name"],
        sku=c["sku"],
        part_number=c["part_number"],
        voltage=int(c["voltage"]),
        min_amps=int(c["min_amps"]),
        max_amps=int(c["max_amps"]),
        firmware=c["firmware"],
        application_version=c["application_version"],
        processor_board_version=c["processor_board_version"],
        power_board_version=c["power_board_version"],
        uuid=c["uuid"],
        manufacturer=c.get("manufacturer"),
        charging_level=int(c["max_amps"]),
        mode=c["mode"],
        last_reported_at=now - timedelta(seconds=41),
    )
    if c["plugged_in"]:
        ch.plugged_in = ch.seen_plugged = True
        ch.plug_in_at = now - timedelta(hours=2, minutes=13)
    if c["charging"] and ch.plugged_in:
        started = now - timedelta(minutes=40)
        ch.charging = True
        ch.charge_started_at = ch.active_since = started
        ch.session_energy_wh = ch.power_w * 40 / 60
        ch.last_tick = now
    ch.schedules = [
        _slot(
            site_id,
            ch.sn,
            kind="CUSTOM",
            start="23:00",
            end="06:00",
            level=ch.max_amps,
            enabled=True,
            rng=rng,
        ),
        _slot(
            site_id,
            ch.sn,
            kind="OFF_PEAK",
            start=None,
            end=None,
            level=None,
            enabled=False,
            rng=rng,
        ),
    ]
    ch.sessions = _seed_sessions(ch, now, rng)
    return ch


def _slot(
    site_id: int,
    sn: str,
    *,
    kind: str,
    start: str | None,
    end: str | None,
    level: int | None,
    enabled: bool,
    rng: random.Random,
) -> dict[str, Any]:
    uid = "%08x-%04x-4%03x-a%03x-%012x" % (  # noqa: UP031
        rng.getrandbits(32),
        rng.getrandbits(16),
        rng.getrandbits(12),
        rng.getrandbits(12),
        rng.getrandbits(48),
    )
    custom = kind == "CUSTOM"
    return {
        "id": f"{site_id}:{sn}:{uid}",
        "startTime": start,
        "endTime": end,
        "chargingLevel": level,
        "chargingLevelAmp": level,
        "scheduleType": kind,
        "days": [1, 2, 3, 4, 5, 6, 7],
        "remindTime": 10,
        "remindFlag": False,
        "enabled": enabled,
        "recurringKind": "Recurring" if custom else None,
        "chargeLevelType": "Weekly" if custom else None,
        "sourceType": "SYSTEM",
        "reminderTimeUtc": None,
        "serializedDays": None,
    }


def _seed_sessions(ch: ChargerState, now: datetime, rng: random.Random) -> list[ChargeSession]:
    sessions: list[ChargeSession] = []
    for days_ago in range(SESSION_HISTORY_DAYS, 0, -1):
        if rng.random() > 0.6:
            continue
        start = (now - timedelta(days=days_ago)).replace(microsecond=0) + timedelta(
            seconds=rng.randint(0, 6 * 3600)
        )
        active = rng.randint(1800, 5 * 3600)
        energy = round(ch.voltage * ch.max_amps * active / 3600 / 1000 * rng.uniform(0.7, 1.0), 2)
        end = start + timedelta(seconds=active + rng.randint(0, 4 * 3600))
        sessions.append(
            ChargeSession(
                session_id=int(start.timestamp()),
                start=start,
                end=end,
                energy_kwh=energy,
                active_s=active,
                miles=round(energy * MILES_PER_KWH, 1) if rng.random() > 0.1 else None,
                cost=round(energy * COST_PER_KWH, 2),
                manual_overridden=rng.random() > 0.3,
            )
        )
    return sessions


def _seed_events(site: SiteState, rng: random.Random) -> None:
    now = site.clock.now().replace(microsecond=0)
    for days_ago in range(EVENT_HISTORY_DAYS, 0, -1):
        base = now - timedelta(days=days_ago)
        for ch in site.chargers.values():
            if rng.random() < 0.6:
                at = base + timedelta(seconds=rng.randint(0, 3600))
                site.add_event(
                    "evse_start_charging",
                    ch.sn,
                    ch.name,
                    at=at,
                    params=f"Charge Level = {ch.max_amps}, Mode = Charge Now",
                )
                site.add_event("evse_stop_charging", ch.sn, ch.name, at=at + timedelta(minutes=95))
        if rng.random() < 0.08:
            at = base + timedelta(seconds=rng.randint(0, 80000))
            site.add_event("envoy_not_reporting", site.gateway.serial, site.gateway.name, at=at)
        if site.inverters and rng.random() < 0.1:
            inv = rng.choice(site.inverters)
            at = base + timedelta(seconds=rng.randint(0, 80000))
            site.add_event("micro_low_production", inv.serial, inv.model, at=at)
