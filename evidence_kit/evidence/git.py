"""Git evidence: HEAD, working-tree status, log, diff and the range against a base."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below, items, mapping

FOLDER = "git"
HEAD = "head.json"
STATUS_TEXT = "status.txt"
STATUS = "status.json"
LOG_TEXT = "log.txt"
LOG = "log.json"
DIFF = "diff.patch"
RANGE = "range.json"
RANGE_PATCH = "range.patch"
RANGE_LOG = "range_log.txt"
REQUIRED = (f"{FOLDER}/{HEAD}",)


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class GitEvidence:
    """What the git collector recorded; documents are None when the bundle lacks them."""

    head: dict[str, Any] | None
    status: dict[str, Any] | None
    status_text: str | None
    log: list[dict[str, Any]] | None
    log_text: str | None
    diff_size: int | None
    diff_digest: str | None
    range: dict[str, Any] | None

    @property
    def present(self) -> bool:
        """True when the bundle holds git evidence at all."""
        return self.head is not None or self.status is not None or self.status_text is not None

    @property
    def sha(self) -> str | None:
        """The commit at HEAD."""
        return str(self.head["sha"]) if self.head and self.head.get("sha") else None

    @property
    def dirty(self) -> bool | None:
        """True when the working tree differed from HEAD (None when unknown)."""
        if self.head is None or "dirty" not in self.head:
            return None
        return bool(self.head["dirty"])

    @property
    def changed_files(self) -> list[dict[str, Any]]:
        """Every entry of `git status` (modified, added, deleted, untracked...), as recorded."""
        status = self.status or {}
        return [mapping(e) for e in items(status.get("entries") or status.get("files"))]


def _log(view: BundleView) -> list[dict[str, Any]] | None:
    raw = view.json(path(LOG))
    if isinstance(raw, dict):
        raw = raw.get("commits")
    return [mapping(c) for c in raw] if isinstance(raw, list) else None


def read(view: BundleView) -> GitEvidence:
    """The git evidence of a bundle."""
    head = view.json(path(HEAD))
    status = view.json(path(STATUS))
    rng = view.json(path(RANGE))
    diff_rec = view.records.get(path(DIFF))
    return GitEvidence(
        head=head if isinstance(head, dict) else None,
        status=status if isinstance(status, dict) else None,
        status_text=view.text(path(STATUS_TEXT)),
        log=_log(view),
        log_text=view.text(path(LOG_TEXT)),
        diff_size=int(diff_rec.get("size") or 0) if diff_rec is not None else None,
        diff_digest=view.digest(path(DIFF)) if diff_rec is not None else None,
        range=rng if isinstance(rng, dict) else None,
    )
