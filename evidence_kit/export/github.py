"""GitHub workflow commands (`::error file=,line=,col=::`), capped to what a step shows."""

from __future__ import annotations

from evidence_kit.policy.engine import ENGINE_CHECKS, Report

# NOTE: GitHub shows at most 10 error and 10 warning annotations per step (50 per job);
# more are dropped silently, so say how many were left out.
PER_LEVEL = 10
COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def render(report: Report) -> str:
    """One command per unwaived finding (errors first), a notice per skipped check, within the step limits."""
    shown: dict[str, int] = {}
    left = 0
    lines = []
    order = {"error": 0, "warning": 1, "note": 2}
    for f in sorted((f for f in report.findings if not f.waived), key=lambda f: (order[f.severity], f.path)):
        level = COMMAND[f.severity]
        if shown.get(level, 0) >= PER_LEVEL:
            left += 1
            continue
        shown[level] = shown.get(level, 0) + 1
        props = [f"title={_escape(f.check, True)}"]
        if f.path:
            props.insert(0, f"file={_escape(f.path, True)}")
        if f.line:
            props.append(f"line={f.line}")
        if f.col:
            props.append(f"col={f.col}")
        lines.append(f"::{level} {','.join(props)}::{_escape(f'{f.check} {f.message}')}")
    for o in sorted(report.outcomes, key=lambda o: o.check):
        # NOTE: EK001 and EK002 skipped (no waiver, no allow comment used) are no gap to annotate.
        if o.status != "skipped" or o.check in ENGINE_CHECKS:
            continue
        if shown.get("notice", 0) >= PER_LEVEL:
            left += 1
            continue
        shown["notice"] = shown.get("notice", 0) + 1
        title = _escape(f"{o.check} skipped", True)
        lines.append(f"::notice title={title}::{_escape(f'{o.check} {o.name} was skipped: {o.reason}')}")
    if left:
        lines.append(
            f"::warning title=evidence-kit::{left} more findings or skipped checks are not shown as "
            "annotations; see the SARIF or text report"
        )
    lines.append(report.summary())
    return "\n".join(lines) + "\n"
