"""The automation blueprints do what their descriptions promise.

Each blueprint is filled in with test entities, loaded as a real automation,
and driven by state changes and the (frozen) clock; the service calls it makes
are recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

BLUEPRINT_DIR = Path(__file__).resolve().parents[1] / "blueprints" / "automation"
SURPLUS = BLUEPRINT_DIR / "enphase_enlighten" / "solar_surplus_ev_charging.yaml"
GRID = BLUEPRINT_DIR / "enphase_enlighten" / "guided_grid_disconnect.yaml"

SWITCH = "switch.iq_ev_charger_000001_charging"
CURRENT = "number.iq_ev_charger_000001_charging_current"
GRID_POWER = "sensor.grid_power"
CURRENT_ATTRS = {"min": 6, "max": 32, "step": 1}


async def _automation(hass: HomeAssistant, path: Path, inputs: dict[str, Any]) -> None:
    blueprint = Blueprint(
        load_yaml_dict(path), expected_domain="automation", schema=BLUEPRINT_SCHEMA
    )
    config = BlueprintInputs(
        blueprint, {"use_blueprint": {"path": path.name, "input": inputs}}
    ).async_substitute()
    config.pop("use_blueprint", None)
    config["id"] = path.stem
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()


class Recorder:
    """Mocked services, by name."""

    def __init__(self, hass: HomeAssistant, *services: str) -> None:
        self.calls = {name: async_mock_service(hass, *name.split(".", 1)) for name in services}

    def __getitem__(self, name: str) -> list[ServiceCall]:
        return self.calls[name]


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: float = 1) -> None:
    freezer.tick(timedelta(minutes=minutes))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()


async def _stop_automations(hass: HomeAssistant) -> None:
    """Detach the triggers (the time pattern would outlive the test otherwise)."""
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all", "stop_actions": True}, blocking=True
    )
    await hass.async_block_till_done()


@pytest.fixture
async def surplus(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> AsyncIterator[Recorder]:
    """The surplus blueprint with export reported as negative grid power."""
    freezer.move_to("2026-06-01 10:00:30+00:00")
    hass.states.async_set(SWITCH, "off")
    hass.states.async_set(CURRENT, "16", CURRENT_ATTRS)
    hass.states.async_set(GRID_POWER, "0", {"unit_of_measurement": "W"})
    calls = Recorder(hass, "switch.turn_on", "switch.turn_off", "number.set_value")
    await _automation(
        hass,
        SURPLUS,
        {"charging_switch": SWITCH, "charging_current": CURRENT, "grid_power": GRID_POWER},
    )
    yield calls
    await _stop_automations(hass)


async def test_surplus_starts_charging_at_the_current_the_export_allows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, surplus: Recorder
) -> None:
    """3000 W export, 100 W margin, 230 V: 12 A, then the switch goes on."""
    hass.states.async_set(GRID_POWER, "-3000")
    await _tick(hass, freezer)
    assert [c.data["value"] for c in surplus["number.set_value"]] == [12.0]
    assert len(surplus["switch.turn_on"]) == 1


async def test_surplus_does_not_start_on_a_small_export(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, surplus: Recorder
) -> None:
    """1200 W is below both the start threshold and 6 A x 230 V."""
    hass.states.async_set(GRID_POWER, "-1200")
    await _tick(hass, freezer)
    assert not surplus["switch.turn_on"]
    assert not surplus["number.set_value"]


async def test_surplus_follows_the_export_while_charging(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, surplus: Recorder
) -> None:
    """More export raises the current; a change below 2 A sends nothing."""
    hass.states.async_set(SWITCH, "on")
    hass.states.async_set(CURRENT, "12", CURRENT_ATTRS)
    hass.states.async_set(GRID_POWER, "-700")  # 12 + 600/230 = 14.6 -> 14 A
    await _tick(hass, freezer)
    assert [c.data["value"] for c in surplus["number.set_value"]] == [14.0]

    hass.states.async_set(CURRENT, "14", CURRENT_ATTRS)
    hass.states.async_set(GRID_POWER, "-200")  # 14 + 100/230 -> 14 A: no change
    await _tick(hass, freezer)
    assert len(surplus["number.set_value"]) == 1
    assert not surplus["switch.turn_off"]


async def test_surplus_stops_after_the_delay(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, surplus: Recorder
) -> None:
    """Importing 2 kW while charging at 12 A: stop after ten minutes, not before."""
    hass.states.async_set(SWITCH, "on")
    hass.states.async_set(CURRENT, "12", CURRENT_ATTRS)
    hass.states.async_set(GRID_POWER, "2000")
    await hass.async_block_till_done()
    await _tick(hass, freezer, 5)
    assert not surplus["switch.turn_off"]
    await _tick(hass, freezer, 6)
    assert len(surplus["switch.turn_off"]) == 1


async def _settle(hass: HomeAssistant) -> None:
    """Let a running automation reach its next wait (block_till_done would wait it out)."""
    for _ in range(50):
        await asyncio.sleep(0)


@pytest.fixture
async def grid(hass: HomeAssistant) -> AsyncIterator[Recorder]:
    """The guided grid blueprint with a start button and a code field."""
    hass.states.async_set("input_button.grid_start", "unknown")
    hass.states.async_set("input_text.grid_code", "", {"friendly_name": "Grid code"})
    calls = Recorder(
        hass,
        "input_text.set_value",
        "persistent_notification.create",
        "enphase_enlighten.request_grid_otp",
        "enphase_enlighten.set_grid_connection",
    )
    await _automation(
        hass,
        GRID,
        {
            "site": "0123456789abcdef",
            "start_button": "input_button.grid_start",
            "code_text": "input_text.grid_code",
        },
    )
    yield calls
    await _stop_automations(hass)


async def test_grid_disconnect_sends_the_entered_code(hass: HomeAssistant, grid: Recorder) -> None:
    """Button -> code requested -> code typed -> grid command with that code."""
    hass.states.async_set("input_button.grid_start", "2026-06-01T10:00:00+00:00")
    await _settle(hass)
    assert [c.data for c in grid["enphase_enlighten.request_grid_otp"]] == [
        {"config_entry_id": "0123456789abcdef"}
    ]
    assert "Grid code" in grid["persistent_notification.create"][0].data["message"]
    assert not grid["enphase_enlighten.set_grid_connection"]

    hass.states.async_set("input_text.grid_code", " 0421 ")
    await _settle(hass)
    calls = grid["enphase_enlighten.set_grid_connection"]
    assert len(calls) == 1
    assert calls[0].data["config_entry_id"] == "0123456789abcdef"
    assert calls[0].data["mode"] == "off"
    # Templates turn "4321" into a number (the action's schema makes it a string
    # again); a leading zero must survive.
    assert str(calls[0].data["otp"]) == "0421"
    # The code does not stay in the helper.
    assert grid["input_text.set_value"][-1].data["value"] == ""


async def test_grid_disconnect_gives_up_without_a_code(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, grid: Recorder
) -> None:
    """No code within the time limit: nothing is sent, the user is told."""
    hass.states.async_set("input_button.grid_start", "2026-06-01T10:00:00+00:00")
    await _settle(hass)
    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass, dt_util.utcnow())
    await _settle(hass)
    assert not grid["enphase_enlighten.set_grid_connection"]
    assert "cancelled" in grid["persistent_notification.create"][-1].data["title"]
