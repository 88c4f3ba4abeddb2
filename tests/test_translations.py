"""Every translation matches translations/en.json.

For each ``translations/<lang>.json`` other than en.json: the same key paths
(same nesting), the same ``{placeholder}`` names in every string and the same
``[%key:...%]`` references. The languages the integration ships must exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PKG = Path(__file__).parents[1] / "custom_components" / "enphase_enlighten"
TRANSLATIONS = PKG / "translations"

EXPECTED_LANGUAGES = ("de", "fr", "nl", "es", "it", "pt-BR", "sv", "da", "nb", "pl")

PLACEHOLDER = re.compile(r"\{(\w+)\}")
KEY_REFERENCE = re.compile(r"\[%key:[^%]+%\]")


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    assert isinstance(data, dict), f"{path.name}: top level must be an object"
    return data


def _leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, tree


EN: dict[str, Any] = dict(_leaves(_load(TRANSLATIONS / "en.json")))
OTHERS = sorted(path for path in TRANSLATIONS.glob("*.json") if path.name != "en.json")


def _language(path: Path) -> str:
    return path.stem


@pytest.fixture(params=OTHERS, ids=_language)
def leaves(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The key paths and strings of one translation."""
    return dict(_leaves(_load(request.param)))


def test_expected_languages_exist() -> None:
    """Every language the integration ships has a file."""
    present = {path.stem for path in OTHERS}
    missing = sorted(set(EXPECTED_LANGUAGES) - present)
    assert not missing, f"missing translations: {', '.join(f'{lang}.json' for lang in missing)}"


def test_same_keys(leaves: dict[str, Any]) -> None:
    """The translation has exactly en.json's key paths."""
    missing = sorted(set(EN) - set(leaves))
    extra = sorted(set(leaves) - set(EN))
    problems = [f"missing: {path}" for path in missing]
    problems += [f"not in en.json: {path}" for path in extra]
    assert not problems, "key paths differ from en.json:\n" + "\n".join(problems)


def test_strings_are_text(leaves: dict[str, Any]) -> None:
    """Every value is a non-empty string, like in en.json."""
    bad = sorted(
        path for path, value in leaves.items() if not isinstance(value, str) or not value.strip()
    )
    assert not bad, "empty or non-string values:\n" + "\n".join(bad)


def _mismatches(leaves: dict[str, Any], pattern: re.Pattern[str]) -> list[str]:
    """Key paths whose ``pattern`` matches differ from the English string's."""
    bad = []
    for path, value in sorted(leaves.items()):
        if path not in EN or not isinstance(value, str):
            continue
        ours = sorted(set(pattern.findall(value)))
        english = sorted(set(pattern.findall(EN[path])))
        if ours != english:
            bad.append(f"{path}: {ours} != en {english}")
    return bad


def test_same_placeholders(leaves: dict[str, Any]) -> None:
    """Each string uses the same {placeholder} names as the English one."""
    bad = _mismatches(leaves, PLACEHOLDER)
    assert not bad, "placeholders differ from en.json:\n" + "\n".join(bad)


def test_same_key_references(leaves: dict[str, Any]) -> None:
    """Each [%key:...%] reference is kept exactly as in English."""
    bad = _mismatches(leaves, KEY_REFERENCE)
    assert not bad, "[%key:...%] references differ from en.json:\n" + "\n".join(bad)
