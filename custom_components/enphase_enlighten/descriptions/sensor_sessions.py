"""Last-session sensors of the EV chargers (spec 2.7, read hourly by the inventory)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import UnitOfEnergy, UnitOfLength, UnitOfTime

from ..api.sessions import LastSession
from .sensor import EnlightenSensorEntityDescription


def _duration_min(last: LastSession) -> float | None:
    session = last.session
    if session is None or session.start is None or session.end is None:
        return None
    return max((session.end - session.start).total_seconds(), 0.0) / 60


def _attributes(last: LastSession) -> dict[str, Any]:
    session = last.session
    if session is None:
        return {}
    active = session.active_charge_time_s
    return {
        "session_id": session.session_id,
        "start": session.start.isoformat() if session.start else None,
        "charge_time_min": round(active / 60, 1) if active is not None else None,
    }


LAST_SESSION_SENSORS: tuple[EnlightenSensorEntityDescription[LastSession], ...] = (
    EnlightenSensorEntityDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda s: s.session.energy_kwh if s.session else None,
        attr_fn=_attributes,
    ),
    EnlightenSensorEntityDescription(
        key="last_session_duration",
        translation_key="last_session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_duration_min,
    ),
    EnlightenSensorEntityDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        currency=True,
        value_fn=lambda s: s.session.cost if s.session else None,
    ),
    EnlightenSensorEntityDescription(
        key="last_session_miles",
        translation_key="last_session_miles",
        device_class=SensorDeviceClass.DISTANCE,
        native_unit_of_measurement=UnitOfLength.MILES,
        suggested_display_precision=1,
        value_fn=lambda s: s.session.miles_added if s.session else None,
    ),
    EnlightenSensorEntityDescription(
        key="last_session_end",
        translation_key="last_session_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: s.session.end if s.session else None,
    ),
)
