"""Battery profile helpers and the timed battery command.

A timed command applies a temporary profile/reserve and restores the previous
settings when its duration ends or the battery reaches the target reserve,
whichever comes first. Enlighten applies a profile change only after a minute
or more, so the command is persisted and survives a restart of Home Assistant.

The command is stored before its change is sent and marked confirmed once
Enlighten accepted it. A stored command still unconfirmed after a restart (Home
Assistant stopped in between) may or may not have changed the battery: it is
kept only while one of the settings it applies is in place, and its normal end
restores the previous settings. Nothing is sent on its behalf at start-up.

Modes:
- ``discharge``: self-consumption with the reserve at the target, so the battery
  covers the home loads down to the target; ends early when the state of charge
  is at or below the target.
- ``charge``: full backup (the battery charges to 100 %); ends early when the
  state of charge is at or above the target.
- ``self_consumption``: self-consumption with the reserve at the target for the
  whole duration (ends by time only).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Self

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..api import AuthError, EnlightenError, MfaRequired, ProfileDetails
from ..const import DOMAIN, STORAGE_VERSION
from ..coordinator.data import RequestedProfile
from ..coordinator.site import SiteCoordinator
from .errors import control_error

_LOGGER = logging.getLogger(__name__)

# API profile names.
SELF_CONSUMPTION: Final = "self-consumption"
SAVINGS: Final = "cost_savings"
FULL_BACKUP: Final = "backup_only"
# Select options (translation keys) -> API profile names.
PROFILE_OPTIONS: Final[dict[str, str]] = {
    "self_consumption": SELF_CONSUMPTION,
    "savings": SAVINGS,
    "full_backup": FULL_BACKUP,
}
MIN_RESERVE: Final = 10
MAX_RESERVE: Final = 100

COMMAND_MODES: Final[tuple[str, ...]] = ("discharge", "charge", "self_consumption")
MIN_DURATION: Final = timedelta(minutes=5)
MAX_DURATION: Final = timedelta(hours=4)
RETRY_DELAY: Final = timedelta(minutes=5)
# How long a sent profile change is shown as pending when the cloud does not echo it.
OPTIMISTIC_WINDOW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ProfileView:
    """What the profile controls show: the requested settings while a change is pending."""

    profile: str | None
    reserve: int | None
    pending: bool
    active_profile: str | None
    active_reserve: int | None


def _percent(value: float | None) -> int | None:
    return None if value is None else round(value)


def reserve_for(profile: str, reserve: int) -> int:
    """The reserve to send with ``profile``: full backup always keeps 100 %.

    Other profiles keep the reserve as given (0-100 %): a site at 0 % stays at 0 %.
    What a user enters is checked against the 10 % floor before it gets here.
    """
    if profile == FULL_BACKUP:
        return MAX_RESERVE
    return min(max(reserve, 0), MAX_RESERVE)


def settings_in_place(current: ProfileDetails) -> set[tuple[str | None, int | None]]:
    """The active profile/reserve, and the pending ones while a change waits."""
    active = (current.profile, _percent(current.reserve))
    found = {active}
    if current.has_pending_change:
        pending = current.pending_reserve
        reserve = active[1] if pending is None else _percent(pending)
        found.add((current.pending_profile or current.profile, reserve))
    return found


def restore_target(current: ProfileDetails) -> tuple[str, int] | None:
    """The profile and reserve in place now, to restore later; None when not both known."""
    profile = current.profile
    reserve = _percent(current.reserve)
    if profile is None or (reserve is None and profile != FULL_BACKUP):
        return None
    return profile, reserve_for(profile, MAX_RESERVE if reserve is None else reserve)


def profile_view(site: SiteCoordinator) -> ProfileView | None:
    """The profile and reserve to show, including a change still waiting to take effect."""
    data = site.data.profile if site.data else None
    if data is None:
        return None
    active = _percent(data.reserve)
    if data.has_pending_change:
        return ProfileView(
            profile=data.pending_profile or data.profile,
            reserve=_percent(data.pending_reserve) if data.pending_reserve is not None else active,
            pending=True,
            active_profile=data.profile,
            active_reserve=active,
        )
    requested = site.requested_profile
    if (
        requested is not None
        and dt_util.utcnow() - requested.at < OPTIMISTIC_WINDOW
        and (requested.profile, requested.reserve) != (data.profile, active)
    ):
        return ProfileView(requested.profile, requested.reserve, True, data.profile, active)
    return ProfileView(data.profile, active, False, data.profile, active)


@callback
def show_requested_profile(site: SiteCoordinator, profile: str, reserve: int) -> None:
    """Show a change just sent as pending until the cloud reflects it (or for a while)."""
    site.requested_profile = RequestedProfile(profile, reserve, dt_util.utcnow())
    site.async_update_listeners()

    @callback
    def expire(_now: datetime) -> None:
        site.async_update_listeners()

    site.config_entry.async_on_unload(async_call_later(site.hass, OPTIMISTIC_WINDOW, expire))


async def async_after_profile_change(site: SiteCoordinator, profile: str, reserve: int) -> None:
    """Show a manual profile change as pending; it also ends a running battery command."""
    show_requested_profile(site, profile, reserve)
    manager = site.config_entry.runtime_data.battery_command
    if manager is not None:
        await manager.async_discard()
    await site.async_request_refresh()


def command_settings(mode: str, target: int) -> tuple[str, int]:
    """The temporary profile and reserve a command applies."""
    if mode == "charge":
        return FULL_BACKUP, MAX_RESERVE
    return SELF_CONSUMPTION, target


def target_reached(mode: str, target: int, soc: float | None) -> bool:
    """Whether the state of charge has reached the command's target."""
    if soc is None:
        return False
    if mode == "discharge":
        return soc <= target
    if mode == "charge":
        return soc >= target
    return False


@dataclass(frozen=True, slots=True)
class BatteryCommand:
    """A running timed command and the settings to restore afterwards."""

    mode: str
    target_reserve: int
    started_at: datetime
    ends_at: datetime
    previous_profile: str
    previous_reserve: int
    # False from just before the change is sent until Enlighten accepted it.
    confirmed: bool = True
    # While unconfirmed: the settings of the command it replaces, also this integration's.
    replaced: tuple[tuple[str, int], ...] = ()

    @property
    def settings(self) -> tuple[str, int]:
        """The temporary profile and reserve this command applies."""
        return command_settings(self.mode, self.target_reserve)

    @property
    def own_settings(self) -> set[tuple[str, int]]:
        """Every profile/reserve this integration may have put in place for the command."""
        return {self.settings, *self.replaced}

    def own_settings_in_place(self, current: ProfileDetails) -> bool:
        """Whether settings this integration applied are active or pending."""
        return any(found in self.own_settings for found in settings_in_place(current))

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the store."""
        return {
            "mode": self.mode,
            "target_reserve": self.target_reserve,
            "started_at": self.started_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "previous_profile": self.previous_profile,
            "previous_reserve": self.previous_reserve,
            "confirmed": self.confirmed,
            "replaced": [list(item) for item in self.replaced],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Self | None:
        """Read the stored form; None when absent or unreadable."""
        if not isinstance(data, dict):
            return None
        try:
            started = dt_util.parse_datetime(str(data["started_at"]))
            ends = dt_util.parse_datetime(str(data["ends_at"]))
            mode = str(data["mode"])
            # Commands stored before this field existed were stored after their change.
            confirmed = data.get("confirmed", True)
            if (
                started is None
                or ends is None
                or mode not in COMMAND_MODES
                or not isinstance(confirmed, bool)
            ):
                return None
            replaced = tuple((str(p), int(r)) for p, r in data.get("replaced") or ())
            return cls(
                mode=mode,
                target_reserve=int(data["target_reserve"]),
                started_at=started,
                ends_at=ends,
                previous_profile=str(data["previous_profile"]),
                previous_reserve=int(data["previous_reserve"]),
                confirmed=confirmed,
                replaced=replaced,
            )
        except KeyError, TypeError, ValueError:
            return None


def store_key(entry_id: str) -> str:
    """Storage key of an entry's battery command."""
    return f"{DOMAIN}.{entry_id}.battery_command"


async def async_remove_store(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the stored command of a removed entry."""
    await Store[dict[str, Any]](hass, STORAGE_VERSION, store_key(entry_id)).async_remove()


class BatteryCommandManager:
    """Runs at most one timed battery command per entry."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], site: SiteCoordinator) -> None:
        """Create the manager; ``async_start`` restores a stored command."""
        self.hass = hass
        self.entry = entry
        self.site = site
        self.client = site.client
        self.site_id = site.site_id
        self.command: BatteryCommand | None = None
        self._store = Store[dict[str, Any]](hass, STORAGE_VERSION, store_key(entry.entry_id))
        self._lock = asyncio.Lock()
        self._unsubs: list[CALLBACK_TYPE] = []
        self._retry: CALLBACK_TYPE | None = None
        self._reverting = False

    # -- lifecycle -------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore a command that was running when Home Assistant stopped."""
        stored = await self._store.async_load()
        command = BatteryCommand.from_dict(stored.get("command")) if stored else None
        if command is not None and not command.confirmed:
            command = await self._async_resolve_unconfirmed(command)
        if command is None:
            return
        _LOGGER.debug("Restored a battery command ending at %s", command.ends_at)
        self.command = command
        self._arm()
        self._check_target()

    async def _async_resolve_unconfirmed(self, command: BatteryCommand) -> BatteryCommand | None:
        """Decide on a command stored while its change was on the way (no request is made).

        The profile read by the first refresh tells whether settings of the command
        are in place: then it runs on as confirmed. When they are not, the change
        never took effect (or was replaced elsewhere) and there is nothing of this
        integration's to undo: the command is dropped. Without a profile reading it
        stays as it is; its end decides the same way with a fresh reading.
        """
        current = self.site.data.profile if self.site.data else None
        if current is None:
            _LOGGER.warning(
                "A battery command was interrupted before Enlighten confirmed it and the "
                "battery profile is unknown; it is kept and decided when it ends at %s",
                command.ends_at,
            )
            return command
        if command.own_settings_in_place(current):
            confirmed = replace(command, confirmed=True, replaced=())
            await self._store.async_save({"command": confirmed.as_dict()})
            return confirmed
        _LOGGER.warning(
            "A battery command was interrupted before its change reached Enlighten; "
            "the battery settings were not changed by it, so there is nothing to restore"
        )
        await self._store.async_save({"command": None})
        return None

    @callback
    def async_stop(self) -> None:
        """Stop watching (the command stays stored and resumes after setup)."""
        self._disarm()
        if self._retry is not None:
            self._retry()
            self._retry = None

    # -- actions ---------------------------------------------------------------------

    async def async_run(self, mode: str, target: int, duration: timedelta) -> BatteryCommand:
        """Apply a temporary profile/reserve; a running command is replaced.

        The settings restored at the end are those from before the first command.
        The command is stored before its change is sent. Raises
        ServiceValidationError when the target is already reached or a profile
        change made elsewhere is still pending; client errors pass through (a
        command Enlighten did not answer clearly is kept, see above).
        """
        status = self.site.data.battery_status if self.site.data else None
        soc = status.current_charge_pct if status else None
        if target_reached(mode, target, soc):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="battery_target_reached",
                translation_placeholders={"soc": f"{soc:.0f}", "target": str(target)},
            )
        async with self._lock:
            running = self.command
            if running is None:
                current = await self.client.profile(self.site_id)
                if current.has_pending_change:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN, translation_key="profile_change_pending"
                    )
                previous = restore_target(current)
                if previous is None:
                    raise control_error("battery_profile_unknown")
                replaced: tuple[tuple[str, int], ...] = ()
            else:
                previous = (running.previous_profile, running.previous_reserve)
                replaced = tuple(sorted(running.own_settings))
            profile, reserve = command_settings(mode, target)
            now = dt_util.utcnow()
            command = BatteryCommand(
                mode, target, now, now + duration, *previous, confirmed=False, replaced=replaced
            )
            # Stored first: if Home Assistant stops before the answer, the restart
            # still knows what to restore.
            self.command = command
            await self._async_save()
            try:
                await self.client.set_profile(self.site_id, profile, reserve)
            except EnlightenError as err:
                await self._async_after_failed_send(command, running, err)
                raise
            command = replace(command, confirmed=True, replaced=())
            self.command = command
            await self._async_save()
            show_requested_profile(self.site, profile, reserve)
            self._arm()
        _LOGGER.info("Battery command %s to %s %% started until %s", mode, target, command.ends_at)
        await self.site.async_request_refresh()
        return command

    async def _async_after_failed_send(
        self, command: BatteryCommand, running: BatteryCommand | None, err: EnlightenError
    ) -> None:
        """Undo the stored command when Enlighten refused it; keep it when unsure."""
        refused = isinstance(err, AuthError | MfaRequired) or (
            err.status is not None and 400 <= err.status < 500
        )
        if refused:
            # Nothing changed: the command it would replace (if any) runs on.
            self.command = running
            await self._async_save()
            return
        # No (usable) answer: the change may have gone out. The end of the command
        # restores the previous settings if its own are in place by then.
        _LOGGER.warning(
            "Enlighten did not confirm the battery command (%s); it is kept so that its "
            "end at %s restores the previous settings if the change took effect",
            err,
            command.ends_at,
        )
        self._arm()

    async def async_cancel(self) -> None:
        """End the running command now and restore the previous settings."""
        if self.command is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_battery_command"
            )
        if self._retry is not None:
            self._retry()
            self._retry = None
        await self._async_revert("cancelled")

    async def async_discard(self) -> None:
        """Forget the running command without restoring (a manual change replaced it)."""
        if self.command is None:
            return
        _LOGGER.info("Battery command ended by a manual profile change")
        await self._async_clear()

    # -- internals -------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        assert self.command is not None
        self._unsubs = [
            async_track_point_in_utc_time(self.hass, self._on_expired, self.command.ends_at),
            self.site.async_add_listener(self._on_site_update),
        ]

    def _disarm(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []

    @callback
    def _on_expired(self, _now: datetime) -> None:
        self._schedule_revert("duration ended")

    @callback
    def _on_site_update(self) -> None:
        self._check_target()

    @callback
    def _on_retry(self, _now: datetime) -> None:
        self._retry = None
        self._schedule_revert("retry")

    @callback
    def _check_target(self) -> None:
        command = self.command
        status = self.site.data.battery_status if self.site.data else None
        soc = status.current_charge_pct if status else None
        if command is not None and target_reached(command.mode, command.target_reserve, soc):
            self._schedule_revert("target reserve reached")

    @callback
    def _schedule_revert(self, reason: str) -> None:
        if self._reverting or self.command is None:
            return
        self._reverting = True
        self.entry.async_create_background_task(
            self.hass, self._async_revert_in_background(reason), f"{DOMAIN} battery command revert"
        )

    async def _async_revert_in_background(self, reason: str) -> None:
        try:
            await self._async_revert(reason)
        except EnlightenError as err:
            _LOGGER.warning(
                "Could not restore the battery profile after a battery command (%s); "
                "retrying in %s",
                err,
                RETRY_DELAY,
            )
            if self._retry is None:
                self._retry = async_call_later(self.hass, RETRY_DELAY, self._on_retry)
        finally:
            self._reverting = False

    async def _async_revert(self, reason: str) -> None:
        """Restore the previous settings; client errors pass through."""
        async with self._lock:
            command = self.command
            if command is None:
                return
            current = await self.client.profile(self.site_id)
            if not command.confirmed and not command.own_settings_in_place(current):
                # Its change never took effect (or was replaced elsewhere): restoring
                # would overwrite settings this integration did not make.
                _LOGGER.info(
                    "Battery command ended (%s); its change never took effect, nothing to restore",
                    reason,
                )
                await self._async_clear()
                return
            if current.has_pending_change:
                # The temporary change may not have taken effect yet: withdraw it.
                await self.client.cancel_profile_change(self.site_id)
            previous = (command.previous_profile, command.previous_reserve)
            if (current.profile, _percent(current.reserve)) != previous:
                await self.client.set_profile(self.site_id, *previous)
                show_requested_profile(self.site, *previous)
            else:
                self.site.requested_profile = None
            _LOGGER.info("Battery command ended (%s); previous settings restored", reason)
            await self._async_clear()
        await self.site.async_request_refresh()

    async def _async_clear(self) -> None:
        self.command = None
        self._disarm()
        await self._async_save()

    async def _async_save(self) -> None:
        await self._store.async_save({"command": self.command.as_dict() if self.command else None})
