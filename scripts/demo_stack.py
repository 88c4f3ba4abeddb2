"""A real Home Assistant next to the Enlighten simulator, both on 127.0.0.1.

Used by ``scripts/develop`` (the demo) and by the end-to-end browser test, so
both run the very same stack:

    stack = start_stack(state_dir)
    ...  # stack.ha_url, stack.sim_url, stack.token, stack.entry_id
    stop_stack(stack)

What ``start_stack`` does:

1. starts the simulator (``python -m tests.simulator``) on a free port;
2. writes a fresh Home Assistant configuration directory: the integration
   linked into ``custom_components``, the blueprints linked into
   ``blueprints``, a minimal ``configuration.yaml`` (no ``default_config``,
   no ``http:`` block), a trusted-network login for 127.0.0.1, onboarding
   marked done except for the owner, and the HTTP server bound to 127.0.0.1
   through Home Assistant's HTTP config store;
3. starts ``hass`` and creates the owner through the onboarding API;
4. adds a config entry for the simulator's demo account through the real
   config-flow REST API and waits until it is loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "enphase_enlighten"
HOST = "127.0.0.1"

OWNER_NAME = "Demo Owner"
OWNER_USERNAME = "demo"
OWNER_PASSWORD = "demo-password"  # only reachable from this machine (127.0.0.1)

# The simulator's demo account (kept in step with tests/simulator).
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_SITE_ID = "1000001"

START_TIMEOUT = 240.0  # a first start compiles bytecode and loads the frontend
ENTRY_TIMEOUT = 90.0

CONFIGURATION_YAML = """\
# Minimal configuration for the enphase_enlighten demo (written by scripts/demo_stack.py).
# No default_config: only what the demo needs, so nothing listens beyond 127.0.0.1.
homeassistant:
  auth_providers:
    - type: trusted_networks
      trusted_networks:
        - 127.0.0.1/32
      allow_bypass_login: true
    - type: homeassistant

frontend:
config:
energy:
history:
logbook:
person:
recorder:
  purge_keep_days: 30
automation: []
script: {}

logger:
  default: warning
  logs:
    homeassistant.setup: info
    custom_components.enphase_enlighten: debug
    # Media helpers Home Assistant always loads; their binaries are not needed here.
    haffmpeg: critical
    homeassistant.components.camera.img_util: critical
"""


class StackError(RuntimeError):
    """The demo stack could not be started."""


@dataclass
class Stack:
    """A running simulator + Home Assistant pair."""

    state_dir: Path
    config_dir: Path
    sim_url: str
    ha_url: str
    sim_proc: subprocess.Popen[bytes]
    ha_proc: subprocess.Popen[bytes]
    token: str = ""
    refresh_token: str = ""
    entry_id: str | None = None
    entry_title: str | None = None
    logs: dict[str, Path] = field(default_factory=dict)

    def ha(self, method: str, path: str, body: Any = None) -> Any:
        """Call Home Assistant's REST API with the owner's token."""
        return http_json(method, self.ha_url + path, body, token=self.token)

    def sim(self, method: str, path: str, body: Any = None) -> Any:
        """Call the simulator (its control surface lives under /__sim__/)."""
        return http_json(method, self.sim_url + path, body)


# --------------------------------------------------------------------------- HTTP


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Any:
    """Send one request and decode the JSON answer (raises HTTPError on >= 400)."""
    headers = {"Accept": "application/json"}
    data: bytes | None = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _wait(
    what: str,
    check: Any,
    *,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> Any:
    """Poll ``check()`` until it returns a truthy value; fail early if ``proc`` dies."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = _tail(log) if log else ""
            raise StackError(f"{what}: process exited with code {proc.returncode}\n{tail}")
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError) as err:
            last_error = err
        else:
            if result:
                return result
        time.sleep(0.5)
    tail = _tail(log) if log else ""
    raise StackError(f"timed out waiting for {what} ({last_error})\n{tail}")


# --------------------------------------------------------------------------- setup


def _configured_domains() -> set[str]:
    """Top-level integrations named in CONFIGURATION_YAML."""
    return {
        line.split(":", 1)[0]
        for line in CONFIGURATION_YAML.splitlines()
        if line and line[0].isalpha() and ":" in line
    } - {"homeassistant"}


def missing_requirements() -> list[str]:
    """Pinned requirements of what Home Assistant will set up that are not installed.

    The test stack (pytest-homeassistant-custom-component) ships Home Assistant
    without the frontend and without the packages of some built-in integrations
    it always loads (conversation, camera, tts, ...). Home Assistant runs with
    ``--skip-pip`` here, so we install exactly those pins ourselves; without
    them the UI is missing or shows "setup failed" notifications.
    """
    from homeassistant import bootstrap  # noqa: PLC0415
    from homeassistant import components as ha_components  # noqa: PLC0415

    base = Path(ha_components.__path__[0])
    todo = (
        set(bootstrap.DEFAULT_INTEGRATIONS)
        | set(bootstrap.CORE_INTEGRATIONS)
        | _configured_domains()
    )
    seen: set[str] = set()
    missing: list[str] = []
    while todo:
        domain = todo.pop()
        seen.add(domain)
        manifest_path = base / domain / "manifest.json"
        if not manifest_path.is_file():
            continue
        manifest = json.loads(manifest_path.read_text())
        todo |= set(manifest.get("dependencies", [])) - seen
        for requirement in manifest.get("requirements", []):
            name, _, pin = requirement.partition("==")
            try:
                installed = importlib.metadata.version(name.split("[", 1)[0])
            except importlib.metadata.PackageNotFoundError:
                installed = None
            # The frontend must match the backend exactly; for anything else
            # that is present we keep the test stack's version.
            if installed is None or (name == "home-assistant-frontend" and installed != pin):
                missing.append(requirement)
    return sorted(set(missing))


def ensure_requirements() -> None:
    """Install what ``missing_requirements`` reports (once per environment)."""
    missing = missing_requirements()
    if not missing:
        return
    print(f"Installing packages the demo's Home Assistant needs: {' '.join(missing)}", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *missing],
        check=True,
    )


def _store_file(config_dir: Path, key: str, version: int, minor: int, data: Any) -> None:
    path = config_dir / ".storage" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": version, "minor_version": minor, "key": key, "data": data}
    path.write_text(json.dumps(payload, indent=2))


def write_config(config_dir: Path, ha_port: int) -> None:
    """Write a fresh configuration directory for the demo."""
    if config_dir.exists():
        shutil.rmtree(config_dir)
    config_dir.mkdir(parents=True)
    (config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML)

    components = config_dir / "custom_components"
    components.mkdir()
    (components / DOMAIN).symlink_to(ROOT / "custom_components" / DOMAIN)

    blueprints = ROOT / "blueprints" / "automation" / DOMAIN
    if blueprints.is_dir():
        target = config_dir / "blueprints" / "automation"
        target.mkdir(parents=True)
        (target / DOMAIN).symlink_to(blueprints)

    # Onboarding is done except for the owner, which start_stack creates
    # through the onboarding API (that also finishes onboarding).
    _store_file(
        config_dir, "onboarding", 4, 1, {"done": ["core_config", "analytics", "integration"]}
    )
    # Core settings as the onboarding wizard would store them. Location and
    # units follow the simulator's demo site (Sydney, Australia).
    _store_file(
        config_dir,
        "core.config",
        1,
        4,
        {
            "latitude": -33.87,
            "longitude": 151.21,
            "elevation": 20,
            "unit_system_v2": "metric",
            "location_name": "Demo Home",
            "time_zone": "Australia/Sydney",
            "external_url": None,
            "internal_url": None,
            "currency": "AUD",
            "country": "AU",
            "language": "en",
            "radius": 100,
        },
    )
    # Since 2026.x the HTTP settings live in this store, not in YAML (an
    # ``http:`` block is migrated once and then ignored). Seeding the stable
    # slot binds the server to 127.0.0.1 on our port with no trial/revert.
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    _store_file(
        config_dir,
        "http",
        2,
        2,
        {
            "stable": {
                "server_host": [HOST],
                "server_port": ha_port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": now,
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never pretend to run under the Supervisor, never move the port, and keep
    # the repository off the path: Home Assistant must load the integration
    # from its config directory like any installed custom integration.
    for key in ("SUPERVISOR", "SETUP_PORT", "SUPERVISOR_CORE_API_SOCKET", "PYTHONPATH"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _spawn(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )


def _fill_form(schema: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    """Answer a serialized flow form with the values we know (sections nested)."""
    answer: dict[str, Any] = {}
    for item in schema:
        name = item["name"]
        if item.get("type") == "expandable":
            nested = _fill_form(item.get("schema", []), values)
            if nested:
                answer[name] = nested
        elif name in values:
            answer[name] = values[name]
    return answer


def add_config_entry(stack: Stack) -> dict[str, Any]:
    """Run the real config flow for the simulator's demo account."""
    values = {
        "email": DEMO_EMAIL,
        "username": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "base_url": stack.sim_url,
        "site_id": DEMO_SITE_ID,
        "site": DEMO_SITE_ID,
    }
    result = stack.ha("POST", "/api/config/config_entries/flow", {"handler": DOMAIN})
    for _ in range(8):
        kind = result.get("type")
        if kind == "create_entry":
            return dict(result["result"]) if isinstance(result.get("result"), dict) else result
        if kind != "form":
            raise StackError(f"config flow ended with {kind}: {json.dumps(result)}")
        if result.get("errors"):
            raise StackError(f"config flow step {result.get('step_id')}: {result['errors']}")
        answer = _fill_form(result.get("data_schema") or [], values)
        result = stack.ha("POST", f"/api/config/config_entries/flow/{result['flow_id']}", answer)
    raise StackError("config flow did not finish")


def _entry_state(stack: Stack) -> dict[str, Any] | None:
    entries = stack.ha("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    for entry in entries or []:
        if entry.get("entry_id") == stack.entry_id:
            return dict(entry)
    return None


# --------------------------------------------------------------------------- public API


def start_stack(state_dir: Path | str | None = None, *, add_entry: bool = True) -> Stack:
    """Start the simulator and Home Assistant; return once the entry is loaded."""
    state = Path(state_dir) if state_dir else ROOT / ".demo"
    state.mkdir(parents=True, exist_ok=True)
    ensure_requirements()

    sim_port, ha_port = free_port(), free_port()
    while ha_port == sim_port:
        ha_port = free_port()
    sim_log, ha_log = state / "simulator.log", state / "hass.log"
    config_dir = state / "config"
    write_config(config_dir, ha_port)

    sim_proc = _spawn(
        [sys.executable, "-m", "tests.simulator", "--port", str(sim_port)], sim_log, ROOT
    )
    ha_proc: subprocess.Popen[bytes] | None = None
    try:
        sim_url = f"http://{HOST}:{sim_port}"
        _wait(
            "the simulator",
            lambda: http_json("GET", sim_url + "/__sim__/state", timeout=5) is not None,
            timeout=60,
            proc=sim_proc,
            log=sim_log,
        )
        ha_proc = _spawn(
            [sys.executable, "-m", "homeassistant", "-c", str(config_dir), "--skip-pip"],
            ha_log,
            config_dir,
        )
        stack = Stack(
            state_dir=state,
            config_dir=config_dir,
            sim_url=sim_url,
            ha_url=f"http://{HOST}:{ha_port}",
            sim_proc=sim_proc,
            ha_proc=ha_proc,
            logs={"simulator": sim_log, "hass": ha_log},
        )
        _wait(
            "Home Assistant's web server",
            lambda: http_json("GET", stack.ha_url + "/api/onboarding", timeout=5) is not None,
            timeout=START_TIMEOUT,
            proc=ha_proc,
            log=ha_log,
        )
        _create_owner(stack)
        _wait(
            "Home Assistant to finish starting",
            lambda: stack.ha("GET", "/api/config").get("state") == "RUNNING",
            timeout=START_TIMEOUT,
            proc=ha_proc,
            log=ha_log,
        )
        if add_entry:
            entry = add_config_entry(stack)
            stack.entry_id = entry.get("entry_id")
            stack.entry_title = entry.get("title")
            _wait_entry_loaded(stack)
    except BaseException:
        _terminate(ha_proc)
        _terminate(sim_proc)
        raise
    return stack


def _create_owner(stack: Stack) -> None:
    client_id = stack.ha_url + "/"
    answer = http_json(
        "POST",
        stack.ha_url + "/api/onboarding/users",
        {
            "client_id": client_id,
            "name": OWNER_NAME,
            "username": OWNER_USERNAME,
            "password": OWNER_PASSWORD,
            "language": "en",
        },
    )
    tokens = http_json(
        "POST",
        stack.ha_url + "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": answer["auth_code"],
            "client_id": client_id,
        },
    )
    stack.token = tokens["access_token"]
    stack.refresh_token = tokens.get("refresh_token", "")


def _wait_entry_loaded(stack: Stack) -> None:
    def loaded() -> bool:
        entry = _entry_state(stack)
        state = entry.get("state") if entry else None
        if state in ("setup_error", "migration_error", "failed_unload"):
            reason = entry.get("reason") if entry else None
            raise StackError(f"config entry failed to set up: {state} {reason or ''}")
        return state == "loaded"

    _wait(
        "the config entry to load",
        loaded,
        timeout=ENTRY_TIMEOUT,
        proc=stack.ha_proc,
        log=stack.logs.get("hass"),
    )


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def stop_stack(stack: Stack) -> None:
    """Stop Home Assistant (clean shutdown) and then the simulator."""
    _terminate(stack.ha_proc)
    _terminate(stack.sim_proc)


@contextlib.contextmanager
def running_stack(state_dir: Path | str | None = None, *, add_entry: bool = True) -> Any:
    """``with running_stack(dir) as stack:`` - start, yield, always stop."""
    stack = start_stack(state_dir, add_entry=add_entry)
    try:
        yield stack
    finally:
        stop_stack(stack)


# --------------------------------------------------------------------------- CLI


def _banner(stack: Stack) -> str:
    entry = (
        f"Config entry:   {stack.entry_title} (demo account {DEMO_EMAIL})"
        if stack.entry_id
        else "Config entry:   none (add one under Settings > Devices & services)"
    )
    return f"""
Enphase Enlighten demo is running.

  Home Assistant: {stack.ha_url}
                  Open it in a browser on this machine: you are logged in
                  automatically (trusted network 127.0.0.1). Otherwise log in
                  as "{OWNER_USERNAME}" with password "{OWNER_PASSWORD}".
  Simulator:      {stack.sim_url}  (fake Enlighten cloud; state: {stack.sim_url}/__sim__/state)
  {entry}
  Integration:    {stack.ha_url}/config/integrations/integration/{DOMAIN}
  Logs:           {stack.logs["hass"]}
                  {stack.logs["simulator"]}

Press Ctrl-C to stop both.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--state-dir", default=str(ROOT / ".demo"), help="where config/logs go")
    parser.add_argument("--no-entry", action="store_true", help="do not add the config entry")
    parser.add_argument(
        "--install-requirements",
        action="store_true",
        help="only install what the demo's Home Assistant needs (frontend, ...), then exit",
    )
    args = parser.parse_args(argv)
    if args.install_requirements:
        ensure_requirements()
        return 0

    def _stop_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, a closed terminal and a plain kill all stop both children in order.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_signal)

    print("Starting the Enlighten simulator and Home Assistant on 127.0.0.1 ...", flush=True)
    try:
        stack = start_stack(args.state_dir, add_entry=not args.no_entry)
    except KeyboardInterrupt:
        print("\nStopped.")
        return 130
    except StackError as err:
        print(f"\nThe demo could not start: {err}", file=sys.stderr)
        return 1
    print(_banner(stack), flush=True)
    try:
        while True:
            for name, proc in (("Home Assistant", stack.ha_proc), ("simulator", stack.sim_proc)):
                if proc.poll() is not None:
                    print(f"The {name} stopped (exit code {proc.returncode}).", file=sys.stderr)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping Home Assistant and the simulator ...", flush=True)
        return 0
    finally:
        stop_stack(stack)


if __name__ == "__main__":
    sys.exit(main())
