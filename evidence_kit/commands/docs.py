"""Render the phase documents (overview, architecture, endpoints, migrations, rollback, release notes)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.atomic import write_pages
from evidence_kit.commands import Printer
from evidence_kit.errors import EXIT_OK, EvidenceError
from evidence_kit.evidence import alembic, command, git, openapi, schema, tests
from evidence_kit.evidence.view import BundleView
from evidence_kit.oci.resolve import local_path
from evidence_kit.report.render import render_template
from evidence_kit.support.junit import shown
from evidence_kit.support.resources import shipped

DOCS = (
    "overview.md",
    "architecture.md",
    "endpoints.md",
    "migration-guide.md",
    "rollback-plan.md",
    "release-notes.md",
)


def todo(text: str) -> str:
    """A clearly marked prompt for what the bundle cannot know."""
    return f"> TODO(author): {text}"


def _routes(view: BundleView) -> list[dict[str, Any]] | None:
    found = openapi.read(view)
    if not found.present:
        return None
    return [
        {
            "path": r.path,
            "methods": list(r.methods),
            "operation_ids": list(r.operation_ids),
            "webhook": r.webhook,
        }
        for r in found.routes
    ]


def _downgrade_steps(view: BundleView, config: alembic.AlembicConfig) -> list[dict[str, Any]]:
    """The downgrade chain, newest first, following the graph: merges and no-op steps marked."""
    steps = []
    for rev in config.revisions:
        stored = config.migration_file(rev.path) if rev.path else None
        source = view.bytes(stored) if stored else None
        steps.append(
            {
                "revision": rev.revision,
                "message": rev.message,
                "down_revision": list(rev.down_revisions),
                "merge": rev.is_merge,
                "branch_point": rev.is_branch_point,
                "noop": alembic.noop_downgrade(source),
            }
        )
    return steps


def _config(view: BundleView, config: alembic.AlembicConfig, several: bool) -> dict[str, Any]:
    migrations = [
        {
            "revision": rev.revision,
            "down_revision": list(rev.down_revisions),
            "message": rev.message,
            "path": rev.path,
            "is_head": rev.is_head,
            "is_base": rev.is_base,
            "is_merge": rev.is_merge,
        }
        for rev in config.revisions
    ]
    graph = config.graph or {}
    return {
        "name": config.name,
        "migrations": migrations,
        "heads": config.heads,
        "bases": [str(b) for b in graph.get("bases") or []],
        "current": config.current_versions,
        "up_to_date": config.up_to_date,
        "table_unknown": config.table_unknown,
        "not_applied": config.not_applied,
        "version_table": None
        if config.version_table == alembic.DEFAULT_VERSION_TABLE
        else config.version_table,
        "problems": [str(p) for p in graph.get("problems") or []],
        "downgrade": _downgrade_steps(view, config),
        "command": _alembic_command(graph, config.name if several else "alembic"),
        # NOTE: why plain `alembic` cannot run the configuration's env.py; None when it can.
        "plain_problem": str(graph["plain_alembic_problem"]) if graph.get("plain_alembic_problem") else None,
        # NOTE: the service's own upgrade command, when evidence.yaml names it (`migrate_command`).
        "migrate_command": str(graph["migrate_command"]) if graph.get("migrate_command") else None,
        # NOTE: Flask-Migrate's `flask db`, which takes Alembic's steps as they are (`flask db downgrade X`).
        "flask_db": _flask_db(graph),
    }


_FLASK_DB = re.compile(r"^(.*\bflask(?:\s+--app[\s=]\S+)?\s+db)\s+upgrade$")


def _flask_db(graph: dict[str, Any]) -> str | None:
    """The `flask db` command of a configuration whose migrate command is Flask-Migrate's upgrade."""
    found = _FLASK_DB.match(str(graph.get("migrate_command") or "").strip())
    return found.group(1) if found and graph.get("plain_alembic_problem") else None


def _alembic_command(graph: dict[str, Any], section: str) -> str:
    """The `alembic` command line for one configuration, run from the service's folder (`section` where the
    bundle does not say it)."""
    folder, words = alembic.invocation(
        str(graph.get("ini") or "alembic.ini"),
        str(graph.get("section") or section),
        str(graph["run_from"]) if graph.get("run_from") else None,
    )
    return " ".join(words) if folder == "." else f"cd {shlex.quote(folder)} && " + " ".join(words)


def _alembic(view: BundleView) -> list[dict[str, Any]] | None:
    found = alembic.read(view)
    configs = [c for c in found.configs if c.graph is not None]
    return [_config(view, c, len(configs) > 1) for c in configs] if configs else None


def _range(view: BundleView) -> tuple[str | None, set[str]]:
    """The base of the change the bundle records (`collectors.git.base`) and the files changed since it:
    those its commits changed, and those the working tree changes on top (a migration not committed yet)."""
    found = git.read(view)
    rng = found.range
    if not rng or not rng.get("base"):
        return None, set()
    files = {str(f.get("path")) for f in rng.get("files") or [] if isinstance(f, dict) and f.get("path")}
    entries = (found.status or {}).get("entries") or []
    files |= {str(e.get("path")) for e in entries if isinstance(e, dict) and e.get("path")}
    return str(rng["base"]), files


def _changed(path: str, changed: set[str]) -> bool:
    """True when a migration's file (relative to the service) is among the repository's changed files."""
    return path in changed or any(c.endswith("/" + path) for c in changed)


def _tests(view: BundleView) -> dict[str, Any] | None:
    first = tests.read(view).first
    if first is None:
        return None
    # NOTE: a test by its pytest node id where known (one can paste it back into pytest), else its id.
    listed = [{"id": shown(t), "outcome": str(t.get("outcome", ""))} for t in first.tests]
    return {"totals": first.totals, "tests": listed}


def _commands(view: BundleView) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "argv": r.command_line, "exit_code": r.exit_code, "status": r.status}
        for r in command.read(view).runs
    ]


def context(root: Path) -> dict[str, Any]:
    """Everything the docs templates see, read from the bundle; None marks a kind of evidence it lacks."""
    view = BundleView.open(root)
    manifest = view.manifest
    if not manifest:
        raise EvidenceError(f"{root} is not a bundle (no readable manifest.json)", hint="pass a bundle")
    git = manifest.get("git")
    if not isinstance(git, dict):
        git = {}
    configs = _alembic(view)
    base, changed = _range(view)
    for config in configs or []:
        # NOTE: with a base of the change recorded, this phase's migrations are those whose file changed
        # since it; without one, which they are is not known.
        config["phase_migrations"] = (
            [m for m in config["migrations"] if m["path"] and _changed(m["path"], changed)]
            if base is not None
            else None
        )
    return {
        "base": base,
        "service": str(manifest.get("service") or ""),
        "phase": str(manifest.get("phase") or ""),
        "bundle": str(manifest.get("bundle") or root.name),
        "created": str(manifest.get("created") or ""),
        "commit": git.get("sha"),
        "commit_short": git.get("short"),
        "routes": _routes(view),
        "alembic": configs[0] if configs else None,
        "alembic_configs": configs,
        "tables": schema.read(view).tables,
        "tests": _tests(view),
        "commands": _commands(view),
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
    env.filters["plural"] = _plural
    return env


def _plural(count: int, word: str, many: str | None = None) -> str:
    """`1 migration`, `2 migrations`; `many` for an irregular plural (`1 head`, `2 heads`)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


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


def run(
    printer: Printer, bundle: str | Path, *, out: Path = Path("phase-docs"), templates: Path | None = None
) -> int:
    """`evidence docs`: render the phase documents of BUNDLE into `out` and print each file written; a new
    `out` inside a git work tree ignores itself, as reports do."""
    from evidence_kit.support.tree import keep_new_folder_out_of_git

    fresh = not out.exists()
    for path in render_docs(local_path(bundle).resolve(), out, templates):
        printer.out(str(path))
    ignore = keep_new_folder_out_of_git(out, "documents") if fresh else None
    if ignore is not None:
        printer.err(
            f"wrote {ignore}: the new documents folder stays out of git (remove that file to commit it)"
        )
    return EXIT_OK
