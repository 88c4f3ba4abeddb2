from tests.test_gateway_setup import *  # noqa
from tests.entity_setup import setup_site

async def test_probe_a(hass, sim) -> None:
    entry = await setup_site(hass, sim)

async def test_probe_b(hass, sim) -> None:
    entry = await create_entry(hass, sim)
    assert await setup_integration(hass, entry)
