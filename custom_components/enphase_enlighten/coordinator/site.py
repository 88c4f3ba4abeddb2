"""Battery and grid state (5 min)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..api import (
    EnlightenClient,
)
from ..const import DEFAULT_SITE_INTERVAL
from .base import RARE_PART_INTERVAL, SITE_PHASE, SLOW_PART_INTERVAL, EnlightenCoordinator
from .data import EnlightenOptions, RequestedProfile, SiteCapabilities, SiteData


class SiteCoordinator(EnlightenCoordinator[SiteData]):
    """Battery status, profile, battery settings, storm alert and grid state (5 min)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
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
            interval=timedelta(seconds=DEFAULT_SITE_INTERVAL),
            phase=SITE_PHASE,
        )
        # Optimistic holder: the last profile change this integration sent.
        self.requested_profile: RequestedProfile | None = None

    @override
    async def _async_fetch(self, read_all: bool) -> SiteData:
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
            **self._due_parts(settings, SLOW_PART_INTERVAL, read_all or pending),
            **self._due_parts(
                {
                    "storm_alert": lambda: client.storm_alert(sid),
                    "off_grid": lambda: client.off_grid_status(sid),
                },
                SLOW_PART_INTERVAL,
                read_all,
            ),
            **self._due_parts(
                {"grid_check": lambda: client.grid_control_check(sid)}, RARE_PART_INTERVAL, read_all
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
