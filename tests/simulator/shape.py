"""Compare a payload against a spec example: same keys, same value types, recursively.

Rules: ``None`` in the example matches anything; ``"<placeholder>"`` strings match any
string; an example float matches int or float; an example int needs an int; bools are
never numbers. Lists: every actual item must match one of the example items (an empty
example list matches any list). Paths look like ``$.data.chargers[].session_d.e_c`` and
the option sets take fnmatch patterns over them:

* ``nullable`` - paths where the actual value may be null;
* ``extra`` - paths of keys the payload may add beyond the example;
* ``maps`` - dicts keyed by ids (every value is compared to the example's first value).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).parent / "spec_examples"


def load_example(name: str) -> Any:
    """A spec example fixture by file stem, e.g. ``"2.1_status"``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _hit(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(path, p) for p in patterns)


class _Comparer:
    def __init__(self, nullable: Iterable[str], extra: Iterable[str], maps: Iterable[str]):
        self.nullable = tuple(nullable)
        self.extra = tuple(extra)
        self.maps = tuple(maps)

    def diff(self, example: Any, actual: Any, path: str) -> list[str]:
        if example is None:
            return []
        if actual is None:
            return [] if _hit(path, self.nullable) else [f"{path}: null, expected {example!r}"]
        if isinstance(example, bool):
            return [] if isinstance(actual, bool) else [f"{path}: {actual!r} is not a bool"]
        if isinstance(example, int):
            ok = isinstance(actual, int) and not isinstance(actual, bool)
            return [] if ok else [f"{path}: {actual!r} is not an int"]
        if isinstance(example, float):
            ok = isinstance(actual, int | float) and not isinstance(actual, bool)
            return [] if ok else [f"{path}: {actual!r} is not a number"]
        if isinstance(example, str):
            return [] if isinstance(actual, str) else [f"{path}: {actual!r} is not a string"]
        if isinstance(example, list):
            return self._list(example, actual, path)
        if isinstance(example, dict):
            return self._dict(example, actual, path)
        return [f"{path}: unsupported example type {type(example).__name__}"]

    def _list(self, example: list[Any], actual: Any, path: str) -> list[str]:
        if not isinstance(actual, list):
            return [f"{path}: {type(actual).__name__} is not a list"]
        if not example:
            return []
        errors: list[str] = []
        for index, item in enumerate(actual):
            attempts = [self.diff(candidate, item, f"{path}[]") for candidate in example]
            best = min(attempts, key=len)
            if best:
                errors.extend(f"(item {index}) {e}" for e in best)
        return errors

    def _dict(self, example: dict[str, Any], actual: Any, path: str) -> list[str]:
        if not isinstance(actual, dict):
            return [f"{path}: {type(actual).__name__} is not an object"]
        if _hit(path, self.maps):
            if not example:
                return []
            sample = next(iter(example.values()))
            errors = []
            for key, value in actual.items():
                if not isinstance(key, str):
                    errors.append(f"{path}: key {key!r} is not a string")
                errors.extend(self.diff(sample, value, f"{path}.*"))
            return errors
        errors = [f"{path}: missing key {k!r}" for k in example if k not in actual]
        errors.extend(
            f"{path}: unexpected key {k!r}"
            for k in actual
            if k not in example and not _hit(f"{path}.{k}", self.extra)
        )
        for key, value in example.items():
            if key in actual:
                errors.extend(self.diff(value, actual[key], f"{path}.{key}"))
        return errors


def shape_errors(
    example: Any,
    actual: Any,
    *,
    nullable: Iterable[str] = (),
    extra: Iterable[str] = (),
    maps: Iterable[str] = (),
) -> list[str]:
    """Every mismatch between ``actual`` and the ``example`` shape."""
    return _Comparer(nullable, extra, maps).diff(example, actual, "$")


def assert_shape(
    example: Any,
    actual: Any,
    *,
    nullable: Iterable[str] = (),
    extra: Iterable[str] = (),
    maps: Iterable[str] = (),
) -> None:
    """Raise AssertionError listing the mismatches (first 25)."""
    errors = shape_errors(example, actual, nullable=nullable, extra=extra, maps=maps)
    if errors:
        raise AssertionError("payload does not match the spec example:\n" + "\n".join(errors[:25]))
