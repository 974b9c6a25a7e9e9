"""`evidence check`: run the rule packs' checks on a source tree and/or a bundle, report, gate."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from evidence_kit import config as config_file
from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.verify import Problem, read_manifest
from evidence_kit.commands import Printer, exiting, write_file
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError
from evidence_kit.export import FORMATS, render
from evidence_kit.oci.resolve import local_path
from evidence_kit.policy import engine, loader
from evidence_kit.policy.target import Target
from evidence_kit.redact import scrub
from evidence_kit.support.github import append_summary, write_outputs

FAIL_ON = ("error", "warning", "note", "never")
CONFIG = "evidence.yaml"


def run(
    printer: Printer,
    path: Path | None = None,
    *,
    bundle: str | Path | None = None,
    rules: Sequence[str] = (),
    fmt: str = "text",
    output: Path | None = None,
    fail_on: str = "error",
    config: Path | None = None,
    sarif: Path | None = None,
    github_summary: bool = False,
) -> int:
    """Check PATH (default: the current folder) and BUNDLE when given; print the report (or write it to
    `output`); exit 1 when a finding is at or above `fail_on`.

    The service's configuration is `config` when given, else PATH's `evidence.yaml`, else every
    `evidence.yaml` found below PATH: their rule packs (unless `rules` are given) and their Alembic
    configurations (which the migration checks read).
    """
    if fmt not in FORMATS:
        raise EvidenceError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if fail_on not in FAIL_ON:
        raise EvidenceError(f"unknown --fail-on level {fail_on!r}", hint="use error, warning, note or never")
    try:
        report, manifest = _run(path, bundle, rules, config)
    except (ValueError, OSError) as exc:
        raise EvidenceError(f"cannot read the bundle: {exc}", hint="run `evidence verify` on it") from exc
    if bundle is not None:
        apart = _other_commit(path or Path("."), manifest)
        if apart:
            printer.err(apart)
    if config is None:
        unread = unread_configs(path or Path("."))
        if unread:
            printer.err(
                f"note: {', '.join(unread)} not read: outside a git repository only the folder's own "
                f"{CONFIG} is; choose one with --config {unread[0]}"
            )
    rendered = render(fmt, report, fail_on)
    if output:
        write_file(output, rendered)
        printer.err(report.summary())
    else:
        printer.out(rendered, end="")
    failed = report.fails(fail_on)
    if sarif:
        write_file(sarif, FORMATS["sarif"](report))
    if github_summary:
        with exiting(EXIT_FAIL):
            append_summary(FORMATS["markdown"](report))
            write_outputs({"check-result": "fail" if failed else "pass"})
    return EXIT_FAIL if failed else EXIT_OK


def configs(root: Path, given: Path | None) -> tuple[config_file.Config, ...]:
    """The evidence.yaml files that apply: `given`, else `root`'s, else, inside a repository, every one found
    below `root`, else the nearest one above it (run from `backend/` of a repository whose top holds it)."""
    if given is not None:
        return (config_file.load(given),)
    if (root / CONFIG).is_file():
        return (config_file.load(root / CONFIG),)
    from evidence_kit.support.paths import repository
    from evidence_kit.support.tree import find

    top = repository(root)
    # NOTE: only inside a repository, below or above: never the stray evidence.yaml files of a home or a
    # temporary folder (a test's fixtures), which would choose the rules and Alembic configurations.
    inside = (top / ".git").exists()
    found = find(root, lambda rel: rel.rsplit("/", 1)[-1] == CONFIG) if inside else []
    if not found and top != root.resolve() and inside:
        for folder in root.resolve().parents:
            if (folder / CONFIG).is_file():
                return (config_file.load(folder / CONFIG),)
            if folder == top:
                break
    loaded = []
    for rel in found:
        try:
            loaded.append(config_file.load(root / rel))
        except EvidenceError as exc:
            raise EvidenceError(
                exc.message,
                hint="fix it, or choose the service's evidence.yaml with --config",
                details=exc.details,
            ) from exc
    return tuple(loaded)


def unread_configs(root: Path, depth: int = 2) -> list[str]:
    """The evidence.yaml files up to `depth` folders below `root` that `configs` leaves unread because
    `root` lies in no git repository (none when it does or holds its own), to say so."""
    from evidence_kit.support.paths import repository
    from evidence_kit.support.tree import VENDORED

    if (root / CONFIG).is_file() or (repository(root) / ".git").exists():
        return []
    found: list[str] = []
    folders = [(root, "")]
    for _ in range(depth):
        below: list[tuple[Path, str]] = []
        for folder, rel in folders:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in VENDORED or not entry.is_dir():
                    continue
                here = Path(entry.path)
                if (here / CONFIG).is_file():
                    found.append(f"{rel}{entry.name}/{CONFIG}")
                below.append((here, f"{rel}{entry.name}/"))
        folders = below
    return found


def _other_commit(root: Path, manifest: dict[str, Any]) -> str | None:
    """A note when the source checks read a working tree at another commit than the bundle's: the two
    halves of the report then describe different states of the service."""
    from evidence_kit.collectors.git import head_sha

    git = manifest.get("git")
    collected = git.get("sha") if isinstance(git, dict) else None
    if not isinstance(collected, str) or not collected:
        return None
    here = head_sha(root)
    if here is None or here == collected:
        return None
    return (
        f"note: the source checks read {root} at {here[:12]}, the bundle was collected at {collected[:12]}: "
        "check the source at the bundle's commit to judge one state"
    )


def _run(
    path: Path | None, bundle: str | Path | None, rules: Sequence[str], config: Path | None
) -> tuple[engine.Report, dict[str, Any]]:
    root = path or Path(".")
    if not root.is_dir():
        raise EvidenceError(f"{root} is not a folder", hint="pass the service's source root")
    settings = configs(root, config)
    scrub.use_configs(settings)
    packs = list(rules) or list(dict.fromkeys(pack for c in settings for pack in c.rules))
    policy = loader.load(packs or ["default"], base=Path.cwd())
    with opened(local_path(bundle)) if bundle else nullcontext(None) as unpacked:
        manifest: dict[str, Any] = {}
        if unpacked is not None:
            invalid: list[Problem] = []
            manifest = read_manifest(unpacked, invalid)
            if invalid:
                raise EvidenceError(
                    f"{bundle} has no valid manifest; its gates cannot be read",
                    hint="run `evidence verify` on it",
                    details=[str(p) for p in invalid],
                )
        target = Target(root=root.resolve(), bundle=unpacked, manifest=manifest, configs=settings)
        return engine.run(policy, target), manifest
