"""The timed battery command against the simulator: apply, revert by time or reserve, restart."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import probatio as vol
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.enphase_enlighten.const import DOMAIN, STORAGE_VERSION
from custom_components.enphase_enlighten.control.battery_command import (
    BatteryCommand,
    BatteryCommandManager,
    profile_view,
    store_key,
    target_reached,
)
from tests.controls import (
    SITE,
    mock_recorder_before_hass,  # noqa: F401
    setup_site,
)
from tests.helpers import create_entry, setup_integration
from tests.simulator import EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

PROFILE = "select.demo_home_battery_profile"
PROFILE_PUT = "batteryConfig/api/v1/profile/"


def _set_soc(simulator: EnlightenSimulator, soc: float) -> None:
    battery = simulator.site(SITE).battery
    assert battery is not None
    for storage in battery.storages:
        storage.soc = soc


def _profile_puts(simulator: EnlightenSimulator) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in simulator.requests_to(PROFILE_PUT, "PUT")]


def _manager(entry: MockConfigEntry) -> BatteryCommandManager:
    manager = entry.runtime_data.battery_command
    assert manager is not None
    return manager


async def _run(
    hass: HomeAssistant, mode: str, target: int, duration: str | dict[str, int] = "01:00:00"
) -> None:
    await hass.services.async_call(
        DOMAIN,
        "battery_command",
        {"mode": mode, "target_reserve": target, "duration": duration},
        blocking=True,
    )


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)


async def _refresh_site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    site = entry.runtime_data.site
    assert site is not None
    await site.async_refresh()
    await _settle(hass)


async def test_discharge_reverts_when_duration_ends(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """The temporary reserve applies after a minute; the old one returns at the end."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    simulator.clear_requests()
    await _run(hass, "discharge", 30, "01:00:00")
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 30}
    ]
    stored = hass_storage[store_key(entry.entry_id)]["data"]["command"]
    assert stored["mode"] == "discharge"
    assert (stored["previous_profile"], stored["previous_reserve"]) == ("self-consumption", 20)
    state = hass.states.get(PROFILE)
    assert state is not None
    assert state.attributes["battery_command"] == "discharge"
    assert state.attributes["pending_change"] is True

    simulator.advance(61)
    await _refresh_site(hass, entry)
    assert battery.reserve == 30

    simulator.clear_requests()
    freezer.tick(timedelta(minutes=59))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == []

    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"] is None
    simulator.advance(61)
    assert battery.reserve == 20
    state = hass.states.get(PROFILE)
    assert state is not None
    assert state.attributes["battery_command"] is None


async def test_discharge_reverts_when_reserve_reached(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """When the battery is down to the target, the previous settings return early."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30, "04:00:00")
    simulator.advance(61)
    simulator.clear_requests()
    _set_soc(simulator, 35)
    await _refresh_site(hass, entry)
    assert _manager(entry).command is not None
    _set_soc(simulator, 29)
    await _refresh_site(hass, entry)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None


async def test_charge_reverts_at_target(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """Charge uses full backup and ends once the battery reaches the target."""
    entry = await setup_site(hass, simulator)
    simulator.clear_requests()
    await _run(hass, "charge", 80, {"hours": 2})
    assert _profile_puts(simulator) == [{"profile": "backup_only", "batteryBackupPercentage": 100}]
    simulator.advance(61)
    battery = simulator.site(SITE).battery
    assert battery is not None
    assert battery.profile == "backup_only"
    simulator.clear_requests()
    _set_soc(simulator, 81)
    await _refresh_site(hass, entry)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    simulator.advance(61)
    assert (battery.profile, battery.reserve) == ("self-consumption", 20)


async def test_self_consumption_ends_by_time_only(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Self-consumption holds the target reserve for the whole duration."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.profile, battery.reserve = "backup_only", 100
    entry = await setup_site(hass, simulator)
    await _run(hass, "self_consumption", 40, "00:30:00")
    simulator.advance(61)
    _set_soc(simulator, 10)
    await _refresh_site(hass, entry)
    assert _manager(entry).command is not None
    simulator.clear_requests()
    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [{"profile": "backup_only", "batteryBackupPercentage": 100}]


async def test_cancel_before_it_took_effect_withdraws_it(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A command still pending in the cloud is withdrawn rather than overwritten."""
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    await _run(hass, "discharge", 30)
    simulator.clear_requests()
    await hass.services.async_call(DOMAIN, "cancel_battery_command", {}, blocking=True)
    assert simulator.requests_to("cancel/profile", "PUT")
    assert _profile_puts(simulator) == []
    assert battery.requested is None
    assert (battery.profile, battery.reserve) == ("self-consumption", 20)
    assert _manager(entry).command is None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "cancel_battery_command", {}, blocking=True)
    assert err.value.translation_key == "no_battery_command"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"target_reserve": 5}, "invalid_target_reserve"),
        ({"target_reserve": 9}, "invalid_target_reserve"),
        ({"target_reserve": 101}, "invalid_target_reserve"),
        ({"duration": "04:00:01"}, "invalid_command_duration"),
        ({"duration": "00:01:00"}, "invalid_command_duration"),
        ({"mode": "discharge", "target_reserve": 60}, "battery_target_reached"),
        ({"mode": "charge", "target_reserve": 40}, "battery_target_reached"),
    ],
)
async def test_bad_input_refused_before_any_request(
    hass: HomeAssistant, simulator: EnlightenSimulator, data: dict[str, Any], key: str
) -> None:
    """Reserve below 10 %, over 4 hours, or a target already reached: nothing is sent."""
    await setup_site(hass, simulator)
    simulator.clear_requests()
    call = {"mode": "discharge", "target_reserve": 30, "duration": "01:00:00"} | data
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "battery_command", call, blocking=True)
    assert err.value.translation_key == key
    assert simulator.requests == []


async def test_unknown_mode_is_a_schema_error(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Only the three modes exist."""
    await setup_site(hass, simulator)
    with pytest.raises(vol.Invalid):
        await _run(hass, "export", 30)


async def test_refused_while_another_change_is_pending(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A change requested elsewhere would be lost: cancel or wait first."""
    await setup_site(hass, simulator)
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: PROFILE, ATTR_OPTION: "savings"},
        blocking=True,
    )
    simulator.clear_requests()
    with pytest.raises(ServiceValidationError) as err:
        await _run(hass, "discharge", 30)
    assert err.value.translation_key == "profile_change_pending"
    assert _profile_puts(simulator) == []


async def test_cloud_refusal_starts_nothing(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """If Enlighten refuses the temporary profile, no command is kept."""
    entry = await setup_site(hass, simulator)
    simulator.inject_fault(PROFILE_PUT, method="PUT", status=400, body='{"message": "no"}')
    with pytest.raises(HomeAssistantError) as err:
        await _run(hass, "discharge", 30)
    assert err.value.translation_key == "command_rejected"
    assert _manager(entry).command is None
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"] is None


async def test_refusal_of_a_replacement_keeps_the_running_command(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """A refused second command leaves the first one running (and stored) as it was."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30)
    first = _manager(entry).command
    simulator.inject_fault(PROFILE_PUT, method="PUT", status=400, body='{"message": "no"}')
    with pytest.raises(HomeAssistantError):
        await _run(hass, "self_consumption", 40)
    assert _manager(entry).command == first
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"]["target_reserve"] == 30


async def test_command_is_stored_before_its_change_is_sent(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should Home Assistant stop while the change is on its way, the restore target is kept."""
    entry = await setup_site(hass, simulator)
    client = entry.runtime_data.client
    send = client.set_profile
    stored_when_sent: list[Any] = []

    async def watching(*args: Any, **kwargs: Any) -> None:
        stored_when_sent.append(
            hass_storage.get(store_key(entry.entry_id), {}).get("data", {}).get("command")
        )
        await send(*args, **kwargs)

    monkeypatch.setattr(client, "set_profile", watching)
    await _run(hass, "discharge", 30)
    [stored] = stored_when_sent
    assert stored is not None
    assert (stored["previous_profile"], stored["previous_reserve"]) == ("self-consumption", 20)
    assert stored["confirmed"] is False
    # Once Enlighten accepted the change the command is stored as confirmed.
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"]["confirmed"] is True


async def test_unanswered_change_is_kept_and_decided_at_the_end(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """No answer: the change may have gone out, so the command stays until its end.

    Here it never reached the cloud, so the end restores nothing.
    """
    entry = await setup_site(hass, simulator)
    battery = simulator.site(SITE).battery
    assert battery is not None
    # Without a count: the HTTP client tries a reset idempotent request again.
    fault = simulator.inject_fault(PROFILE_PUT, method="PUT", reset=True)
    with pytest.raises(HomeAssistantError) as err:
        await _run(hass, "discharge", 30, "00:10:00")
    assert err.value.translation_key == "command_failed"
    simulator.faults.remove(fault)
    command = _manager(entry).command
    assert command is not None
    assert not command.confirmed
    simulator.clear_requests()
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == []
    assert not simulator.requests_to("cancel/profile")
    assert _manager(entry).command is None
    assert (battery.profile, battery.reserve) == ("self-consumption", 20)


def _stored_command(
    hass_storage: dict[str, Any], entry: MockConfigEntry, **changes: Any
) -> dict[str, Any]:
    """A discharge to 30 % (from self-consumption at 20 %) stored as Home Assistant stopped."""
    now = dt_util.utcnow()
    command = (
        BatteryCommand(
            "discharge",
            30,
            now - timedelta(minutes=1),
            now + timedelta(minutes=59),
            "self-consumption",
            20,
            confirmed=False,
        ).as_dict()
        | changes
    )
    hass_storage[store_key(entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": store_key(entry.entry_id),
        "data": {"command": command},
    }
    return command


async def test_interrupted_command_whose_change_went_out_runs_on(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Its settings are in place after the restart: it is confirmed and restores at its end."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.profile, battery.reserve = "self-consumption", 30
    entry = await create_entry(hass, simulator)
    _stored_command(hass_storage, entry)
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    command = _manager(entry).command
    assert command is not None
    assert command.confirmed
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"]["confirmed"] is True
    assert _profile_puts(simulator) == []

    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None


async def test_interrupted_command_whose_change_is_pending_runs_on(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """The change waits in the cloud: it is the command's, so the command runs on."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.requested = {"profile": "self-consumption", "batteryBackupPercentage": 30}
    battery.requested_at = simulator.now
    entry = await create_entry(hass, simulator)
    _stored_command(hass_storage, entry)
    assert await setup_integration(hass, entry)
    command = _manager(entry).command
    assert command is not None
    assert command.confirmed


@pytest.mark.parametrize(
    "in_place",
    [
        ("self-consumption", 20),  # the change never reached Enlighten
        ("cost_savings", 50),  # changed in the Enphase app meanwhile
    ],
)
async def test_interrupted_command_without_its_change_is_dropped(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    in_place: tuple[str, int],
) -> None:
    """None of its settings in place: nothing of the integration's to undo, nothing sent."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.profile, battery.reserve = in_place
    entry = await create_entry(hass, simulator)
    _stored_command(hass_storage, entry)
    simulator.clear_requests()
    assert await setup_integration(hass, entry)
    assert _manager(entry).command is None
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"] is None
    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == []
    assert not simulator.requests_to("cancel/profile")
    assert (battery.profile, battery.reserve) == in_place


async def test_interrupted_replacement_restores_the_first_commands_settings(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A second command stopped on its way: the first one's settings are still the integration's."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.profile, battery.reserve = "backup_only", 100  # the first command (charge)
    entry = await create_entry(hass, simulator)
    _stored_command(hass_storage, entry, replaced=[["backup_only", 100]])
    assert await setup_integration(hass, entry)
    command = _manager(entry).command
    assert command is not None
    assert command.confirmed
    simulator.clear_requests()
    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]


async def test_interrupted_command_with_unknown_profile_waits_for_its_end(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Unsure at start-up: the command is kept; its end decides with a fresh reading."""
    entry = await create_entry(hass, simulator)
    _stored_command(hass_storage, entry)
    fault = simulator.inject_fault(PROFILE_PUT, method="GET", status=503)
    assert await setup_integration(hass, entry)
    command = _manager(entry).command
    assert command is not None
    assert not command.confirmed
    simulator.faults.remove(fault)
    simulator.clear_requests()
    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    # The cloud still holds the settings from before: nothing to restore.
    assert _profile_puts(simulator) == []
    assert _manager(entry).command is None


async def test_zero_reserve_is_restored_as_zero(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A site at 0 % gets 0 % back, not the 10 % floor of what a user may enter."""
    battery = simulator.site(SITE).battery
    assert battery is not None
    battery.reserve = 0
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30, "00:10:00")
    stored = hass_storage[store_key(entry.entry_id)]["data"]["command"]
    assert stored["previous_reserve"] == 0
    simulator.advance(61)
    # The simulator's own floor is 10 %: let it take this one as the cloud of the site would.
    simulator.inject_fault(
        PROFILE_PUT, method="PUT", status=200, body='{"message": "success"}', count=1
    )
    simulator.clear_requests()
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 0}
    ]
    assert _manager(entry).command is None


async def test_unknown_reserve_starts_nothing(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A profile without its reserve cannot be restored either."""
    await setup_site(hass, simulator)
    body = '{"data": {"profile": "self-consumption"}}'
    simulator.inject_fault(PROFILE_PUT, method="GET", status=200, body=body, count=1)
    simulator.clear_requests()
    with pytest.raises(HomeAssistantError) as err:
        await _run(hass, "discharge", 30)
    assert err.value.translation_key == "battery_profile_unknown"
    assert _profile_puts(simulator) == []


async def test_unknown_profile_starts_nothing(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """Without the current profile there is nothing to restore later."""
    await setup_site(hass, simulator)
    simulator.inject_fault(PROFILE_PUT, method="GET", status=200, body='{"data": {}}', count=1)
    simulator.clear_requests()
    with pytest.raises(HomeAssistantError) as err:
        await _run(hass, "discharge", 30)
    assert err.value.translation_key == "battery_profile_unknown"
    assert _profile_puts(simulator) == []


async def test_new_command_keeps_the_original_settings(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A second command replaces the first; the end restores what was there before both."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30)
    simulator.advance(61)
    await _refresh_site(hass, entry)
    await _run(hass, "self_consumption", 40)
    command = _manager(entry).command
    assert command is not None
    assert (command.mode, command.target_reserve) == ("self_consumption", 40)
    assert (command.previous_profile, command.previous_reserve) == ("self-consumption", 20)


async def test_manual_change_ends_the_command(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """Choosing a profile by hand wins; the command will not restore over it."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30)
    simulator.advance(61)
    await _refresh_site(hass, entry)
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: PROFILE, ATTR_OPTION: "savings"},
        blocking=True,
    )
    assert _manager(entry).command is None
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"] is None


async def test_survives_a_restart(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """The command is stored; after a reload it still reverts on time."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30, "02:00:00")
    simulator.advance(61)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await _settle(hass)
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"]["target_reserve"] == 30

    assert await hass.config_entries.async_setup(entry.entry_id)
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED
    command = _manager(entry).command
    assert command is not None
    assert command.previous_reserve == 20
    state = hass.states.get(PROFILE)
    assert state is not None
    assert state.attributes["battery_command"] == "discharge"

    simulator.clear_requests()
    freezer.tick(timedelta(hours=2, seconds=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None


async def test_expired_while_stopped_reverts_at_start(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A command that ended while Home Assistant was down is reverted right after setup."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30, "00:10:00")
    simulator.advance(61)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await _settle(hass)
    freezer.tick(timedelta(hours=1))
    simulator.clear_requests()
    assert await hass.config_entries.async_setup(entry.entry_id)
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None


async def test_failed_revert_is_retried(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A revert the cloud refuses is tried again five minutes later."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30, "00:10:00")
    simulator.advance(61)
    simulator.inject_fault(PROFILE_PUT, method="PUT", status=503, count=1)
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert "retrying" in caplog.text
    assert _manager(entry).command is not None

    simulator.clear_requests()
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert _manager(entry).command is None


async def test_failed_cancel_is_reported(
    hass: HomeAssistant, simulator: EnlightenSimulator
) -> None:
    """A cancel the cloud refuses keeps the command and says why."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30)
    simulator.inject_fault(PROFILE_PUT, method="GET", status=503, count=1)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "cancel_battery_command", {}, blocking=True)
    assert err.value.translation_key == "command_failed"
    assert _manager(entry).command is not None


async def test_site_without_battery(hass: HomeAssistant, simulator: EnlightenSimulator) -> None:
    """No battery, no command."""
    await setup_site(hass, simulator, "1000003")
    with pytest.raises(ServiceValidationError) as err:
        await _run(hass, "discharge", 30)
    assert err.value.translation_key == "no_battery"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "cancel_battery_command", {}, blocking=True)
    assert err.value.translation_key == "no_battery_command"


async def test_removing_the_entry_deletes_the_command(
    hass: HomeAssistant, simulator: EnlightenSimulator, hass_storage: dict[str, Any]
) -> None:
    """Nothing of a removed entry stays in storage."""
    entry = await setup_site(hass, simulator)
    await _run(hass, "discharge", 30)
    assert store_key(entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await _settle(hass)
    assert store_key(entry.entry_id) not in hass_storage


async def _fail_first_revert(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    await _run(hass, "discharge", 30, "00:10:00")
    simulator.advance(61)
    simulator.inject_fault(PROFILE_PUT, method="PUT", status=503, count=1)
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await _settle(hass)


async def test_cancel_replaces_a_pending_retry(
    hass: HomeAssistant, simulator: EnlightenSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """An explicit cancel does not wait for the scheduled retry."""
    entry = await setup_site(hass, simulator)
    await _fail_first_revert(hass, simulator, freezer)
    manager = _manager(entry)
    assert manager.command is not None
    simulator.clear_requests()
    await hass.services.async_call(DOMAIN, "cancel_battery_command", {}, blocking=True)
    assert _profile_puts(simulator) == [
        {"profile": "self-consumption", "batteryBackupPercentage": 20}
    ]
    assert manager.command is None
    # Nothing left to do: another revert (a late timer) is a no-op.
    simulator.clear_requests()
    await manager._async_revert("late")
    assert simulator.requests == []
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert _profile_puts(simulator) == []


async def test_unload_drops_a_pending_retry(
    hass: HomeAssistant,
    simulator: EnlightenSimulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """After unload nothing is sent; the stored command resumes with the next setup."""
    entry = await setup_site(hass, simulator)
    await _fail_first_revert(hass, simulator, freezer)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await _settle(hass)
    simulator.clear_requests()
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await _settle(hass)
    assert simulator.requests == []
    assert hass_storage[store_key(entry.entry_id)]["data"]["command"] is not None


def test_profile_view_without_profile_data() -> None:
    """Until the profile was read once there is nothing to show."""
    site = SimpleNamespace(data=None, requested_profile=None)
    assert profile_view(site) is None  # type: ignore[arg-type]
    site = SimpleNamespace(data=SimpleNamespace(profile=None), requested_profile=None)
    assert profile_view(site) is None  # type: ignore[arg-type]


def test_stored_form_round_trip() -> None:
    """The stored form reads back; damaged data is ignored."""
    now = dt_util.utcnow()
    command = BatteryCommand("charge", 80, now, now + timedelta(hours=1), "cost_savings", 30)
    assert BatteryCommand.from_dict(command.as_dict()) == command
    assert BatteryCommand.from_dict(None) is None
    assert BatteryCommand.from_dict({"mode": "charge"}) is None
    assert BatteryCommand.from_dict(command.as_dict() | {"mode": "export"}) is None
    assert BatteryCommand.from_dict(command.as_dict() | {"ends_at": "soon"}) is None
    assert BatteryCommand.from_dict(command.as_dict() | {"target_reserve": "x"}) is None
    assert BatteryCommand.from_dict(command.as_dict() | {"confirmed": "yes"}) is None
    assert BatteryCommand.from_dict(command.as_dict() | {"replaced": [["x"]]}) is None
    pending = BatteryCommand(
        "charge", 80, now, now, "cost_savings", 0, confirmed=False, replaced=(("backup_only", 100),)
    )
    assert BatteryCommand.from_dict(pending.as_dict()) == pending
    # Stored before the confirmation existed: those were stored after their change.
    legacy = {k: v for k, v in command.as_dict().items() if k not in ("confirmed", "replaced")}
    assert BatteryCommand.from_dict(legacy) == command


def test_target_reached() -> None:
    """Discharge ends at or below the target, charge at or above; unknown SoC never ends it."""
    assert target_reached("discharge", 30, 30)
    assert not target_reached("discharge", 30, 31)
    assert target_reached("charge", 80, 80)
    assert not target_reached("charge", 80, 79)
    assert not target_reached("self_consumption", 30, 5)
    assert not target_reached("discharge", 30, None)
