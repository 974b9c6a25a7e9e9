"""`evidence push`: a bundle that verifies, with its signature and statements, into an OCI registry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evidence_kit.commands import Printer, exiting
from evidence_kit.errors import EXIT_FAIL, EXIT_OK
from evidence_kit.oci import reference
from evidence_kit.oci.push import push


def run(
    printer: Printer,
    bundle: Path,
    ref: str,
    *,
    signature: Path | None = None,
    attestations: Sequence[Path] = (),
    insecure: bool = False,
    github: bool = False,
) -> int:
    """Push BUNDLE to REF; print its digest reference (written to $GITHUB_OUTPUT too with `github`)."""
    target = reference.parse(ref)
    with exiting(EXIT_FAIL):
        done = push(
            bundle.resolve(),
            target,
            signature=signature,
            statements=attestations,
            insecure=insecure,
            log=lambda line: printer.err(line, style="muted"),
        )
        if github:
            from evidence_kit.support.github import write_outputs

            write_outputs(
                {"reference": str(done.reference), "digest": done.digest, "tags": " ".join(done.tags)}
            )
    printer.out(str(done.reference))
    printer.err(f"tags {', '.join(done.tags)}", style="muted")
    for kind, digest in done.referrers:
        printer.err(f"{kind} {digest}", style="muted")
    sent = (
        f"{done.uploaded} blobs and manifests, {done.uploaded_bytes} bytes"
        if done.uploaded
        else "nothing new"
    )
    printer.err(f"uploaded {sent}", style="muted")
    return EXIT_OK
