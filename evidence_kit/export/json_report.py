"""Findings for machines: stable JSON (schema: check-report.schema.json beside this file)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from evidence_kit import __version__
from evidence_kit.policy.engine import Report


def as_data(report: Report) -> dict[str, Any]:
    """The report as plain data, sorted."""
    return {
        "schema_version": 1,
        "tool": {"name": "evidence-kit", "version": __version__},
        "packs": list(report.packs),
        "summary": report.counts(),
        "checks": [
            {
                "id": o.check,
                "name": o.name,
                "severity": o.severity,
                "status": o.status,
                "reason": o.reason,
                "findings": len(o.findings),
            }
            for o in sorted(report.outcomes, key=lambda o: o.check)
        ],
        "findings": [
            asdict(f) for f in sorted(report.findings, key=lambda f: (f.check, f.path, f.line or 0))
        ],
    }


def render(report: Report) -> str:
    """Canonical JSON text."""
    return json.dumps(as_data(report), indent=2, sort_keys=True) + "\n"
