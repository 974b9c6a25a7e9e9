"""Plain data of a diff: one change, one section per kind of evidence, the whole report."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Classification = Literal["breaking", "risky", "safe", "info"]
CLASSIFICATIONS: tuple[Classification, ...] = ("breaking", "risky", "safe", "info")
FailOn = Literal["breaking", "any", "never"]
FAIL_ON: tuple[FailOn, ...] = ("breaking", "any", "never")


def fingerprint(kind: str, what: str) -> str:
    """A short stable id of a change: the first 16 hex digits of sha256 over its kind and subject."""
    return hashlib.sha256(f"{kind}\0{what}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Change:
    """One difference between two bundles, with how much it matters to the people who review it."""

    kind: str
    what: str
    before: str | None
    after: str | None
    classification: Classification
    fingerprint: str
    detail: str = ""


def change(
    kind: str,
    what: str,
    classification: Classification,
    before: str | None = None,
    after: str | None = None,
    detail: str = "",
) -> Change:
    """A Change with its fingerprint filled in."""
    return Change(kind, what, before, after, classification, fingerprint(kind, what), detail)


class Changes:
    """Collects the changes one differ finds, all of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.found: list[Change] = []

    def add(
        self,
        what: str,
        classification: Classification,
        before: str | None = None,
        after: str | None = None,
        detail: str = "",
    ) -> None:
        """Record one change, fingerprinted."""
        self.found.append(change(self.kind, what, classification, before, after, detail))


def tally(changes: Iterable[Change]) -> dict[Classification, int]:
    """How many changes of each classification, every classification present."""
    counts: dict[Classification, int] = dict.fromkeys(CLASSIFICATIONS, 0)
    for c in changes:
        counts[c.classification] += 1
    return counts


def rank(classification: Classification) -> int:
    """0 for breaking up to 3 for info: the order changes are shown in."""
    return CLASSIFICATIONS.index(classification)


@dataclass(frozen=True)
class Section:
    """The changes of one kind of evidence (schema, routes, tests, ...), most severe first."""

    kind: str
    title: str
    changes: tuple[Change, ...]
    summary: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[Classification, int]:
        """Changes per classification."""
        return tally(self.changes)


def section(
    kind: str, title: str, changes: Iterable[Change], summary: str, facts: Mapping[str, Any] | None = None
) -> Section:
    """A Section with its changes ordered by severity, keeping each differ's order within one severity."""
    ordered = sorted(changes, key=lambda c: rank(c.classification))
    return Section(kind, title, tuple(ordered), summary, dict(facts or {}))


@dataclass(frozen=True)
class BundleInfo:
    """Which bundle one side of the diff is, and whether it verified."""

    label: str
    bundle: str
    service: str | None
    phase: str | None
    git_sha: str | None
    created: str | None
    digest: str | None
    verified: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffReport:
    """Everything `evidence diff OLD NEW` found, section by section."""

    old: BundleInfo
    new: BundleInfo
    sections: tuple[Section, ...]
    warnings: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change of every section."""
        return tuple(c for s in self.sections for c in s.changes)

    @property
    def counts(self) -> dict[Classification, int]:
        """Changes per classification over the whole report."""
        return tally(self.changes)

    def exit_code(self, fail_on: FailOn = "breaking") -> int:
        """1 when `fail_on` is met (`breaking`: a breaking change; `any`: any change at all), else 0."""
        if fail_on == "never":
            return 0
        if fail_on == "any":
            return 1 if self.changes else 0
        if fail_on == "breaking":
            return 1 if self.counts["breaking"] else 0
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 table`, `3 tables`."""
    return f"{n} {word if n == 1 else many or word + 's'}"
