"""Entity descriptions that read one data source, and the entity that uses them.

A *source* is a zero-argument callable returning the part of a coordinator's
data an entity reads (a charger status, a battery, the site's energy data …)
or None when that part is missing. Descriptions then only map the source to a
value (``value_fn``), attributes (``attr_fn``), availability (``available_fn``)
and whether the entity is created at all (``exists_fn``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, override

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription

from ..api import BatteryStorage, ChargerStatus, ChargerSummary, InventoryDevice
from ..coordinator.ev import EvCoordinator
from ..coordinator.inventory import InventoryCoordinator
from ..coordinator.site import SiteCoordinator
from ..entity import EnlightenEntity, ReadableCoordinator

type Source[SourceT] = Callable[[], SourceT | None]


def _always(_: object) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class EnlightenEntityDescription[SourceT](EntityDescription):
    """Fields shared by the descriptions of every platform.

    ``exists_fn`` is evaluated once, with the source present when the entity is
    built; ``available_fn`` on every state write.
    """

    # The coordinator parts the value comes from, where they are fewer than the
    # group's (see ``build_group``); empty: the group's parts.
    parts: tuple[str, ...] = ()
    exists_fn: Callable[[SourceT], bool] = _always
    available_fn: Callable[[SourceT], bool] = _always
    attr_fn: Callable[[SourceT], Mapping[str, Any]] | None = None


class EnlightenSourceEntity[SourceT](EnlightenEntity[ReadableCoordinator]):
    """An entity whose state comes from one source of its coordinator's data."""

    entity_description: EnlightenEntityDescription[SourceT]

    def __init__(
        self,
        coordinator: ReadableCoordinator,
        description: EnlightenEntityDescription[SourceT],
        *,
        serial: str,
        device_info: DeviceInfo,
        source: Source[SourceT],
        parts: tuple[str, ...] = (),
    ) -> None:
        """Bind the entity to its source and the coordinator parts the source reads."""
        super().__init__(coordinator, description, serial=serial, device_info=device_info)
        self._source = source
        self.parts = description.parts or parts

    @property
    def source(self) -> SourceT | None:
        """The current source, or None when the coordinator has no data for it."""
        return self._source() if self.coordinator.data is not None else None

    @property
    @override
    def data_available(self) -> bool:
        """Available when the source is present and the description accepts it."""
        source = self.source
        return source is not None and self.entity_description.available_fn(source)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Attributes from ``attr_fn``, when the description has one."""
        attr_fn = self.entity_description.attr_fn
        source = self.source
        if attr_fn is None or source is None:
            return None
        return attr_fn(source)


def build_group[SourceT, EntityT](
    factory: Callable[..., EntityT],
    coordinator: ReadableCoordinator,
    descriptions: Iterable[EnlightenEntityDescription[SourceT]],
    source: Source[SourceT],
    *,
    serial: str,
    device_info: DeviceInfo,
    parts: tuple[str, ...] = (),
) -> list[EntityT]:
    """Entities of one device for the descriptions that exist for the current source.

    ``parts`` names the coordinator parts the source reads (empty: all of them).

    A source that is missing right now (a failed optional endpoint) does not
    hide the entities: they are created and stay unavailable until it returns.
    """
    current = source() if coordinator.data is not None else None
    return [
        factory(
            coordinator,
            description,
            serial=serial,
            device_info=device_info,
            source=source,
            parts=parts,
        )
        for description in descriptions
        if current is None or description.exists_fn(current)
    ]


def enum_value(value: str | None, options: Sequence[str]) -> str | None:
    """Normalise a cloud enum (``SUSPENDED_EV``, ``self-consumption``, ``ImportExport``).

    Returns the matching option, or None for a value that is not one of them.
    """
    if not value:
        return None
    text = value.strip()
    if not text.isupper() and not text.islower():
        # CamelCase -> camel_case
        text = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(text))
    key = text.lower().replace("-", "_").replace(" ", "_")
    return key if key in options else None


def charger_source(ev: EvCoordinator, serial: str) -> Source[ChargerStatus]:
    """The status of one charger."""
    return lambda: ev.data.chargers.get(serial)


def charger_summary_source(inventory: InventoryCoordinator, serial: str) -> Source[ChargerSummary]:
    """The summary (metadata) of one charger."""
    return lambda: inventory.data.chargers.get(serial)


def battery_source(site: SiteCoordinator, serial: str) -> Source[BatteryStorage]:
    """One battery of the battery status card."""

    def source() -> BatteryStorage | None:
        status = site.data.battery_status
        if status is None:
            return None
        return next((s for s in status.storages if s.serial == serial), None)

    return source


def inventory_device_source(
    inventory: InventoryCoordinator, serial: str
) -> Source[InventoryDevice]:
    """One devices.json card."""

    def source() -> InventoryDevice | None:
        devices = inventory.data.devices
        if devices is None:
            return None
        return next((d for d in devices.all_devices if d.serial == serial), None)

    return source
