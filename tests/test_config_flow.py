"""Config flow tests against the simulator: login, MFA, sites, reauth, reconfigure, options."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData

from custom_components.enphase_enlighten.api import DEFAULT_BASE_URL, AuthError, EnlightenClient
from custom_components.enphase_enlighten.config_flow import normalise_base_url
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_DEVICE_FAMILIES,
    CONF_OTP,
    CONF_RESEND,
    CONF_SESSION,
    CONF_SITE_ID,
    CONF_SITE_NAME,
    CONF_STORE_PASSWORD,
    CONF_UNDERPERFORMANCE_DAYS,
    CONF_UNDERPERFORMANCE_THRESHOLD,
    CONF_USER_ID,
    DOMAIN,
    SECTION_ADVANCED,
)
from tests.helpers import create_entry
from tests.simulator import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    MFA_EMAIL,
    MFA_PASSWORD,
    MULTI_EMAIL,
    MULTI_PASSWORD,
    EnlightenSimulator,
)

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

BLOCKED_EMAIL = "blocked@example.com"
BLOCKED_PASSWORD = "blocked-password"


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Do not set the created entries up; these tests are about the flow."""
    with patch("custom_components.enphase_enlighten.async_setup_entry", return_value=True) as mock:
        yield mock


def _credentials(
    simulator: EnlightenSimulator,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    *,
    store_password: bool = True,
    base_url: str | None = None,
) -> dict[str, Any]:
    return {
        CONF_EMAIL: email,
        CONF_PASSWORD: password,
        CONF_STORE_PASSWORD: store_password,
        SECTION_ADVANCED: {CONF_BASE_URL: base_url or simulator.url},
    }


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(result)


async def _submit(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(flow_id, user_input))


async def _mfa_flow(hass: HomeAssistant, simulator: EnlightenSimulator) -> dict[str, Any]:
    result = await _start(hass)
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, MFA_EMAIL, MFA_PASSWORD)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mfa"
    assert result["description_placeholders"] == {"email": MFA_EMAIL}
    return result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://enlighten.enphaseenergy.com/", "https://enlighten.enphaseenergy.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.10.0.1", "http://127.10.0.1"),
        ("http://localhost:1234/", "http://localhost:1234"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://example.com", None),
        ("http://10.0.0.1", None),
        ("ftp://127.0.0.1", None),
        ("not a url", None),
        ("https://example.com/?a=1", None),
        ("http://[", None),
    ],
)
def test_normalise_base_url(raw: str, expected: str | None) -> None:
    """HTTPS anywhere, HTTP only on loopback."""
    assert normalise_base_url(raw) == expected


async def test_plain_login(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A non-MFA account with one site creates the entry directly."""
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo Home"
    assert result["result"].unique_id == "1000001"
    assert (result["result"].version, result["result"].minor_version) == (1, 2)
    data = result["data"]
    assert data[CONF_EMAIL] == DEMO_EMAIL
    assert data[CONF_PASSWORD] == DEMO_PASSWORD
    assert data[CONF_BASE_URL] == simulator.url
    assert data[CONF_SITE_ID] == "1000001"
    assert data[CONF_SITE_NAME] == "Demo Home"
    assert data[CONF_USER_ID]
    assert data[CONF_SESSION]["session_id"]
    assert data[CONF_SESSION]["manager_token"]
    assert data[CONF_SESSION]["cookies"]
    assert any(r.path == "/login/login.json" for r in simulator.requests)


async def test_login_without_storing_password(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Unticking "store password" keeps the session but not the password."""
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator, store_password=False))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PASSWORD not in result["data"]
    assert result["data"][CONF_SESSION]["session_id"]


async def test_insecure_base_url(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Plain HTTP to a non-loopback host is refused before any request."""
    result = await _start(hass)
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, base_url="http://example.com")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_base_url"}
    assert simulator.requests == []
    # Abandoning the flow before any login releases nothing and raises nothing.
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_default_base_url_is_enlighten(hass: HomeAssistant) -> None:
    """The advanced section defaults to the Enlighten host."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["data_schema"] is not None
    section = result["data_schema"].schema[SECTION_ADVANCED]
    (marker,) = section.schema.schema
    assert marker.default() == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        (DEMO_EMAIL, "wrong-password", "invalid_auth"),
        ("nobody@example.com", "whatever", "invalid_auth"),
        (BLOCKED_EMAIL, BLOCKED_PASSWORD, "account_blocked"),
    ],
)
async def test_login_errors_then_recover(
    hass: HomeAssistant, simulator: EnlightenSimulator, email: str, password: str, error: str
) -> None:
    """Wrong or blocked credentials show an error; the form can be submitted again."""
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator, email, password))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_login_cannot_connect(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A server error during login is reported as cannot_connect."""
    simulator.inject_fault("/login/login.json", status=503)
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.parametrize(
    ("side_effect", "error"),
    [(AuthError("session lost"), "invalid_auth"), (RuntimeError("boom"), "unknown")],
)
async def test_login_other_errors(
    hass: HomeAssistant, simulator: EnlightenSimulator, side_effect: Exception, error: str
) -> None:
    """Other auth errors and unexpected exceptions map to their own messages."""
    result = await _start(hass)
    with patch.object(EnlightenClient, "login", side_effect=side_effect):
        result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["errors"] == {"base": error}


async def test_mfa_login_and_site_choice(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """MFA: a wrong code shows invalid_otp, the right one continues to the site step."""
    result = await _mfa_flow(hass, simulator)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: "000000", CONF_RESEND: False})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_otp"}
    result = await _submit(hass, result["flow_id"], {CONF_RESEND: False})
    assert result["errors"] == {"base": "invalid_otp"}

    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "site"
    result = await _submit(hass, result["flow_id"], {CONF_SITE_ID: "1000002"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cabin"
    assert result["data"][CONF_SITE_ID] == "1000002"
    assert result["data"][CONF_EMAIL] == MFA_EMAIL
    assert result["data"][CONF_SESSION]["session_id"]


async def test_mfa_resend(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Resending rotates the code: the old one fails, the new one works."""
    result = await _mfa_flow(hass, simulator)
    old_code = simulator.login_otp
    result = await _submit(hass, result["flow_id"], {CONF_RESEND: True})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mfa_resent"
    assert result["errors"] == {}
    assert simulator.login_otp != old_code
    assert any(r.path == "/app-api/generate_mfa_login_otp" for r in simulator.requests)

    result = await _submit(hass, result["flow_id"], {CONF_OTP: old_code, CONF_RESEND: False})
    assert result["step_id"] == "mfa_resent"
    assert result["errors"] == {"base": "invalid_otp"}
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["step_id"] == "site"


async def test_mfa_otp_blocked(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Five wrong codes block the login."""
    result = await _mfa_flow(hass, simulator)
    for _ in range(4):
        result = await _submit(hass, result["flow_id"], {CONF_OTP: "000000"})
        assert result["errors"] == {"base": "invalid_otp"}
    result = await _submit(hass, result["flow_id"], {CONF_OTP: "000000"})
    assert result["errors"] == {"base": "otp_blocked"}


async def test_mfa_otp_expired_sends_new_code(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """An expired code starts a new login (a new code is e-mailed) and then works."""
    result = await _mfa_flow(hass, simulator)
    simulator.advance(11 * 60)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["step_id"] == "mfa"
    assert result["errors"] == {"base": "otp_expired"}
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["step_id"] == "site"


async def test_mfa_expired_relogin_fails(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When the new login after an expired code fails, cannot_connect is shown."""
    result = await _mfa_flow(hass, simulator)
    simulator.inject_fault("/app-api/validate_login_otp", status=401, count=1)
    simulator.inject_fault("/login/login.json", status=503)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["errors"] == {"base": "cannot_connect"}


async def test_mfa_expired_relogin_without_code(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """If the new login needs no code any more, the flow simply continues."""
    result = await _mfa_flow(hass, simulator)
    simulator.inject_fault("/app-api/validate_login_otp", status=401, count=1)
    with patch.object(EnlightenClient, "login", AsyncMock(return_value=None)):
        result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    # The patched login kept the pre-auth state, so listing sites fails.
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_mfa_resend_errors(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Resend failures: server error, blocked, and an expired pending login."""
    result = await _mfa_flow(hass, simulator)
    flow_id = result["flow_id"]
    simulator.inject_fault("/app-api/generate_mfa_login_otp", status=503, count=1)
    result = await _submit(hass, flow_id, {CONF_RESEND: True})
    assert result["step_id"] == "mfa"
    assert result["errors"] == {"base": "cannot_connect"}

    simulator.inject_fault("/app-api/generate_mfa_login_otp", status=401, count=1)
    result = await _submit(hass, flow_id, {CONF_RESEND: True})
    assert result["errors"] == {"base": "otp_expired"}
    result = await _submit(hass, flow_id, {CONF_OTP: simulator.login_otp})
    assert result["step_id"] == "site"


async def test_mfa_resend_blocked(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A blocked answer to a resend is shown as otp_blocked."""
    result = await _mfa_flow(hass, simulator)
    simulator.inject_fault(
        "/app-api/generate_mfa_login_otp",
        status=200,
        body='{"success": false, "isBlocked": true}',
        count=1,
    )
    result = await _submit(hass, result["flow_id"], {CONF_RESEND: True})
    assert result["errors"] == {"base": "otp_blocked"}


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"status": 503}, "cannot_connect"), ({"status": 200, "body": "[1]"}, "cannot_connect")],
)
async def test_mfa_validate_server_errors(
    hass: HomeAssistant, simulator: EnlightenSimulator, fault: dict[str, Any], error: str
) -> None:
    """Server errors while checking the code are reported, the code can be retried."""
    result = await _mfa_flow(hass, simulator)
    simulator.inject_fault("/app-api/validate_login_otp", count=1, **fault)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["errors"] == {"base": error}


async def test_mfa_validate_unexpected(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """An unexpected exception while checking the code shows unknown."""
    result = await _mfa_flow(hass, simulator)
    with patch.object(EnlightenClient, "validate_otp", side_effect=RuntimeError("boom")):
        result = await _submit(hass, result["flow_id"], {CONF_OTP: "123456"})
    assert result["errors"] == {"base": "unknown"}


async def test_site_list_fails(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """A failing site search aborts with cannot_connect."""
    simulator.inject_fault("search_sites", status=503)
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_no_sites(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """An account without sites aborts."""
    simulator.inject_fault("search_sites", status=200, body='{"sites": []}')
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_sites"


async def test_duplicate_site_aborts(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """The only site of the account is already configured."""
    await create_entry(hass, simulator)
    result = await _start(hass)
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_multi_site_hides_configured(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Configured sites are not offered; the title is the chosen site's title."""
    await create_entry(hass, simulator)
    result = await _start(hass)
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, MULTI_EMAIL, MULTI_PASSWORD)
    )
    assert result["step_id"] == "site"
    selector = result["data_schema"].schema[CONF_SITE_ID]
    offered = {o["value"]: o["label"] for o in selector.config["options"]}
    assert offered == {"1000002": "Cabin", "1000003": "Legacy Barn", "1000004": "Big Array"}
    result = await _submit(hass, result["flow_id"], {CONF_SITE_ID: "1000003"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Legacy Barn"
    assert result["result"].unique_id == "1000003"


async def test_multi_site_one_left(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """With one unconfigured site left, it is created without asking."""
    await create_entry(hass, simulator)
    result = await _mfa_flow(hass, simulator)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cabin"


async def test_site_configured_meanwhile(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A site configured while the site step was open aborts on submit."""
    result = await _start(hass)
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, MULTI_EMAIL, MULTI_PASSWORD)
    )
    assert result["step_id"] == "site"
    await create_entry(
        hass, simulator, site_id="1000004", email=MULTI_EMAIL, password=MULTI_PASSWORD
    )
    result = await _submit(hass, result["flow_id"], {CONF_SITE_ID: "1000004"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_all_sites_configured(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """When every site is configured, the flow aborts."""
    for site_id in ("1000001", "1000002"):
        await create_entry(
            hass,
            simulator,
            site_id=site_id,
            email=MFA_EMAIL,
            password=MFA_PASSWORD,
            logged_in=False,
        )
    result = await _mfa_flow(hass, simulator)
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Reauth asks for the password, shows errors, then updates the entry."""
    entry = await create_entry(hass, simulator, logged_in=False)
    result = dict(await entry.start_reauth_flow(hass))
    assert result["step_id"] == "reauth_confirm"
    placeholders = result["description_placeholders"]
    assert placeholders["email"] == DEMO_EMAIL
    assert placeholders["site_name"] == "Demo Home"
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: "wrong", CONF_STORE_PASSWORD: True}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_STORE_PASSWORD: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_SESSION]["session_id"]
    assert entry.data[CONF_USER_ID]
    assert entry.data[CONF_PASSWORD] == DEMO_PASSWORD


async def test_reauth_stop_storing_password(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Reauth can drop the stored password."""
    entry = await create_entry(hass, simulator)
    result = dict(await entry.start_reauth_flow(hass))
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_STORE_PASSWORD: False}
    )
    assert result["reason"] == "reauth_successful"
    assert CONF_PASSWORD not in entry.data
    assert entry.data[CONF_EMAIL] == DEMO_EMAIL


async def test_reauth_with_mfa(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Reauth of an MFA account goes through the code step."""
    entry = await create_entry(
        hass, simulator, email=MFA_EMAIL, password=MFA_PASSWORD, store_password=False
    )
    old_session = entry.data[CONF_SESSION]["session_id"]
    result = dict(await entry.start_reauth_flow(hass))
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: MFA_PASSWORD, CONF_STORE_PASSWORD: False}
    )
    assert result["step_id"] == "mfa"
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_SESSION]["session_id"] != old_session
    assert CONF_PASSWORD not in entry.data


@pytest.mark.parametrize(
    ("site_id", "user_id"),
    [("1000002", None), ("1000001", "someone-else")],
    ids=["site_not_in_account", "different_user"],
)
async def test_reauth_wrong_account(
    hass: HomeAssistant, simulator: EnlightenSimulator, site_id: str, user_id: str | None
) -> None:
    """Reauth aborts when the account lacks the site or is another user."""
    data = {CONF_USER_ID: user_id} if user_id else {}
    entry = await create_entry(hass, simulator, site_id=site_id, data=data)
    result = dict(await entry.start_reauth_flow(hass))
    result = await _submit(
        hass, result["flow_id"], {CONF_PASSWORD: DEMO_PASSWORD, CONF_STORE_PASSWORD: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


async def test_reconfigure(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Reconfigure changes the account (which still sees the site)."""
    entry = await create_entry(hass, simulator)
    result = dict(await entry.start_reconfigure_flow(hass))
    assert result["step_id"] == "reconfigure"
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, base_url="http://example.com")
    )
    assert result["errors"] == {"base": "invalid_base_url"}
    result = await _submit(
        hass, result["flow_id"], _credentials(simulator, MULTI_EMAIL, MULTI_PASSWORD)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_EMAIL] == MULTI_EMAIL
    assert entry.data[CONF_PASSWORD] == MULTI_PASSWORD
    assert entry.data[CONF_SITE_ID] == "1000001"


async def test_reconfigure_with_mfa(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Reconfigure to an MFA account goes through the code step."""
    entry = await create_entry(hass, simulator)
    result = dict(await entry.start_reconfigure_flow(hass))
    result = await _submit(
        hass,
        result["flow_id"],
        _credentials(simulator, MFA_EMAIL, MFA_PASSWORD, store_password=False),
    )
    assert result["step_id"] == "mfa"
    result = await _submit(hass, result["flow_id"], {CONF_OTP: simulator.login_otp})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_EMAIL] == MFA_EMAIL
    assert CONF_PASSWORD not in entry.data


async def test_reconfigure_wrong_account(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Reconfigure to an account without the site aborts."""
    entry = await create_entry(
        hass, simulator, site_id="1000003", email=MULTI_EMAIL, password=MULTI_PASSWORD
    )
    result = dict(await entry.start_reconfigure_flow(hass))
    result = await _submit(hass, result["flow_id"], _credentials(simulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data[CONF_EMAIL] == MULTI_EMAIL


async def test_options(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Options show the defaults and store what the user chose; no polling intervals."""
    entry = await create_entry(hass, simulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["data_schema"] is not None
    schema = result["data_schema"].schema
    suggested = {str(k): k.description["suggested_value"] for k in schema}
    assert suggested == {
        CONF_DEVICE_FAMILIES: ["ev", "battery", "microinverters", "gateway_devices"],
        CONF_UNDERPERFORMANCE_THRESHOLD: 3.5,
        CONF_UNDERPERFORMANCE_DAYS: 3,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_DEVICE_FAMILIES: ["battery", "microinverters"],
            CONF_UNDERPERFORMANCE_THRESHOLD: 4.2,
            CONF_UNDERPERFORMANCE_DAYS: 5.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_DEVICE_FAMILIES: ["battery", "microinverters"],
        CONF_UNDERPERFORMANCE_THRESHOLD: 4.2,
        CONF_UNDERPERFORMANCE_DAYS: 5,
    }


async def test_options_refuse_intervals(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Polling intervals are no longer options: the form refuses them."""
    entry = await create_entry(hass, simulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "ev_interval": 120,
                CONF_DEVICE_FAMILIES: [],
                CONF_UNDERPERFORMANCE_THRESHOLD: 3.5,
                CONF_UNDERPERFORMANCE_DAYS: 3,
            },
        )


@pytest.mark.parametrize(("threshold", "days"), [(1.0, 3), (7.0, 3), (3.5, 0), (3.5, 15)], ids=str)
async def test_options_out_of_bounds(
    hass: HomeAssistant, simulator: EnlightenSimulator, threshold: float, days: int
) -> None:
    """Under-performance settings outside their bounds are refused by the form."""
    entry = await create_entry(hass, simulator)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                CONF_DEVICE_FAMILIES: [],
                CONF_UNDERPERFORMANCE_THRESHOLD: threshold,
                CONF_UNDERPERFORMANCE_DAYS: days,
            },
        )


def test_translations_cover_every_key() -> None:
    """Every error, abort, exception and sensor key used in code has an English text."""
    import json
    import re
    from pathlib import Path

    from custom_components.enphase_enlighten.sensor import SITE_ENERGY_SENSORS

    root = Path(__file__).parent.parent / "custom_components" / DOMAIN
    en = json.loads((root / "translations" / "en.json").read_text())
    icons = json.loads((root / "icons.json").read_text())
    flow = (root / "config_flow.py").read_text()
    errors = set(re.findall(r'errors\["base"\] = "(\w+)"', flow))
    aborts = set(re.findall(r'reason="(\w+)"', flow))
    assert errors <= set(en["config"]["error"])
    assert aborts <= set(en["config"]["abort"])
    raised: set[str] = set()
    for module in ("__init__.py", "coordinator/base.py", "coordinator/energy.py"):
        raised |= set(re.findall(r'translation_key="(\w+)"', (root / module).read_text()))
    assert raised <= set(en["exceptions"])
    sensor_keys = {d.translation_key for d in SITE_ENERGY_SENSORS}
    assert sensor_keys <= set(en["entity"]["sensor"])
    assert sensor_keys <= set(icons["entity"]["sensor"])
