"""Grid control: guard check, OTP, relay command, audit log, outage context (2.12.x)."""

from __future__ import annotations

from ._base import ApiBase, seg
from ._parse import as_bool, require_dict
from .models import GridControlCheck, GridStateResult, OffGridStatus

# state codes of 2.12.3
GRID_STATE_OFF = "1"
GRID_STATE_ON = "2"


class GridMixin(ApiBase):
    """Grid toggle endpoints; a toggle needs a verified OTP first."""

    async def grid_control_check(self, site_id: str) -> GridControlCheck:
        """Whether a grid toggle is allowed now (2.12)."""
        payload = await self.request("GET", f"/app-api/{seg(site_id)}/grid_control_check.json")
        return GridControlCheck.from_payload(payload)

    async def request_grid_otp(self, site_id: str) -> None:
        """E-mail the 4-digit grid toggle code (2.12.1)."""
        await self.request(
            "GET", f"/app-api/{seg(site_id)}/grid_toggle_otp.json", control=True, allow_empty=True
        )

    async def verify_grid_otp(self, site_id: str, otp: str) -> bool:
        """Check the grid toggle code (2.12.2); True when it is valid."""
        payload = await self.request(
            "POST",
            "/app-api/grid_toggle_otp.json",
            form={"otp": otp.strip(), "site_id": str(site_id)},
            control=True,
        )
        return as_bool(require_dict(payload, "grid otp").get("valid")) is True

    async def set_grid_state(self, envoy_serial: str, off_grid: bool) -> GridStateResult:
        """Queue a grid relay transition (2.12.3); needs a verified code."""
        payload = await self.request(
            "POST",
            "/pv/settings/grid_state.json",
            form={
                "envoy_serial_number": envoy_serial,
                "state": GRID_STATE_OFF if off_grid else GRID_STATE_ON,
            },
            control=True,
        )
        return GridStateResult.from_payload(payload)

    async def log_grid_change(self, envoy_serial: str, old_state: str, new_state: str) -> None:
        """Record the relay transition in the audit log (2.12.4)."""
        await self.request(
            "POST",
            "/pv/settings/log_grid_change.json",
            form={
                "envoy_serial_number": envoy_serial,
                "old_state": old_state,
                "new_state": new_state,
            },
            control=True,
            allow_empty=True,
        )

    async def off_grid_status(self, site_id: str) -> OffGridStatus:
        """Grid outage context of the site (2.12.5)."""
        payload = await self.request("GET", f"/app-api/{seg(site_id)}/off_grid_due_to_grid_outage")
        return OffGridStatus.from_payload(payload)
