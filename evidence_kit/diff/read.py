"""One side of a diff: the artifacts of an opened bundle, read by their path below `data/`."""

from __future__ import annotations

from evidence_kit.diff.model import Change, Section, change, section
from evidence_kit.evidence.view import BundleView, items, mapping

__all__ = ["Side", "items", "mapping", "one_sided"]

Side = BundleView


def one_sided(
    kind: str, title: str, old: Side, new: Side, in_old: bool, in_new: bool, collector: str
) -> Section | None:
    """None when neither bundle holds this evidence; a one-change Section when only one does."""
    if not in_old and not in_new:
        return None
    changes: list[Change]
    if in_new:
        changes = [
            change(
                kind, f"{title} evidence appeared", "info", detail=f"old bundle: {old.why_absent(collector)}"
            )
        ]
        summary = f"only the new bundle holds {title.lower()} evidence"
    else:
        changes = [
            change(
                kind,
                f"{title} evidence disappeared",
                "risky",
                detail=f"new bundle: {new.why_absent(collector)}",
            )
        ]
        summary = f"only the old bundle holds {title.lower()} evidence"
    return section(kind, title, changes, summary)
