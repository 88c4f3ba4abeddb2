"""Markers for the end-to-end browser test."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the e2e marker (deselect with ``-m 'not e2e'``)."""
    config.addinivalue_line(
        "markers", "e2e: starts a real Home Assistant and drives it with headless Chromium"
    )
