from __future__ import annotations
from typing import Any
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, device_registry as dr
from tests.helpers import create_entry, setup_integration
from tests.simulator import MULTI_EMAIL, MULTI_PASSWORD, EnlightenSimulator

pytestmark = pytest.mark.usefixtures("recorder_mock", "socket_enabled")

from unittest.mock import PropertyMock, patch
@pytest.fixture
def entity_registry_enabled_by_default():
    with patch("homeassistant.helpers.entity.Entity.entity_registry_enabled_default", return_value=True, new_callable=PropertyMock):
        yield

@pytest.fixture
def mock_recorder_before_hass(async_setup_recorder_instance: Any) -> None:
    pass

@pytest.mark.parametrize("site_id", ["1000001", "1000002", "1000003"])
async def test_list(hass: HomeAssistant, simulator: EnlightenSimulator, site_id, entity_registry_enabled_by_default) -> None:
    entry = await create_entry(hass, simulator, email=MULTI_EMAIL, password=MULTI_PASSWORD, site_id=site_id)
    assert await setup_integration(hass, entry)
    ents = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    with open(f"/tmp/h/ents_{site_id}.txt", "w") as f:
        for e in sorted(ents, key=lambda e: e.entity_id):
            st = hass.states.get(e.entity_id)
            f.write(f"{e.entity_id:70} {st.state if st else None!s:30} {dict(st.attributes) if st and e.domain in ('binary_sensor','event') else ''}\n")
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
            f.write(f"DEV {d.name} {d.identifiers} via={d.via_device_id} id={d.id} model={d.model} sw={d.sw_version}\n")
