"""Aliases for hardware serials in what the history code logs.

Debug logs get shared in bug reports, so they carry no microinverter serial. A serial is
replaced by ``device_<n>``, numbered over the sorted serials it belongs to, the form the
diagnostics use for their serial aliases. The history code numbers the site's
microinverters, so one panel keeps its alias from one sync to the next while the site
keeps its panels. The diagnostics number every device of the site, so the same panel may
carry another number there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .statistics import inverter_statistic_id

ALIAS_PREFIX = "device_"


def serial_aliases(serials: Iterable[str]) -> dict[str, str]:
    """Map each serial to its alias: ``device_1`` for the first in sorted order, and on."""
    return {
        serial: f"{ALIAS_PREFIX}{index}" for index, serial in enumerate(sorted(set(serials)), 1)
    }


def alias(serial: str, aliases: Mapping[str, str]) -> str:
    """The alias of one serial; a serial missing from `aliases` is not shown either."""
    return aliases.get(serial) or f"{ALIAS_PREFIX}?"


def inverter_log_ids(serials: Iterable[str], aliases: Mapping[str, str]) -> dict[str, str]:
    """How the statistic id of each microinverter is logged: with the alias as serial."""
    return {
        inverter_statistic_id(serial): inverter_statistic_id(alias(serial, aliases))
        for serial in serials
    }
