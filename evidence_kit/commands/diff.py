"""`evidence diff`: what changed between two bundles, by meaning, and whether it is enough to fail."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from evidence_kit.commands import Printer, exiting, write_file
from evidence_kit.diff import FAIL_ON, DiffReport, diff, render
from evidence_kit.errors import EXIT_FAIL, EvidenceError
from evidence_kit.oci.resolve import local_path


def _json(report: DiffReport) -> str:
    return json.dumps(render.as_json(report), indent=2, sort_keys=True) + "\n"


RENDERERS: dict[str, Callable[[DiffReport], str]] = {
    "text": render.text,
    "markdown": render.markdown,
    "json": _json,
}


def run(
    printer: Printer,
    old: str | Path,
    new: str | Path,
    *,
    fmt: str = "text",
    fail_on: str = "breaking",
    no_verify: bool = False,
    output: Path | None = None,
) -> int:
    """Diff OLD with NEW (both verified first unless `no_verify`); print or write the diff; exit 1 when
    `fail_on` is met."""
    if fmt not in RENDERERS:
        raise EvidenceError(f"unknown format {fmt!r}", hint="use text, markdown or json")
    if fail_on not in FAIL_ON:
        raise EvidenceError(f"unknown --fail-on level {fail_on!r}", hint="use breaking, any or never")
    with exiting(EXIT_FAIL):
        report = diff(local_path(old).resolve(), local_path(new).resolve(), verify=not no_verify)
    rendered = RENDERERS[fmt](report)
    if output:
        write_file(output, rendered)
    else:
        printer.out(rendered, end="")
    return report.exit_code(fail_on)
