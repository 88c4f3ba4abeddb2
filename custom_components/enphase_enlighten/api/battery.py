"""Battery status (2.16) and the BatteryConfig service (5.1-5.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._base import BATTERY_CONFIG, ApiBase, seg
from ._parse import require_dict
from .models import BatterySettings, BatteryStatus, ProfileDetails, SiteSettings, StormAlert

# Python names accepted by set_battery_settings -> API keys (API keys pass as-is).
BATTERY_SETTING_KEYS: dict[str, str] = {
    "charge_from_grid": "chargeFromGrid",
    "charge_from_grid_schedule_enabled": "chargeFromGridScheduleEnabled",
    "charge_begin_time": "chargeBeginTime",
    "charge_begin_minutes": "chargeBeginTime",
    "charge_end_time": "chargeEndTime",
    "charge_end_minutes": "chargeEndTime",
    "very_low_soc": "veryLowSoc",
    "accepted_itc_disclaimer": "acceptedItcDisclaimer",
}


class BatteryMixin(ApiBase):
    """Battery and system profile endpoints."""

    async def battery_status(self, site_id: str) -> BatteryStatus:
        """Battery card: SoC, energy, power, per-battery details (2.16)."""
        payload = await self.request("GET", f"/pv/settings/{seg(site_id)}/battery_status.json")
        return BatteryStatus.from_payload(payload)

    async def mqtt_signed_url(self, site_id: str) -> dict[str, Any]:
        """Live-update MQTT authorizer bootstrap (5.1); contains secrets, never log it."""
        payload = await self.request("GET", f"{BATTERY_CONFIG}/mqttSignedUrl/{seg(site_id)}")
        return require_dict(payload, "mqtt signed url")

    async def site_settings(self, site_id: str) -> SiteSettings:
        """Capabilities and feature flags (5.2)."""
        user_id = await self._require_user_id()
        payload = await self.request(
            "GET", f"{BATTERY_CONFIG}/siteSettings/{seg(site_id)}", params={"userId": user_id}
        )
        return SiteSettings.from_payload(payload)

    async def profile(self, site_id: str) -> ProfileDetails:
        """System profile, reserve and any pending change (5.3)."""
        user_id = await self._require_user_id()
        payload = await self.request(
            "GET",
            f"{BATTERY_CONFIG}/profile/{seg(site_id)}",
            params={"source": "enho", "userId": user_id, "locale": "en"},
        )
        return ProfileDetails.from_payload(payload)

    async def set_profile(
        self,
        site_id: str,
        profile: str,
        reserve: int,
        *,
        devices: Sequence[dict[str, Any]] | None = None,
        operation_mode_sub_type: str | None = None,
    ) -> None:
        """Change the system profile and backup reserve (5.4)."""
        if not 0 <= reserve <= 100:
            raise ValueError("reserve must be between 0 and 100")
        body: dict[str, Any] = {"profile": profile, "batteryBackupPercentage": int(reserve)}
        if operation_mode_sub_type is not None:
            body["operationModeSubType"] = operation_mode_sub_type
        if devices is not None:
            body["devices"] = [dict(d) for d in devices]
        await self._battery_put(f"profile/{seg(site_id)}", body)

    async def cancel_profile_change(self, site_id: str) -> None:
        """Cancel a pending profile change (5.4)."""
        await self._battery_put(f"cancel/profile/{seg(site_id)}", {})

    async def battery_settings(self, site_id: str) -> BatterySettings:
        """Charge from grid, schedule and shutdown level (5.5)."""
        user_id = await self._require_user_id()
        payload = await self.request(
            "GET",
            f"{BATTERY_CONFIG}/batterySettings/{seg(site_id)}",
            params={"source": "enho", "userId": user_id},
        )
        return BatterySettings.from_payload(payload)

    async def set_battery_settings(self, site_id: str, **fields: Any) -> None:
        """Send a partial battery settings update (5.5).

        Keys are API names (``chargeFromGrid``) or their snake_case forms
        (``charge_from_grid``, ``charge_begin_minutes``, ``very_low_soc``...).
        """
        if not fields:
            raise ValueError("no battery setting given")
        body = {BATTERY_SETTING_KEYS.get(key, key): value for key, value in fields.items()}
        unknown = [key for key in body if "_" in key]
        if unknown:
            raise ValueError(f"unknown battery setting(s): {', '.join(sorted(unknown))}")
        await self._battery_put(f"batterySettings/{seg(site_id)}", body)

    async def storm_alert(self, site_id: str) -> StormAlert:
        """Storm Guard alert state (5.6)."""
        payload = await self.request(
            "GET", f"{BATTERY_CONFIG}/stormGuard/{seg(site_id)}/stormAlert"
        )
        return StormAlert.from_payload(payload)

    async def set_storm_guard(self, site_id: str, enabled: bool, evse_enabled: bool) -> None:
        """Turn Storm Guard and its EV charging option on or off (5.6)."""
        body = {
            "stormGuardState": "enabled" if enabled else "disabled",
            "evseStormEnabled": bool(evse_enabled),
        }
        await self._battery_put(f"stormGuard/toggle/{seg(site_id)}", body)

    async def _battery_put(self, path: str, body: dict[str, Any]) -> None:
        user_id = await self._require_user_id()
        await self.request(
            "PUT",
            f"{BATTERY_CONFIG}/{path}",
            params={"userId": user_id},
            json_body=body,
            control=True,
            allow_empty=True,
        )
