"""The `evidence` commands, one module each: `commands/<name>.py` has `run(printer, ...)` -> exit code.

A command takes plain arguments (paths, flags, option values) and a `Printer`, does its work through the
core, prints through the printer and returns its exit code (`evidence_kit.errors`); a problem the user can
fix is raised as an EvidenceError, which the CLI prints with `show_error` and turns into its exit code.
Nothing here knows about typer or rich: `evidence_kit.cli` parses the command line and implements the
printer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from evidence_kit.bundle.atomic import write_pages
from evidence_kit.errors import EvidenceError

Style = Literal["ok", "warning", "error", "muted", "strong"]
"""What a piece of output means; a printer may colour it (on a terminal) or ignore it."""


class Spinner(Protocol):
    """A status line that stays while work runs (on a terminal, a spinner beside it)."""

    def update(self, text: str, /) -> None:
        """Replace the status line's text."""


class Printer(Protocol):
    """Where a command's output goes: standard output for results, standard error for everything else."""

    @property
    def is_terminal(self) -> bool:
        """Whether `err` reaches a terminal (a person watching) rather than a log or a pipe."""

    def out(self, text: str, style: Style | None = None, end: str = "\n") -> None:
        """Write `text`, then `end`, to standard output; unstyled text is written exactly as given."""

    def err(self, text: str, style: Style | None = None, end: str = "\n") -> None:
        """Write `text`, then `end`, to standard error; unstyled text is written exactly as given."""

    def status(self, text: str) -> AbstractContextManager[Spinner]:
        """Show a status line on standard error while the `with` block runs."""


@contextmanager
def exiting(code: int) -> Iterator[None]:
    """Inside, an EvidenceError that names no exit code of its own ends the command with `code`."""
    try:
        yield
    except EvidenceError as exc:
        if exc.exit_code is None:
            exc.exit_code = code
        raise


def show_error(printer: Printer, exc: EvidenceError) -> None:
    """Print an error as the user sees it: the message, every detail, then the tip."""
    printer.err("error:", style="error", end=" ")
    printer.err(exc.message)
    for detail in exc.details:
        printer.err(f"  - {detail}")
    if exc.hint:
        printer.err("Tip:", style="strong", end=" ")
        printer.err(exc.hint)


def write_file(path: Path, text: str) -> None:
    """Write a report file whole (never half-written), or raise an EvidenceError naming the path."""
    write_pages(path.parent, {path.name: text}, path.name)


def read_check_report(path: Path) -> Any:
    """The JSON report `evidence check --format json` wrote, or an EvidenceError naming the file."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"cannot read {path}: {exc}", hint="pass the JSON of `evidence check`") from exc
