"""SARIF 2.1.0 for code scanning: one rule per check id, partial fingerprints, GitHub's limits."""

from __future__ import annotations

import json
from typing import Any

from evidence_kit import __version__
from evidence_kit.policy.engine import ENGINE_CHECKS, Report

# NOTE: GitHub code scanning accepts at most 25,000 results per run; keep well inside it.
MAX_RESULTS = 5000
LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def _rule(check: str, name: str) -> dict[str, Any]:
    from evidence_kit.checks import CHECKS

    module = CHECKS.get(check)
    engine = ENGINE_CHECKS.get(check)
    doc = (module.__doc__ if module else engine.text if engine else name) or name
    summary = doc.strip().splitlines()[0]
    return {
        "id": check,
        "name": name if module else check,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": doc.strip()},
        "help": {"text": doc.strip(), "markdown": f"```\n{doc.strip()}\n```"},
    }


def render(report: Report) -> str:
    """A SARIF log with one run."""
    findings = sorted(report.findings, key=lambda f: (f.check, f.path, f.line or 0))[:MAX_RESULTS]
    rules = [_rule(o.check, o.name) for o in sorted(report.outcomes, key=lambda o: o.check)]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        region: dict[str, int] = {"startLine": f.line or 1}
        if f.col:
            region["startColumn"] = f.col
        result: dict[str, Any] = {
            "ruleId": f.check,
            "ruleIndex": index[f.check],
            "level": LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path or "manifest.json"},
                        "region": region,
                    }
                }
            ],
            "partialFingerprints": {"evidenceKit/v1": f.fingerprint},
        }
        if f.waived:
            result["suppressions"] = [
                {
                    "kind": "inSource" if f.waived.startswith("inline") else "external",
                    "justification": f.waived,
                }
            ]
        results.append(result)
    # NOTE: a skipped check has no result (it neither passed nor failed); SARIF's place for "the tool could
    # not apply this rule" is a notification of the invocation, tied to the rule.
    skipped = [
        {
            "level": "note",
            "message": {"text": f"{o.check} {o.name} was skipped: {o.reason}"},
            "associatedRule": {"id": o.check, "index": index[o.check]},
            "properties": {"status": "skipped"},
        }
        for o in sorted(report.outcomes, key=lambda o: o.check)
        if o.status == "skipped"
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if skipped:
        invocation["toolExecutionNotifications"] = skipped
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "evidence-kit",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/evidence-kit/",
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, sort_keys=True) + "\n"
