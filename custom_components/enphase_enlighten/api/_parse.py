"""Tolerant converters used by the models to read cloud payloads.

Every converter returns ``None`` instead of raising when the value is missing,
of the wrong type, not a number (NaN/inf) or otherwise unusable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from .errors import InvalidResponse

type JsonDict = dict[str, Any]

# Epoch values above this are milliseconds (year 5138 in seconds).
_MS_THRESHOLD = 1e11
_ZONE_SUFFIX_RE = re.compile(r"\[[^\]]*\]$")
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")
_TRUE = frozenset({"true", "yes", "on", "1", "enabled"})
_FALSE = frozenset({"false", "no", "off", "0", "disabled"})


def require_dict(payload: object, what: str) -> JsonDict:
    """Return ``payload`` when it is a JSON object, else raise InvalidResponse."""
    if not isinstance(payload, dict):
        raise InvalidResponse(f"{what}: expected a JSON object, got {type(payload).__name__}")
    return payload


def as_dict(value: object) -> JsonDict:
    """Return ``value`` when it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """Return ``value`` when it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def dicts(value: object) -> list[JsonDict]:
    """Return the JSON objects of an array, skipping anything else."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def unwrap(payload: JsonDict) -> JsonDict:
    """Return ``payload["data"]`` when it is an object (the meta/data envelope)."""
    data = payload.get("data")
    return data if isinstance(data, dict) else payload


def as_float(value: object, *, non_negative: bool = False) -> float | None:
    """Read a number; strings such as ``"48%"`` or ``"230"`` are accepted."""
    if isinstance(value, bool) or value is None:
        return None
    result: float
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            result = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(result) or (non_negative and result < 0):
        return None
    return result


def as_percent(value: object) -> float | None:
    """Read a percentage such as ``"48%"`` or ``48``; negative values are dropped."""
    return as_float(value, non_negative=True)


def as_int(value: object, *, non_negative: bool = False) -> int | None:
    """Read an integer; floats with a fraction are rounded down."""
    number = as_float(value, non_negative=non_negative)
    return None if number is None else int(number)


def as_bool(value: object) -> bool | None:
    """Read a boolean from true/false, 0/1 or common strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def as_str(value: object) -> str | None:
    """Read a string; numbers (ids) are converted, blank strings become None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return None


def _from_epoch(number: float) -> datetime | None:
    if number <= 0:
        return None
    if number > _MS_THRESHOLD:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except OverflowError, OSError, ValueError:
        return None


def as_datetime(value: object) -> datetime | None:
    """Read a timestamp as an aware datetime.

    Accepts epoch seconds or milliseconds (numbers or numeric strings), ISO 8601
    strings with ``Z`` or an offset, and the Java style ``...Z[UTC]`` form with up
    to nine fraction digits.  Naive values are taken as UTC.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value)) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    number = as_float(text) if text[0].isdigit() and "-" not in text else None
    if number is not None:
        return _from_epoch(number)
    text = _ZONE_SUFFIX_RE.sub("", text)
    text = _FRACTION_RE.sub(r"\1", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_date(value: object) -> date | None:
    """Read a calendar date in ``YYYY-MM-DD`` or ``DD-MM-YYYY`` form."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_str(value)
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    return None


def first(data: Mapping[str, Any], *keys: str) -> Any:
    """Return the value of the first key present (and not None) in ``data``."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None
