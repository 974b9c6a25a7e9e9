"""Shared by the EK2xx checks: the target's Alembic revision graphs, read statically."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.errors import EvidenceError

if TYPE_CHECKING:
    from evidence_kit.collectors.alembic import Graph, Script
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "configs": {
            "type": "array",
            "items": {"type": "string"},
            "description": "alembic.ini files, relative to the source root, as `path` or `path#section`.",
        }
    },
}


def graphs(target: Target, rule: Rule) -> Iterator[tuple[str, Graph]]:
    """(ini label, graph) for each configured alembic.ini that exists (default `alembic.ini`)."""
    from evidence_kit.collectors.alembic import read_graph

    assert target.root is not None
    for spec in rule.options.get("configs", ["alembic.ini"]):
        ini, _, section = spec.partition("#")
        path = target.root / ini
        if not path.is_file():
            continue
        try:
            yield spec, read_graph(path, section or "alembic", target.root)
        except EvidenceError:
            continue


def scripts(target: Target, rule: Rule) -> Iterator[tuple[Script, Path]]:
    """Every revision script with its file, in the rule's include/exclude scope."""
    from evidence_kit.policy.target import _excluded

    for _, graph in graphs(target, rule):
        for script in graph.scripts.values():
            assert target.root is not None
            if not _excluded(script.path, rule.exclude):
                yield script, target.root / script.path


def line_of(tree: ast.Module, name: str) -> int:
    """The line where a module-level name is assigned or defined, 1 when absent."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node.lineno
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return 1
