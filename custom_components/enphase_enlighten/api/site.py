"""Site discovery, energy, inventory, events and backup history (1.1, 2.8-2.11)."""

from __future__ import annotations

from functools import cached_property

from ._base import EVENTS, ApiBase, seg
from .models import BackupHistory, EventsPage, Inventory, LifetimeEnergy, Site
from .models_site import LifetimeEnergyReader


class SiteMixin(ApiBase):
    """Site-level read endpoints."""

    async def search_sites(self) -> list[Site]:
        """List the sites of the account (1.1)."""
        payload = await self.request(
            "GET", "/app-api/search_sites.json", params={"searchText": "", "favourite": "false"}
        )
        return Site.list_from_payload(payload)

    async def lifetime_energy(self, site_id: str) -> LifetimeEnergy:
        """Daily energy buckets per flow in Wh (2.8).

        Each site's payloads are parsed by one reader, which only parses again
        the buckets that changed since the previous payload.
        """
        payload = await self.request("GET", f"/pv/systems/{seg(site_id)}/lifetime_energy")
        reader = self._lifetime_readers.setdefault(site_id, LifetimeEnergyReader())
        return reader.parse(payload)

    @cached_property
    def _lifetime_readers(self) -> dict[str, LifetimeEnergyReader]:
        """The lifetime energy reader of each site asked for."""
        return {}

    async def devices(self, site_id: str) -> Inventory:
        """Hardware inventory grouped by kind (2.9)."""
        payload = await self.request("GET", f"/app-api/{seg(site_id)}/devices.json")
        return Inventory.from_payload(payload)

    async def events(
        self, site_id: str, cursor: str | None = None, page_size: int = 30
    ) -> EventsPage:
        """One page of the homeowner events history (2.10); pass ``next_cursor`` on."""
        params = {"page_size": str(page_size), "locale": "en"}
        if cursor:
            params["next"] = cursor
        payload = await self.request(
            "GET", f"{EVENTS}/{seg(site_id)}/events/homeowner", params=params
        )
        return EventsPage.from_payload(payload)

    async def backup_history(self, site_id: str) -> BackupHistory:
        """Battery backup (outage) history (2.11)."""
        payload = await self.request("GET", f"/app-api/{seg(site_id)}/battery_backup_history.json")
        return BackupHistory.from_payload(payload)
