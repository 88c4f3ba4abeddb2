"""Repairs: accepting Enphase's ITC disclaimer before the battery may charge from the grid.

Enlighten lets a battery charge from the grid only once the site accepted Enphase's
ITC (Investment Tax Credit) charge-from-grid disclaimer. The integration never
accepts it for the user: turning the switch on without an acceptance is refused and
raises a fixable issue. Its flow explains what accepting does; only when the user
confirms is the acceptance sent (with the time of the confirmation), together with
turning charge from grid on.
"""

from __future__ import annotations

from typing import Final

import probatio as vol
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .control.errors import command_errors
from .runtime import EnlightenConfigEntry

ISSUE_ITC_DISCLAIMER: Final = "itc_disclaimer"
ATTR_ENTRY_ID: Final = "entry_id"


def itc_issue_id(entry_id: str) -> str:
    """Issue id of an entry's missing disclaimer acceptance."""
    return f"{ISSUE_ITC_DISCLAIMER}_{entry_id}"


@callback
def async_create_itc_issue(hass: HomeAssistant, entry: EnlightenConfigEntry) -> None:
    """Ask the user (through a repair) to accept the disclaimer, or to leave it."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        itc_issue_id(entry.entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_ITC_DISCLAIMER,
        translation_placeholders={"site_name": entry.title},
        data={ATTR_ENTRY_ID: entry.entry_id},
    )


@callback
def async_delete_itc_issue(hass: HomeAssistant, entry_id: str) -> None:
    """The site accepted the disclaimer (here or in the Enphase app): the issue goes."""
    ir.async_delete_issue(hass, DOMAIN, itc_issue_id(entry_id))


class ItcDisclaimerRepairFlow(RepairsFlow):
    """Confirm the acceptance of the disclaimer, then turn charge from grid on."""

    def __init__(self, entry_id: str) -> None:
        """Bind the flow to the entry whose site needs the acceptance."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Go to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Show what accepting means; on confirmation send the acceptance."""
        entry: EnlightenConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        site = entry.runtime_data.site
        if site is None:
            return self.async_abort(reason="no_battery")
        placeholders = {"site_name": entry.title}
        errors: dict[str, str] = {}
        if user_input is not None:
            accepted_at = dt_util.utcnow().isoformat(timespec="milliseconds")
            try:
                async with command_errors(self.hass, entry):
                    await site.client.set_battery_settings(
                        site.site_id, chargeFromGrid=True, acceptedItcDisclaimer=accepted_at
                    )
            except HomeAssistantError as err:
                errors["base"] = "send_failed"
                placeholders["error"] = str(err)
            else:
                await site.async_request_refresh()
                return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=placeholders,
            errors=errors,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The flow of a fixable issue of this integration."""
    entry_id = data.get(ATTR_ENTRY_ID) if data else None
    if not issue_id.startswith(ISSUE_ITC_DISCLAIMER) or not isinstance(entry_id, str):
        raise ValueError(f"No repair flow for issue {issue_id}")
    return ItcDisclaimerRepairFlow(entry_id)
