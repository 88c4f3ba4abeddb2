"""EV charger telemetry, controls and scheduler (2.1-2.7, 3.1-3.3, 4.1-4.5)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from ._base import EVSE, HISTORY, SCHEDULER, ApiBase, seg
from ._parse import dicts, unwrap
from .errors import (
    CommandRejected,
    EnlightenError,
    InvalidResponse,
    MethodNotAllowedError,
    NotFoundError,
)
from .models import (
    CHARGE_MODES,
    ChargeMode,
    ChargerConfigItem,
    ChargerSummary,
    EvStatus,
    LiveStream,
    ScheduleList,
    ScheduleSlot,
    SessionHistoryPage,
    green_use_battery_from_payload,
)

_LOGGER = logging.getLogger(__name__)

SESSION_AUTH_KEYS = ("rfidSessionAuthentication", "sessionAuthentication")
USE_BATTERY_SETTING = "USE_BATTERY_FOR_SELF_CONSUMPTION"
CONNECTOR_ID = 1

type _BodyShape = Literal["camel", "snake", "none"]


@dataclass(frozen=True, slots=True)
class CommandVariant:
    """One way of sending a start/stop command (the cloud differs by region)."""

    method: str
    collection: str  # "ev_chargers" (canonical) or "ev_charger" (singular)
    body: _BodyShape


# Fixed order, canonical first (spec 3.1).  The client moves to the next variant
# on 404/405; on 400 it skips the variants with the same body shape, and it never
# falls back to "no body" after a 400 when amps were requested.
START_VARIANTS: tuple[CommandVariant, ...] = (
    CommandVariant("POST", "ev_chargers", "camel"),
    CommandVariant("PUT", "ev_chargers", "camel"),
    CommandVariant("POST", "ev_charger", "camel"),
    CommandVariant("POST", "ev_chargers", "snake"),
    CommandVariant("POST", "ev_chargers", "none"),
)
# Spec 3.2: PUT on the plural path, then POST, then the singular path.
STOP_VARIANTS: tuple[CommandVariant, ...] = (
    CommandVariant("PUT", "ev_chargers", "none"),
    CommandVariant("POST", "ev_chargers", "none"),
    CommandVariant("PUT", "ev_charger", "none"),
    CommandVariant("POST", "ev_charger", "none"),
)


def _start_body(shape: _BodyShape, amps: int | None) -> dict[str, int] | None:
    if shape == "none":
        return None
    level, connector = (
        ("chargingLevel", "connectorId") if shape == "camel" else ("charging_level", "connector_id")
    )
    body = {connector: CONNECTOR_ID}
    if amps is not None:
        body[level] = int(amps)
    return body


class EvMixin(ApiBase):
    """EV charger endpoints."""

    _ev_variants: dict[str, int]

    # -- telemetry (2.1-2.7) -------------------------------------------------------

    async def ev_status(self, site_id: str) -> EvStatus:
        """Runtime state of every charger (2.1)."""
        payload = await self.request("GET", f"{EVSE}/{seg(site_id)}/ev_chargers/status")
        return EvStatus.from_payload(payload)

    async def ev_summary(self, site_id: str) -> list[ChargerSummary]:
        """Metadata of every (non-retired) charger (2.2)."""
        payload = await self.request(
            "GET",
            f"{EVSE}/api/v2/{seg(site_id)}/ev_chargers/summary",
            params={"filter_retired": "true"},
        )
        return ChargerSummary.list_from_payload(payload)

    async def ev_charger_summary(self, site_id: str, sn: str) -> ChargerSummary:
        """Metadata of one charger, with ``supportsUseBattery`` (2.2)."""
        payload = await self.request(
            "GET", f"{EVSE}/api/v2/{seg(site_id)}/ev_chargers/{seg(sn)}/summary"
        )
        return ChargerSummary.one_from_payload(payload)

    async def start_live_stream(self, site_id: str) -> LiveStream:
        """Start a burst of fast status updates (2.3)."""
        payload = await self.request(
            "GET", f"{EVSE}/{seg(site_id)}/ev_chargers/start_live_stream", control=True
        )
        return LiveStream.from_payload(payload)

    async def stop_live_stream(self, site_id: str) -> None:
        """End the live stream (2.4)."""
        await self.request(
            "GET",
            f"{EVSE}/{seg(site_id)}/ev_chargers/stop_live_stream",
            control=True,
            allow_empty=True,
        )

    def _config_path(self, site_id: str, sn: str) -> str:
        return f"{EVSE}/api/v1/{seg(site_id)}/ev_chargers/{seg(sn)}/ev_charger_config"

    async def session_auth(self, site_id: str, sn: str) -> list[ChargerConfigItem]:
        """App and RFID session authentication settings (2.5)."""
        payload = await self.request(
            "POST",
            self._config_path(site_id, sn),
            json_body=[{"key": key} for key in SESSION_AUTH_KEYS],
        )
        return ChargerConfigItem.list_from_payload(payload)

    async def set_session_auth(
        self, site_id: str, sn: str, key: str, enabled: bool
    ) -> list[ChargerConfigItem]:
        """Enable or disable one session authentication setting (2.5)."""
        if key not in SESSION_AUTH_KEYS:
            raise ValueError(f"unknown session authentication key: {key}")
        payload = await self.request(
            "PUT",
            self._config_path(site_id, sn),
            json_body=[{"key": key, "value": "enabled" if enabled else "disabled"}],
            control=True,
        )
        return ChargerConfigItem.list_from_payload(payload)

    async def session_filter_criteria(self, site_id: str) -> list[dict[str, Any]]:
        """Chargers available for session history lookups (2.6)."""
        user_id = await self._require_user_id()
        payload = await self.request(
            "GET",
            f"{HISTORY}/{seg(site_id)}/filter_criteria",
            params={"source": "evse", "requestId": str(uuid.uuid4()), "username": user_id},
        )
        if isinstance(payload, list):
            return dicts(payload)
        if not isinstance(payload, dict):
            raise InvalidResponse("filter criteria: unexpected payload")
        data = payload.get("data", payload)
        if isinstance(data, list):
            return dicts(data)
        for value in unwrap(payload).values():
            if isinstance(value, list):
                return dicts(value)
        return []

    async def session_history(
        self,
        site_id: str,
        sn: str,
        start: date,
        end: date,
        *,
        offset: int = 0,
        limit: int = 20,
        timezone: str = "UTC",
    ) -> SessionHistoryPage:
        """A page of past charging sessions between two local dates (2.7)."""
        await self._require_user_id()
        body = {
            "source": "evse",
            "params": {
                "offset": offset,
                "limit": limit,
                "startDate": start.strftime("%d-%m-%Y"),
                "endDate": end.strftime("%d-%m-%Y"),
                "timezone": timezone,
            },
        }
        payload = await self.request(
            "POST", f"{HISTORY}/{seg(site_id)}/sessions/{seg(sn)}/history", json_body=body
        )
        return SessionHistoryPage.from_payload(payload)

    # -- controls (3.1-3.3) --------------------------------------------------------

    async def start_charging(self, site_id: str, sn: str, amps: int | None = None) -> None:
        """Start charging, optionally at ``amps`` (3.1).

        Raises CommandRejected when the charger refuses (409/422: not plugged in;
        400: invalid amps).
        """
        await self._send_command("start", START_VARIANTS, site_id, sn, amps)

    async def stop_charging(self, site_id: str, sn: str) -> None:
        """Stop charging (3.2)."""
        await self._send_command("stop", STOP_VARIANTS, site_id, sn, None)

    async def trigger_message(self, site_id: str, sn: str, message: str) -> dict[str, Any]:
        """Ask the charger to send an OCPP message such as ``MeterValues`` (3.3)."""
        payload = await self.request(
            "POST",
            f"{EVSE}/{seg(site_id)}/ev_charger/{seg(sn)}/trigger_message",
            json_body={"requestedMessage": message},
            control=True,
            allow_empty=True,
        )
        return payload if isinstance(payload, dict) else {}

    async def _send_command(
        self,
        name: str,
        variants: tuple[CommandVariant, ...],
        site_id: str,
        sn: str,
        amps: int | None,
    ) -> None:
        remembered = self._ev_variants.get(name)
        order = list(range(len(variants)))
        if remembered is not None:
            order.remove(remembered)
            order.insert(0, remembered)
        last_error: EnlightenError | None = None
        rejected_shapes: set[str] = set()
        for index in order:
            variant = variants[index]
            if variant.body in rejected_shapes or (
                variant.body == "none" and rejected_shapes and amps is not None
            ):
                continue
            path = f"{EVSE}/{seg(site_id)}/{variant.collection}/{seg(sn)}/{name}_charging"
            try:
                await self.request(
                    variant.method,
                    path,
                    json_body=_start_body(variant.body, amps),
                    control=True,
                    allow_empty=True,
                )
            except (NotFoundError, MethodNotAllowedError) as err:
                last_error = err
                continue
            except CommandRejected as err:
                if err.status != 400 or variant.body == "none":
                    raise
                last_error = err
                rejected_shapes.add(variant.body)
                continue
            if remembered != index:
                _LOGGER.debug("%s command works with variant %d", name, index)
                self._ev_variants[name] = index
            return
        assert last_error is not None
        raise last_error

    # -- scheduler (4.1-4.5) -------------------------------------------------------

    def _scheduler_path(self, site_id: str, sn: str, kind: str) -> str:
        if kind == "preference":
            return f"{SCHEDULER}/{seg(site_id)}/{seg(sn)}/preference"
        return f"{SCHEDULER}/{kind}/{seg(site_id)}/{seg(sn)}"

    async def charge_mode(self, site_id: str, sn: str) -> str:
        """The active charge mode: MANUAL_CHARGING, SCHEDULED_CHARGING or GREEN_CHARGING."""
        payload = await self.request("GET", self._scheduler_path(site_id, sn, "preference"))
        mode = ChargeMode.from_payload(payload).mode
        if mode is None:
            raise InvalidResponse("charge mode: no mode enabled")
        return mode

    async def set_charge_mode(self, site_id: str, sn: str, mode: str) -> None:
        """Select the charge mode (4.2)."""
        if mode not in CHARGE_MODES:
            raise ValueError(f"unknown charge mode: {mode}")
        await self.request(
            "PUT",
            self._scheduler_path(site_id, sn, "preference"),
            json_body={"mode": mode},
            control=True,
            allow_empty=True,
        )

    async def green_use_battery(self, site_id: str, sn: str) -> bool:
        """Whether green charging may use the battery (4.3)."""
        path = self._scheduler_path(site_id, sn, "GREEN_CHARGING") + "/settings"
        return green_use_battery_from_payload(await self.request("GET", path))

    async def set_green_use_battery(self, site_id: str, sn: str, enabled: bool) -> None:
        """Allow or forbid the battery for green charging (4.3)."""
        body = {
            "chargerSettingList": [
                {
                    "chargerSettingName": USE_BATTERY_SETTING,
                    "enabled": bool(enabled),
                    "value": None,
                    "loader": False,
                }
            ]
        }
        await self.request(
            "PUT",
            self._scheduler_path(site_id, sn, "GREEN_CHARGING") + "/settings",
            json_body=body,
            control=True,
            allow_empty=True,
        )

    async def schedules(self, site_id: str, sn: str) -> ScheduleList:
        """Charging schedule slots (4.4)."""
        path = self._scheduler_path(site_id, sn, "SCHEDULED_CHARGING") + "/schedules"
        return ScheduleList.from_payload(await self.request("GET", path))

    async def set_schedules(self, site_id: str, sn: str, slots: Sequence[ScheduleSlot]) -> None:
        """Replace the full slot list (4.5); omitted slots may be deleted."""
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        body = {
            "meta": {"serverTimeStamp": stamp, "rowCount": len(slots)},
            "data": [slot.to_payload() for slot in slots],
        }
        await self.request(
            "PATCH",
            self._scheduler_path(site_id, sn, "SCHEDULED_CHARGING") + "/schedules",
            json_body=body,
            control=True,
            allow_empty=True,
        )
