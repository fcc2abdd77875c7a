"""The package's layers (issue 10): no module imports from a layer above its own, and no
module-level import cycle, so that cycles cannot come back unnoticed.

The layers are the import-linter contract in ``pyproject.toml`` ([tool.importlinter]); ``.ci/run``
also runs ``lint-imports``. The cycle check reads every module's top-level imports (those run
when the module is loaded; imports inside functions are deliberate lazy ones, e.g. highspy and
OR-Tools that cannot share a process).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "allocator"


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return contract


def _layers(contract: dict) -> list[grimp.Layer]:
    out = []
    for layer in contract["layers"]:
        names = [n.strip() for n in layer.split("|")]
        out.append(grimp.Layer(*names, independent=True))
    return out


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("allocator")


def test_no_layer_imports_from_above(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(
        layers=_layers(_contract()), containers=set())
    assert not illegal, "\n".join(
        f"{d.importer} -> {d.imported}: "
        + "; ".join(" -> ".join(r.chain) for r in d.routes) for d in illegal)


def test_every_subpackage_is_in_a_layer() -> None:
    named = {n.strip() for layer in _contract()["layers"] for n in layer.split("|")}
    subpackages = {f"allocator.{p.name}" for p in PACKAGE.iterdir()
                   if (p / "__init__.py").exists()}
    assert subpackages <= named, subpackages - named


def test_the_layer_check_catches_an_upward_import(graph: grimp.ImportGraph) -> None:
    """The check can fail: the data layer importing the CLI is reported."""
    graph.add_import(importer="allocator.instance.schema", imported="allocator.cli.main")
    try:
        illegal = graph.find_illegal_dependencies_for_layers(
            layers=_layers(_contract()), containers=set())
        assert any(d.importer == "allocator.instance" and d.imported == "allocator.cli"
                   for d in illegal)
    finally:
        graph.remove_import(importer="allocator.instance.schema", imported="allocator.cli.main")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(modules: dict[str, str]) -> dict[str, set[str]]:
    """module -> the package modules it imports when loaded (TYPE_CHECKING blocks skipped)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, source in modules.items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = full if full in modules else node.module
                    if target in modules:
                        edges[name].add(target)
            elif isinstance(node, ast.Import):
                edges[name] |= {a.name for a in node.names if a.name in modules}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_level_import_cycle() -> None:
    modules = {_module_name(p): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}
    assert cycles(top_level_imports(modules)) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    modules = {"allocator.a": "from allocator.b import x\n",
               "allocator.b": "import allocator.c\n",
               "allocator.c": "from allocator import a\nfrom allocator.d import y\n",
               "allocator": "", "allocator.d": "def f():\n    from allocator.a import z\n"}
    assert cycles(top_level_imports(modules)) == [["allocator.a", "allocator.b", "allocator.c"]]
