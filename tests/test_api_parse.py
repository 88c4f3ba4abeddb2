"""Unit tests of the tolerant converters used by the models."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from custom_components.enphase_enlighten.api import InvalidResponse
from custom_components.enphase_enlighten.api._parse import (
    as_bool,
    as_date,
    as_datetime,
    as_float,
    as_int,
    as_str,
    require_dict,
)

# -- converters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("48%", 48.0),
        (" 230 ", 230.0),
        (7.68, 7.68),
        (3, 3.0),
        (None, None),
        (True, None),
        ("abc", None),
        (float("nan"), None),
        (float("inf"), None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_as_float(value: object, expected: float | None) -> None:
    """Numbers and numeric strings are read; everything else is None."""
    assert as_float(value) == expected


def test_as_float_non_negative_and_int() -> None:
    """Negative values can be refused; ints are truncated."""
    assert as_float(-1) == -1.0
    assert as_float(-1, non_negative=True) is None
    assert as_int("6") == 6
    assert as_int(7.9) == 7
    assert as_int("x") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (0, False),
        (1, True),
        (2, None),
        ("enabled", True),
        ("Disabled", False),
        ("maybe", None),
        (None, None),
        ([], None),
    ],
)
def test_as_bool(value: object, expected: bool | None) -> None:
    """Booleans come as bools, 0/1 or words."""
    assert as_bool(value) is expected


def test_as_str() -> None:
    """Ids may be numbers; blank strings and other types are None."""
    assert as_str(1234567) == "1234567"
    assert as_str(12.0) == "12"
    assert as_str(1.5) == "1.5"
    assert as_str("  ") is None
    assert as_str(False) is None
    assert as_str({"a": 1}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1761456500, datetime(2025, 10, 26, 5, 28, 20, tzinfo=UTC)),
        (1761456500000, datetime(2025, 10, 26, 5, 28, 20, tzinfo=UTC)),
        ("1761456500", datetime(2025, 10, 26, 5, 28, 20, tzinfo=UTC)),
        ("2025-10-25T01:12:05Z[UTC]", datetime(2025, 10, 25, 1, 12, 5, tzinfo=UTC)),
        (
            "2025-10-23T03:00:29.082Z[UTC]",
            datetime(2025, 10, 23, 3, 0, 29, 82000, tzinfo=UTC),
        ),
        (
            "2030-01-01T00:00:00.000000000Z[UTC]",
            datetime(2030, 1, 1, tzinfo=UTC),
        ),
        (
            "2025-10-17T14:38:30+11:00",
            datetime(2025, 10, 17, 3, 38, 30, tzinfo=UTC),
        ),
        ("2025-10-17T14:38:30", datetime(2025, 10, 17, 14, 38, 30, tzinfo=UTC)),
        ("<timestamp>", None),
        ("", None),
        (0, None),
        (-5, None),
        (float("nan"), None),
        (1e30, None),
        (True, None),
        ([1], None),
    ],
)
def test_as_datetime(value: object, expected: datetime | None) -> None:
    """Epoch seconds/milliseconds and ISO strings become aware datetimes."""
    parsed = as_datetime(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_as_date() -> None:
    """Both date orders are read."""
    assert as_date("2023-08-10") == date(2023, 8, 10)
    assert as_date("16-10-2025") == date(2025, 10, 16)
    assert as_date(datetime(2024, 1, 2, 3, tzinfo=UTC)) == date(2024, 1, 2)
    assert as_date(date(2024, 1, 2)) == date(2024, 1, 2)
    assert as_date("not a date") is None
    assert as_date(None) is None


def test_require_dict() -> None:
    """A wrong top-level type raises InvalidResponse."""
    with pytest.raises(InvalidResponse):
        require_dict([], "x")
