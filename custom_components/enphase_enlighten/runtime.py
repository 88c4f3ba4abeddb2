"""What a loaded entry holds (runtime data) and the typed config-entry alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .api import EnlightenClient
from .control.battery_command import BatteryCommandManager
from .coordinator.base import EnlightenCoordinator
from .coordinator.data import EnlightenOptions, SiteCapabilities
from .coordinator.energy import EnergyCoordinator
from .coordinator.ev import EvCoordinator, EvSettingsCoordinator
from .coordinator.gateway import GatewayCoordinator
from .coordinator.inventory import InventoryCoordinator
from .coordinator.site import SiteCoordinator

type EnlightenConfigEntry = ConfigEntry[EnlightenRuntimeData]


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
