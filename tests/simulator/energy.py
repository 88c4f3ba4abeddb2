"""Deterministic energy model: daily lifetime buckets and per-inverter production.

Every value derives from the site seed and the date, so the same simulated day always
yields the same numbers. Today's bucket is the day's total scaled by how much of the
day has passed (simulated clock); charging done inside the simulator is added on top.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from functools import lru_cache

from .state import SiteState

CONSUMPTION_FLOWS = ("consumption", "solar_home", "solar_grid", "grid_home", "import", "export")
BATTERY_FLOWS = (
    "charge",
    "discharge",
    "solar_battery",
    "battery_home",
    "battery_grid",
    "grid_battery",
)
ALL_FLOWS = ("production", *CONSUMPTION_FLOWS, *BATTERY_FLOWS, "evse", "heatpump", "water_heater")
SOUTHERN_PREFIXES = ("Australia/", "Pacific/Auckland", "America/Sao_Paulo", "Africa/Johannesburg")


@lru_cache(maxsize=65536)
def _nominal(seed: int, ordinal: int, south: bool) -> tuple[float, float, float, float]:
    """(solar factor, house factor, evse share, grid-charge share) for one day."""
    rng = random.Random(seed * 1_000_003 + ordinal)
    doy = date.fromordinal(ordinal).timetuple().tm_yday
    peak = 355 if south else 172
    season = 0.62 + 0.38 * math.cos(2 * math.pi * (doy - peak) / 365.25)
    weather = rng.uniform(0.7, 1.08)
    if rng.random() < 0.15:
        weather = rng.uniform(0.2, 0.5)
    house = rng.uniform(0.85, 1.15) * (1.12 - 0.12 * season)
    evse = rng.uniform(0.25, 0.6) if rng.random() < 0.5 else 0.0
    grid_charge = rng.uniform(0.05, 0.15) if rng.random() < 0.1 else 0.0
    return season * weather, house, evse, grid_charge


def day_fraction(site: SiteState, now: datetime) -> float:
    """How much of today's energy has accrued at ``now`` (0 at midnight, 1 at the end)."""
    local = now.astimezone(site.tz)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    linear = seconds / 86400
    hours = seconds / 3600
    if hours <= 6:
        solar = 0.0
    elif hours >= 20:
        solar = 1.0
    else:
        solar = (1 - math.cos(math.pi * (hours - 6) / 14)) / 2
    return 0.2 * linear + 0.8 * solar


def _is_south(site: SiteState) -> bool:
    return site.timezone.startswith(SOUTHERN_PREFIXES)


def shading_ratio(site: SiteState) -> float:
    """Share of nominal production left after per-inverter factor overrides."""
    total = sum(inv.weight for inv in site.inverters)
    if not total:
        return 1.0
    shaded = sum(
        inv.weight * site.inverter_daily_factor.get(inv.serial, 1.0) for inv in site.inverters
    )
    return shaded / total


def _cloudy(site: SiteState, day: date) -> float:
    return site.cloudy_days.get(day, site.cloudy_days.get(day.isoformat(), 1.0))


def nominal_production(site: SiteState, day: date) -> float:
    """Unshaded production of ``day`` (full day, Wh), cloudy factor applied."""
    solar, _, _, _ = _nominal(site.seed, day.toordinal(), _is_south(site))
    return site.daily_production_wh * solar * _cloudy(site, day)


def day_flows(site: SiteState, day: date, fraction: float = 1.0) -> dict[str, int]:
    """Energy flows of one day in Wh (only the flows the site has)."""
    solar, house, evse_share, grid_share = _nominal(site.seed, day.toordinal(), _is_south(site))
    prod_f = site.daily_production_wh * solar * _cloudy(site, day) * shading_ratio(site)
    prod = round(prod_f * fraction)
    values: dict[str, int] = {"production": prod}
    if site.has_consumption:
        house_wh = site.daily_consumption_wh * house
        evse_f = house_wh * evse_share if site.has_evse_flow else 0.0
        cons_f = house_wh + evse_f
        solar_home_f = min(prod_f, cons_f) * 0.55
        solar_battery_f = battery_home_f = grid_battery_f = 0.0
        if site.has_battery_flows and site.battery is not None:
            capacity_wh = sum(s.capacity_kwh for s in site.battery.storages) * 1000
            solar_battery_f = min((prod_f - solar_home_f) * 0.6, capacity_wh * 0.9)
            battery_home_f = min(solar_battery_f * 0.92, cons_f - solar_home_f)
            grid_battery_f = capacity_wh * grid_share
        # Round the independent flows, derive the rest so every day adds up exactly.
        solar_home = round(solar_home_f * fraction)
        solar_battery = round(solar_battery_f * fraction)
        battery_home = round(battery_home_f * fraction)
        grid_battery = round(grid_battery_f * fraction)
        cons = max(round(cons_f * fraction), solar_home + battery_home)
        solar_grid = max(prod - solar_home - solar_battery, 0)
        grid_home = cons - solar_home - battery_home
        values |= {
            "consumption": cons,
            "solar_home": solar_home,
            "solar_grid": solar_grid,
            "grid_home": grid_home,
            "import": grid_home + grid_battery,
            "export": solar_grid,
        }
        if site.has_battery_flows:
            values |= {
                "charge": solar_battery + grid_battery,
                "discharge": battery_home,
                "solar_battery": solar_battery,
                "battery_home": battery_home,
                "battery_grid": 0,
                "grid_battery": grid_battery,
            }
        if site.has_evse_flow:
            values["evse"] = min(round(evse_f * fraction), cons)
    for flow, wh in site.extra_energy.get(day, {}).items():
        if flow in values:
            values[flow] += round(wh)
    for flow in values:
        revised = site.revisions.get((day, flow))
        if revised is not None:
            values[flow] = revised
    return values


def lifetime_payload(site: SiteState, now: datetime) -> dict[str, object]:
    """2.8 lifetime_energy payload: daily buckets from ``start_date`` to today."""
    first = site.first_day()
    today = now.astimezone(site.tz).date()
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    frac = day_fraction(site, now)
    series: dict[str, list[int | None]] = {flow: [] for flow in ALL_FLOWS}
    for day in days:
        values = day_flows(site, day, frac if day == today else 1.0)
        for flow in ALL_FLOWS:
            if flow in values:
                series[flow].append(values[flow])
            elif flow in CONSUMPTION_FLOWS or flow in BATTERY_FLOWS:
                series[flow].append(None)
    report = now - timedelta(seconds=now.timestamp() % 900)
    payload: dict[str, object] = {
        "system_id": site.site_id,
        "start_date": first.isoformat(),
        "last_report_date": int(report.timestamp()),
        "update_pending": bool(site.revisions),
    }
    payload |= series
    return payload


def inverter_energy(site: SiteState, start: date, end: date, now: datetime) -> dict[str, int]:
    """Per-inverter Wh between ``start`` and ``end`` inclusive (2.14)."""
    today = now.astimezone(site.tz).date()
    first = max(start, site.first_day())
    last = min(end, today)
    total = 0.0
    day = first
    while day <= last:
        frac = day_fraction(site, now) if day == today else 1.0
        total += nominal_production(site, day) * frac
        day += timedelta(days=1)
    weight_sum = sum(inv.weight for inv in site.inverters) or 1.0
    return {
        inv.inverter_id: round(
            total * inv.weight / weight_sum * site.inverter_daily_factor.get(inv.serial, 1.0)
        )
        for inv in site.inverters
    }
