"""State transitions driven by time and by commands (charging, pending profiles)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .state import ChargerState, ChargeSession, SiteState

MILES_PER_KWH = 4.0
COST_PER_KWH = 0.03


def tick(site: SiteState, now: datetime) -> None:
    """Bring a site up to ``now``: reconcile direct state edits, accrue energy, apply changes."""
    battery = site.battery
    if (
        battery is not None
        and battery.requested is not None
        and battery.requested_at is not None
        and (now - battery.requested_at).total_seconds() >= battery.pending_delay
    ):
        battery.profile = str(battery.requested["profile"])
        battery.reserve = int(battery.requested["batteryBackupPercentage"])
        battery.requested = None
        battery.requested_at = None
        site.add_event("profile_changed", site.gateway.serial, battery.profile, at=now)
    for charger in site.chargers.values():
        _reconcile(site, charger, now)
        if charger.charging:
            _accrue(site, charger, now)
        charger.last_tick = now


def _reconcile(site: SiteState, ch: ChargerState, now: datetime) -> None:
    if ch.plugged_in and not ch.seen_plugged:
        ch.seen_plugged = True
        ch.plug_in_at = now
        ch.plug_out_at = None
        ch.session_energy_wh = 0.0
        site.add_event("evse_plugged_in", ch.sn, ch.name, at=now)
    elif not ch.plugged_in and ch.seen_plugged:
        if ch.active_since is not None:
            _accrue(site, ch, now)
            finish_charging(site, ch, now)
        ch.seen_plugged = False
        ch.plug_out_at = now
        site.add_event("evse_unplugged", ch.sn, ch.name, at=now)
    if ch.charging and (not ch.plugged_in or ch.faulted):
        ch.charging = False
    if ch.charging and ch.active_since is None:
        begin_charging(site, ch, now)
    elif not ch.charging and ch.active_since is not None:
        finish_charging(site, ch, now)


def _accrue(site: SiteState, ch: ChargerState, now: datetime) -> None:
    """Add charging energy from the last tick to ``now``, split by site-local day."""
    start = ch.last_tick or now
    tz = site.tz
    while start < now and ch.charging:
        local_day = start.astimezone(tz).date()
        day_end = site.local_midnight(local_day + timedelta(days=1))
        seg_end = min(now, day_end)
        wh = ch.power_w * (seg_end - start).total_seconds() / 3600
        room = max(ch.ev_capacity_wh - ch.session_energy_wh, 0.0)
        full = wh >= room
        wh = min(wh, room)
        ch.session_energy_wh += wh
        extra = site.extra_energy.setdefault(local_day, {})
        for flow in ("evse", "consumption", "grid_home", "import"):
            extra[flow] = extra.get(flow, 0.0) + wh
        if full:
            done_at = start + timedelta(hours=wh / ch.power_w) if ch.power_w else start
            finish_charging(site, ch, done_at)
            break
        start = seg_end


def begin_charging(site: SiteState, ch: ChargerState, now: datetime) -> None:
    """Mark a charger as charging from ``now``."""
    ch.charging = True
    ch.charge_started_at = now
    ch.active_since = now
    ch.active_energy_start = ch.session_energy_wh
    ch.last_tick = now
    mode = {"MANUAL_CHARGING": "Charge Now", "SCHEDULED_CHARGING": "Scheduled"}.get(
        ch.mode, "Green"
    )
    site.add_event(
        "evse_start_charging",
        ch.sn,
        ch.name,
        at=now,
        params=f"Charge Level = {ch.charging_level}, Mode = {mode}",
    )


def finish_charging(site: SiteState, ch: ChargerState, now: datetime) -> None:
    """Stop charging and record the finished session for the history API."""
    started = ch.active_since or now
    energy_kwh = max(ch.session_energy_wh - ch.active_energy_start, 0.0) / 1000
    ch.charging = False
    ch.active_since = None
    if energy_kwh > 0:
        ch.sessions.append(
            ChargeSession(
                session_id=int(started.timestamp()),
                start=started,
                end=now,
                energy_kwh=round(energy_kwh, 2),
                active_s=int((now - started).total_seconds()),
                miles=round(energy_kwh * MILES_PER_KWH, 1),
                cost=round(energy_kwh * COST_PER_KWH, 2),
            )
        )
    site.add_event("evse_stop_charging", ch.sn, ch.name, at=now)


def request_start(site: SiteState, ch: ChargerState, level: int, now: datetime) -> None:
    """Apply an accepted start-charging command."""
    tick(site, now)
    ch.charging_level = level
    if not ch.charging:
        begin_charging(site, ch, now)


def request_stop(site: SiteState, ch: ChargerState, now: datetime) -> None:
    """Apply an accepted stop-charging command."""
    tick(site, now)
    if ch.charging:
        finish_charging(site, ch, now)
