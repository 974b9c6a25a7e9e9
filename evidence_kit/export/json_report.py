"""Findings for machines: stable JSON (schema: check-report.schema.json beside this file)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from evidence_kit import __version__
from evidence_kit.model import Finding
from evidence_kit.policy.engine import Report

# NOTE: a finding's fields are plain values: read directly, not copied deep as `asdict` copies.
_FIELDS = tuple(f.name for f in fields(Finding))


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
            {name: getattr(f, name) for name in _FIELDS}
            for f in sorted(report.findings, key=lambda f: (f.check, f.path, f.line or 0))
        ],
    }


def render(report: Report) -> str:
    """Canonical JSON text."""
    return json.dumps(as_data(report), indent=2, sort_keys=True) + "\n"
