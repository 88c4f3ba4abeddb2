"""Microinverter inventory, energy and status (2.13-2.15)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ._base import ApiBase, seg
from .models import InverterList, InverterStatus, inverter_energy_from_payload

PAGE_LIMIT = 500
# Upper bound of pages fetched by all_inverters (guards against a bad total).
MAX_PAGES = 50


class InvertersMixin(ApiBase):
    """Microinverter endpoints."""

    async def inverters(
        self, site_id: str, *, limit: int = PAGE_LIMIT, offset: int = 0, search: str = ""
    ) -> InverterList:
        """One page of microinverters (2.13)."""
        payload = await self.request(
            "GET",
            f"/app-api/{seg(site_id)}/inverters.json",
            params={"limit": str(limit), "offset": str(offset), "search": search},
        )
        return InverterList.from_payload(payload)

    async def all_inverters(self, site_id: str, *, page_size: int = PAGE_LIMIT) -> InverterList:
        """Every microinverter, paging by ``total``."""
        first = await self.inverters(site_id, limit=page_size)
        inverters = list(first.inverters)
        page = first
        for _ in range(MAX_PAGES):
            if len(inverters) >= first.total or not page.inverters:
                break
            page = await self.inverters(site_id, limit=page_size, offset=len(inverters))
            inverters.extend(page.inverters)
        return replace(first, inverters=inverters)

    async def inverter_energy(self, site_id: str, start: date, end: date) -> dict[str, float]:
        """Energy in Wh per inverter id for the inclusive date range (2.14)."""
        payload = await self.request(
            "GET",
            f"/systems/{seg(site_id)}/inverter_data_x/energy.json",
            params={"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
        return inverter_energy_from_payload(payload)

    async def inverter_status(self, site_id: str) -> dict[str, InverterStatus]:
        """Inverter id -> serial/status map, microinverters only (2.15)."""
        payload = await self.request("GET", f"/systems/{seg(site_id)}/inverter_status_x.json")
        return InverterStatus.map_from_payload(payload)
