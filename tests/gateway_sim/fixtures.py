"""Load captured IQ Gateway payloads (one folder per firmware/hardware set).

File naming in a set: the endpoint path without its leading ``/``, ``/`` turned into ``_``,
a query appended as ``_key_value`` (``/production.json?details=1`` ->
``production.json_details_1``); ``<name>_log.json`` holds the captured status and headers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).parents[2].parent / "shared" / "fixtures" / "envoy"

_CONTENT_TYPE_KEYS = ("content-type", "Content-Type")


def fixtures_available(name: str | None = None, base: Path | None = None) -> bool:
    """True when the fixture directory (and the named set, if given) exists."""
    root = base or FIXTURES_DIR
    return (root / name).is_dir() if name else root.is_dir()


def fixture_key(path: str, query_string: str = "") -> str:
    """File name for an endpoint path and raw query string."""
    key = path.lstrip("/").replace("/", "_")
    if query_string:
        key += "_" + query_string.replace("&", "_").replace("=", "_")
    return key


@dataclass(frozen=True, slots=True)
class FixtureResponse:
    """One captured reply."""

    status: int
    body: bytes
    content_type: str


def _guess_content_type(body: bytes) -> str:
    text = body.lstrip()
    if text.startswith(b"<?xml"):
        return "text/xml"
    try:
        json.loads(body)
    except ValueError:
        return "text/html"
    return "application/json"


class FixtureSet:
    """A captured gateway: its ``/info`` identity and its endpoint replies."""

    def __init__(self, name: str, base: Path | None = None) -> None:
        self.name = name
        self.directory = (base or FIXTURES_DIR) / name
        if not self.directory.is_dir():
            raise FileNotFoundError(f"No gateway fixture set {name!r} in {self.directory.parent}")
        info = self.directory / "info"
        if not info.is_file():
            raise FileNotFoundError(f"Fixture set {name!r} has no /info capture")
        self.info_xml = info.read_bytes()
        device = ET.fromstring(self.info_xml).find("device")
        if device is None:
            raise ValueError(f"Fixture set {name!r}: /info has no <device>")
        self.serial = (device.findtext("sn") or "").strip()
        self.software = (device.findtext("software") or "").strip()
        self.part_number = (device.findtext("pn") or "").strip()
        self.metered = (device.findtext("imeter") or "").strip() == "true"
        self.firmware = self.software.lstrip("RDrd")

    @property
    def firmware_major(self) -> int:
        """Major firmware version (5, 7, 8, ...)."""
        return int(self.firmware.split(".", 1)[0])

    def has(self, key: str) -> bool:
        """True when a capture with that file name exists."""
        return (self.directory / key).is_file()

    def load(self, key: str) -> FixtureResponse | None:
        """The capture stored under ``key`` with its logged status and content type."""
        file = self.directory / key
        if not file.is_file():
            return None
        body = file.read_bytes()
        status = 200
        content_type: str | None = None
        log = self.directory / f"{key}_log.json"
        if log.is_file():
            meta: dict[str, Any] = json.loads(log.read_text())
            status = int(meta.get("code", 200))
            headers: dict[str, str] = meta.get("headers") or {}
            for name in _CONTENT_TYPE_KEYS:
                if headers.get(name):
                    content_type = headers[name]
                    break
        return FixtureResponse(status, body, content_type or _guess_content_type(body))

    def lookup(self, path: str, query_string: str = "") -> FixtureResponse | None:
        """The capture for a request: exact query match first, then the bare path."""
        if query_string and (found := self.load(fixture_key(path, query_string))):
            return found
        return self.load(fixture_key(path))

    def json(self, key: str) -> Any:
        """Parsed JSON of a capture (None when absent or not JSON)."""
        found = self.load(key)
        if found is None:
            return None
        try:
            return json.loads(found.body)
        except ValueError:
            return None
