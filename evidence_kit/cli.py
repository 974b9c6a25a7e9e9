"""The `evidence` command line: parse the arguments, call the command, print through rich, exit with its code.

Each command is `run(printer, ...)` in `evidence_kit/commands/<name>.py`, imported only when it runs, so
`evidence --help` loads none of them; `RichPrinter` is the commands' Printer on the terminal.
"""

# NOTE: no `from __future__ import annotations` here: typer would then evaluate every command's
# annotations from strings when building the help, which costs more than the rest of start-up.
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from evidence_kit import __version__
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, EvidenceError

if TYPE_CHECKING:
    from rich.console import Console

    from evidence_kit.commands import Printer, Spinner, Style

app = typer.Typer(
    name="evidence",
    help="Collect, verify and compare evidence bundles of a Python service.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

RICH_STYLES: dict[str, str] = {
    "ok": "green",
    "warning": "yellow",
    "error": "bold red",
    "muted": "dim",
    "strong": "bold",
}


class RichPrinter:
    """The commands' Printer: unstyled text goes to the stream exactly as given, styled text through rich
    (coloured on a terminal, plain elsewhere); the status line is rich's spinner."""

    def __init__(self) -> None:
        self._consoles: dict[bool, Console] = {}

    def _console(self, stderr: bool) -> "Console":
        if stderr not in self._consoles:
            from rich.console import Console

            self._consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._consoles[stderr]

    @property
    def is_terminal(self) -> bool:
        return self._console(stderr=True).is_terminal

    def out(self, text: str, style: "Style | None" = None, end: str = "\n") -> None:
        self._print(False, text, style, end)

    def err(self, text: str, style: "Style | None" = None, end: str = "\n") -> None:
        self._print(True, text, style, end)

    def status(self, text: str) -> "AbstractContextManager[Spinner]":
        return self._console(stderr=True).status(text)

    def _print(self, stderr: bool, text: str, style: "Style | None", end: str) -> None:
        from evidence_kit.redact.scrub import scrub

        text = scrub(text)
        if style is None:
            (sys.stderr if stderr else sys.stdout).write(text + end)
        else:
            self._console(stderr).print(text, style=RICH_STYLES[style], end=end, markup=False)


def _run(command: "Callable[[Printer], int]") -> NoReturn:
    """Call a command with the rich printer; an EvidenceError is printed and exits with its code."""
    printer = RichPrinter()
    try:
        code = command(printer)
    except EvidenceError as exc:
        from evidence_kit.commands import show_error

        show_error(printer, exc)
        code = EXIT_USAGE if exc.exit_code is None else exc.exit_code
    raise typer.Exit(code)


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
    show_plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Print what would run, in which order, with which interpreter and database; run nothing.",
        ),
    ] = False,
) -> None:
    """Run the configured collectors and write one checksummed bundle."""
    from evidence_kit.commands import collect as command

    _run(
        lambda printer: command.run(
            printer,
            config,
            only=only or (),
            skip=skip or (),
            out=out,
            archive=archive,
            as_json=as_json,
            strict=strict,
            phase=phase,
            github=github,
            plan=show_plan,
        )
    )


@app.command()
def verify(
    bundle: Annotated[
        str, typer.Argument(metavar="BUNDLE", help="Bundle folder, .tar.gz archive or oci:// reference.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="PUBFILE", help="Also check BUNDLE.dsse.json with this key."),
    ] = None,
) -> None:
    """Prove a bundle complete and untouched: digests, files, manifest schema, BagIt (and a signature)."""
    from evidence_kit.commands import verify as command

    _run(lambda printer: command.run(printer, bundle, as_json=as_json, key=key))


@app.command()
def pack(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder.")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Archive path (default: BUNDLE.tar.gz).")
    ] = None,
) -> None:
    """Write a bundle as a deterministic .tar.gz (sorted, fixed owner/mode/mtime)."""
    from evidence_kit.commands import pack as command

    _run(lambda printer: command.run(printer, bundle, out=out))


@app.command()
def check(
    path: Annotated[Path | None, typer.Argument(metavar="PATH", help="Source root (default: .).")] = None,
    bundle: Annotated[
        str | None,
        typer.Option("--bundle", metavar="BUNDLE", help="Bundle folder, archive or oci:// reference."),
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
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="The service's evidence.yaml: default packs and Alembic configurations (default: "
            "PATH/evidence.yaml, else, in a repository, every evidence.yaml below PATH).",
        ),
    ] = None,
    sarif: Annotated[
        Path | None, typer.Option("--sarif", metavar="FILE", help="Also write the SARIF report here.")
    ] = None,
    github_summary: Annotated[
        bool,
        typer.Option("--github-summary", help="In GitHub Actions: job summary and output check-result."),
    ] = False,
) -> None:
    """Enforce phase gates and the forbidden-vocabulary policy on source (and a bundle, when given)."""
    from evidence_kit.commands import check as command

    _run(
        lambda printer: command.run(
            printer,
            path,
            bundle=bundle,
            rules=rules or (),
            fmt=fmt,
            output=output,
            fail_on=fail_on,
            config=config,
            sarif=sarif,
            github_summary=github_summary,
        )
    )


@app.command()
def diff(
    old: Annotated[
        str, typer.Argument(metavar="OLD", help="The earlier bundle (folder, archive or oci:// reference).")
    ],
    new: Annotated[
        str, typer.Argument(metavar="NEW", help="The later bundle (folder, archive or oci:// reference).")
    ],
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
    from evidence_kit.commands import diff as command

    _run(
        lambda printer: command.run(
            printer, old, new, fmt=fmt, fail_on=fail_on, no_verify=no_verify, output=output
        )
    )


@app.command()
def report(
    bundle: Annotated[
        str | None, typer.Argument(metavar="BUNDLE", help="Bundle folder, archive or oci:// reference.")
    ] = None,
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
        tuple[str, str] | None, typer.Option("--diff", metavar="OLD NEW", help="Render a diff instead.")
    ] = None,
) -> None:
    """Render a bundle as a readable evidence pack (report.md and report.html), or a diff of two (diff.md and
    diff.html)."""
    from evidence_kit.commands import report as command

    _run(
        lambda printer: command.run(
            printer, bundle, out=out, templates=templates, check_json=check_json, diff_pair=diff_pair
        )
    )


@app.command()
def docs(
    bundle: Annotated[
        str, typer.Argument(metavar="BUNDLE", help="Bundle folder, archive or oci:// reference.")
    ],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder for the documents.")] = Path(
        "phase-docs"
    ),
    templates: Annotated[
        Path | None, typer.Option("--templates", metavar="DIR", help="Templates overriding the shipped ones.")
    ] = None,
) -> None:
    """Pre-fill the phase documents (overview, endpoints, migration and rollback guides) from a bundle."""
    from evidence_kit.commands import docs as command

    _run(lambda printer: command.run(printer, bundle, out=out, templates=templates))


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
    from evidence_kit.commands import merge as command

    _run(lambda printer: command.run(printer, parts, out=out, service=service, phase=phase, labels=label))


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
    from evidence_kit.commands import attest as command

    _run(
        lambda printer: command.run(
            printer,
            bundle,
            archive=archive,
            out=out,
            only_predicate=predicate_only,
            check_json=check_json,
        )
    )


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
    from evidence_kit.commands import sign as command

    _run(lambda printer: command.run(printer, bundle, key=key, archive=archive))


@app.command()
def keygen(
    out: Annotated[
        Path, typer.Option("--out", metavar="PATH", help="Private key path; PATH.pub is the public key.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing key files.")] = False,
) -> None:
    """Write an Ed25519 key pair for `evidence sign` (private key mode 600)."""
    from evidence_kit.commands import keygen as command

    _run(lambda printer: command.run(printer, out, force=force))


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The service's repository (default: .).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Detect a service's Alembic, app, tests, workers and workflows; write evidence.yaml, rules, workflow."""
    from evidence_kit.commands import init as command

    _run(lambda printer: command.run(printer, path, force=force))


_INSECURE = typer.Option("--insecure", help="Allow plain HTTP to a registry not on this machine.")


@app.command()
def push(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Bundle folder or .tar.gz archive.")],
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="oci://REGISTRY/REPOSITORY[:TAG] to push to.")
    ],
    signature: Annotated[
        Path | None,
        typer.Option(
            "--signature", metavar="FILE", help="DSSE envelope to attach (default: BUNDLE.dsse.json)."
        ),
    ] = None,
    attestation: Annotated[
        list[Path] | None,
        typer.Option(
            "--attestation", metavar="FILE", help="`evidence attest` statement to attach (repeatable)."
        ),
    ] = None,
    insecure: Annotated[bool, _INSECURE] = False,
    github: Annotated[
        bool, typer.Option("--github", help="In GitHub Actions: write outputs reference, digest, tags.")
    ] = False,
) -> None:
    """Push a bundle that verifies to an OCI registry, its signature and statements as referrers."""
    from evidence_kit.commands import push as command

    _run(
        lambda printer: command.run(
            printer,
            bundle,
            reference,
            signature=signature,
            attestations=attestation or (),
            insecure=insecure,
            github=github,
        )
    )


@app.command()
def pull(
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST.")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder that receives the bundle.")
    ] = Path("."),
    insecure: Annotated[bool, _INSECURE] = False,
) -> None:
    """Pull a bundle from an OCI registry; digests, bundle and signatures are checked before it is written."""
    from evidence_kit.commands import pull as command

    _run(lambda printer: command.run(printer, reference, out, insecure=insecure))


@app.command("list")
def list_bundles(
    reference: Annotated[
        str, typer.Argument(metavar="REFERENCE", help="oci://REGISTRY/REPOSITORY (or one :TAG).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the history as JSON.")] = False,
    insecure: Annotated[bool, _INSECURE] = False,
) -> None:
    """List the bundles in a repository: tags, digest, service, phase, commit, time, signed."""
    from evidence_kit.commands import list as command

    _run(lambda printer: command.run(printer, reference, as_json=as_json, insecure=insecure))


cache_app = typer.Typer(
    help="The cache of bundles pulled for oci:// references.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(cache_app, name="cache")


@cache_app.command("prune")
def cache_prune() -> None:
    """Remove every cached bundle."""
    from evidence_kit.commands import cache as command

    _run(command.prune)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(EXIT_FAIL)
