"""Helpers to build config entries against the simulator and set them up."""

from __future__ import annotations

from typing import Any

import aiohttp
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.enphase_enlighten.api import EnlightenClient, MfaRequired
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_SITE_NAME,
    CONF_USER_ID,
    DOMAIN,
)
from tests.simulator import DEMO_EMAIL, DEMO_PASSWORD, EnlightenSimulator

SITE_NAMES = {
    "1000001": "Demo Home",
    "1000002": "Cabin",
    "1000003": "Legacy Barn",
    "1000004": "Big Array",
}


async def simulator_session(
    simulator: EnlightenSimulator, email: str, password: str
) -> tuple[dict[str, Any], str | None]:
    """Log in to the simulator (with the OTP when needed); return (session, user id)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        client = EnlightenClient(session, email, password, base_url=simulator.url)
        try:
            await client.login()
        except MfaRequired:
            await client.validate_otp(simulator.login_otp)
        return client.export_session(), client.user_id


async def create_entry(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    *,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    site_id: str = "1000001",
    store_password: bool = True,
    logged_in: bool = True,
    options: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A config entry for ``site_id`` as the config flow would create it.

    With ``logged_in`` the entry carries a real simulator session (as after the
    flow); otherwise it holds no session and setup has to log in.
    """
    session: dict[str, Any] = {}
    user_id: str | None = None
    if logged_in:
        session, user_id = await simulator_session(simulator, email, password)
    entry_data: dict[str, Any] = {
        CONF_EMAIL: email,
        CONF_BASE_URL: simulator.url,
        CONF_SITE_ID: site_id,
        CONF_SITE_NAME: SITE_NAMES.get(site_id, site_id),
        CONF_USER_ID: user_id,
        CONF_SESSION: session,
    }
    if store_password:
        entry_data[CONF_PASSWORD] = password
    entry_data.update(data or {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=site_id,
        title=SITE_NAMES.get(site_id, site_id),
        data=entry_data,
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_integration(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
    """Set up ``entry`` (added to hass if needed) and wait until it settled."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    result = await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return result


def record_fired_events(
    hass: HomeAssistant, entity_id: str, entry: MockConfigEntry | None = None
) -> list[dict[str, Any]]:
    """Collect the attributes of every homeowner event ``entity_id`` fires from now on.

    A fired event is a state write with an event id other than the last fired one; the
    same event written again (e.g. once the entity is available again) is not counted.
    With ``entry`` the recording stops when the entry unloads.
    """
    fired: list[dict[str, Any]] = []
    last: list[tuple[str, Any]] = []
    state = hass.states.get(entity_id)
    if state is not None and state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        last.append((state.state, state.attributes.get("event_id")))

    @callback
    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            return
        seen = (new.state, new.attributes.get("event_id"))
        if last and last[-1] == seen:
            return
        last.append(seen)
        fired.append(dict(new.attributes))

    unsub = async_track_state_change_event(hass, [entity_id], _changed)
    if entry is not None:
        entry.async_on_unload(unsub)
    return fired
