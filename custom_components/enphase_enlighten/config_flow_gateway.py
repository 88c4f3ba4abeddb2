"""The optional local IQ Gateway part of the config flow (a mixin of the main flow).

The ``gateway`` step follows the site step when the user asked for it (or when the flow
started from a gateway found on the network), and the reconfigure step when ticked. A
gateway found by zeroconf that belongs to a configured site offers the same step for that
site; a known gateway seen at a new address gets its address updated.

Firmware 7 and newer needs a token: the user pastes one, or it is requested with the
Enlighten session of the flow (or of the loaded entry), which works for accounts with
multi-factor authentication too. Below 7 an optional local user is asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import probatio as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_EMAIL, CONF_HOST, CONF_PASSWORD, CONF_TOKEN, CONF_USERNAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import (
    async_create_clientsession,
    async_get_clientsession,
)
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from yarl import URL

from .api import EnlightenClient, EnlightenError
from .const import (
    CONF_FIRMWARE,
    CONF_GATEWAY,
    CONF_GATEWAY_ACTION,
    CONF_SERIAL,
    CONF_SITE_ID,
    CONF_TOKEN_URL,
    GATEWAY_ACTION_CONNECT,
    GATEWAY_ACTION_REMOVE,
    GATEWAY_ACTION_SKIP,
    SECTION_ADVANCED,
    SECTION_LOCAL_USER,
)
from .gateway import (
    DEFAULT_TOKEN_URL,
    GatewayAuthError,
    GatewayClient,
    GatewayError,
    parse_zeroconf_properties,
    request_gateway_token,
)

_LOGGER = logging.getLogger(__name__)

# Seconds each gateway request of the flow may take.
PROBE_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class CloudGateway:
    """A gateway as the Enlighten inventory lists it."""

    serial: str
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class DiscoveredGateway:
    """A gateway announced on the network."""

    serial: str
    host: str


def split_host(raw: str) -> tuple[str, int | None] | None:
    """Host name/address and optional port of ``host``, ``host:port`` or a URL."""
    text = raw.strip()
    if not text:
        return None
    if "://" not in text:
        # A bare IPv6 address has several colons and no port: bracket it for parsing.
        if text.count(":") > 1 and not text.startswith("["):
            text = f"[{text}]"
        text = f"http://{text}"
    try:
        url = URL(text)
    except ValueError:
        return None
    if not url.host or url.path not in ("", "/") or url.query_string or url.user:
        return None
    return url.host, url.explicit_port


def normalise_gateway_host(raw: str) -> str | None:
    """``host`` or ``host:port`` as stored (IPv6 with a port in brackets); None if invalid."""
    parts = split_host(raw)
    if parts is None:
        return None
    host, port = parts
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def with_address(address: str, stored: str) -> str:
    """The new ``address`` keeping the port of the stored host, if it had one."""
    parts = split_host(stored)
    port = parts[1] if parts is not None else None
    return normalise_gateway_host(address if port is None else f"{address}:{port}") or address


def normalise_token_url(raw: str) -> str | None:
    """The token service URL: HTTPS, or HTTP on this machine only (a test service)."""
    try:
        url = URL(raw.strip())
    except ValueError:
        return None
    if not url.is_absolute() or not url.host:
        return None
    if url.scheme == "https" or (
        url.scheme == "http" and url.host in ("localhost", "127.0.0.1", "::1")
    ):
        return str(url)
    return None


def parse_cloud_gateways(payload: Any) -> dict[str, CloudGateway]:
    """Gateways (serial, LAN address) of a devices.json document; tolerant of its shape."""
    found: dict[str, CloudGateway] = {}
    buckets = payload.get("result") if isinstance(payload, dict) else None
    for bucket in buckets if isinstance(buckets, list) else []:
        if not isinstance(bucket, dict) or bucket.get("type") != "envoy":
            continue
        for device in bucket.get("devices") or []:
            serial = device.get("serial_number") if isinstance(device, dict) else None
            if isinstance(serial, str) and serial:
                ip = device.get("ip")
                found[serial] = CloudGateway(serial, ip if isinstance(ip, str) and ip else None)
    return found


def gateway_schema(*, removable: bool) -> vol.Schema:
    """The gateway form: what to do, where, and how to authenticate."""
    actions = [GATEWAY_ACTION_CONNECT, GATEWAY_ACTION_SKIP]
    if removable:
        actions.append(GATEWAY_ACTION_REMOVE)
    secret = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
    return vol.Schema(
        {
            vol.Required(CONF_GATEWAY_ACTION, default=GATEWAY_ACTION_CONNECT): SelectSelector(
                SelectSelectorConfig(
                    options=actions,
                    mode=SelectSelectorMode.LIST,
                    translation_key="gateway_action",
                )
            ),
            vol.Optional(CONF_HOST): TextSelector(),
            vol.Optional(CONF_TOKEN): secret,
            vol.Required(SECTION_LOCAL_USER): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_USERNAME): TextSelector(
                            TextSelectorConfig(autocomplete="off")
                        ),
                        vol.Optional(CONF_PASSWORD): secret,
                    }
                ),
                {"collapsed": True},
            ),
            vol.Required(SECTION_ADVANCED): section(
                vol.Schema(
                    {
                        vol.Required(CONF_TOKEN_URL, default=DEFAULT_TOKEN_URL): TextSelector(
                            TextSelectorConfig(type=TextSelectorType.URL)
                        )
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


class GatewayFlowMixin(ConfigFlow):
    """Gateway discovery and the ``gateway`` step; the main flow supplies the rest."""

    # Provided by the main flow.
    _client: EnlightenClient | None
    _email: str
    _sites: dict[str, str]

    # Gateway state of the flow (class defaults; assignments make them per flow).
    _gateway_wanted: bool = False
    _gateway_site: str | None = None
    _discovered: DiscoveredGateway | None = None
    _link_entry_id: str | None = None
    _cloud_gateways: dict[str, CloudGateway] | None = None

    async def _async_gateway_done(
        self, action: str, config: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Finish the flow after the gateway step; implemented by the main flow."""
        raise NotImplementedError

    # -- discovery ------------------------------------------------------------------------

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """An IQ Gateway announced itself on the network."""
        found = parse_zeroconf_properties(discovery_info.properties)
        if found is None:
            return self.async_abort(reason="not_enphase_gateway")
        addresses = [discovery_info.ip_address, *discovery_info.ip_addresses]
        address = next((str(a) for a in addresses if a.version == 4), None)
        if address is None:
            return self.async_abort(reason="not_ipv4_address")
        for entry in self._async_current_entries(include_ignore=False):
            stored: dict[str, Any] | None = entry.data.get(CONF_GATEWAY)
            if stored is None or stored.get(CONF_SERIAL) != found.serial:
                continue
            host = with_address(address, stored[CONF_HOST])
            if host != stored[CONF_HOST]:
                self.hass.config_entries.async_update_entry(
                    entry, data={**entry.data, CONF_GATEWAY: {**stored, CONF_HOST: host}}
                )
                if entry.state is ConfigEntryState.LOADED:
                    self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_abort(reason="gateway_already_configured")
        # Lets the user ignore this gateway; a site entry later takes its own unique id.
        await self.async_set_unique_id(f"gateway_{found.serial}")
        self._abort_if_unique_id_configured()
        self._discovered = DiscoveredGateway(found.serial, address)
        self._gateway_wanted = True
        self.context["title_placeholders"] = {"serial": found.serial}
        for entry in self._async_current_entries(include_ignore=False):
            if (
                entry.state is ConfigEntryState.LOADED
                and entry.runtime_data.capabilities.gateway_serial == found.serial
            ):
                # A configured site without its gateway: offer to connect it.
                self._link_entry_id = entry.entry_id
                self._gateway_site = entry.data[CONF_SITE_ID]
                return await self.async_step_gateway()
        return await self.async_step_user()

    # -- the gateway step -----------------------------------------------------------------

    def _gateway_entry(self) -> ConfigEntry | None:
        """The existing entry the step changes (reconfigure or a discovered link)."""
        if self._link_entry_id is not None:
            return self.hass.config_entries.async_get_entry(self._link_entry_id)
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry()
        return None

    def _gateway_cloud_client(self) -> EnlightenClient | None:
        if self._client is not None:
            return self._client
        entry = self._gateway_entry()
        if entry is not None and entry.state is ConfigEntryState.LOADED:
            client: EnlightenClient = entry.runtime_data.client
            return client
        return None

    async def _async_cloud_gateways(self) -> dict[str, CloudGateway]:
        """The site's gateways per the cloud inventory (read once; empty if unknown)."""
        if self._cloud_gateways is not None:
            return self._cloud_gateways
        found: dict[str, CloudGateway] = {}
        client = self._gateway_cloud_client()
        if client is not None and self._gateway_site is not None:
            try:
                payload = await client.request("GET", f"/app-api/{self._gateway_site}/devices.json")
            except EnlightenError as err:
                _LOGGER.debug("Could not read the site's gateways: %s", err)
            else:
                found = parse_cloud_gateways(payload)
        self._cloud_gateways = found
        return found

    async def async_step_gateway(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect the local IQ Gateway (optional)."""
        errors: dict[str, str] = {}
        cloud = await self._async_cloud_gateways()
        entry = self._gateway_entry()
        if user_input is not None:
            action = user_input[CONF_GATEWAY_ACTION]
            if action != GATEWAY_ACTION_CONNECT:
                return await self._async_gateway_complete(action, None)
            config = await self._async_validate_gateway(user_input, cloud, errors)
            if config is not None:
                return await self._async_gateway_complete(action, config)
        existing: dict[str, Any] = (entry.data.get(CONF_GATEWAY) or {}) if entry else {}
        return self.async_show_form(
            step_id="gateway",
            data_schema=self.add_suggested_values_to_schema(
                gateway_schema(removable=bool(existing) and self._link_entry_id is None),
                user_input or self._gateway_suggestions(cloud, existing),
            ),
            errors=errors,
            description_placeholders={
                "site_name": entry.title
                if entry is not None
                else self._sites.get(self._gateway_site or "", "")
            },
        )

    def _gateway_suggestions(
        self, cloud: dict[str, CloudGateway], existing: dict[str, Any]
    ) -> dict[str, Any]:
        """Pre-fill: discovered address, else the stored one, else the cloud's."""
        discovered = self._discovered
        host: str | None
        if discovered is not None and (not cloud or discovered.serial in cloud):
            host = discovered.host
        elif existing:
            host = existing[CONF_HOST]
        else:
            host = next((g.ip for g in cloud.values() if g.ip), None)
        suggested: dict[str, Any] = {
            SECTION_ADVANCED: {CONF_TOKEN_URL: existing.get(CONF_TOKEN_URL, DEFAULT_TOKEN_URL)}
        }
        if host:
            suggested[CONF_HOST] = host
        return suggested

    async def _async_gateway_complete(
        self, action: str, config: dict[str, Any] | None
    ) -> ConfigFlowResult:
        if config is not None:
            # Other flows offering this gateway (from its discovery) are answered now.
            for flow in self._async_in_progress(include_uninitialized=True):
                if (
                    flow["flow_id"] != self.flow_id
                    and flow["context"].get("unique_id") == f"gateway_{config[CONF_SERIAL]}"
                ):
                    self.hass.config_entries.flow.async_abort(flow["flow_id"])
        if self._link_entry_id is None:
            return await self._async_gateway_done(action, config)
        entry = self.hass.config_entries.async_get_entry(self._link_entry_id)
        if entry is None or config is None:
            return self.async_abort(reason="gateway_not_linked")
        return self.async_update_reload_and_abort(
            entry, data={**entry.data, CONF_GATEWAY: config}, reason="gateway_linked"
        )

    # -- validation -----------------------------------------------------------------------

    async def _async_validate_gateway(
        self, user_input: dict[str, Any], cloud: dict[str, CloudGateway], errors: dict[str, str]
    ) -> dict[str, Any] | None:
        """Reach the gateway, authenticate, read it once; the settings to store or None."""
        host = normalise_gateway_host(user_input.get(CONF_HOST) or "")
        advanced: dict[str, Any] = user_input.get(SECTION_ADVANCED) or {}
        token_url = normalise_token_url(advanced.get(CONF_TOKEN_URL) or DEFAULT_TOKEN_URL)
        if host is None:
            errors[CONF_HOST] = "invalid_gateway_host"
            return None
        if token_url is None:
            errors["base"] = "invalid_token_url"
            return None
        local: dict[str, Any] = user_input.get(SECTION_LOCAL_USER) or {}
        token = (user_input.get(CONF_TOKEN) or "").strip() or None
        username = (local.get(CONF_USERNAME) or "").strip() or None
        password = local.get(CONF_PASSWORD) or None
        session = async_create_clientsession(
            self.hass, verify_ssl=False, auto_cleanup=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        try:
            probe = GatewayClient(
                session, host, request_timeout=PROBE_TIMEOUT, max_attempts=1, retry_wait=0
            )
            try:
                await probe.setup()
            except GatewayError as err:
                _LOGGER.debug("IQ Gateway at %s not reachable: %s", host, err)
                errors["base"] = "gateway_cannot_connect"
                return None
            serial = probe.serial or ""
            if cloud and serial not in cloud:
                errors["base"] = "gateway_wrong_site"
                return None
            config: dict[str, Any] = {
                CONF_HOST: host,
                CONF_SERIAL: serial,
                CONF_FIRMWARE: probe.firmware,
                CONF_TOKEN_URL: token_url,
            }
            if probe.requires_token:
                token = token or await self._async_request_token(serial, token_url, errors)
                if token is None:
                    return None
                config[CONF_TOKEN] = token
                username = password = None
            else:
                config.update({CONF_USERNAME: username, CONF_PASSWORD: password})
            client = GatewayClient(
                session,
                host,
                serial,
                username=username,
                password=password,
                token=token,
                request_timeout=PROBE_TIMEOUT,
                max_attempts=1,
                retry_wait=0,
            )
            try:
                await client.update()
            except GatewayAuthError:
                errors["base"] = "gateway_invalid_auth"
                return None
            except GatewayError as err:
                _LOGGER.debug("IQ Gateway at %s could not be read: %s", host, err)
                errors["base"] = "gateway_cannot_connect"
                return None
        finally:
            session.detach()
        return {key: value for key, value in config.items() if value is not None}

    async def _async_request_token(
        self, serial: str, token_url: str, errors: dict[str, str]
    ) -> str | None:
        """A gateway token through the flow's (or the entry's) Enlighten session."""
        client = self._gateway_cloud_client()
        entry = self._gateway_entry()
        email = self._email or (entry.data[CONF_EMAIL] if entry is not None else "")
        try:
            if client is None:
                raise GatewayAuthError("No Enlighten session")
            await client.ensure_session()
            return await request_gateway_token(
                async_get_clientsession(self.hass),
                client.session_id or "",
                serial,
                email,
                token_url=token_url,
            )
        except (EnlightenError, GatewayError) as err:
            _LOGGER.debug("No gateway token from Enlighten: %s", err)
            errors["base"] = "gateway_token_failed"
            return None
