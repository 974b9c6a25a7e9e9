"""The `evidence` command line: parse, call the core, print, exit with a documented code."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from evidence_kit import __version__
from evidence_kit.errors import EvidenceError

if TYPE_CHECKING:
    from rich.console import Console

    from evidence_kit.bundle.verify import Verdict
    from evidence_kit.commands.collect import Event, Summary

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="evidence",
    help="Collect, verify and compare evidence bundles of a Python service.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(exc: EvidenceError, code: int) -> NoReturn:
    err = _console(stderr=True)
    err.print(f"[bold red]error:[/] {exc.message}", markup=True)
    for detail in exc.details:
        err.print(f"  - {detail}", markup=False)
    if exc.hint:
        err.print(f"[bold]Tip:[/] {exc.hint}", markup=True)
    raise typer.Exit(code)


def _write(path: Path, text: str) -> None:
    """Write a report file whole, or exit 2 naming the path."""
    from evidence_kit.bundle.atomic import write_pages

    try:
        write_pages(path.parent, {path.name: text}, path.name)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)


def _version(value: bool) -> None:
    if value:
        print(f"evidence-kit {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Collect, verify and compare evidence bundles of a Python service."""


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _progress(console: Console, plain: bool, status: Any = None) -> Callable[[Event], None]:
    """Plain lines in CI; on a terminal, coloured lines under a spinner naming what still runs."""
    colours = {"ok": "green", "skipped": "dim", "failed": "yellow", "timeout": "yellow", "error": "red"}
    running: list[str] = []

    def show(event: Event) -> None:
        if event.kind == "start":
            running.append(event.collector)
            if plain:
                console.print(f"start {event.collector}", markup=False)
        else:
            running.remove(event.collector)
            text = (
                f"{event.status:>7} {event.collector:<10} {event.artifacts:>4} artifacts  "
                f"{event.duration_s:6.2f} s"
            )
            console.print(text, markup=False, style=None if plain else colours.get(event.status))
            if event.message:
                console.print(f"        {event.message}", markup=False, style=None if plain else "dim")
        if status is not None:
            status.update(f"collecting: {', '.join(running)}" if running else "writing the bundle")

    return show


def _print_summary(console: Console, summary: Summary) -> None:
    failed = summary.failed
    console.print(
        f"bundle  {summary.bundle}\n"
        f"digest  sha256:{summary.digest}\n"
        f"        {summary.artifacts} artifacts, {summary.redactions} redactions, "
        f"{len(failed)} of {len(summary.results)} collectors not ok",
        markup=False,
    )
    if summary.archive:
        console.print(f"archive {summary.archive}", markup=False)
    for res in failed:
        console.print(f"  {res.collector}: {res.status}: {res.error or ''}", markup=False)
        if res.hint:
            console.print(f"    Tip: {res.hint}", markup=False)


@app.command()
def collect(
    config: Annotated[Path, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = Path(
        "evidence.yaml"
    ),
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="COLLECTOR", help="Run only this collector (repeatable)."),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", metavar="COLLECTOR", help="Do not run this collector (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Output folder (default: `output` in the config)."),
    ] = None,
    archive: Annotated[bool, typer.Option("--archive", help="Also write a deterministic .tar.gz.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any collector is not ok.")] = False,
    phase: Annotated[
        str | None, typer.Option("--phase", help="Phase label (overrides the config's).")
    ] = None,
    github: Annotated[
        bool, typer.Option("--github", help="In GitHub Actions: write outputs bundle, archive, digest.")
    ] = False,
) -> None:
    """Run the configured collectors and write one checksummed bundle."""
    from evidence_kit import config as cfg
    from evidence_kit.commands.collect import collect as run_collect

    try:
        loaded = cfg.load(config)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)
    if phase is not None:
        from dataclasses import replace

        loaded = replace(loaded, phase=phase)
    err = _console(stderr=True)
    plain = not err.is_terminal
    previous = signal.signal(signal.SIGTERM, _terminate)
    spinner = err.status("collecting") if not plain and not as_json else contextlib.nullcontext()
    try:
        with spinner as status:
            summary = run_collect(
                loaded,
                only=only or (),
                skip=skip or (),
                out=out,
                archive=archive,
                progress=None if as_json else _progress(err, plain, status),
            )
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)
    except KeyboardInterrupt:
        err.print("interrupted: no bundle was written", markup=False)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        print(json.dumps(summary.as_json(), indent=2, sort_keys=True))
    else:
        _print_summary(_console(), summary)
    if github:
        from evidence_kit.support.github import write_outputs

        archive_path = str(summary.archive.resolve()) if summary.archive else ""
        try:
            write_outputs(
                {"bundle": str(summary.bundle.resolve()), "archive": archive_path, "digest": summary.digest}
            )
        except EvidenceError as exc:
            _fail(exc, EXIT_FAIL)
    raise typer.Exit(EXIT_FAIL if strict and summary.failed else EXIT_OK)


def _print_verdict(console: Console, verdict: Verdict) -> None:
    if verdict.ok:
        console.print(
            f"[green]verified[/] {verdict.bundle}: {verdict.artifacts} artifacts, {verdict.bytes} bytes, "
            f"digest sha256:{verdict.digest}",
            markup=True,
        )
        return
    console.print(f"[red]NOT verified[/] {verdict.bundle}: {len(verdict.problems)} problems", markup=True)
    for problem in verdict.problems:
        console.print(f"  {problem}", markup=False)


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder or .tar.gz archive.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="PUBFILE", help="Also check BUNDLE.dsse.json with this key."),
    ] = None,
) -> None:
    """Prove a bundle complete and untouched: digests, files, manifest schema, BagIt (and a signature)."""
    bundle = bundle.resolve()
    from evidence_kit.bundle.verify import Problem
    from evidence_kit.bundle.verify import verify as run_verify

    try:
        verdict = run_verify(bundle)
        if key is not None:
            from dataclasses import replace

            from evidence_kit.commands.attest import verify_signature

            signature = [Problem("signature", bundle.name, p) for p in verify_signature(bundle, key)]
            verdict = replace(
                verdict, ok=verdict.ok and not signature, problems=verdict.problems + tuple(signature)
            )
    except EvidenceError as exc:
        if as_json:
            print(
                json.dumps({"bundle": bundle.name, "ok": False, "error": exc.message, "details": exc.details})
            )
            raise typer.Exit(EXIT_FAIL) from None
        _fail(exc, EXIT_FAIL)
    if as_json:
        print(json.dumps(verdict.as_json(), indent=2, sort_keys=True))
    else:
        _print_verdict(_console(), verdict)
        if key is not None and verdict.ok:
            _console().print(f"signature verified with {key}", markup=False)
    raise typer.Exit(EXIT_OK if verdict.ok else EXIT_FAIL)


@app.command()
def pack(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder.")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Archive path (default: BUNDLE.tar.gz).")
    ] = None,
) -> None:
    """Write a bundle as a deterministic .tar.gz (sorted, fixed owner/mode/mtime)."""
    bundle = bundle.resolve()
    from evidence_kit.bundle.archive import pack as run_pack
    from evidence_kit.bundle.verify import verify_dir

    try:
        verdict = verify_dir(bundle) if bundle.is_dir() else None
        if verdict is None:
            raise EvidenceError(
                f"{bundle} is not a bundle folder", hint="pass the folder `evidence collect` wrote"
            )
        if not verdict.ok:
            raise EvidenceError(
                f"{bundle} does not verify; refusing to pack it",
                hint="run `evidence verify` to see what changed",
                details=[str(p) for p in verdict.problems],
            )
        from datetime import datetime

        created = datetime.fromisoformat(str(verdict.manifest["created"]).replace("Z", "+00:00"))
        dest = run_pack(bundle, out or bundle.with_name(bundle.name + ".tar.gz"), int(created.timestamp()))
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL if "verify" in exc.message else EXIT_USAGE)
    print(dest)


@app.command()
def check(
    path: Annotated[Path | None, typer.Argument(metavar="PATH", help="Source root (default: .).")] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", metavar="BUNDLE", help="Bundle folder or archive.")
    ] = None,
    rules: Annotated[
        list[str] | None, typer.Option("--rules", metavar="PACK", help="Rule pack name or file (repeatable).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, json, sarif, junit, github or markdown.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", metavar="FILE", help="Write the report here.")
    ] = None,
    fail_on: Annotated[
        str, typer.Option("--fail-on", metavar="LEVEL", help="error, warning, note or never.")
    ] = "error",
    config: Annotated[
        Path,
        typer.Option("--config", "-c", metavar="FILE", help="Config naming the default packs, if present."),
    ] = Path("evidence.yaml"),
    sarif: Annotated[
        Path | None, typer.Option("--sarif", metavar="FILE", help="Also write the SARIF report here.")
    ] = None,
    github_summary: Annotated[
        bool,
        typer.Option("--github-summary", help="In GitHub Actions: job summary and output check-result."),
    ] = False,
) -> None:
    """Enforce phase gates and the forbidden-vocabulary policy on source and/or a bundle."""
    from contextlib import nullcontext

    from evidence_kit.bundle.archive import opened
    from evidence_kit.export import FORMATS
    from evidence_kit.policy import engine
    from evidence_kit.policy import loader as policy
    from evidence_kit.policy.target import Target

    if fmt not in FORMATS:
        _fail(EvidenceError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}"), EXIT_USAGE)
    if fail_on not in ("error", "warning", "note", "never"):
        _fail(
            EvidenceError(f"unknown --fail-on level {fail_on!r}", hint="use error, warning, note or never"),
            EXIT_USAGE,
        )
    try:
        packs = list(rules or [])
        if not packs and config.is_file():
            from evidence_kit import config as cfg

            packs = list(cfg.load(config).rules)
        loaded = policy.load(packs or ["default"], base=Path.cwd())
        root = path or Path(".") if path or bundle is None else None
        if root is not None and not root.is_dir():
            raise EvidenceError(f"{root} is not a folder", hint="pass the service's source root")
        with opened(bundle) if bundle else nullcontext(None) as unpacked:
            manifest: dict[str, Any] = {}
            if unpacked is not None:
                from evidence_kit.bundle.verify import Problem, read_manifest

                invalid: list[Problem] = []
                manifest = read_manifest(unpacked, invalid)
                if invalid:
                    raise EvidenceError(
                        f"{bundle} has no valid manifest; its gates cannot be read",
                        hint="run `evidence verify` on it",
                        details=[str(p) for p in invalid],
                    )
            target = Target(root=root.resolve() if root else None, bundle=unpacked, manifest=manifest)
            report = engine.run(loaded, target)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)
    except (ValueError, OSError) as exc:
        _fail(EvidenceError(f"cannot read the bundle: {exc}", hint="run `evidence verify` on it"), EXIT_USAGE)
    rendered = FORMATS[fmt](report)
    if output:
        _write(output, rendered)
        _console(stderr=True).print(report.summary(), markup=False)
    else:
        sys.stdout.write(rendered)
    failed = report.fails(fail_on)
    if sarif:
        _write(sarif, FORMATS["sarif"](report))
    if github_summary:
        from evidence_kit.support.github import append_summary, write_outputs

        try:
            append_summary(FORMATS["markdown"](report))
            write_outputs({"check-result": "fail" if failed else "pass"})
        except EvidenceError as exc:
            _fail(exc, EXIT_FAIL)
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The earlier bundle (folder or archive).")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The later bundle (folder or archive).")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text, markdown or json.")] = "text",
    fail_on: Annotated[
        str, typer.Option("--fail-on", metavar="LEVEL", help="breaking, any or never (default breaking).")
    ] = "breaking",
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Diff even when a bundle does not verify (warned).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", metavar="FILE", help="Write the diff here.")
    ] = None,
) -> None:
    """Show what changed between two bundles, by meaning: migrations, schema, routes, tests."""
    old, new = old.resolve(), new.resolve()
    from evidence_kit.diff import FAIL_ON, DiffReport, render
    from evidence_kit.diff import diff as run_diff

    def as_json(report: DiffReport) -> str:
        return json.dumps(render.as_json(report), indent=2, sort_keys=True) + "\n"

    renderers: dict[str, Callable[[DiffReport], str]] = {
        "text": render.text,
        "markdown": render.markdown,
        "json": as_json,
    }
    if fmt not in renderers:
        _fail(EvidenceError(f"unknown format {fmt!r}", hint="use text, markdown or json"), EXIT_USAGE)
    if fail_on not in FAIL_ON:
        _fail(
            EvidenceError(f"unknown --fail-on level {fail_on!r}", hint="use breaking, any or never"),
            EXIT_USAGE,
        )
    try:
        report = run_diff(old, new, verify=not no_verify)
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL)
    rendered = renderers[fmt](report)
    if output:
        _write(output, rendered)
    else:
        sys.stdout.write(rendered)
    raise typer.Exit(report.exit_code(fail_on))


@app.command()
def report(
    bundle: Annotated[Path | None, typer.Argument(metavar="BUNDLE", help="Bundle folder or archive.")] = None,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder for the report files.")] = Path(
        "evidence-report"
    ),
    templates: Annotated[
        Path | None, typer.Option("--templates", metavar="DIR", help="Templates overriding the shipped ones.")
    ] = None,
    check_json: Annotated[
        Path | None, typer.Option("--check", metavar="FILE", help="`evidence check --format json` output.")
    ] = None,
    diff_pair: Annotated[
        tuple[Path, Path] | None, typer.Option("--diff", metavar="OLD NEW", help="Render a diff instead.")
    ] = None,
) -> None:
    """Render a bundle (or a diff of two) as a readable evidence pack: report.md and report.html."""
    bundle = bundle.resolve() if bundle is not None else None
    from evidence_kit.report import render as pages

    try:
        if diff_pair is not None:
            from evidence_kit.diff import diff as run_diff
            from evidence_kit.diff import render

            written = pages.render_diff(render.as_json(run_diff(*diff_pair)), out, templates)
        elif bundle is None:
            raise EvidenceError("give a BUNDLE, or --diff OLD NEW", hint="see `evidence report --help`")
        else:
            checked = json.loads(check_json.read_text("utf-8")) if check_json else None
            written = pages.render(bundle, out, templates, checked)
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL if "verif" in exc.message else EXIT_USAGE)
    except (OSError, ValueError) as exc:
        _fail(
            EvidenceError(f"cannot read {check_json}: {exc}", hint="pass the JSON of `evidence check`"),
            EXIT_USAGE,
        )
    for path in written:
        print(path)


@app.command()
def docs(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder or archive.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder for the documents.")] = Path(
        "phase-docs"
    ),
    templates: Annotated[
        Path | None, typer.Option("--templates", metavar="DIR", help="Templates overriding the shipped ones.")
    ] = None,
) -> None:
    """Pre-fill the phase documents (overview, endpoints, migration and rollback guides) from a bundle."""
    from evidence_kit.commands.docs import render_docs

    try:
        for path in render_docs(bundle.resolve(), out, templates):
            print(path)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)


@app.command()
def merge(
    parts: Annotated[
        list[Path], typer.Argument(metavar="PART...", help="Part bundles (folders or archives).")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder that receives the merged bundle.")
    ],
    service: Annotated[
        str | None, typer.Option("--service", help="Service name, when parts disagree.")
    ] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="Phase label, when parts disagree.")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", metavar="NAME", help="Name of each part, in order (repeatable)."),
    ] = None,
) -> None:
    """Merge the bundles of parallel CI jobs into one verified bundle."""
    from evidence_kit.commands.merge import merge as run_merge

    try:
        merged = run_merge(parts, out, service=service, phase=phase, labels=label or None)
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL if "verif" in str(exc) else EXIT_USAGE)
    print(merged)


@app.command()
def attest(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder.")],
    archive: Annotated[
        Path | None, typer.Option("--archive", metavar="FILE", help="The bundle's archive.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here instead of stdout.")
    ] = None,
    predicate_only: Annotated[
        bool, typer.Option("--predicate-only", help="Only the predicate (for cosign or actions/attest).")
    ] = False,
    check_json: Annotated[
        Path | None, typer.Option("--check", metavar="FILE", help="`evidence check --format json` output.")
    ] = None,
) -> None:
    """Write an in-toto Statement v1 about a bundle (subjects: its archive and manifest)."""
    bundle = bundle.resolve()
    from evidence_kit.commands import attest as statements

    try:
        checked = json.loads(check_json.read_text("utf-8")) if check_json else None
        make = statements.predicate_only if predicate_only else statements.statement
        text = json.dumps(make(bundle, archive, checked), indent=2, sort_keys=True) + "\n"
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL)
    except (OSError, ValueError) as exc:
        _fail(
            EvidenceError(f"cannot read {check_json}: {exc}", hint="pass the JSON of `evidence check`"),
            EXIT_USAGE,
        )
    if out:
        _write(out, text)
        print(out)
    else:
        sys.stdout.write(text)


@app.command()
def sign(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder or archive.")],
    key: Annotated[
        Path, typer.Option("--key", metavar="FILE", help="Ed25519 private key (evidence keygen).")
    ],
    archive: Annotated[
        Path | None, typer.Option("--archive", metavar="FILE", help="The bundle's archive.")
    ] = None,
) -> None:
    """Sign a bundle's statement as a DSSE envelope, written beside it as BUNDLE.dsse.json."""
    bundle = bundle.resolve()
    from evidence_kit.commands.attest import sign as run_sign

    try:
        print(run_sign(bundle, key, archive))
    except EvidenceError as exc:
        _fail(exc, EXIT_FAIL)


@app.command()
def keygen(
    out: Annotated[
        Path, typer.Option("--out", metavar="PATH", help="Private key path; PATH.pub is the public key.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing key files.")] = False,
) -> None:
    """Write an Ed25519 key pair for `evidence sign` (private key mode 600)."""
    from evidence_kit.commands.attest import keygen as run_keygen

    try:
        for path in run_keygen(out, force=force):
            print(path)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The service's repository (default: .).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Detect a service's Alembic, app, tests, workers and workflows; write evidence.yaml, rules, workflow."""
    from evidence_kit.commands import init as setup

    try:
        found = setup.detect(path)
        for line in setup.report(found):
            print(line)
        written = setup.write(path, found, force=force)
    except EvidenceError as exc:
        _fail(exc, EXIT_USAGE)
    for target in setup.targets(path):
        print(f"wrote {target}" if target in written else f"skipped {target} (exists; --force overwrites)")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(EXIT_FAIL)
