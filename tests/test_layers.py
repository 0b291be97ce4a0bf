"""Imports point down (architecture.md, "Layers"): every module of bridge/, connectors/ and
webapi/ is read with ``ast`` — imports inside functions and under ``TYPE_CHECKING`` included —
and the suite fails on an import cycle between modules, on a bridge/ module other than the
composition root (``bridge.app``) importing ``webapi``, and on the shipped packages importing
``tests``.

An edge goes to the module an import names: ``from pkg import sub`` to ``pkg.sub`` when that is
a module, else to ``pkg``; the package ``__init__`` files Python runs on the way are not edges
of their own (each is walked as a module, with its own imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bridge", "connectors", "webapi")
COMPOSITION_ROOT = "bridge.app"

EXPECTED_CYCLES: dict[frozenset[str], str] = {}
"""Known cycles, each to be removed by the branch named; an entry whose cycle is gone fails too,
so the list cannot outlive them."""


def modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _module_of(name: str, known: dict[str, Path]) -> str | None:
    """``name`` or its longest prefix that is one of ``known``."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def imports(module: str, path: Path) -> list[tuple[str, str | None, int]]:
    """Every import of ``module``: (the module named, the member of a ``from`` import or None,
    the line). Relative imports are resolved."""
    found = []
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found += [(target, alias.name, node.lineno) for alias in node.names]
    return found


def import_graph(root: Path, packages=PACKAGES) -> dict[str, dict[str, str]]:
    """module → {module of these packages it imports: "file:line" of the first such import}."""
    known = modules(root, packages)
    graph: dict[str, dict[str, str]] = {}
    for module, path in known.items():
        edges: dict[str, str] = {}
        for name, member, line in imports(module, path):
            target = f"{name}.{member}" if member and f"{name}.{member}" in known else _module_of(name, known)
            if target is not None and target != module:
                edges.setdefault(target, f"{path.relative_to(root)}:{line}")
        graph[module] = edges
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan), each an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _describe(group: frozenset[str], graph: dict[str, dict[str, str]]) -> str:
    return "; ".join(
        f"{a} → {b} ({where})" for a in sorted(group) for b, where in sorted(graph[a].items()) if b in group
    )


def test_no_import_cycle_between_modules():
    graph = import_graph(ROOT)
    found = set(cycles(graph))
    unexpected = [_describe(group, graph) for group in found if group not in EXPECTED_CYCLES]
    assert not unexpected, "import cycles:\n  " + "\n  ".join(unexpected)
    gone = [sorted(group) for group in EXPECTED_CYCLES if group not in found]
    assert not gone, f"these cycles are gone: remove them from EXPECTED_CYCLES: {gone}"


def test_only_the_composition_root_imports_webapi():
    graph = import_graph(ROOT)
    bad = [
        f"{module} imports {target} ({where})"
        for module, edges in sorted(graph.items())
        if module.split(".")[0] == "bridge" and module != COMPOSITION_ROOT
        for target, where in edges.items()
        if target.split(".")[0] == "webapi"
    ]
    assert not bad, "only bridge.app may import webapi:\n  " + "\n  ".join(bad)
    assert any(t.split(".")[0] == "webapi" for t in graph[COMPOSITION_ROOT]), "bridge.app builds the API"


def test_the_shipped_packages_do_not_import_the_tests():
    bad = [
        f"{module} imports {name} ({path.relative_to(ROOT)}:{line})"
        for module, path in modules(ROOT).items()
        for name, _, line in imports(module, path)
        if name.split(".")[0] == "tests"
    ]
    assert not bad, "\n  ".join(bad)


def test_the_walk_finds_cycles_through_function_imports_and_relative_ones(tmp_path):
    """The checks above can fail: a planted cycle (one import inside a function, one relative)
    and an upward import are found."""
    pkg = tmp_path / "bridge"
    (pkg / "sub").mkdir(parents=True)
    (tmp_path / "webapi").mkdir()
    for name, text in {
        "bridge/__init__.py": "",
        "bridge/a.py": "def f():\n    from bridge.sub import b\n",
        "bridge/sub/__init__.py": "",
        "bridge/sub/b.py": "from .. import c\n",
        "bridge/c.py": "import bridge.a\nfrom webapi.views import page\n",
        "bridge/d.py": "from bridge import c\n",
        "webapi/__init__.py": "",
        "webapi/views.py": "page = 1\n",
    }.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path, ("bridge", "webapi"))
    assert cycles(graph) == [frozenset({"bridge.a", "bridge.sub.b", "bridge.c"})]
    assert graph["bridge.c"]["webapi.views"] == "bridge/c.py:2"
    assert set(graph["bridge.d"]) == {"bridge.c"}  # not the package bridge itself
