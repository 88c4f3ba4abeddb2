"""Test helpers of the history code: catch time-zone loads it makes in the event loop."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import sys
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import Any

import aiozoneinfo
from homeassistant.util import dt as dt_util

from custom_components.enphase_enlighten import history


def history_modules() -> list[ModuleType]:
    """Every module of the history package."""
    return [
        importlib.import_module(f"{history.__name__}.{info.name}")
        for info in pkgutil.iter_modules(history.__path__)
    ]


# Calls that load a zone from disk unless it is in zoneinfo's cache: blocking I/O.
BLOCKING_ZONE_CALLS: tuple[object, ...] = (
    zoneinfo.ZoneInfo,
    dt_util.get_time_zone,
    aiozoneinfo.get_time_zone,
)


def _functions(owner: Any, module: str) -> Iterator[Any]:
    for value in vars(owner).values():
        target = value.fget if isinstance(value, property) else value
        target = getattr(target, "__func__", target)  # staticmethod, classmethod
        if inspect.isfunction(target) and target.__module__ == module:
            yield target
        elif inspect.isclass(target) and target.__module__ == module:
            yield from _functions(target, module)


def _codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def history_code_objects() -> set[CodeType]:
    """Every code object of the history modules: functions, methods, nested ones."""
    codes: set[CodeType] = set()
    for module in history_modules():
        for function in _functions(module, module.__name__):
            codes.update(_codes(function.__code__))
    return codes


@dataclass
class ZoneLoadGuard:
    """Records the zone loads that history code makes in the event loop's thread.

    Only calls made directly by history code count (``sys.monitoring`` local CALL
    events on its code objects): ``ZoneInfo(key)``, ``dt_util.get_time_zone(key)``.
    The same calls in an executor thread (as the async lookup makes them) are fine.
    Functions in `watch` are watched as well (to test the guard).
    """

    watch: tuple[Callable[..., Any], ...] = ()
    loads: list[tuple[str, object]] = field(default_factory=list)
    _tool: int | None = None
    _codes: set[CodeType] = field(default_factory=set)

    def __enter__(self) -> ZoneLoadGuard:
        monitoring = sys.monitoring
        tool = next(i for i in (5, 4, 3, 2, 0) if monitoring.get_tool(i) is None)
        monitoring.use_tool_id(tool, "history zone load guard")
        monitoring.register_callback(tool, monitoring.events.CALL, self._on_call)
        self._tool = tool
        self._codes = history_code_objects() | {f.__code__ for f in self.watch}
        for code in self._codes:
            monitoring.set_local_events(tool, code, monitoring.events.CALL)
        return self

    def __exit__(self, *exc: object) -> None:
        monitoring, tool = sys.monitoring, self._tool
        assert tool is not None
        for code in self._codes:
            monitoring.set_local_events(tool, code, 0)
        monitoring.register_callback(tool, monitoring.events.CALL, None)
        monitoring.free_tool_id(tool)
        self._tool = None

    def _on_call(self, code: CodeType, _offset: int, target: object, arg0: object) -> Any:
        if any(target is call for call in BLOCKING_ZONE_CALLS) and _in_event_loop():
            self.loads.append((code.co_qualname, arg0))
        return None


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
