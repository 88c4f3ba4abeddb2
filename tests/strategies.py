"""Hypothesis strategies that damage real Enlighten payloads the way the cloud might.

``mutated(example)`` keeps the overall shape of a payload and, here and there,
drops a key, nulls a value, swaps its type, puts in a huge or non-finite number
or odd unicode, truncates a list or adds junk keys. ``json_junk()`` is any JSON
value at all.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

type Json = Any

PAYLOAD_DIRS = (
    Path(__file__).parent / "fixtures" / "payloads",
    Path(__file__).parent / "simulator" / "spec_examples",
)

# Numbers that break naive arithmetic or conversions.
AWKWARD_NUMBERS: tuple[float | int, ...] = (
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    2**63,
    -(2**63) - 1,
    10**30,
    -1,
    0,
)
# Strings that look like numbers, dates or ids, or that are odd unicode.
AWKWARD_TEXT: tuple[str, ...] = (
    "",
    " ",
    "NaN",
    "Infinity",
    "-inf",
    "1e999",
    "48%",
    "%",
    "0x1F",
    "\u00b2",
    "\u0663\u0664",
    "\uff11\uff12\uff13",
    "2025-13-45T99:99:99Z",
    "2025-10-25T01:12:05.123456789Z[UTC]",
    "null",
    "true",
    "\u03a9\u2248\u00e7\u221a\u222b\u02dc\u00b5\u2264\u2265\u00f7",
    "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",
    "\u202eevil",
    "a\x00b",
    "\U0001f50b\u26a1\U0001f697",
    "x" * 300,
)


_SCALARS: st.SearchStrategy[Json] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(AWKWARD_NUMBERS),
    st.text(max_size=12),
    st.sampled_from(AWKWARD_TEXT),
)
_JUNK: st.SearchStrategy[Json] = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=6,
)
_TEXTS = st.sampled_from(AWKWARD_TEXT)
_NUMBERS = st.sampled_from(AWKWARD_NUMBERS)
_OTHERS: dict[str, st.SearchStrategy[Json]] = {
    "str": st.one_of(_NUMBERS, st.booleans(), st.lists(_SCALARS, max_size=2)),
    "bool": st.one_of(_TEXTS, _NUMBERS, st.dictionaries(st.text(max_size=5), _SCALARS)),
    "number": st.one_of(_TEXTS, st.booleans(), st.lists(_SCALARS, max_size=2)),
    "list": st.one_of(_TEXTS, _NUMBERS, st.dictionaries(st.text(max_size=5), _SCALARS)),
    "dict": st.one_of(_TEXTS, _NUMBERS, st.lists(_SCALARS, max_size=2)),
    "null": st.one_of(_TEXTS, _NUMBERS, st.booleans(), st.lists(_SCALARS, max_size=2)),
}


def json_scalars() -> st.SearchStrategy[Json]:
    """Any JSON scalar, with a bias towards awkward ones."""
    return _SCALARS


def json_junk() -> st.SearchStrategy[Json]:
    """Any (small) JSON value: scalars, lists and objects nested a little."""
    return _JUNK


def _other_type(value: Json) -> st.SearchStrategy[Json]:
    """A value of a different JSON type than ``value``."""
    if isinstance(value, bool):
        return _OTHERS["bool"]
    if isinstance(value, int | float):
        return _OTHERS["number"]
    if isinstance(value, str):
        return _OTHERS["str"]
    if isinstance(value, list):
        return _OTHERS["list"]
    if isinstance(value, dict):
        return _OTHERS["dict"]
    return _OTHERS["null"]


KEEP, DROP, NULL, RETYPE, NUMBER, TEXT, JUNK = (
    "keep",
    "drop",
    "null",
    "retype",
    "number",
    "text",
    "junk",
)
# Most values are kept (and damaged further down) so that deep paths get reached.
_ALL_ACTIONS = st.sampled_from((KEEP, KEEP, KEEP, KEEP, DROP, NULL, RETYPE, NUMBER, TEXT, JUNK))
_REPLACE_ACTIONS = st.sampled_from((NULL, RETYPE, NUMBER, TEXT, JUNK))


@st.composite
def _replacement(draw: st.DrawFn, value: Json) -> Json:
    action = draw(_REPLACE_ACTIONS)
    if action == NULL:
        return None
    if action == RETYPE:
        return draw(_other_type(value))
    if action == NUMBER:
        return draw(_NUMBERS)
    if action == TEXT:
        return draw(_TEXTS)
    return draw(json_junk())


@st.composite
def mutated(draw: st.DrawFn, value: Json, depth: int = 0) -> Json:
    """``value`` damaged in a few places (keys dropped, types swapped, junk added)."""
    if depth > 8:
        return value
    if isinstance(value, dict):
        result: dict[str, Json] = {}
        for key, item in value.items():
            action = draw(_ALL_ACTIONS)
            if action == DROP:
                continue
            if action == KEEP:
                result[key] = draw(mutated(item, depth + 1))
            else:
                result[key] = draw(_replacement(item))
        if draw(st.integers(0, 9)) == 0:
            result[draw(st.text(max_size=8))] = draw(json_junk())
        return result
    if isinstance(value, list):
        items = list(value)
        if items and draw(st.integers(0, 5)) == 0:
            items = items[: draw(st.integers(0, len(items) - 1))]
        # Damage a few elements only, so that long arrays stay cheap.
        for index in draw(st.lists(st.integers(0, max(len(items) - 1, 0)), max_size=3)):
            if index < len(items):
                if draw(st.booleans()):
                    items[index] = draw(mutated(items[index], depth + 1))
                else:
                    items[index] = draw(_replacement(items[index]))
        if draw(st.integers(0, 9)) == 0:
            items.append(draw(json_junk()))
        return items
    if draw(st.integers(0, 3)) == 0:
        return draw(_replacement(value))
    return value


def damaged_payload(example: Json) -> st.SearchStrategy[Json]:
    """Mostly ``mutated(example)``, sometimes any JSON value at all."""
    return st.one_of(mutated(example), mutated(example), mutated(example), json_junk())


@functools.cache
def load_example(name: str) -> Json:
    """A payload example by file name (fixtures first, then the spec examples)."""
    for directory in PAYLOAD_DIRS:
        path = directory / name
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(name)
