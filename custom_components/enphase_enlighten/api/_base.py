"""Shared base of the endpoint-group mixins of the client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .errors import AuthError

DEFAULT_BASE_URL = "https://enlighten.enphaseenergy.com"
BATTERY_UI_ORIGIN = "https://battery-profile-ui.enphaseenergy.com"

EVSE = "/service/evse_controller"
SCHEDULER = "/service/evse_scheduler/api/v1/iqevc/charging-mode"
HISTORY = "/service/enho_historical_events_ms"
BATTERY_CONFIG = "/service/batteryConfig/api/v1"
EVENTS = "/service/events-platform-service/v1.0"


def seg(value: str | int) -> str:
    """Quote one path segment (a site id or a serial number)."""
    return quote(str(value), safe="")


class ApiBase:
    """What the endpoint groups need from the client: requests and the user id."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        control: bool = False,
        allow_empty: bool = False,
        authenticated: bool = True,
    ) -> Any:
        """Send one request; implemented by the client."""
        raise NotImplementedError

    async def ensure_session(self) -> None:
        """Make sure the session is valid; implemented by the auth mixin."""
        raise NotImplementedError

    @property
    def user_id(self) -> str | None:
        """The Enlighten user id; implemented by the auth mixin."""
        raise NotImplementedError

    async def _require_user_id(self) -> str:
        """Return the user id, logging in first when needed."""
        await self.ensure_session()
        user_id = self.user_id
        if user_id is None:
            raise AuthError("The session has no user id")
        return user_id
