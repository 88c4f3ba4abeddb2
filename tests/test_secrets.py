"""Secrets stay secret; the grid needs a verified code; hardware control needs an admin."""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.auth.models import User
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.enphase_enlighten.api import EnlightenError
from custom_components.enphase_enlighten.const import (
    CONF_BASE_URL,
    CONF_OTP,
    CONF_RESEND,
    CONF_SITE_ID,
    CONF_STORE_PASSWORD,
    DOMAIN,
    SECTION_ADVANCED,
)
from custom_components.enphase_enlighten.diagnostics import async_get_config_entry_diagnostics
from tests.helpers import create_entry, setup_integration
from tests.simulator import MFA_EMAIL, MFA_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

SITE = 1000001
EV_SN = "EV0000000001"
# Fixed codes, so that a chance match in the log text cannot make the test flaky.
LOGIN_OTP = "864209"
REAUTH_OTP = "531786"
GRID_OTP = "9173"
# Cookie values, tokens and ids shorter than this are not meaningful secrets.
MIN_SECRET = 8


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """No state history is needed here."""
    return {"exclude": {"entity_globs": ["*"]}}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _request_secrets(simulator: EnlightenSimulator) -> set[str]:
    """Every cookie value, session id, token and CSRF value the client ever sent."""
    found: set[str] = set()
    for request in simulator.requests:
        headers = {k.lower(): v for k, v in request.headers.items()}
        for pair in headers.get("cookie", "").split(";"):
            found.add(pair.partition("=")[2].strip())
        found.add(headers.get("authorization", "").removeprefix("Bearer "))
        for name in ("e-auth-token", "x-xsrf-token", "x-csrf-token"):
            found.add(headers.get(name, ""))
    return {value for value in found if len(value) >= MIN_SECRET}


def _serials(entry: MockConfigEntry) -> set[str]:
    """Hardware serial numbers of the site, as the integration knows them."""
    runtime = entry.runtime_data
    inventory = runtime.inventory.data
    serials = {d.serial for d in inventory.devices.all_devices if d.serial}
    serials.update(inventory.inverters)
    serials.update(inventory.chargers)
    if runtime.site is not None and runtime.site.data.battery_status is not None:
        serials.update(s.serial for s in runtime.site.data.battery_status.storages if s.serial)
    return serials


TEST_LOGGERS = ("tests.", "pytest_homeassistant_custom_component")


def _service_event(record: logging.LogRecord) -> bool:
    """Home Assistant's own debug line about a service call event of this domain."""
    message = record.getMessage()
    return record.name.startswith("homeassistant.") and "<Event call_service" in message


def _leaks(text: str, secrets: set[str]) -> list[str]:
    """The secrets found in ``text`` (codes only as whole words)."""
    leaks = []
    for secret in secrets:
        if secret.isdigit():
            if re.search(rf"(?<![\w.]){secret}(?![\w.])", text):
                leaks.append(secret)
        elif secret in text:
            leaks.append(secret)
    return sorted(leaks)


async def _configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return dict(await hass.config_entries.flow.async_configure(flow_id, data))


async def test_no_secret_in_logs_or_diagnostics(
    hass: HomeAssistant, simulator: EnlightenSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """MFA login, refreshes, commands and a forced reauth, all logged at DEBUG.

    The password, the one-time codes, the session id, the tokens, every cookie
    value, the e-mail address and the hardware serials appear neither in the
    log text nor in the diagnostics.
    """
    caplog.set_level(logging.DEBUG)
    flows = hass.config_entries.flow

    # MFA login through the config flow: a wrong code, a resend, the right code.
    result = dict(await flows.async_init(DOMAIN, context={"source": SOURCE_USER}))
    result = await _configure(
        hass,
        result["flow_id"],
        {
            CONF_EMAIL: MFA_EMAIL,
            CONF_PASSWORD: MFA_PASSWORD,
            CONF_STORE_PASSWORD: True,
            SECTION_ADVANCED: {CONF_BASE_URL: simulator.url},
        },
    )
    assert result["step_id"] == "mfa"
    result = await _configure(hass, result["flow_id"], {CONF_OTP: "000000", CONF_RESEND: False})
    assert result["errors"] == {"base": "invalid_otp"}
    result = await _configure(hass, result["flow_id"], {CONF_RESEND: True})
    simulator.login_otp = LOGIN_OTP
    result = await _configure(hass, result["flow_id"], {CONF_OTP: LOGIN_OTP, CONF_RESEND: False})
    assert result["step_id"] == "site"
    result = await _configure(hass, result["flow_id"], {CONF_SITE_ID: str(SITE)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data

    # Refreshes, scheduled and forced.
    for coordinator in runtime.coordinators:
        await coordinator.async_refresh()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=5))
    await hass.async_block_till_done(wait_background_tasks=True)

    # Commands: EV charging, the backup reserve, a grid toggle with its code.
    simulator.site(SITE).chargers[EV_SN].plugged_in = True
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.iq_ev_charger_000001_charging"}, blocking=True
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.demo_home_battery_backup_reserve", "value": 40},
        blocking=True,
    )
    await hass.services.async_call(DOMAIN, "request_grid_otp", {}, blocking=True)
    simulator.grid_otp = GRID_OTP
    await hass.services.async_call(
        DOMAIN, "set_grid_connection", {"mode": "off", "otp": GRID_OTP}, blocking=True
    )
    assert simulator.site(SITE).grid.off_grid

    # Forced reauth: the session is gone and a silent login needs a code again.
    simulator.expire_sessions()
    await runtime.ev.async_refresh()
    await hass.async_block_till_done()
    reauth = list(flows.async_progress_by_handler(DOMAIN))
    assert [f["context"]["source"] for f in reauth] == ["reauth"]
    result = await _configure(
        hass, reauth[0]["flow_id"], {CONF_PASSWORD: MFA_PASSWORD, CONF_STORE_PASSWORD: True}
    )
    assert result["step_id"] == "mfa"
    simulator.login_otp = REAUTH_OTP
    result = await _configure(hass, result["flow_id"], {CONF_OTP: REAUTH_OTP, CONF_RESEND: False})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    diagnostics = json.dumps(await async_get_config_entry_diagnostics(hass, entry))
    secrets = {
        MFA_PASSWORD,
        MFA_EMAIL,
        _b64(MFA_EMAIL),
        LOGIN_OTP,
        _b64(LOGIN_OTP),
        REAUTH_OTP,
        GRID_OTP,
        *_request_secrets(simulator),
        *_serials(entry),
    }
    assert EV_SN in secrets
    assert len(secrets) > 20
    # The simulator and the test harness's storage mock are test equipment; what
    # Home Assistant and the integration log counts.
    records = [r for r in caplog.records if not r.name.startswith(TEST_LOGGERS)]
    log_text = "\n".join(caplog.handler.format(r) for r in records if not _service_event(r))
    # DEBUG output of the client and the coordinators was really captured.
    assert "MFA login completed" in log_text
    assert "Finished fetching enphase_enlighten" in log_text
    assert _leaks(log_text, secrets) == []
    # Home Assistant itself logs each service call's data at DEBUG level (the
    # recorder's task log); the grid code given to the action shows up there and
    # nowhere else. It is single use and expires within minutes.
    core_text = "\n".join(caplog.handler.format(r) for r in records if _service_event(r))
    assert _leaks(core_text, secrets) in ([], [GRID_OTP])
    assert _leaks(diagnostics, secrets) == []


async def test_grid_toggle_needs_an_accepted_code(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """No relay change without a code the cloud accepted, neither by action nor by client."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    grid = simulator.site(SITE).grid
    client = entry.runtime_data.client
    gateway = entry.runtime_data.capabilities.gateway_serial
    assert gateway is not None

    # Straight to the relay command: refused by the cloud.
    with pytest.raises(EnlightenError):
        await client.set_grid_state(gateway, off_grid=True)
    assert not grid.off_grid

    await hass.services.async_call(DOMAIN, "request_grid_otp", {}, blocking=True)
    wrong = "0000" if simulator.grid_otp != "0000" else "1111"
    for otp in ("12", "abcd", wrong):
        simulator.clear_requests()
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                DOMAIN, "set_grid_connection", {"mode": "off", "otp": otp}, blocking=True
            )
        assert not simulator.requests_to("grid_state.json")
    assert not grid.off_grid

    await hass.services.async_call(
        DOMAIN, "set_grid_connection", {"mode": "off", "otp": simulator.grid_otp}, blocking=True
    )
    assert grid.off_grid


HARDWARE_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("trigger_message", {"message": "MeterValues"}),
    ("set_charge_schedules", {"schedules": [{"start": "23:00", "end": "06:00"}]}),
    ("request_grid_otp", {}),
    ("set_grid_connection", {"mode": "off", "otp": "1234"}),
    ("battery_command", {"mode": "discharge", "target_reserve": 50, "duration": "01:00:00"}),
    ("cancel_battery_command", {}),
]


@pytest.mark.parametrize(("action", "data"), HARDWARE_ACTIONS, ids=[a for a, _ in HARDWARE_ACTIONS])
async def test_hardware_actions_need_an_admin(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_read_only_user: User,
    action: str,
    data: dict[str, Any],
) -> None:
    """A non-admin user's call of a hardware action is refused before any request."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    simulator.clear_requests()
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            action,
            data,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert simulator.requests == []


async def test_admin_may_control_and_anyone_may_read(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_admin_user: User,
    hass_read_only_user: User,
) -> None:
    """An administrator's hardware action goes through; reading history needs no admin."""
    entry = await create_entry(hass, simulator)
    assert await setup_integration(hass, entry)
    simulator.clear_requests()
    await hass.services.async_call(
        DOMAIN,
        "trigger_message",
        {"message": "MeterValues"},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert simulator.requests_to("trigger_message", "POST")
    response = await hass.services.async_call(
        DOMAIN,
        "get_charging_sessions",
        {"start_date": dt_util.now().date().isoformat()},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_read_only_user.id),
    )
    assert response is not None
