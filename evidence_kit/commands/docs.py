"""Render the phase documents (overview, architecture, endpoints, migrations, rollback, release notes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.atomic import write_pages
from evidence_kit.errors import EvidenceError
from evidence_kit.report.render import render_template
from evidence_kit.support.resources import shipped

DOCS = (
    "overview.md",
    "architecture.md",
    "endpoints.md",
    "migration-guide.md",
    "rollback-plan.md",
    "release-notes.md",
)
_COMMAND_SUFFIXES = (".stdout.txt", ".stderr.txt", ".error.txt")


def todo(text: str) -> str:
    """A clearly marked prompt for what the bundle cannot know."""
    return f"> TODO(author): {text}"


def _read(root: Path, rel: str) -> bytes | None:
    path = root / rel
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _json(root: Path, *rels: str) -> Any:
    for rel in rels:
        data = _read(root, rel)
        if data is None:
            continue
        try:
            return json.loads(data)
        except ValueError:
            continue
    return None


def _lines(root: Path, rel: str) -> list[str] | None:
    data = _read(root, rel)
    if data is None:
        return None
    return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


def _routes(root: Path) -> list[dict[str, Any]] | None:
    found = _json(root, "data/openapi/routes.json")
    if isinstance(found, list):
        return [
            {
                "path": str(r.get("path", "")),
                "methods": [str(m) for m in r.get("methods") or []],
                "operation_ids": [str(o) for o in r.get("operation_ids") or []],
            }
            for r in found
            if isinstance(r, dict)
        ]
    lines = _lines(root, "data/openapi/routes.txt")
    if lines is None:
        return None
    routes = []
    for line in lines:
        methods, _, path = line.partition(" ")
        routes.append({"path": path, "methods": methods.split(","), "operation_ids": []})
    return routes


def _alembic(root: Path) -> dict[str, Any] | None:
    history = _json(root, "data/alembic/history.json")
    summary = _json(root, "data/alembic/summary.json")
    if not isinstance(history, dict):
        return None
    by_rev = {str(r["revision"]): r for r in history.get("revisions") or [] if isinstance(r, dict)}
    order = [str(r) for r in history.get("history") or by_rev]
    migrations = []
    for rev in order:
        entry = by_rev.get(rev, {})
        migrations.append(
            {
                "revision": rev,
                "down_revision": [str(d) for d in entry.get("down_revisions") or []],
                "message": str(entry.get("message") or ""),
                "path": str(entry.get("path") or ""),
                "is_head": bool(entry.get("is_head")),
                "is_base": bool(entry.get("is_base")),
            }
        )
    current: list[str] | None = None
    if isinstance(summary, dict) and isinstance(summary.get("current"), dict):
        current = sorted({str(v) for versions in summary["current"].values() for v in versions or []})
    return {
        "migrations": migrations,
        "heads": [str(h) for h in history.get("heads") or []],
        "bases": [str(b) for b in history.get("bases") or []],
        "current": current,
        "up_to_date": summary.get("up_to_date") if isinstance(summary, dict) else None,
        "problems": [str(p) for p in history.get("problems") or []],
    }


def _tables(root: Path) -> list[str] | None:
    schema = _json(root, "data/schema/schema.json")
    if isinstance(schema, dict) and isinstance(schema.get("tables"), list):
        sqlite = schema.get("dialect") == "sqlite"
        return [
            str(t["name"]) if sqlite or not t.get("schema") else f"{t['schema']}.{t['name']}"
            for t in schema["tables"]
            if isinstance(t, dict) and "name" in t
        ]
    return _lines(root, "data/schema/tables.txt")


def _tests(root: Path) -> dict[str, Any] | None:
    report = _json(root, "data/tests/tests.json", "data/pytest/tests.json")
    if not isinstance(report, dict) or not isinstance(report.get("totals"), dict):
        return None
    tests = [
        {"id": str(t.get("id", "")), "outcome": str(t.get("outcome", ""))}
        for t in report.get("tests") or []
        if isinstance(t, dict)
    ]
    return {"totals": report["totals"], "tests": tests}


def _commands(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for record in manifest.get("artifacts") or []:
        if not isinstance(record, dict) or record.get("collector") != "command":
            continue
        path = str(record.get("path", ""))
        name = path.removeprefix("data/command/")
        for suffix in _COMMAND_SUFFIXES:
            name = name.removesuffix(suffix)
        if name in seen:
            continue
        argv = record.get("argv")
        seen[name] = {
            "name": name,
            "argv": " ".join(str(a) for a in argv) if argv else "",
            "exit_code": record.get("exit_code"),
            "status": str(record.get("status", "")),
        }
    return list(seen.values())


def context(root: Path) -> dict[str, Any]:
    """Everything the docs templates see, read from the bundle; None marks a kind of evidence it lacks."""
    manifest = _json(root, "manifest.json")
    if not isinstance(manifest, dict):
        raise EvidenceError(f"{root} is not a bundle (no readable manifest.json)", hint="pass a bundle")
    git = manifest.get("git")
    if not isinstance(git, dict):
        git = {}
    return {
        "service": str(manifest.get("service") or ""),
        "phase": str(manifest.get("phase") or ""),
        "bundle": str(manifest.get("bundle") or root.name),
        "created": str(manifest.get("created") or ""),
        "commit": git.get("sha"),
        "commit_short": git.get("short"),
        "routes": _routes(root),
        "alembic": _alembic(root),
        "tables": _tables(root),
        "tests": _tests(root),
        "commands": _commands(manifest),
    }


def _environment(roots: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(r) for r in roots]),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["todo"] = todo
    env.filters["code"] = lambda text: f"`{str(text).replace('`', '')}`"
    return env


def _write(out: Path, pages: Mapping[str, str]) -> list[Path]:
    return list(write_pages(out, pages, "the documents"))


def render_docs(bundle: Path, out: Path, templates: Path | None = None) -> list[Path]:
    """Render the phase documents of a bundle (folder or archive) into `out`; returns the files written."""
    if bundle.is_dir() and out.resolve().is_relative_to(bundle.resolve()):
        raise EvidenceError(
            f"{out} is inside the bundle {bundle}",
            hint="write the documents outside the bundle: it would no longer verify",
        )
    roots = []
    if templates is not None:
        if not templates.is_dir():
            raise EvidenceError(
                f"template folder {templates} does not exist",
                hint="pass a folder holding your overrides, e.g. a custom overview.md.j2",
            )
        roots.append(templates)
    roots.append(Path(str(shipped("templates"))) / "docs")
    env = _environment(roots)
    with opened(bundle) as root:
        ctx = context(root)
        pages = {name: render_template(env, f"{name}.j2", ctx, roots) for name in DOCS}
    return _write(out, pages)
