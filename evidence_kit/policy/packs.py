"""What rule packs turn into: the rules that are on, and waivers with owners and expiry dates.

Reading, validating and merging packs is `evidence_kit.policy.loader`'s; this module knows nothing of
the checks, so the checks can use its types.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from evidence_kit.model import Severity


@dataclass(frozen=True)
class Rule:
    """A check as a policy switches it on and tunes it."""

    check: str
    severity: Severity
    options: Mapping[str, Any] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waiver:
    """A finding accepted for now: by path glob or fingerprint, with an owner, reason and expiry."""

    check: str
    owner: str
    reason: str
    expires: date
    source: str
    path: str | None = None
    fingerprint: str | None = None

    def covers(self, check: str, path: str, fingerprint: str) -> bool:
        if check != self.check:
            return False
        if self.fingerprint:
            return fingerprint == self.fingerprint
        return self.path is not None and (path == self.path or fnmatch.fnmatch(path, self.path))

    def expired(self, today: date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class Policy:
    """The merged packs: the rules that are on, and every waiver."""

    packs: tuple[str, ...]
    rules: tuple[Rule, ...]
    waivers: tuple[Waiver, ...] = ()
