"""Packaging checks in the spirit of hassfest and the HACS action.

Neither tool can run offline, so these tests apply the same documented rules to
our files: manifest.json, hacs.json, the brand icon, translations (every key the
code uses exists in en.json and en.json holds nothing the code does not use),
services.yaml, icons.json, quality_scale.yaml and the blueprints.

The translation checks read the package source with ``ast`` so they keep
working as entities, flows, services and errors are added.
"""

from __future__ import annotations

import ast
import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import homeassistant.const as ha_const
import pytest
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, Platform
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "enphase_enlighten"
PKG = ROOT / "custom_components" / DOMAIN
HA_COMPONENTS = Path(ha_const.__file__).parent / "components"
PLATFORMS = {p.value for p in Platform}


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


MANIFEST: dict[str, Any] = _load_json(PKG / "manifest.json")


# --------------------------------------------------------------------------- manifest

# hassfest's custom-integration manifest schema (script/hassfest/manifest.py).
MANIFEST_REQUIRED = {"domain", "name", "codeowners", "documentation", "iot_class", "version"}
MANIFEST_ALLOWED = MANIFEST_REQUIRED | {
    "after_dependencies",
    "bluetooth",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "homekit",
    "import_executor",
    "integration_type",
    "issue_tracker",
    "loggers",
    "mqtt",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "zeroconf",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}


def test_manifest_keys_and_order() -> None:
    """Required keys present, nothing unknown, sorted as hassfest wants."""
    keys = list(MANIFEST)
    assert set(keys) >= MANIFEST_REQUIRED, f"missing: {MANIFEST_REQUIRED - set(keys)}"
    assert set(keys) <= MANIFEST_ALLOWED, f"unknown keys: {set(keys) - MANIFEST_ALLOWED}"
    # HACS additionally requires the issue tracker.
    assert "issue_tracker" in keys
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "manifest keys after domain/name must be alphabetical"


def test_manifest_values() -> None:
    """Values have the types and forms hassfest and HACS accept."""
    assert MANIFEST["domain"] == PKG.name == DOMAIN
    assert MANIFEST["name"] == "Enphase Enlighten"
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST.get("integration_type", "hub") in INTEGRATION_TYPES
    assert MANIFEST["integration_type"] == "hub"
    # The loader refuses a custom integration whose version does not parse this way.
    AwesomeVersion(
        MANIFEST["version"],
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )
    for key in ("documentation", "issue_tracker"):
        assert re.fullmatch(r"https://[\w.-]+(/\S*)?", MANIFEST[key]), key
    owners = MANIFEST["codeowners"]
    assert owners, "an integration needs at least one code owner"
    assert all(isinstance(o, str) and o.startswith("@") for o in owners)
    if MANIFEST.get("config_flow"):
        assert (PKG / "config_flow.py").is_file()
    for dep in MANIFEST.get("dependencies", []) + MANIFEST.get("after_dependencies", []):
        assert (HA_COMPONENTS / dep / "manifest.json").is_file(), f"unknown dependency {dep}"
    for requirement in MANIFEST.get("requirements", []):
        assert re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._\-\[\],]*([<>=!~]=?[\w.*+!-]+,?)*", requirement
        )
    assert all(isinstance(name, str) and name for name in MANIFEST.get("loggers", []))
    for item in MANIFEST.get("zeroconf", []):
        kind = item if isinstance(item, str) else item["type"]
        assert kind.endswith(".local."), kind


async def test_home_assistant_loads_the_manifest(hass: HomeAssistant) -> None:
    """The real loader accepts the integration (version, flow, dependencies)."""
    integration = await async_get_integration(hass, DOMAIN)
    assert not integration.is_built_in
    assert str(integration.version) == MANIFEST["version"]
    assert integration.config_flow is bool(MANIFEST.get("config_flow"))
    assert integration.iot_class == MANIFEST["iot_class"]


# --------------------------------------------------------------------------- hacs.json

HACS_ALLOWED = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}


def test_hacs_json() -> None:
    """Only keys HACS knows; the minimum HA is the version we test against."""
    hacs = _load_json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_ALLOWED, f"unknown keys: {set(hacs) - HACS_ALLOWED}"
    assert hacs["name"] == MANIFEST["name"]
    assert not hacs.get("content_in_root", False)
    if hacs.get("zip_release"):
        assert hacs.get("filename")
    minimum = AwesomeVersion(hacs["homeassistant"])
    assert minimum == AwesomeVersion(f"{MAJOR_VERSION}.{MINOR_VERSION}.0")
    # One integration per repository, at the place HACS looks for it.
    packages = [
        p.name
        for p in (ROOT / "custom_components").iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    ]
    assert packages == [DOMAIN]
    assert (ROOT / "README.md").is_file()


# --------------------------------------------------------------------------- brand

BRAND_FILES = {
    f"{dark}{kind}{hidpi}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for hidpi in ("", "@2x")
}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_brand_images() -> None:
    """brand/icon.png is a 256x256 PNG (512 for @2x); no other names."""
    brand = PKG / "brand"
    names = {p.name for p in brand.iterdir()}
    assert "icon.png" in names
    assert names <= BRAND_FILES, f"unexpected brand files: {names - BRAND_FILES}"
    for name in names:
        width, height = _png_size(brand / name)
        if "icon" in name:
            expected = 512 if "@2x" in name else 256
            assert (width, height) == (expected, expected), name


# --------------------------------------------------------------------------- source scan


def _camel(platform: str) -> str:
    return "".join(part.capitalize() for part in platform.split("_"))


HA_ENTITY_CLASSES = {f"{_camel(p)}Entity": p for p in PLATFORMS}
HA_DESCRIPTION_CLASSES = {f"{_camel(p)}EntityDescription": p for p in PLATFORMS}
CONFIG_FLOW_BASES = {"ConfigFlow"}
OPTIONS_FLOW_BASES = {"OptionsFlow", "OptionsFlowWithReload", "OptionsFlowWithConfigEntry"}


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name_of(node.value)
    if isinstance(node, ast.Call):
        return _name_of(node.func)
    return ""


@dataclass
class Usage:
    """Translation keys the package source uses, as dotted en.json paths."""

    required: dict[str, str] = field(default_factory=dict)  # path -> where
    literals: set[str] = field(default_factory=set)
    patterns: list[re.Pattern[str]] = field(default_factory=list)  # from f-strings
    services: set[str] = field(default_factory=set)
    dynamic_steps: bool = False

    def need(self, path: str, where: str) -> None:
        self.required.setdefault(path, where)


class SourceScan:
    """Parse every module of the package once."""

    def __init__(self, package: Path = PKG) -> None:
        self.modules = {
            path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for path in sorted(package.rglob("*.py"))
        }
        # Names are resolved per module (two modules may define the same name):
        # the module's own definitions, then what it imports from the package.
        self.current: Path | None = None
        self.defined: dict[Path, dict[str, ast.expr]] = {}
        self.imported: dict[Path, dict[str, tuple[Path, str]]] = {}
        self.constants: dict[str, str] = {}  # every string constant, for "is it used"
        self.class_bases: dict[str, list[str]] = {}
        self.class_methods: dict[str, set[str]] = {}
        by_module = {self._dotted(path, package): path for path in self.modules}
        for path, tree in self.modules.items():
            defined = self.defined.setdefault(path, {})
            imported = self.imported.setdefault(path, {})
            for node in tree.body:
                self._collect_constant(node, defined)
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.module == "homeassistant.const":
                    for alias in node.names:
                        value = getattr(ha_const, alias.name, None)
                        if isinstance(value, str):
                            defined[alias.asname or alias.name] = ast.Constant(value)
                elif node.level:
                    parts = [p for p in self._dotted(path, package).split(".") if p]
                    if path.name != "__init__.py":
                        parts = parts[:-1]  # the package this module lives in
                    parts = parts[: len(parts) - (node.level - 1)]
                    target = ".".join([*parts, *filter(None, (node.module or "").split("."))])
                    if target in by_module:
                        for alias in node.names:
                            imported[alias.asname or alias.name] = (by_module[target], alias.name)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    self.class_bases[node.name] = [_name_of(b) for b in node.bases]
                    self.class_methods[node.name] = {
                        item.name
                        for item in node.body
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    }
        for defined in self.defined.values():
            for name, value in defined.items():
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    self.constants[name] = value.value

    @staticmethod
    def _dotted(path: Path, package: Path) -> str:
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    @staticmethod
    def _collect_constant(node: ast.stmt, defined: dict[str, ast.expr]) -> None:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and isinstance(
            value, ast.Constant | ast.List | ast.Tuple | ast.Set
        ):
            defined[target.id] = value

    def lookup(
        self, name: str, module: Path | None = None, depth: int = 0
    ) -> tuple[ast.expr, Path] | None:
        """The module-level value a name stands for, and the module defining it."""
        module = module or self.current
        if module is None or depth > 5:
            return None
        if name in self.defined.get(module, {}):
            return self.defined[module][name], module
        if name in self.imported.get(module, {}):
            source, original = self.imported[module][name]
            return self.lookup(original, source, depth + 1)
        return None

    def resolve(self, node: ast.AST | None, module: Path | None = None) -> str | None:
        """The string a node stands for, when it is a literal or a known constant."""
        if isinstance(node, ast.Name | ast.Attribute):
            found = self.lookup(_name_of(node), module)
            node = found[0] if found else None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    def strings(self, node: ast.AST | None) -> list[str]:
        """Strings of a list/tuple/set literal or constant (or a single string)."""
        module = self.current
        if isinstance(node, ast.Call) and _name_of(node.func) in ("list", "tuple", "sorted"):
            node = node.args[0] if node.args else None
        if isinstance(node, ast.Name) and (found := self.lookup(node.id)):
            node, module = found
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return [s for s in (self.resolve(e, module) for e in node.elts) if s is not None]
        single = self.resolve(node)
        return [single] if single is not None else []

    def platform_of(self, class_name: str, seen: frozenset[str] = frozenset()) -> str | None:
        """Entity platform of a class (through our own base classes)."""
        if class_name in HA_ENTITY_CLASSES:
            return HA_ENTITY_CLASSES[class_name]
        if class_name in HA_DESCRIPTION_CLASSES:
            return HA_DESCRIPTION_CLASSES[class_name]
        for base in self.class_bases.get(class_name, []):
            if base not in seen and (found := self.platform_of(base, seen | {class_name})):
                return found
        return None

    def flow_kind(self, class_name: str, seen: frozenset[str] = frozenset()) -> str | None:
        """'config' or 'options' for flow handler classes."""
        for base in self.class_bases.get(class_name, []):
            if base in CONFIG_FLOW_BASES:
                return "config"
            if base in OPTIONS_FLOW_BASES:
                return "options"
            if base not in seen and (kind := self.flow_kind(base, seen | {class_name})):
                return kind
        return None


def _kwargs(call: ast.Call) -> dict[str, ast.expr]:
    return {kw.arg: kw.value for kw in call.keywords if kw.arg}


def _platform_from_module(path: Path) -> str | None:
    stem = path.stem
    for platform in sorted(PLATFORMS, key=len, reverse=True):
        if stem == platform or stem.startswith(f"{platform}_"):
            return platform
    return None


def _walk_with_context(
    tree: ast.AST,
) -> Iterator[tuple[ast.AST, ast.ClassDef | None, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
    def visit(
        node: ast.AST,
        cls: ast.ClassDef | None,
        func: ast.FunctionDef | ast.AsyncFunctionDef | None,
    ) -> Iterator[tuple[ast.AST, Any, Any]]:
        yield node, cls, func
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, child, None)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from visit(child, cls, child)
            else:
                yield from visit(child, cls, func)

    yield from visit(tree, None, None)


def _scan_assign(
    scan: SourceScan, usage: Usage, node: ast.Assign | ast.AnnAssign, cls: ast.ClassDef, where: str
) -> None:
    """Flow errors (``errors[...] = "x"``) and ``_attr_translation_key = "x"``."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    flow = scan.flow_kind(cls.name)
    for target in targets:
        values: list[ast.expr | None] = []
        if flow and isinstance(target, ast.Subscript) and _name_of(target.value) == "errors":
            values = [node.value]
        elif flow and isinstance(target, ast.Name) and target.id == "errors":
            values = list(node.value.values) if isinstance(node.value, ast.Dict) else []
        for value in values:
            if (key := scan.resolve(value)) is not None:
                usage.need(f"{flow}.error.{key}", where)
        if _name_of(target) == "_attr_translation_key":
            key = scan.resolve(node.value)
            platform = scan.platform_of(cls.name) or _platform_from_module(Path(where))
            if key is not None and platform:
                usage.need(f"entity.{platform}.{key}.name", where)


def _scan_translation_call(scan: SourceScan, usage: Usage, node: ast.Call, where: str) -> None:
    """Calls that carry a ``translation_key``: errors, issues, devices, selectors, entities."""
    name = _name_of(node.func)
    kwargs = _kwargs(node)
    key = scan.resolve(kwargs.get("translation_key"))
    if key is None:
        return
    if name in ("async_create_issue", "create_issue"):
        usage.need(f"issues.{key}.title", where)
    elif "translation_domain" in kwargs:
        usage.need(f"exceptions.{key}.message", where)
    elif name == "DeviceInfo":
        usage.need(f"device.{key}.name", where)
    elif name.endswith(("SelectorConfig", "Selector")):
        for option in scan.strings(kwargs.get("options")):
            usage.need(f"selector.{key}.options.{option}", where)
    elif (platform := scan.platform_of(name)) or (
        name.endswith("EntityDescription") and (platform := _platform_from_module(Path(where)))
    ):
        usage.need(f"entity.{platform}.{key}.name", where)
        if platform in ("sensor", "select"):
            for option in scan.strings(kwargs.get("options")):
                usage.need(f"entity.{platform}.{key}.state.{option}", where)


def _scan_flow_call(
    scan: SourceScan,
    usage: Usage,
    node: ast.Call,
    context: tuple[str, ast.ClassDef, str],
    where: str,
) -> None:
    """Aborts, steps and menus of config and options flows."""
    flow, cls, method = context
    name = _name_of(node.func)
    kwargs = _kwargs(node)
    reasons: list[str] = []
    if name == "async_abort" and (reason := scan.resolve(kwargs.get("reason"))):
        reasons.append(reason)
    elif name in ("async_show_form", "async_show_menu"):
        step = scan.resolve(kwargs.get("step_id"))
        if step is None:
            usage.dynamic_steps = True
            return
        usage.need(f"{flow}.step.{step}", where)
        for option in scan.strings(kwargs.get("menu_options")):
            usage.need(f"{flow}.step.{step}.menu_options.{option}", where)
    elif name == "_abort_if_unique_id_configured":
        reasons.append("already_configured")
    elif name == "_abort_if_unique_id_mismatch":
        reasons.append(scan.resolve(kwargs.get("reason")) or "unique_id_mismatch")
    elif name in ("async_update_reload_and_abort", "async_update_and_abort"):
        if reason := scan.resolve(kwargs.get("reason")):
            reasons.append(reason)
        else:
            # A helper shared by reauth and reconfigure ends both.
            methods = scan.class_methods.get(cls.name, set())
            shared = "reauth" not in method and "reconfigure" not in method
            reasons += [
                f"{source}_successful"
                for source in ("reauth", "reconfigure")
                if source in method or (shared and f"async_step_{source}" in methods)
            ]
    for reason in reasons:
        usage.need(f"{flow}.abort.{reason}", where)


def _scan_service_registration(scan: SourceScan, usage: Usage, node: ast.Call) -> None:
    """hass.services.async_register(DOMAIN, "name", ...) and entity services."""
    name = _name_of(node.func)
    if name in ("async_register", "async_register_admin_service"):
        args = [scan.resolve(a) for a in node.args[:3]]
        if DOMAIN in args:
            index = args.index(DOMAIN)
            if index + 1 < len(args) and args[index + 1]:
                usage.services.add(str(args[index + 1]))
    elif name in ("async_register_platform_entity_service", "async_register_entity_service"):
        candidates = [a for a in (scan.resolve(a) for a in node.args) if a and a != DOMAIN]
        if service := scan.resolve(_kwargs(node).get("service_name")):
            usage.services.add(service)
        elif candidates:
            usage.services.add(candidates[0])


def scan_usage(scan: SourceScan) -> Usage:
    """Collect every translation path the code needs."""
    usage = Usage()
    usage.literals = set(scan.constants.values())
    for path, tree in scan.modules.items():
        scan.current = path
        where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        for node, cls, func in _walk_with_context(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                usage.literals.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                parts = [
                    re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+"
                    for v in node.values
                ]
                fixed = sum(len(v.value) for v in node.values if isinstance(v, ast.Constant))
                if fixed >= 4:  # enough fixed text to mean something
                    usage.patterns.append(re.compile("".join(parts)))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                usage.literals.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and cls is not None:
                _scan_assign(scan, usage, node, cls, where)
            elif isinstance(node, ast.Call):
                _scan_translation_call(scan, usage, node, where)
                _scan_service_registration(scan, usage, node)
                if cls is not None and (flow := scan.flow_kind(cls.name)):
                    method = func.name if func else ""
                    _scan_flow_call(scan, usage, node, (flow, cls, method), where)
    return usage


@pytest.fixture(scope="module")
def usage() -> Usage:
    """The package's translation usage, scanned once."""
    return scan_usage(SourceScan())


@pytest.fixture(scope="module")
def en() -> dict[str, Any]:
    """translations/en.json."""
    return dict(_load_json(PKG / "translations" / "en.json"))


def _lookup(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, tree


# --------------------------------------------------------------------------- translations

SCANNER_SAMPLE = """
from homeassistant.const import CONF_EMAIL
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.config_entries import ConfigFlow, OptionsFlowWithReload
from homeassistant.exceptions import HomeAssistantError

DOMAIN = "enphase_enlighten"
KEY_MODE = "charge_mode"
MODES = ("manual", "green")

DESCRIPTIONS = (SwitchEntityDescription(key="x", translation_key="charging"),)


class Base(SwitchEntity):
    pass


class ModeSelect(Base):
    _attr_translation_key = "storm_guard"


class Flow(ConfigFlow, domain=DOMAIN):
    async def async_step_user(self, user_input=None):
        errors = {"base": "invalid_auth"}
        errors["base"] = "cannot_connect"
        self._abort_if_unique_id_configured()
        return self.async_show_form(step_id="user", errors=errors)

    async def async_step_reauth(self, data):
        return self.async_abort(reason="wrong_account")

    async def async_step_reconfigure(self, user_input=None):
        return self._end()

    def _end(self):
        return self.async_update_reload_and_abort(self.entry)


class Options(OptionsFlowWithReload):
    async def async_step_init(self, user_input=None):
        return self.async_show_menu(step_id="init", menu_options=["a", "b"])


async def act(hass):
    hass.services.async_register(DOMAIN, "battery_command", act)
    ir.async_create_issue(hass, DOMAIN, "x", translation_key="panel_shaded")
    SelectSelectorConfig(options=list(MODES), translation_key=KEY_MODE)
    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_plugged_in")
"""


def test_scanner_finds_every_kind_of_use(tmp_path: Path) -> None:
    """The source scan itself: each pattern the package may use is recognised."""
    (tmp_path / "switch.py").write_text(SCANNER_SAMPLE)
    found = scan_usage(SourceScan(tmp_path))
    assert set(found.required) == {
        "entity.switch.charging.name",
        "entity.switch.storm_guard.name",
        "config.error.invalid_auth",
        "config.error.cannot_connect",
        "config.abort.already_configured",
        "config.abort.wrong_account",
        "config.abort.reauth_successful",
        "config.abort.reconfigure_successful",
        "config.step.user",
        "options.step.init",
        "options.step.init.menu_options.a",
        "options.step.init.menu_options.b",
        "issues.panel_shaded.title",
        "selector.charge_mode.options.manual",
        "selector.charge_mode.options.green",
        "exceptions.not_plugged_in.message",
    }
    assert found.services == {"battery_command"}
    assert {"email", "async_step_reconfigure", "charge_mode"} <= found.literals


EN_TOP_KEYS = {
    "title",
    "config",
    "config_subentries",
    "conditions",
    "device",
    "device_automation",
    "entity",
    "exceptions",
    "issues",
    "options",
    "selector",
    "services",
    "system_health",
    "triggers",
}
FLOW_KEYS = {"step", "error", "abort", "progress", "create_entry", "flow_title", "initiate_flow"}
STEP_KEYS = {
    "title",
    "description",
    "data",
    "data_description",
    "sections",
    "menu_options",
    "menu_option_descriptions",
    "submit",
}
ENTITY_KEYS = {"name", "state", "state_attributes", "unit_of_measurement"}
# Abort reasons HA's own helpers raise (listed in en.json so older HA versions show text).
IMPLICIT_ABORTS = {
    "already_configured",
    "already_in_progress",
    "reauth_successful",
    "reconfigure_successful",
    "unique_id_mismatch",
}


def test_en_json_is_plain_text(en: dict[str, Any]) -> None:
    """Custom integrations ship final text: no [%key:...] references, no blanks."""
    assert set(en) <= EN_TOP_KEYS, f"unknown sections: {set(en) - EN_TOP_KEYS}"
    for path, value in _leaves(en):
        assert isinstance(value, str), f"{path} is not a string"
        assert value.strip(), f"{path} is empty"
        assert "[%key:" not in value, f"{path} uses a core-only reference"
        assert value.count("{") == value.count("}"), f"{path} has unbalanced placeholders"


def _services_yaml_selectors() -> dict[str, list[str]]:
    """Translated select selectors in services.yaml: translation key -> options."""
    found: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            select = node.get("select")
            if isinstance(select, dict) and select.get("translation_key"):
                options = [
                    str(o["value"] if isinstance(o, dict) else o) for o in select.get("options", [])
                ]
                found.setdefault(select["translation_key"], []).extend(options)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_services_yaml())
    return found


def test_every_used_translation_exists(en: dict[str, Any], usage: Usage) -> None:
    """Every key the code uses (entities, flows, errors, issues, selectors) is in en.json."""
    required = dict(usage.required)
    for key, options in _services_yaml_selectors().items():
        for option in options:
            required.setdefault(f"selector.{key}.options.{option}", "services.yaml")
    missing = [
        f"{path}  (used in {where})"
        for path, where in sorted(required.items())
        if _lookup(en, path) is None
    ]
    assert not missing, "missing in translations/en.json:\n" + "\n".join(missing)


def test_no_unused_translations(en: dict[str, Any], usage: Usage) -> None:
    """Nothing in en.json that the code cannot reach (keys must appear in the source)."""
    literals = usage.literals | set(_services_yaml_selectors())

    class Known:
        """Literal strings of the source, plus keys built by f-strings."""

        def __contains__(self, key: object) -> bool:
            return key in literals or any(p.fullmatch(str(key)) for p in usage.patterns)

    known = Known()
    unknown: list[str] = []
    for flow in ("config", "options"):
        section = en.get(flow, {})
        unknown += [f"{flow}.{k}" for k in section if k not in FLOW_KEYS]
        for step, body in section.get("step", {}).items():
            unknown += [f"{flow}.step.{step}.{k}" for k in body if k not in STEP_KEYS]
            if f"async_step_{step}" not in known and step not in known:
                unknown.append(f"{flow}.step.{step}")
            for data_key in ("data", "data_description"):
                unknown += [
                    f"{flow}.step.{step}.{data_key}.{k}"
                    for k in body.get(data_key, {})
                    if k not in known
                ]
            for sec_name, sec in body.get("sections", {}).items():
                if sec_name not in known:
                    unknown.append(f"{flow}.step.{step}.sections.{sec_name}")
                unknown += [
                    f"{flow}.step.{step}.sections.{sec_name}.data.{k}"
                    for k in sec.get("data", {})
                    if k not in known
                ]
            described = set(body.get("data_description", {}))
            assert described <= set(body.get("data", {})), f"{flow}.step.{step}"
        unknown += [f"{flow}.error.{k}" for k in section.get("error", {}) if k not in known]
        unknown += [
            f"{flow}.abort.{k}"
            for k in section.get("abort", {})
            if k not in known and k not in IMPLICIT_ABORTS
        ]
    for platform, entities in en.get("entity", {}).items():
        if platform not in PLATFORMS:
            unknown.append(f"entity.{platform}")
            continue
        for key, body in entities.items():
            if key not in known:
                unknown.append(f"entity.{platform}.{key}")
            unknown += [f"entity.{platform}.{key}.{k}" for k in body if k not in ENTITY_KEYS]
    for section in ("exceptions", "issues", "selector"):
        unknown += [f"{section}.{k}" for k in en.get(section, {}) if k not in known]
    assert not unknown, "not used by the code:\n" + "\n".join(unknown)


def test_entity_translation_shapes(en: dict[str, Any]) -> None:
    """Entities have names; exceptions have messages; issues have titles."""
    for platform, entities in en.get("entity", {}).items():
        for key, body in entities.items():
            assert "name" in body or "state" in body, f"entity.{platform}.{key}"
    for key, body in en.get("exceptions", {}).items():
        assert set(body) == {"message"}, f"exceptions.{key}"
    for key, body in en.get("issues", {}).items():
        assert "title" in body, f"issues.{key}"
        assert set(body) <= {"title", "description", "fix_flow"}, f"issues.{key}"


# --------------------------------------------------------------------------- services


def _services_yaml() -> dict[str, Any]:
    path = PKG / "services.yaml"
    if not path.is_file():
        return {}
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _service_fields(service: dict[str, Any] | None) -> tuple[set[str], set[str]]:
    """(field names, section names) of one services.yaml service."""
    fields: set[str] = set()
    sections: set[str] = set()
    for name, spec in ((service or {}).get("fields") or {}).items():
        if isinstance(spec, dict) and "fields" in spec:
            sections.add(name)
            fields |= set(spec["fields"] or {})
        else:
            fields.add(name)
    return fields, sections


def test_services_match_translations(en: dict[str, Any], usage: Usage) -> None:
    """services.yaml, the code's registrations and en.json agree."""
    services = _services_yaml()
    translated = en.get("services", {})
    assert set(services) == set(translated), (
        f"services.yaml only: {set(services) - set(translated)}; "
        f"en.json only: {set(translated) - set(services)}"
    )
    assert usage.services <= set(services), (
        f"registered but not in services.yaml: {usage.services - set(services)}"
    )
    assert set(services) <= usage.services | usage.literals, "services.yaml lists unknown actions"
    for name, service in services.items():
        text = translated[name]
        assert {"name", "description"} <= set(text), f"services.{name}"
        fields, sections = _service_fields(service)
        assert set(text.get("fields", {})) == fields, f"services.{name}.fields"
        assert set(text.get("sections", {})) == sections, f"services.{name}.sections"
        for field_name, field_text in text.get("fields", {}).items():
            assert {"name", "description"} <= set(field_text), f"services.{name}.{field_name}"


# --------------------------------------------------------------------------- icons


def _check_icon(value: Any, where: str) -> None:
    assert isinstance(value, str), where
    assert value.startswith("mdi:"), where


def test_icons_json(en: dict[str, Any]) -> None:
    """icons.json only names translated entities / known services, with mdi icons."""
    path = PKG / "icons.json"
    if not path.is_file():
        return
    icons = _load_json(path)
    assert set(icons) <= {"entity", "services"}, set(icons)
    for platform, entities in icons.get("entity", {}).items():
        assert platform in PLATFORMS, platform
        for key, body in entities.items():
            where = f"icons.entity.{platform}.{key}"
            assert _lookup(en, f"entity.{platform}.{key}") is not None, f"{where}: not in en.json"
            assert set(body) <= {"default", "state", "range", "state_attributes"}, where
            assert "default" in body, where
            _check_icon(body["default"], where)
            for state, icon in body.get("state", {}).items():
                _check_icon(icon, f"{where}.state.{state}")
            for bound, icon in body.get("range", {}).items():
                float(bound)
                _check_icon(icon, f"{where}.range.{bound}")
    services = _services_yaml()
    for name, body in icons.get("services", {}).items():
        assert name in services, f"icons.services.{name}: no such service"
        assert set(body) <= {"service", "sections"}, name
        _check_icon(body["service"], f"icons.services.{name}")


# --------------------------------------------------------------------------- quality scale

# script/hassfest/quality_scale.py ALL_RULES, by tier.
BRONZE = {
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow",
    "config-flow-test-coverage",
    "dependency-transparency",
    "docs-actions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "docs-conditions",
    "docs-triggers",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
}
SILVER = {
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
}
GOLD = {
    "devices",
    "diagnostics",
    "discovery",
    "discovery-update-info",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
}
PLATINUM = {"async-dependency", "inject-websession", "strict-typing"}


def test_quality_scale_lists_every_rule() -> None:
    """Every rule is done, todo, or exempt with a reason."""
    assert (len(BRONZE), len(SILVER), len(GOLD), len(PLATINUM)) == (20, 10, 21, 3)
    data = yaml.safe_load((PKG / "quality_scale.yaml").read_text(encoding="utf-8"))
    rules = data["rules"]
    everything = BRONZE | SILVER | GOLD | PLATINUM
    assert set(rules) == everything, (
        f"missing: {everything - set(rules)}; unknown: {set(rules) - everything}"
    )
    for rule, value in rules.items():
        if isinstance(value, str):
            assert value in ("done", "todo"), f"{rule}: {value}"
        else:
            assert set(value) <= {"status", "comment"}, rule
            assert value["status"] in ("done", "todo", "exempt"), rule
            if value["status"] == "exempt":
                assert str(value.get("comment", "")).strip(), f"{rule}: exempt needs a comment"


# --------------------------------------------------------------------------- blueprints

BLUEPRINTS = sorted((ROOT / "blueprints").rglob("*.yaml"))


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
def test_blueprint_is_valid(path: Path) -> None:
    """Each blueprint passes Home Assistant's own blueprint schema."""
    from homeassistant.components.blueprint.models import Blueprint
    from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
    from homeassistant.util.yaml import load_yaml_dict

    data = load_yaml_dict(path)
    blueprint = Blueprint(data, expected_domain="automation", schema=BLUEPRINT_SCHEMA)
    assert blueprint.metadata["name"]
    assert blueprint.metadata.get("description")
    assert MANIFEST["documentation"].split("//", 1)[1] in blueprint.metadata.get(
        "source_url", ""
    ), "source_url should point at this repository"
    # Every declared input is used, and nothing uses an undeclared input.
    text = path.read_text(encoding="utf-8")
    used = set(re.findall(r"!input\s+['\"]?([\w-]+)", text))
    declared: set[str] = set()
    for name, spec in blueprint.metadata["input"].items():
        if isinstance(spec, dict) and "input" in spec:  # a collapsible section
            declared |= set(spec["input"])
        else:
            declared.add(name)
    assert used == declared, f"unused: {declared - used}; undeclared: {used - declared}"


SAMPLE_VALUES = {
    "config_entry": "0123456789abcdef0123456789abcdef",
    "number": 10,
    "duration": {"minutes": 5},
    "boolean": False,
    "text": "text",
    "time": "12:00:00",
}


def _sample_input(spec: dict[str, Any]) -> Any:
    """A plausible value for an input without a default, from its selector."""
    selector = spec.get("selector") or {}
    kind = next(iter(selector), "text")
    if kind == "entity":
        filters = selector["entity"].get("filter") or [{}]
        domain = filters[0].get("domain", "sensor")
        if isinstance(domain, list):
            domain = domain[0]
        return f"{domain}.sample"
    if kind == "select":
        first = selector["select"]["options"][0]
        return first["value"] if isinstance(first, dict) else first
    return SAMPLE_VALUES.get(kind, "sample")


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
async def test_blueprint_makes_a_valid_automation(hass: HomeAssistant, path: Path) -> None:
    """Filled in, the blueprint passes the automation schema (triggers, actions)."""
    from homeassistant.components.automation.config import async_validate_config_item
    from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
    from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
    from homeassistant.util.yaml import load_yaml_dict

    blueprint = Blueprint(
        load_yaml_dict(path), expected_domain="automation", schema=BLUEPRINT_SCHEMA
    )
    values = {
        name: _sample_input(spec or {})
        for name, spec in blueprint.inputs.items()
        if not (spec or {}).get("default") and (spec or {}).get("default") != ""
    }
    inputs = BlueprintInputs(blueprint, {"use_blueprint": {"path": path.name, "input": values}})
    inputs.validate()
    config = inputs.async_substitute()
    config.pop("use_blueprint", None)
    validated = await async_validate_config_item(hass, "automation", config)
    assert validated is not None
    assert validated.validation_error is None, validated.validation_error


@pytest.mark.parametrize("path", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
def test_blueprint_uses_our_actions_as_declared(path: Path) -> None:
    """Actions of this integration that a blueprint calls exist with those fields."""
    services = _services_yaml()

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if str(node.get("action", "")).startswith(f"{DOMAIN}."):
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    from homeassistant.util.yaml import load_yaml_dict

    data = load_yaml_dict(path)
    for step in walk(data.get("actions", [])):
        service = step["action"].split(".", 1)[1]
        assert service in services, f"{path.name}: {step['action']} is not in services.yaml"
        fields, _ = _service_fields(services[service])
        unknown = set(step.get("data", {})) - fields
        assert not unknown, f"{path.name}: {step['action']} has no fields {unknown}"


# --------------------------------------------------------------------------- README


def test_readme_documents_actions_and_settings(en: dict[str, Any]) -> None:
    """docs-actions / docs-*-parameters: the README covers every action and field."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    services = set(_services_yaml())
    mentioned = set(re.findall(rf"`{DOMAIN}\.(\w+)`", readme))
    assert services <= mentioned, f"actions missing from README: {services - mentioned}"
    assert mentioned <= services, f"README names unknown actions: {mentioned - services}"
    labels = [
        label
        for flow in ("config", "options")
        for step in en.get(flow, {}).get("step", {}).values()
        for label in step.get("data", {}).values()
    ]
    missing = [label for label in labels if label.lower() not in readme.lower()]
    assert not missing, f"setup/option fields missing from README: {missing}"
    for heading in (
        "## Two commands",
        "## Installation",
        "## Removal",
        "## Known limitations",
        "## Troubleshooting",
        "## Energy dashboard",
    ):
        assert heading in readme
    assert "./scripts/develop" in readme
    assert "./scripts/test" in readme
