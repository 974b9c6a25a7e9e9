"""Run the checks a policy switches on over a source tree and/or a bundle; apply suppressions and waivers."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from evidence_kit.model import SEVERITIES, Finding, Severity
from evidence_kit.policy import Policy, Rule

SUPPRESSION = "EK001"
EXPIRED_WAIVER = "EK002"
ENGINE_CHECKS = {
    SUPPRESSION: "An inline `# evidence: allow[EKnnn]` must give a reason after the bracket.",
    EXPIRED_WAIVER: "A waiver past its `expires` date no longer waives anything and fails itself.",
}
_ALLOW = re.compile(r"#\s*evidence:\s*allow\[(?P<ids>EK\d{3}(?:\s*,\s*EK\d{3})*)\]\s*(?P<reason>.*)$")
_VENDORED = ("node_modules", ".venv", "venv", "site-packages", "vendor", ".git", "__pycache__", ".evidence")
Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Target:
    """What the checks look at: a source tree, an (unpacked) bundle, or both."""

    root: Path | None = None
    bundle: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    def files(self, rule: Rule, default: tuple[str, ...]) -> list[Path]:
        """Files of the source tree in the rule's scope (its include globs, else `default`)."""
        if self.root is None:
            return []
        include = rule.include or default
        found: set[Path] = set()
        for pattern in include:
            for path in self.root.glob(pattern):
                rel = path.relative_to(self.root)
                if path.is_file() and not any(part in _VENDORED for part in rel.parts[:-1]):
                    found.add(path)
        return sorted(p for p in found if not _excluded(self.rel(p), rule.exclude))

    def rel(self, path: Path) -> str:
        """A path as findings show it: relative to the source tree."""
        assert self.root is not None
        return path.relative_to(self.root).as_posix()

    def artifact(self, name: str) -> Path | None:
        """A bundle artifact by `<collector>/<name>`, when the bundle has it."""
        if self.bundle is None:
            return None
        path = self.bundle / "data" / name
        return path if path.is_file() else None

    def json(self, name: str) -> Any:
        """A JSON artifact, parsed; None when absent."""
        path = self.artifact(name)
        return None if path is None else json.loads(path.read_bytes())


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(
        fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("*").rstrip("/") + "/") for p in patterns if p
    )


def missing(check: str, artifact: str, collector: str) -> Finding:
    """The finding of a gate whose evidence is not in the bundle: never a pass by default."""
    return Finding(
        check,
        f"no evidence: data/{artifact} is not in the bundle (configure and run the `{collector}` collector)",
        path=f"data/{artifact}",
    )


@dataclass(frozen=True)
class Outcome:
    """One check's result."""

    check: str
    name: str
    severity: Severity
    status: Status
    findings: tuple[Finding, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Report:
    """Every check's outcome and every finding, waived ones included."""

    outcomes: tuple[Outcome, ...]
    packs: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    def counts(self) -> dict[str, int]:
        live = [f for f in self.findings if not f.waived]
        return {
            "checks": len([o for o in self.outcomes if o.status != "skipped"]),
            "passed": len([o for o in self.outcomes if o.status == "passed"]),
            "failed": len([o for o in self.outcomes if o.status == "failed"]),
            "skipped": len([o for o in self.outcomes if o.status == "skipped"]),
            "errors": len([f for f in live if f.severity == "error"]),
            "warnings": len([f for f in live if f.severity == "warning"]),
            "notes": len([f for f in live if f.severity == "note"]),
            "waived": len([f for f in self.findings if f.waived]),
        }

    def summary(self) -> str:
        c = self.counts()
        return (
            f"{c['checks']} checks, {c['passed']} passed, {c['failed']} failed, "
            f"{c['warnings']} warnings, {c['waived']} waived"
        )

    def fails(self, level: str) -> bool:
        """True when an unwaived finding is at or above `level` (error > warning > note; never)."""
        if level == "never":
            return False
        worst = SEVERITIES.index(level)
        return any(not f.waived and SEVERITIES.index(f.severity) <= worst for f in self.findings)


def fingerprint(finding: Finding) -> str:
    """Stable across line moves: check id, path and the normalized snippet (or message)."""
    basis = " ".join((finding.snippet or finding.message).split())
    return hashlib.sha256(f"{finding.check}\0{finding.path}\0{basis}".encode()).hexdigest()[:16]


def _inline(target: Target, finding: Finding) -> tuple[str | None, Finding | None]:
    """(reason, problem): an `allow[...]` comment on the line or the line above."""
    if target.root is None or not finding.line or not finding.path:
        return None, None
    path = target.root / finding.path
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return None, None
    for n in (finding.line, finding.line - 1):
        if not 1 <= n <= len(lines):
            continue
        match = _ALLOW.search(lines[n - 1])
        if match and finding.check in re.split(r"\s*,\s*", match["ids"]):
            reason = match["reason"].strip()
            if reason:
                return f"inline: {reason}", None
            return None, Finding(
                SUPPRESSION,
                f"`allow[{match['ids']}]` without a reason does not suppress {finding.check}",
                path=finding.path,
                line=n,
                snippet=lines[n - 1].strip(),
            )
    return None, None


def run(policy: Policy, target: Target, today: date | None = None) -> Report:
    """Run every enabled check that has what it needs; waive, suppress, fingerprint."""
    from evidence_kit.checks import CHECKS

    today = today or date.today()
    outcomes: list[Outcome] = []
    live_waivers = [w for w in policy.waivers if not w.expired(today)]
    engine: list[Finding] = []
    for rule in policy.rules:
        module = CHECKS[rule.check]
        if module.TARGET == "bundle" and target.bundle is None:
            outcomes.append(
                Outcome(rule.check, module.NAME, rule.severity, "skipped", reason="no --bundle given")
            )
            continue
        if module.TARGET == "source" and target.root is None:
            outcomes.append(
                Outcome(rule.check, module.NAME, rule.severity, "skipped", reason="no source path")
            )
            continue
        findings = []
        for raw in module.run(target, rule):
            found = replace(raw, severity=rule.severity)
            found = replace(found, fingerprint=fingerprint(found))
            reason, problem = _inline(target, found)
            if problem is not None:
                engine.append(replace(problem, fingerprint=fingerprint(problem)))
            if reason is None:
                waiver = next(
                    (w for w in live_waivers if w.covers(found.check, found.path, found.fingerprint)), None
                )
                reason = (
                    f"waived by {waiver.owner} until {waiver.expires}: {waiver.reason}" if waiver else None
                )
            findings.append(replace(found, waived=reason))
        failed = any(not f.waived for f in findings)
        outcomes.append(
            Outcome(rule.check, module.NAME, rule.severity, "failed" if failed else "passed", tuple(findings))
        )
    for w in policy.waivers:
        if w.expired(today):
            engine.append(
                Finding(
                    EXPIRED_WAIVER,
                    f"waiver of {w.check} for {w.path or w.fingerprint} (owner {w.owner}) "
                    f"expired on {w.expires}",
                    path=w.source,
                    snippet=f"{w.check} {w.path or w.fingerprint}",
                )
            )
    for check_id, text in ENGINE_CHECKS.items():
        mine = tuple(replace(f, fingerprint=fingerprint(f)) for f in engine if f.check == check_id)
        outcomes.append(Outcome(check_id, text, "error", "failed" if mine else "passed", mine))
    return Report(tuple(outcomes), policy.packs)
