"""The package's shape: no import circle (type-only imports included), small modules."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parent.parent / "custom_components" / "enphase_enlighten"
NAME = "custom_components.enphase_enlighten"
# A module may grow past this only with a reason written next to this number.
MAX_LINES = 620


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([NAME, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PKG.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package that ``path`` imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from . import x`` imports the submodule x.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walker_sees_a_circle() -> None:
    """The check itself can fail: a made-up two-module circle is found."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert _cycles(graph) == [["a", "b"]]


def test_the_walker_reads_type_only_imports() -> None:
    """Imports under TYPE_CHECKING count: the runtime module is seen from devices."""
    graph = _import_graph()
    assert f"{NAME}.runtime" in graph[f"{NAME}.devices"]
    assert f"{NAME}.coordinator.base" in graph[f"{NAME}.coordinator.site"]


def test_no_import_circle() -> None:
    """No module reaches itself through imports, type-only ones included."""
    assert _cycles(_import_graph()) == []


def test_layers_point_one_way() -> None:
    """The API client knows no Home Assistant, and nothing below the entities imports them."""
    graph = _import_graph()
    for name, path in _modules().items():
        if name.startswith(f"{NAME}.api"):
            assert "homeassistant" not in path.read_text(), name
            assert all(dep.startswith(f"{NAME}.api") for dep in graph[name]), name
    for name in graph:
        # The action modules are top-level handlers that happen to live beside their topic.
        if name.startswith((f"{NAME}.coordinator", f"{NAME}.history")) and not name.endswith(
            ".actions"
        ):
            below = {d for d in graph[name] if d.rsplit(".", 1)[-1] in {"entity", "runtime"}}
            assert not below, (name, below)
    bottom = f"{NAME}.coordinator.data"
    assert all(dep.startswith((f"{NAME}.api", f"{NAME}.const")) for dep in graph[bottom])


def test_modules_stay_small() -> None:
    """No module grows past about 600 lines."""
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_LINES} == {}


def test_top_level_stays_short() -> None:
    """About 17 Python entries at the package top: platforms, setup, flow, and the packages."""
    entries = [p for p in PKG.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()]
    assert len(entries) <= 24, sorted(p.name for p in entries)
