"""Small bundles with hand-written artifacts, written by the real bundle writer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor


def make(
    out: Path,
    artifacts: Mapping[str, Any],
    collectors: Mapping[str, str] | None = None,
    git_sha: str = "a" * 40,
    service: str = "svc",
) -> Path:
    """A bundle holding `artifacts` (`<collector>/<name>` -> text, or data written as JSON)."""
    writer = BundleWriter(out, Redactor())
    ran = dict.fromkeys((name.split("/", 1)[0] for name in artifacts), "ok")
    ran.update(collectors or {})
    for name, value in artifacts.items():
        collector, _, rest = name.partition("/")
        if isinstance(value, str):
            data, media = value.encode(), "text/plain"
        else:
            data, media = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode(), "application/json"
        writer.add(collector, Output(rest, name, media, data=data))
    results = [
        CollectorResult(name, status, error=f"{name} failed" if status == "error" else None)  # type: ignore[arg-type]
        for name, status in ran.items()
    ]
    return writer.finish(
        service=service,
        phase="1",
        git_sha=git_sha,
        results=results,
        host={"name": "h", "platform": "p", "python": "3"},
        ci=None,
    )
