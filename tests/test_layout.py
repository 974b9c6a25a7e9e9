"""The package's shape: no import cycles among its modules, and only cli.py knows about typer and rich."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = "evidence_kit"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
UI_LIBRARIES = ("typer", "rich")
UI_MODULES = frozenset({f"{PACKAGE}.cli"})


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package is named by its __init__.py)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterable[tuple[str, int]]:
    """Each (dotted name, line) an import statement anywhere in the file names: top level, in functions,
    under `if TYPE_CHECKING:`; `from X import Y` gives X.Y (Y may be a module or an attribute of X)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def import_graph(files: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: first line}; names that are not modules fall back to
    the longest module prefix (`from evidence_kit.errors import EvidenceError` is an edge to errors)."""
    graph: dict[str, dict[str, int]] = {name: {} for name in files}
    for module, path in files.items():
        for name, line in imported_names(module, path):
            target = name
            while target and target not in files:
                target = target.rpartition(".")[0]
            # NOTE: `import evidence_kit.x.y` also runs the __init__.py of evidence_kit.x first, but a parent
            # package is not a dependency the importer chose (a registry's __init__ imports its children):
            # only the module named, or the module holding the attribute named, counts.
            if target and target != module:
                graph[module].setdefault(target, line)
    return graph


def cycles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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
    return sorted(found, key=lambda c: (-len(c), c))


def cycle_path(graph: Mapping[str, Mapping[str, int]], component: list[str]) -> list[str]:
    """One closed import path through a component, from its first module back to it (breadth first)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [start, node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return list(reversed(path))
                if nxt in members and nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")


def describe(
    graph: Mapping[str, Mapping[str, int]], files: Mapping[str, Path], component: list[str], base: Path
) -> str:
    """The component's modules and one cycle through it, each step with the file and line of its import."""
    path = cycle_path(graph, component)
    steps = [
        f"    {a} -> {b}  ({files[a].relative_to(base)}:{graph[a][b]})" for a, b in itertools.pairwise(path)
    ]
    return f"  {len(component)} modules: {', '.join(component)}\n" + "\n".join(steps)


def test_no_import_cycles() -> None:
    files = module_files()
    graph = import_graph(files)
    found = cycles(graph)
    assert not found, "import cycles among evidence_kit modules:\n" + "\n".join(
        describe(graph, files, c, ROOT.parent) for c in found
    )


def test_only_the_cli_imports_typer_or_rich() -> None:
    offenders = [
        f"{path.relative_to(ROOT.parent)}:{line} imports {name}"
        for module, path in module_files().items()
        if module not in UI_MODULES
        for name, line in imported_names(module, path)
        if name.split(".")[0] in UI_LIBRARIES
    ]
    assert not offenders, "only evidence_kit/cli.py may import typer or rich:\n" + "\n".join(offenders)


def _package(tmp_path: Path, modules: Mapping[str, str]) -> dict[str, Path]:
    for rel, text in modules.items():
        path = tmp_path / PACKAGE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(tmp_path / PACKAGE)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    files = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from evidence_kit.b import thing\n",
            "b.py": "def thing():\n    from evidence_kit import c\n",
            "sub/__init__.py": "",
            "sub/c.py": "",
            "c.py": "if True:\n    from . import a\n",
            "d.py": "import evidence_kit.sub.c\nfrom evidence_kit.errors import X\n",
            "errors.py": "X = 1\n",
        },
    )
    graph = import_graph(files)
    assert graph["evidence_kit.d"] == {"evidence_kit.sub.c": 1, "evidence_kit.errors": 2}
    assert cycles(graph) == [["evidence_kit.a", "evidence_kit.b", "evidence_kit.c"]]
    text = describe(graph, files, cycles(graph)[0], tmp_path)
    assert "evidence_kit.a -> evidence_kit.b  (evidence_kit/a.py:1)" in text
    assert "evidence_kit.c -> evidence_kit.a  (evidence_kit/c.py:2)" in text


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import typer\n", True),
        ("def f():\n    from rich.console import Console\n", True),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rich\n", True),
        ("import typing_extensions\nfrom richer import x\n", False),
    ],
)
def test_ui_imports_are_found_at_any_depth(tmp_path: Path, source: str, found: bool) -> None:
    files = _package(tmp_path, {"__init__.py": "", "core.py": source})
    names = [n for n, _ in imported_names(PACKAGE + ".core", files[PACKAGE + ".core"])]
    assert any(n.split(".")[0] in UI_LIBRARIES for n in names) is found
