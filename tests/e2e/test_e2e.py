"""End to end: a real Home Assistant, the simulator and headless Chromium.

The stack is the one ``scripts/develop`` runs (``scripts/demo_stack.py``): the
simulator and ``hass`` run as subprocesses on 127.0.0.1, the config entry is
added through the real config-flow REST API, and a node script
(``drive.mjs``, playwright-core with the system Chromium) clicks through the
frontend. The test then reads the simulator's request log to prove that the
clicks reached the "cloud". Screenshots land in ``docs/`` for the README.

Skipped, with the reason, only when Chromium, node or playwright-core is
missing (``scripts/setup`` installs them where it can).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scripts.demo_stack import ROOT, Stack, running_stack

E2E_DIR = Path(__file__).parent
DOCS_DIR = Path(os.environ.get("E2E_SHOTS_DIR", ROOT / "docs"))
DRIVER = E2E_DIR / "drive.mjs"
DOMAIN = "enphase_enlighten"
EV_SWITCH_NAME = "Charging"
# Enphase calls it the backup reserve; accept the shorter name too.
RESERVE_NAMES = ["Battery backup reserve", "Battery reserve"]

pytestmark = pytest.mark.e2e


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("E2E_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing_tools() -> str | None:
    if _chromium() is None:
        return "Chromium is not installed (scripts/setup installs it with apt-get where it can)"
    if shutil.which("node") is None:
        return "node is not installed (needed to run playwright-core)"
    if not (E2E_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        return "playwright-core is missing: run `npm install` in tests/e2e (scripts/setup does)"
    return None


def _hass_log_tail(stack: Stack, lines: int = 60) -> str:
    text = stack.logs["hass"].read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _drive(stack: Stack, work: Path) -> dict[str, Any]:
    shots = work / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    job = {
        "ha_url": stack.ha_url,
        "domain": DOMAIN,
        "shots_dir": str(shots),
        "fail_dir": str(work),
        "chromium": _chromium(),
        "ev_switch_name": EV_SWITCH_NAME,
        "reserve_name": RESERVE_NAMES,
        "timeout_ms": 45000,
    }
    job_file = work / "job.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.run(
        ["node", str(DRIVER), str(job_file)],
        cwd=E2E_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    result: dict[str, Any] = json.loads(last)
    if proc.returncode != 0:
        pytest.fail(
            f"browser run failed: {result.get('error')}\n"
            f"--- driver log ---\n{proc.stderr[-4000:]}\n"
            f"--- Home Assistant log (tail) ---\n{_hass_log_tail(stack)}\n"
            f"(failure screenshot: {work / 'e2e-failure.png'})"
        )
    return result


def _requests(stack: Stack) -> list[dict[str, Any]]:
    answer = stack.sim("GET", "/__sim__/requests")
    if isinstance(answer, dict):
        answer = answer.get("requests", [])
    return list(answer)


def _body(request: dict[str, Any]) -> Any:
    body = request.get("body") or ""
    try:
        return json.loads(body)
    except TypeError, ValueError:
        return body


def _readme_dashboard_entities() -> set[str]:
    """Entity ids in the README's "Dashboard example" YAML block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dashboard example", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    return set(re.findall(r"entity: ([a-z_]+\.[a-z0-9_]+)", block))


def test_ev_charging_and_battery_reserve_from_the_ui(socket_enabled: None, tmp_path: Path) -> None:
    """Toggle EV charging and move the battery reserve in the browser."""
    if reason := _missing_tools():
        pytest.skip(reason)

    with running_stack(tmp_path / "stack") as stack:
        assert stack.entry_id, "the config flow did not create an entry"
        stack.sim("DELETE", "/__sim__/requests")

        result = _drive(stack, tmp_path)
        sent = _requests(stack)

        # EV charging: the switch flipped and the matching command reached the cloud.
        ev = result["ev"]
        assert ev["before"] != ev["after"]
        command = "start_charging" if ev["after"] == "on" else "stop_charging"
        ev_calls = [r for r in sent if command in r["path"]]
        assert ev_calls, f"no {command} request; saw {[r['path'] for r in sent]}"
        assert ev_calls[0]["method"] in ("POST", "PUT")

        # Battery reserve: the new value went out in a BatteryConfig write.
        reserve = result["reserve"]
        assert reserve["before"] != reserve["after"]
        writes = [
            _body(r)
            for r in sent
            if r["method"] in ("PUT", "POST", "PATCH") and "batteryConfig" in r["path"]
        ]
        assert any(
            isinstance(body, dict)
            and any(
                float(value) == float(reserve["after"])
                for key, value in body.items()
                if "backup" in key.lower() or "reserve" in key.lower()
            )
            for body in writes
        ), f"no reserve write with {reserve['after']}; BatteryConfig writes: {writes}"

        assert result["entities"] > 0
        assert not result["untranslated"], f"entities without a name: {result['untranslated']}"

        # The README's dashboard example names entities that really exist.
        states = {state["entity_id"] for state in stack.ha("GET", "/api/states")}
        missing = sorted(_readme_dashboard_entities() - states)
        assert not missing, f"README dashboard names unknown entities: {missing}"

        # Nothing from our integration failed while we clicked.
        log = stack.logs["hass"].read_text(errors="replace")
        errors = [
            line for line in log.splitlines() if " ERROR " in line and "enphase_enlighten" in line
        ]
        assert not errors, "\n".join(errors)

    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    for shot in result["screenshots"]:
        shutil.copy2(shot, DOCS_DIR / Path(shot).name)
