"""`evidence list`: the sign-off history of a repository, read from its manifests without the archives."""

from __future__ import annotations

import json

from evidence_kit.commands import Printer, exiting
from evidence_kit.errors import EXIT_FAIL, EXIT_OK
from evidence_kit.oci import reference
from evidence_kit.oci.history import history
from evidence_kit.support.table import render


def run(printer: Printer, ref: str, *, as_json: bool = False, insecure: bool = False) -> int:
    """Print every bundle in the repository (or the one tag REF names), oldest first."""
    repo = reference.parse(ref)
    with exiting(EXIT_FAIL):
        found = history(repo, insecure=insecure)
    if as_json:
        printer.out(json.dumps(found.as_json(), indent=2, sort_keys=True))
        return EXIT_OK
    rows = [
        [
            row.created,
            ", ".join(row.tags),
            row.digest[:19],
            row.service,
            row.phase,
            row.commit[:12],
            "yes" if row.signed else "no",
            row.statements,
        ]
        for row in found.rows
    ]
    columns = ["created", "tags", "digest", "service", "phase", "commit", "signed", "statements"]
    printer.out(render(columns, rows), end="")
    if found.other:
        printer.err(f"{len(found.other)} other tags are not evidence bundles: {', '.join(found.other)}")
    return EXIT_OK
