"""Run the checks a policy switches on over a source tree and/or a bundle; apply suppressions and waivers."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal, NamedTuple

from evidence_kit.model import SEVERITIES, Finding, Severity, fingerprint
from evidence_kit.policy.packs import Policy
from evidence_kit.policy.target import Skipped, Target

SUPPRESSION = "EK001"
EXPIRED_WAIVER = "EK002"


class EngineCheck(NamedTuple):
    """A check the engine runs itself: its name, what it enforces, and why it is skipped when it has
    nothing to read (never passed then)."""

    name: str
    text: str
    unread: str


ENGINE_CHECKS = {
    SUPPRESSION: EngineCheck(
        "allow-comment-reason",
        "An inline `# evidence: allow[EKnnn]` must give a reason after the bracket.",
        "no `# evidence: allow[...]` comment names a finding's check on its line or the line above",
    ),
    EXPIRED_WAIVER: EngineCheck(
        "waiver-expired",
        "A waiver past its `expires` date no longer waives anything and fails itself.",
        "the rule packs hold no waiver",
    ),
}
_ALLOW = re.compile(r"#\s*evidence:\s*allow\[(?P<ids>EK\d{3}(?:\s*,\s*EK\d{3})*)\]\s*(?P<reason>.*)$")
Status = Literal["passed", "failed", "skipped"]


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
        """Checks by status, the failed ones by severity as the summary line counts them (`failed`: those of
        error severity; `with_warnings`, `with_notes`: those whose severity is only a warning or a note,
        which fail a run only at that `--fail-on`), so that checks = passed + failed + with_warnings +
        with_notes + skipped; and live findings by severity."""
        live = [f for f in self.findings if not f.waived]
        failed = [o for o in self.outcomes if o.status == "failed"]
        milder = {s: len([o for o in failed if o.severity == s]) for s in ("warning", "note")}
        return {
            "checks": len(self.outcomes),
            "passed": len([o for o in self.outcomes if o.status == "passed"]),
            "failed": len(failed) - sum(milder.values()),
            "with_warnings": milder["warning"],
            "with_notes": milder["note"],
            "skipped": len([o for o in self.outcomes if o.status == "skipped"]),
            "errors": len([f for f in live if f.severity == "error"]),
            "warnings": len([f for f in live if f.severity == "warning"]),
            "notes": len([f for f in live if f.severity == "note"]),
            "waived": len([f for f in self.findings if f.waived]),
        }

    def summary(self) -> str:
        """`16 checks: 5 passed, 4 failed, 2 with warnings, 5 skipped; 2 warnings, 0 waived` (a skip is never
        a pass). A check whose findings are all warnings (or notes) is counted apart from the failed ones:
        its JSON and SARIF status says "failed", but it fails a run only at `--fail-on warning` (or note)."""
        c = self.counts()
        shown = [f"{c['passed']} passed", f"{c['failed']} failed"]
        shown += [f"{c[key]} {key.replace('_', ' ')}" for key in ("with_warnings", "with_notes") if c[key]]
        return (
            f"{_n(c['checks'], 'check')}: {', '.join(shown)}, {c['skipped']} skipped; "
            f"{_n(c['warnings'], 'warning')}, {c['waived']} waived"
        )

    def fails(self, level: str) -> bool:
        """True when an unwaived finding is at or above `level` (error > warning > note; never)."""
        if level == "never":
            return False
        worst = SEVERITIES.index(level)
        return any(not f.waived and SEVERITIES.index(f.severity) <= worst for f in self.findings)


# NOTE: why a bundle check is skipped when `evidence check` is given no bundle (the report looks for it).
NO_BUNDLE = "no --bundle given"


def _n(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


class _Inline:
    """The `allow[...]` comments on findings' lines: each file read once for a run of findings in it, and
    split into lines only when it holds such a comment (a check's findings come grouped by file)."""

    def __init__(self, target: Target) -> None:
        self.root = target.root
        self._path: str | None = None
        self._lines: list[str] = []

    def _lines_of(self, path: str) -> list[str]:
        if path != self._path:
            assert self.root is not None
            self._path = path
            try:
                text = (self.root / path).read_text("utf-8", errors="replace")
            except OSError:
                text = ""
            self._lines = text.splitlines() if "allow[" in text else []
        return self._lines

    def __call__(self, finding: Finding) -> tuple[str | None, Finding | None]:
        """(reason, problem): an `allow[...]` comment on the line or the line above."""
        if self.root is None or not finding.line or not finding.path:
            return None, None
        lines = self._lines_of(finding.path)
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
    read = {SUPPRESSION: 0, EXPIRED_WAIVER: len(policy.waivers)}
    for rule in policy.rules:
        module = CHECKS[rule.check]
        if module.TARGET == "bundle" and target.bundle is None:
            outcomes.append(Outcome(rule.check, module.NAME, rule.severity, "skipped", reason=NO_BUNDLE))
            continue
        if module.TARGET == "source" and target.root is None:
            outcomes.append(
                Outcome(rule.check, module.NAME, rule.severity, "skipped", reason="no source path")
            )
            continue
        findings = []
        try:
            raws = list(module.run(target, rule))
        except Skipped as why:
            outcomes.append(Outcome(rule.check, module.NAME, rule.severity, "skipped", reason=why.reason))
            continue
        inline = _Inline(target)
        for raw in raws:
            # NOTE: a check may give the fingerprint itself (of a whole line it shows only a part of).
            stamp = raw.fingerprint or fingerprint(raw)
            reason, problem = inline(raw)
            if reason is not None or problem is not None:
                read[SUPPRESSION] += 1
            if problem is not None:
                engine.append(replace(problem, fingerprint=fingerprint(problem)))
            if reason is None:
                waiver = next((w for w in live_waivers if w.covers(raw.check, raw.path, stamp)), None)
                reason = (
                    f"waived by {waiver.owner} until {waiver.expires}: {waiver.reason}" if waiver else None
                )
            findings.append(replace(raw, severity=rule.severity, fingerprint=stamp, waived=reason))
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
    for check_id, check in ENGINE_CHECKS.items():
        mine = tuple(replace(f, fingerprint=fingerprint(f)) for f in engine if f.check == check_id)
        if not mine and not read[check_id]:
            outcomes.append(Outcome(check_id, check.name, "error", "skipped", reason=check.unread))
            continue
        outcomes.append(Outcome(check_id, check.name, "error", "failed" if mine else "passed", mine))
    return Report(tuple(outcomes), policy.packs)
