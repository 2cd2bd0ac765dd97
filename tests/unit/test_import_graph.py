"""The shared package's modules import each other without cycles, and the domain imports nothing outside it.

The graph is built from each module's source (ast), so it sees every import: at the top, inside functions
(deferred imports hide a cycle, they do not remove it) and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE_ROOT = ROOT / "layers" / "common" / "python"
PACKAGE = "firebell"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((PACKAGE_ROOT / PACKAGE).rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The firebell modules `name` imports (a `from x import y` counts x, and x.y when y is a module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            targets = [source, *(f"{source}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
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


def test_the_graph_sees_the_package():
    assert {"firebell.usecases.intake", "firebell.config", "firebell.domain.models", "firebell.domain.errors"} <= set(
        MODULES
    )
    assert "firebell.domain.directory" in GRAPH["firebell.config"]
    assert "firebell.domain.errors" in GRAPH["firebell.batch"]


def test_cycle_detection_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_domain_imports_only_the_domain():
    """domain/ is pure: config loading, data access, adapters and use cases depend on it, never the reverse."""
    for name, targets in GRAPH.items():
        if name.startswith(f"{PACKAGE}.domain"):
            outside = {t for t in targets if not t.startswith(f"{PACKAGE}.domain") and t != PACKAGE}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_config_only_loads():
    """config.py defines no models of its own: the directory lives in domain/directory.py."""
    import pydantic

    config = importlib.import_module(f"{PACKAGE}.config")
    own_models = [
        name
        for name, value in vars(config).items()
        if isinstance(value, type) and issubclass(value, pydantic.BaseModel) and value.__module__ == config.__name__
    ]
    assert own_models == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports_on_its_own(name: str):
    importlib.import_module(name)
