"""EV charger settings: charge mode, green 'use battery', session auth and schedules.

These change rarely, so they are read at the battery/site cadence by their own
coordinator instead of with the fast charger status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, override

from homeassistant.core import HomeAssistant

from .api import ChargerConfigItem, ChargerSummary, EnlightenClient, EnlightenError, ScheduleList
from .coordinator import (
    RARE_PART_INTERVAL,
    SLOW_PART_INTERVAL,
    EnlightenConfigEntry,
    EnlightenCoordinator,
    EnlightenOptions,
    SiteCapabilities,
)


@dataclass(frozen=True, slots=True)
class ChargerSettings:
    """The settings of one charger; a part is None until it was read once."""

    charge_mode: str | None = None
    use_battery: bool | None = None
    session_auth: dict[str, ChargerConfigItem] = field(default_factory=dict)
    schedules: ScheduleList | None = None


@dataclass(frozen=True, slots=True)
class EvSettingsData:
    """Settings keyed by charger serial."""

    chargers: dict[str, ChargerSettings]


class EvSettingsCoordinator(EnlightenCoordinator[EvSettingsData]):
    """Charger settings of every charger of the site (site cadence, 5 min by default)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnlightenConfigEntry,
        client: EnlightenClient,
        capabilities: SiteCapabilities,
        options: EnlightenOptions,
    ) -> None:
        """Create the coordinator for the chargers found at setup."""
        super().__init__(
            hass,
            entry,
            client,
            capabilities,
            name="ev_settings",
            interval=timedelta(seconds=options.site_interval),
        )
        self.summaries: dict[str, ChargerSummary] = {c.serial: c for c in capabilities.chargers}
        # Charging current chosen while not charging; sent with the next start.
        self.desired_amps: dict[str, int] = {}

    @property
    def serials(self) -> list[str]:
        """Serials of the chargers."""
        return list(self.summaries)

    def supports_use_battery(self, serial: str) -> bool:
        """Whether the charger offers the green-mode 'use battery' option."""
        summary = self.summaries.get(serial)
        return bool(summary and summary.supports_use_battery)

    @override
    async def _async_setup(self) -> None:
        """Read the per-charger summary where the list left out ``supportsUseBattery``."""
        for serial, summary in list(self.summaries.items()):
            if summary.supports_use_battery is None:
                try:
                    self.summaries[serial] = await self.client.ev_charger_summary(
                        self.site_id, serial
                    )
                except EnlightenError:
                    continue

    @override
    async def _async_fetch(self) -> EvSettingsData:
        client, sid = self.client, self.site_id
        calls: dict[str, Callable[[], Awaitable[Any]]] = {}
        rare: dict[str, Callable[[], Awaitable[Any]]] = {}
        for sn in self.serials:
            # The charge mode every 15 min, the rest hourly (every part after a command).
            calls.update(
                self._due_parts(
                    {f"{sn}|mode": partial(client.charge_mode, sid, sn)}, SLOW_PART_INTERVAL
                )
            )
            rare[f"{sn}|auth"] = partial(client.session_auth, sid, sn)
            rare[f"{sn}|schedules"] = partial(client.schedules, sid, sn)
            if self.supports_use_battery(sn):
                rare[f"{sn}|battery"] = partial(client.green_use_battery, sid, sn)
        calls.update(self._due_parts(rare, RARE_PART_INTERVAL))
        results = await self._async_gather(calls)
        previous = self.data.chargers if self.data else {}
        chargers: dict[str, ChargerSettings] = {}
        for sn in self.serials:
            old = previous.get(sn, ChargerSettings())
            auth: list[ChargerConfigItem] | None = results.get(f"{sn}|auth")
            chargers[sn] = ChargerSettings(
                charge_mode=results.get(f"{sn}|mode", old.charge_mode),
                use_battery=results.get(f"{sn}|battery", old.use_battery),
                session_auth={i.key: i for i in auth} if auth is not None else old.session_auth,
                schedules=results.get(f"{sn}|schedules", old.schedules),
            )
        return EvSettingsData(chargers=chargers)
