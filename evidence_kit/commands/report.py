"""`evidence report`: a bundle (or the diff of two) as a readable evidence pack, report.md and report.html."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evidence_kit.commands import Printer, read_check_report
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError
from evidence_kit.oci.resolve import local_path
from evidence_kit.report import render as pages


def run(
    printer: Printer,
    bundle: str | Path | None = None,
    *,
    out: Path = Path("evidence-report"),
    templates: Path | None = None,
    check_json: Path | None = None,
    diff_pair: tuple[str | Path, str | Path] | None = None,
) -> int:
    """Render BUNDLE (with the check results) or the diff of `diff_pair` into `out`; print the files.

    A new `out` inside a git work tree ignores itself, as bundles do, so that rendering a report in
    the service's folder does not dirty the tree the next collect records.
    """
    from evidence_kit.support.tree import keep_new_folder_out_of_git

    fresh = not out.exists()
    written = _render(bundle, out, templates, check_json, diff_pair)
    ignore = keep_new_folder_out_of_git(out, "reports") if fresh else None
    for path in written:
        printer.out(str(path))
    if ignore is not None:
        printer.err(f"wrote {ignore}: the new report folder stays out of git (remove that file to commit it)")
    return EXIT_OK


def _render(
    bundle: str | Path | None,
    out: Path,
    templates: Path | None,
    check_json: Path | None,
    diff_pair: tuple[str | Path, str | Path] | None,
) -> tuple[Path, ...]:
    if diff_pair is not None:
        from evidence_kit.diff import diff, render

        with _unreadable(), _unverified_fails():
            written = pages.render_diff(
                render.as_json(diff(local_path(diff_pair[0]), local_path(diff_pair[1]))), out, templates
            )
    elif bundle is None:
        raise EvidenceError("give a BUNDLE, or --diff OLD NEW", hint="see `evidence report --help`")
    else:
        checked = read_check_report(check_json) if check_json else None
        with _unreadable(), _unverified_fails():
            written = pages.render(local_path(bundle).resolve(), out, templates, checked)
    return tuple(written)


@contextmanager
def _unverified_fails() -> Iterator[None]:
    # NOTE: the diff and the report raise plain EvidenceErrors; the ones about verification (a bundle that
    # does not verify, an --out that would make it fail) exit 1 as they always have, the others 2.
    try:
        yield
    except EvidenceError as exc:
        if exc.exit_code is None and "verif" in exc.message:
            exc.exit_code = EXIT_FAIL
        raise


@contextmanager
def _unreadable() -> Iterator[None]:
    try:
        yield
    except (OSError, ValueError) as exc:
        raise EvidenceError(
            f"cannot render the report: {exc}", hint="check the bundle, --templates and --out"
        ) from exc
