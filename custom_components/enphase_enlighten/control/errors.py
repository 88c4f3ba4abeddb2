"""Enlighten errors become translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ..api import (
    AuthError,
    CommandRejected,
    EnlightenError,
    ForbiddenError,
    GatewayNotReporting,
    LiveStreamNotSupported,
    MfaRequired,
    RateLimited,
)
from ..const import DOMAIN


def _translated[E: HomeAssistantError](cls: type[E], key: str, placeholders: dict[str, str]) -> E:
    return cls(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def control_error(key: str, **placeholders: str) -> HomeAssistantError:
    """A translated error of this integration."""
    return _translated(HomeAssistantError, key, placeholders)


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated error about what an action was given (nothing is sent)."""
    return _translated(ServiceValidationError, key, placeholders)


@asynccontextmanager
async def command_errors(
    hass: HomeAssistant, entry: ConfigEntry[Any], *, charger: bool = False
) -> AsyncIterator[None]:
    """Turn what the client raises inside the block into a message a user understands.

    With ``charger`` a 409/422 answer means the charger is not plugged in or not
    ready. A lost session starts the reauthentication flow.
    """
    try:
        yield
    except CommandRejected as err:
        message = err.message or str(err.status)
        if charger and err.status in (409, 422):
            raise control_error("charger_not_ready", message=message) from err
        raise control_error("command_rejected", message=message) from err
    except (AuthError, MfaRequired) as err:
        entry.async_start_reauth(hass)
        raise control_error("auth_failed") from err
    except RateLimited as err:
        raise control_error("command_rate_limited") from err
    except LiveStreamNotSupported as err:
        raise control_error("live_stream_not_supported") from err
    except GatewayNotReporting as err:
        raise control_error("gateway_not_reporting") from err
    except ForbiddenError as err:
        raise control_error("command_forbidden", message=err.message or "403") from err
    except EnlightenError as err:
        raise control_error("command_failed", error=str(err)) from err
