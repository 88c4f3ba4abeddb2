"""Config flow for Enphase Enlighten: login, MFA, site choice, reauth, reconfigure, options."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any, override

import aiohttp
import probatio as vol
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from yarl import URL

from .api import (
    DEFAULT_BASE_URL,
    AccountBlocked,
    AuthError,
    EnlightenClient,
    EnlightenError,
    InvalidCredentials,
    InvalidOtp,
    MfaRequired,
    OtpBlocked,
    OtpExpired,
)
from .config_flow_gateway import GatewayFlowMixin
from .const import (
    CONF_BASE_URL,
    CONF_CONNECT_GATEWAY,
    CONF_DEVICE_FAMILIES,
    CONF_GATEWAY,
    CONF_OTP,
    CONF_RESEND,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_SITE_NAME,
    CONF_STORE_PASSWORD,
    CONF_UNDERPERFORMANCE_DAYS,
    CONF_UNDERPERFORMANCE_THRESHOLD,
    CONF_USER_ID,
    DEVICE_FAMILIES,
    DOMAIN,
    GATEWAY_ACTION_REMOVE,
    GATEWAY_ACTION_SKIP,
    MAX_UNDERPERFORMANCE_DAYS,
    MAX_UNDERPERFORMANCE_THRESHOLD,
    MIN_UNDERPERFORMANCE_DAYS,
    MIN_UNDERPERFORMANCE_THRESHOLD,
    SECTION_ADVANCED,
)
from .coordinator.data import EnlightenOptions

_LOGGER = logging.getLogger(__name__)

_EMAIL_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
)
_PASSWORD_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_OTP_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="one-time-code")
)


def _credentials_schema(
    *,
    base_url: str,
    store_password: bool,
    ask_email: bool = True,
    connect_gateway: bool | None = None,
) -> vol.Schema:
    """Build the credentials form; the server address sits in a collapsed section.

    ``connect_gateway`` (when not None) adds the "connect the local gateway" tick box.
    """
    fields: dict[Any, Any] = {}
    if ask_email:
        fields[vol.Required(CONF_EMAIL)] = _EMAIL_SELECTOR
    fields[vol.Required(CONF_PASSWORD)] = _PASSWORD_SELECTOR
    fields[vol.Required(CONF_STORE_PASSWORD, default=store_password)] = BooleanSelector()
    if connect_gateway is not None:
        fields[vol.Required(CONF_CONNECT_GATEWAY, default=connect_gateway)] = BooleanSelector()
    if ask_email:
        fields[vol.Required(SECTION_ADVANCED)] = section(
            vol.Schema({vol.Required(CONF_BASE_URL, default=base_url): _URL_SELECTOR}),
            {"collapsed": True},
        )
    return vol.Schema(fields)


_MFA_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_OTP): _OTP_SELECTOR,
        vol.Required(CONF_RESEND, default=False): BooleanSelector(),
    }
)


def _is_loopback(host: str) -> bool:
    """Return True for localhost, 127.0.0.0/8 and ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_base_url(raw: str) -> str | None:
    """Return the server URL without a trailing slash, or None when it is not allowed.

    HTTPS is required; plain HTTP is accepted only for loopback hosts (a local
    simulator or a reverse proxy on the same machine).
    """
    try:
        url = URL(raw.strip())
    except ValueError:
        return None
    if not url.is_absolute() or not url.host or url.query_string or url.fragment:
        return None
    if url.scheme == "https" or (url.scheme == "http" and _is_loopback(url.host)):
        return str(url).rstrip("/")
    return None


def _number(minimum: float, maximum: float, step: float, unit: str | None) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# Polling cadences are not options (Home Assistant lets users turn polling off in the
# entry's system options and refresh with homeassistant.update_entity instead).
OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_DEVICE_FAMILIES): SelectSelector(
            SelectSelectorConfig(
                options=list(DEVICE_FAMILIES),
                multiple=True,
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_DEVICE_FAMILIES,
            )
        ),
        vol.Required(CONF_UNDERPERFORMANCE_THRESHOLD): _number(
            MIN_UNDERPERFORMANCE_THRESHOLD, MAX_UNDERPERFORMANCE_THRESHOLD, 0.1, None
        ),
        vol.Required(CONF_UNDERPERFORMANCE_DAYS): _number(
            MIN_UNDERPERFORMANCE_DAYS, MAX_UNDERPERFORMANCE_DAYS, 1, "d"
        ),
    }
)


class EnlightenConfigFlow(GatewayFlowMixin, domain=DOMAIN):
    """Log in to Enlighten (with MFA when the account uses it), pick a site, and
    optionally connect its local IQ Gateway (see config_flow_gateway).

    Minor version 2 dropped the polling interval options (see async_migrate_entry).
    """

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with an empty flow state."""
        self._email = ""
        self._password = ""
        self._store_password = True
        self._base_url = DEFAULT_BASE_URL
        self._client: EnlightenClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sites: dict[str, str] = {}

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> EnlightenOptionsFlow:
        """Return the options flow."""
        return EnlightenOptionsFlow()

    @callback
    @override
    def async_remove(self) -> None:
        """Release the flow's HTTP session when the flow ends."""
        if self._session is not None:
            self._session.detach()
            self._session = None

    # -- user ---------------------------------------------------------------

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the account credentials and log in."""
        errors: dict[str, str] = {}
        if (
            user_input is not None
            and (result := await self._async_submit_credentials(user_input, errors)) is not None
        ):
            return result
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _credentials_schema(
                    base_url=DEFAULT_BASE_URL,
                    store_password=True,
                    connect_gateway=self._discovered is not None,
                ),
                user_input,
            ),
            errors=errors,
        )

    async def _async_submit_credentials(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Validate the submitted credentials form; None means: show it again."""
        advanced: Mapping[str, Any] = user_input.get(SECTION_ADVANCED, {})
        base_url = normalise_base_url(advanced.get(CONF_BASE_URL, DEFAULT_BASE_URL))
        if base_url is None:
            errors["base"] = "invalid_base_url"
            return None
        self._email = user_input[CONF_EMAIL].strip()
        self._base_url = base_url
        self._password = user_input[CONF_PASSWORD]
        self._store_password = user_input[CONF_STORE_PASSWORD]
        self._gateway_wanted = bool(user_input.get(CONF_CONNECT_GATEWAY))
        return await self._async_login(errors)

    # -- login and MFA ------------------------------------------------------

    def _new_client(self) -> EnlightenClient:
        """Create a client on a cookie-less session owned by this flow."""
        if self._session is None:
            self._session = async_create_clientsession(
                self.hass, auto_cleanup=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        self._client = EnlightenClient(
            self._session, self._email, self._password, base_url=self._base_url
        )
        return self._client

    async def _async_login(self, errors: dict[str, str]) -> ConfigFlowResult | None:
        """Log in; continue to the MFA step or to the next step; None on error."""
        client = self._new_client()
        try:
            await client.login()
        except MfaRequired:
            return await self.async_step_mfa()
        except InvalidCredentials:
            errors["base"] = "invalid_auth"
        except AccountBlocked:
            errors["base"] = "account_blocked"
        except AuthError:
            errors["base"] = "invalid_auth"
        except EnlightenError:
            errors["base"] = "cannot_connect"
        except Exception:
            _LOGGER.exception("Unexpected error while logging in to Enlighten")
            errors["base"] = "unknown"
        else:
            return await self._async_logged_in()
        return None

    async def async_step_mfa(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the one-time code sent by Enphase; optionally send a new one."""
        return await self._async_mfa("mfa", user_input)

    async def async_step_mfa_resent(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Same as the MFA step, shown after a new code was requested."""
        return await self._async_mfa("mfa_resent", user_input)

    async def _async_mfa(self, step_id: str, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        assert self._client is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            resend = bool(user_input.get(CONF_RESEND))
            try:
                if resend:
                    await self._client.resend_otp()
                else:
                    await self._client.validate_otp(str(user_input.get(CONF_OTP, "")).strip())
            except OtpBlocked:
                errors["base"] = "otp_blocked"
            except OtpExpired:
                if (result := await self._async_relogin(errors)) is not None:
                    return result
            except InvalidOtp:
                errors["base"] = "invalid_otp"
            except EnlightenError:
                errors["base"] = "cannot_connect"
            except Exception:
                _LOGGER.exception("Unexpected error during the one-time code step")
                errors["base"] = "unknown"
            else:
                if not resend:
                    return await self._async_logged_in()
                step_id = "mfa_resent"
        return self.async_show_form(
            step_id=step_id,
            data_schema=_MFA_SCHEMA,
            errors=errors,
            description_placeholders={"email": self._email},
        )

    async def _async_relogin(self, errors: dict[str, str]) -> ConfigFlowResult | None:
        """The pending login expired: log in again, which e-mails a fresh code."""
        assert self._client is not None
        try:
            await self._client.login()
        except MfaRequired:
            errors["base"] = "otp_expired"
        except EnlightenError:
            errors["base"] = "cannot_connect"
        else:
            return await self._async_logged_in()
        return None

    async def _async_logged_in(self) -> ConfigFlowResult:
        """Continue once the account is authenticated."""
        assert self._client is not None
        try:
            sites = await self._client.search_sites()
        except EnlightenError:
            return self.async_abort(reason="cannot_connect")
        self._sites = {site.site_id: site.name for site in sites}
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            return await self._async_update_existing_entry()
        if not self._sites:
            return self.async_abort(reason="no_sites")
        configured = self._async_current_ids(include_ignore=False)
        self._sites = {
            site_id: title for site_id, title in self._sites.items() if site_id not in configured
        }
        if not self._sites:
            return self.async_abort(reason="already_configured")
        if len(self._sites) == 1:
            return await self._async_create_site_entry(next(iter(self._sites)))
        return await self.async_step_site()

    # -- site ---------------------------------------------------------------

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user choose one of the account's sites."""
        if user_input is not None:
            return await self._async_create_site_entry(user_input[CONF_SITE_ID])
        options = [
            SelectOptionDict(value=site_id, label=title) for site_id, title in self._sites.items()
        ]
        return self.async_show_form(
            step_id="site",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SITE_ID): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    async def _async_create_site_entry(self, site_id: str) -> ConfigFlowResult:
        await self.async_set_unique_id(site_id)
        self._abort_if_unique_id_configured()
        self._gateway_site = site_id
        if self._gateway_wanted:
            return await self.async_step_gateway()
        return await self._async_gateway_done(GATEWAY_ACTION_SKIP, None)

    @override
    async def _async_gateway_done(
        self, action: str, config: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Create the entry, or update the existing one, with the gateway choice."""
        if self.source in (SOURCE_REAUTH, SOURCE_RECONFIGURE):
            if self.source == SOURCE_REAUTH:
                entry = self._get_reauth_entry()
            else:
                entry = self._get_reconfigure_entry()
            data = {**entry.data, **self._account_data()}
            if not self._store_password:
                data.pop(CONF_PASSWORD, None)
            if config is not None:
                data[CONF_GATEWAY] = config
            elif action == GATEWAY_ACTION_REMOVE:
                data.pop(CONF_GATEWAY, None)
            return self.async_update_reload_and_abort(entry, data=data)
        assert self._gateway_site is not None
        title = self._sites[self._gateway_site]
        data = self._account_data()
        data[CONF_SITE_ID] = self._gateway_site
        data[CONF_SITE_NAME] = title
        if config is not None:
            data[CONF_GATEWAY] = config
        return self.async_create_entry(title=title, data=data)

    def _account_data(self) -> dict[str, Any]:
        """Data that a restart needs: account, server, session and maybe the password."""
        assert self._client is not None
        data: dict[str, Any] = {
            CONF_EMAIL: self._email,
            CONF_BASE_URL: self._base_url,
            CONF_USER_ID: self._client.user_id,
            CONF_SESSION: self._client.export_session(),
        }
        if self._store_password:
            data[CONF_PASSWORD] = self._password
        return data

    # -- reauth -------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the session could not be renewed."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password of the configured account again."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            self._email = entry.data[CONF_EMAIL]
            self._base_url = entry.data[CONF_BASE_URL]
            self._password = user_input[CONF_PASSWORD]
            self._store_password = user_input[CONF_STORE_PASSWORD]
            if (result := await self._async_login(errors)) is not None:
                return result
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_credentials_schema(
                base_url=entry.data[CONF_BASE_URL],
                store_password=CONF_PASSWORD in entry.data,
                ask_email=False,
            ),
            errors=errors,
            description_placeholders={
                "email": entry.data[CONF_EMAIL],
                "site_name": entry.title,
            },
        )

    # -- reconfigure --------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials or the server of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if (
            user_input is not None
            and (result := await self._async_submit_credentials(user_input, errors)) is not None
        ):
            return result
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _credentials_schema(
                    base_url=entry.data[CONF_BASE_URL],
                    store_password=CONF_PASSWORD in entry.data,
                    connect_gateway=False,
                ),
                user_input or {CONF_EMAIL: entry.data[CONF_EMAIL]},
            ),
            errors=errors,
            description_placeholders={"site_name": entry.title},
        )

    # -- reauth / reconfigure common end ------------------------------------

    async def _async_update_existing_entry(self) -> ConfigFlowResult:
        """Check the account still owns the site, then store the new login."""
        assert self._client is not None
        if self.source == SOURCE_REAUTH:
            entry = self._get_reauth_entry()
        else:
            entry = self._get_reconfigure_entry()
        site_id = entry.data[CONF_SITE_ID]
        same_user = self.source != SOURCE_REAUTH or entry.data.get(CONF_USER_ID) in (
            None,
            self._client.user_id,
        )
        if site_id not in self._sites or not same_user:
            return self.async_abort(
                reason="wrong_account", description_placeholders={"site_name": entry.title}
            )
        if self.source == SOURCE_RECONFIGURE and self._gateway_wanted:
            self._gateway_site = site_id
            return await self.async_step_gateway()
        return await self._async_gateway_done(GATEWAY_ACTION_SKIP, None)


class EnlightenOptionsFlow(OptionsFlowWithReload):
    """Device families and under-performance sensitivity."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options; the entry reloads afterwards."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_DEVICE_FAMILIES: list(user_input[CONF_DEVICE_FAMILIES]),
                    CONF_UNDERPERFORMANCE_THRESHOLD: float(
                        user_input[CONF_UNDERPERFORMANCE_THRESHOLD]
                    ),
                    CONF_UNDERPERFORMANCE_DAYS: int(user_input[CONF_UNDERPERFORMANCE_DAYS]),
                }
            )
        current = EnlightenOptions.from_entry(self.config_entry)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA,
                {
                    CONF_DEVICE_FAMILIES: list(current.device_families),
                    CONF_UNDERPERFORMANCE_THRESHOLD: current.underperformance_threshold,
                    CONF_UNDERPERFORMANCE_DAYS: current.underperformance_days,
                },
            ),
        )
