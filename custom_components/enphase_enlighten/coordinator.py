"""Runtime data, options, the coordinators' common base and the site and EV coordinators.

One coordinator per polling cadence: EV (this module, also ``ev_settings``), site
(this module), inventory (``inventory_coordinator``) and energy (``energy_coordinator``).
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    AuthError,
    BackupHistory,
    BatterySettings,
    BatteryStatus,
    ChargerStatus,
    ChargerSummary,
    EnlightenClient,
    EnlightenError,
    EvStatus,
    GridControlCheck,
    InvalidResponse,
    Inventory,
    Inverter,
    InverterList,
    MfaRequired,
    OffGridStatus,
    ProfileDetails,
    RateLimited,
    SiteSettings,
    StormAlert,
)
from .charging_sessions import LastSession
from .const import (
    CONF_DEVICE_FAMILIES,
    CONF_ENERGY_INTERVAL,
    CONF_EV_INTERVAL,
    CONF_INVENTORY_INTERVAL,
    CONF_SESSION,
    CONF_SITE_INTERVAL,
    CONF_UNDERPERFORMANCE_DAYS,
    CONF_UNDERPERFORMANCE_THRESHOLD,
    CONF_USER_ID,
    DEFAULT_ENERGY_INTERVAL,
    DEFAULT_EV_INTERVAL,
    DEFAULT_INVENTORY_INTERVAL,
    DEFAULT_SITE_INTERVAL,
    DEFAULT_UNDERPERFORMANCE_DAYS,
    DEFAULT_UNDERPERFORMANCE_THRESHOLD,
    DEVICE_FAMILIES,
    DOMAIN,
    EV_BOOST_DURATION,
    EV_FAST_INTERVAL,
)

if TYPE_CHECKING:
    from .battery_command import BatteryCommandManager
    from .energy_coordinator import EnergyCoordinator
    from .ev_settings import EvSettingsCoordinator
    from .gateway_coordinator import GatewayCoordinator
    from .inventory_coordinator import InventoryCoordinator

_LOGGER = logging.getLogger(__name__)

# Endpoints of one refresh run concurrently, at most this many at a time.
MAX_PARALLEL_REQUESTS = 2
# Entities keep showing the last data through failed refreshes; after this many
# failures in a row the data counts as stale and they become unavailable.
STALE_AFTER_FAILURES = 3
# Parts of a refresh whose data changes rarely: scheduled refreshes read them at
# most this often. A refresh that is asked for (the first one, one after a
# command, update_entity) reads every part.
SLOW_PART_INTERVAL = timedelta(minutes=15)
RARE_PART_INTERVAL = timedelta(hours=1)


type EnlightenConfigEntry = ConfigEntry[EnlightenRuntimeData]


@dataclass(frozen=True, slots=True)
class EnlightenOptions:
    """The entry options with their defaults applied."""

    ev_interval: int = DEFAULT_EV_INTERVAL
    site_interval: int = DEFAULT_SITE_INTERVAL
    energy_interval: int = DEFAULT_ENERGY_INTERVAL
    inventory_interval: int = DEFAULT_INVENTORY_INTERVAL
    device_families: tuple[str, ...] = DEVICE_FAMILIES
    underperformance_threshold: float = DEFAULT_UNDERPERFORMANCE_THRESHOLD
    underperformance_days: int = DEFAULT_UNDERPERFORMANCE_DAYS

    @classmethod
    def from_entry(cls, entry: ConfigEntry[Any]) -> Self:
        """Read the options of ``entry``."""
        opts = entry.options
        families = opts.get(CONF_DEVICE_FAMILIES, DEVICE_FAMILIES)
        return cls(
            ev_interval=int(opts.get(CONF_EV_INTERVAL, DEFAULT_EV_INTERVAL)),
            site_interval=int(opts.get(CONF_SITE_INTERVAL, DEFAULT_SITE_INTERVAL)),
            energy_interval=int(opts.get(CONF_ENERGY_INTERVAL, DEFAULT_ENERGY_INTERVAL)),
            inventory_interval=int(opts.get(CONF_INVENTORY_INTERVAL, DEFAULT_INVENTORY_INTERVAL)),
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


@dataclass(slots=True)
class EnlightenRuntimeData:
    """What a loaded entry holds; ``site``/``ev`` are None when the site lacks them."""

    client: EnlightenClient
    capabilities: SiteCapabilities
    options: EnlightenOptions
    inventory: InventoryCoordinator
    energy: EnergyCoordinator
    site: SiteCoordinator | None = None
    ev: EvCoordinator | None = None
    ev_settings: EvSettingsCoordinator | None = None
    battery_command: BatteryCommandManager | None = None
    # The local IQ Gateway, when one is configured (not among ``coordinators``: optional).
    gateway: GatewayCoordinator | None = None

    @property
    def coordinators(self) -> list[EnlightenCoordinator[Any]]:
        """Every coordinator of the entry."""
        return [
            c
            for c in (self.inventory, self.energy, self.site, self.ev, self.ev_settings)
            if c is not None
        ]


@callback
def async_persist_session(
    hass: HomeAssistant, entry: ConfigEntry[Any], client: EnlightenClient
) -> None:
    """Store the client session in the entry after a (re)login, so restarts skip the OTP.

    Only identity changes count (session id, token, user); the XSRF cookies that
    rotate every few requests alone do not cause a write.
    """
    exported = client.export_session()
    stored: Mapping[str, Any] = entry.data.get(CONF_SESSION) or {}

    def identity(session: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if k != "cookies"}

    if identity(exported) == identity(stored):
        return
    data = {**entry.data, CONF_SESSION: exported}
    if client.user_id:
        data[CONF_USER_ID] = client.user_id
    hass.config_entries.async_update_entry(entry, data=data)


class EnlightenCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Common error mapping and partial-failure handling of the coordinators."""

    config_entry: EnlightenConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnlightenConfigEntry,
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        *,
        name: str,
        interval: timedelta,
    ) -> None:
        """Create the coordinator for the entry's site."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {name}",
            update_interval=interval,
            always_update=False,
        )
        self.client = client
        self.capabilities = capabilities
        self.site_id = capabilities.site_id
        self.failed_refreshes = 0
        self._read_all = True
        self._part_read: dict[str, datetime] = {}

    @override
    async def async_refresh(self) -> None:
        """Refresh now, reading every part (also the slow ones)."""
        self._read_all = True
        await super().async_refresh()

    @override
    async def async_request_refresh(self) -> None:
        """Ask for a refresh that reads every part (e.g. after a command)."""
        self._read_all = True
        await super().async_request_refresh()

    @property
    def timezone(self) -> str:
        """The site's time zone, else Home Assistant's."""
        return self.capabilities.timezone or self.hass.config.time_zone

    def site_today(self) -> date:
        """Today's date at the site."""
        zone = dt_util.get_time_zone(self.timezone) or dt_util.get_default_time_zone()
        return dt_util.now(zone).date()

    def _due_parts[T: Callable[[], Awaitable[Any]]](
        self, calls: Mapping[str, T], every: timedelta
    ) -> dict[str, T]:
        """The ``calls`` of rarely changing parts that are due in this refresh.

        A part is due when it was not read successfully for ``every`` (less half
        a polling interval, so that timer jitter does not put it off a whole
        interval), or when this refresh reads everything.
        """
        if self._read_all:
            return dict(calls)
        slack = (self.update_interval or timedelta()) / 2
        now = dt_util.utcnow()
        return {
            key: call
            for key, call in calls.items()
            if (last := self._part_read.get(key)) is None or now - last >= every - slack
        }

    @property
    def data_fresh(self) -> bool:
        """Whether entities may show the data: present, not stale, session valid.

        A failed refresh or two (a cloud hiccup, a rate limit) keep the last data
        on screen; after STALE_AFTER_FAILURES failures in a row, or at once when
        the authentication failed, it is no longer shown.
        """
        if self.data is None:
            return False
        if self.last_update_success:
            return True
        if isinstance(self.last_exception, ConfigEntryAuthFailed):
            return False
        return self.failed_refreshes < STALE_AFTER_FAILURES

    @callback
    @override
    def _async_refresh_finished(self) -> None:
        """Count failures in a row; tell the entities when the data turns stale."""
        if self.last_update_success:
            self.failed_refreshes = 0
            return
        self.failed_refreshes += 1
        # The base class notifies listeners of the first failure in a row only.
        if self.failed_refreshes == STALE_AFTER_FAILURES:
            self.async_update_listeners()

    @override
    async def _async_update_data(self) -> DataT:
        try:
            data = await self._async_fetch()
        except (AuthError, MfaRequired) as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except RateLimited as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                retry_after=err.retry_after,
            ) from err
        except InvalidResponse as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_response",
                translation_placeholders={"error": str(err)},
            ) from err
        except EnlightenError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="service_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        self._read_all = False
        async_persist_session(self.hass, self.config_entry, self.client)
        return data

    @abstractmethod
    async def _async_fetch(self) -> DataT:
        """Read the endpoints of this cadence."""

    async def _async_gather(
        self, calls: Mapping[str, Callable[[], Awaitable[Any]]]
    ) -> dict[str, Any]:
        """Run ``calls`` concurrently (capped); return the results of those that worked.

        Auth and rate-limit errors abort the whole refresh; other failures of a
        part are logged at debug level and the part is left out, so the caller
        keeps its previous value. If every part fails, the first error is raised.
        """
        if not calls:
            return {}
        semaphore = asyncio.Semaphore(MAX_PARALLEL_REQUESTS)
        fatal: list[EnlightenError] = []

        async def run(call: Callable[[], Awaitable[Any]]) -> Any:
            async with semaphore:
                # After an auth loss or a rate limit, parts not yet started are
                # skipped: no further logins, no requests before Retry-After.
                if fatal:
                    raise fatal[0]
                try:
                    return await call()
                except (AuthError, MfaRequired, RateLimited) as err:
                    fatal.append(err)
                    raise

        outcomes = await asyncio.gather(
            *(run(call) for call in calls.values()), return_exceptions=True
        )
        results: dict[str, Any] = {}
        errors: list[EnlightenError] = []
        for key, outcome in zip(calls, outcomes, strict=True):
            if isinstance(outcome, (AuthError, MfaRequired, RateLimited)):
                raise outcome
            if isinstance(outcome, EnlightenError):
                _LOGGER.debug("Enlighten %s failed, keeping its previous data: %s", key, outcome)
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results[key] = outcome
                self._part_read[key] = dt_util.utcnow()
        if errors and not results:
            raise errors[0]
        return results


class EvCoordinator(EnlightenCoordinator[EvData]):
    """EV charger status: idle cadence from the options, 15 s while busy."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnlightenConfigEntry,
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the EV coordinator."""
        self._idle_interval = timedelta(seconds=options.ev_interval)
        super().__init__(hass, entry, client, capabilities, name="ev", interval=self._idle_interval)
        self._boost_until: datetime | None = None
        self._live_until: datetime | None = None

    @callback
    def boost(self, duration: timedelta = EV_BOOST_DURATION) -> None:
        """Poll fast for a while, e.g. after a command, to show its effect quickly."""
        until = dt_util.utcnow() + duration
        if self._boost_until is None or until > self._boost_until:
            self._boost_until = until
        self._apply_interval(fast=True)

    async def async_start_live_stream(self) -> None:
        """Ask the cloud for a burst of live updates and poll fast meanwhile."""
        stream = await self.client.start_live_stream(self.site_id)
        self._live_until = dt_util.utcnow() + timedelta(seconds=stream.duration_s or 900)
        self._apply_interval(fast=True)

    async def async_stop_live_stream(self) -> None:
        """End the live stream burst."""
        await self.client.stop_live_stream(self.site_id)
        self._live_until = None

    def _window_active(self, until: datetime | None) -> bool:
        return until is not None and dt_util.utcnow() < until

    @callback
    def _apply_interval(self, *, fast: bool) -> None:
        interval = EV_FAST_INTERVAL if fast else self._idle_interval
        if interval == self.update_interval:
            return
        self.update_interval = interval
        if self._listeners:
            self._schedule_refresh()

    @override
    async def _async_fetch(self) -> EvData:
        status: EvStatus = await self.client.ev_status(self.site_id)
        chargers = {c.sn: c for c in status.chargers}
        live = self._window_active(self._live_until)
        fast = (
            any(c.charging for c in chargers.values())
            or self._window_active(self._boost_until)
            or live
        )
        self.update_interval = EV_FAST_INTERVAL if fast else self._idle_interval
        return EvData(
            chargers=chargers,
            legacy_shape=status.legacy,
            fast_polling=fast,
            live_stream_until=self._live_until if live else None,
        )


class SiteCoordinator(EnlightenCoordinator[SiteData]):
    """Battery status, profile, battery settings, storm alert and grid state (5 min)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnlightenConfigEntry,
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the site state coordinator."""
        super().__init__(
            hass,
            entry,
            client,
            capabilities,
            name="site",
            interval=timedelta(seconds=options.site_interval),
        )
        # Optimistic holder: the last profile change this integration sent.
        self.requested_profile: RequestedProfile | None = None

    @override
    async def _async_fetch(self) -> SiteData:
        client, sid = self.client, self.site_id
        previous = self.data or SiteData()
        # The state of charge every time; settings every 15 min (every time while
        # a profile change is pending), the grid-control eligibility hourly.
        settings: dict[str, Callable[[], Awaitable[Any]]] = {
            "profile": lambda: client.profile(sid),
            "battery_settings": lambda: client.battery_settings(sid),
        }
        pending = self.requested_profile is not None or (
            previous.profile is not None and previous.profile.has_pending_change
        )
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "battery_status": lambda: client.battery_status(sid),
            **(settings if pending else self._due_parts(settings, SLOW_PART_INTERVAL)),
            **self._due_parts(
                {
                    "storm_alert": lambda: client.storm_alert(sid),
                    "off_grid": lambda: client.off_grid_status(sid),
                },
                SLOW_PART_INTERVAL,
            ),
            **self._due_parts(
                {"grid_check": lambda: client.grid_control_check(sid)}, RARE_PART_INTERVAL
            ),
        }
        results = await self._async_gather(calls)
        return SiteData(
            battery_status=results.get("battery_status", previous.battery_status),
            profile=results.get("profile", previous.profile),
            battery_settings=results.get("battery_settings", previous.battery_settings),
            storm_alert=results.get("storm_alert", previous.storm_alert),
            grid_check=results.get("grid_check", previous.grid_check),
            off_grid=results.get("off_grid", previous.off_grid),
        )
