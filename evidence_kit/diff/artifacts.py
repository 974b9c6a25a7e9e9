"""Artifacts added, removed or changed by digest; collectors and artifacts whose status changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evidence_kit.diff.model import Change, Classification, Section, change, plural, section
from evidence_kit.diff.read import Side

KIND = "artifacts"
TITLE = "Artifacts"


def _status(rec: Mapping[str, Any]) -> str:
    status = str(rec.get("status") or "ok")
    code = rec.get("exit_code")
    return f"{status} (exit {code})" if code is not None else status


def _code(code: Any) -> str:
    return "none" if code is None else str(code)


def _worse(before: str, after: str) -> Classification:
    if after.split(" ")[0] != "ok" and before.split(" ")[0] == "ok":
        return "risky"
    if after.split(" ")[0] == "ok" and before.split(" ")[0] != "ok":
        return "safe"
    return "info"


def _collectors(old: Side, new: Side) -> list[Change]:
    changes: list[Change] = []
    names = sorted(
        {
            str(e.get("name"))
            for s in (old, new)
            for e in s.manifest.get("collectors") or []
            if isinstance(e, dict)
        }
    )
    for name in names:
        a, b = old.collector(name), new.collector(name)
        if a is None or b is None:
            ran = "ran only in the new bundle" if a is None else "ran only in the old bundle"
            changes.append(change(KIND, f"collector {name} {ran}", "info"))
            continue
        before, after = str(a.get("status")), str(b.get("status"))
        if before != after:
            detail = str(b.get("error") or "") if after != "ok" else ""
            changes.append(
                change(KIND, f"collector {name} status changed", _worse(before, after), before, after, detail)
            )
    return changes


def diff(old: Side, new: Side) -> Section | None:
    """Compare the two manifests' artifact lists by path and digest."""
    a, b = set(old.records), set(new.records)
    changes = _collectors(old, new)
    added, removed = sorted(b - a), sorted(a - b)
    changed: list[str] = []
    unchanged = 0
    for path in sorted(a & b):
        before, after = _status(old.records[path]), _status(new.records[path])
        was, now = old.records[path].get("exit_code"), new.records[path].get("exit_code")
        if before != after and old.records[path].get("status") == new.records[path].get("status"):
            # NOTE: the same status with another exit code, or one where there was none (a document
            # read from a running service instead of a process's output): not a status change.
            changes.append(change(KIND, f"{path} exit code changed", "info", _code(was), _code(now)))
        elif before != after:
            changes.append(
                change(
                    KIND,
                    f"{path} status changed",
                    _worse(before, after),
                    before,
                    after,
                    str(new.records[path].get("message") or ""),
                )
            )
        if old.digest(path) != new.digest(path):
            changed.append(path)
        else:
            unchanged += 1
    for path in added:
        changes.append(change(KIND, f"{path} added", "info", after=_size(new.records[path]) or None))
    for path in removed:
        changes.append(change(KIND, f"{path} removed", "risky", before=_size(old.records[path]) or None))
    for path in changed:
        before_digest, after_digest = old.digest(path) or "", new.digest(path) or ""
        changes.append(
            change(
                KIND,
                f"{path} changed",
                "info",
                f"sha256:{before_digest[:12]} {_size(old.records[path])}".strip(),
                f"sha256:{after_digest[:12]} {_size(new.records[path])}".strip(),
            )
        )
    facts = {"added": len(added), "removed": len(removed), "changed": len(changed), "unchanged": unchanged}
    summary = (
        f"{len(added)} added, {len(removed)} removed, {len(changed)} changed, "
        f"{plural(unchanged, 'artifact')} unchanged"
    )
    return section(KIND, TITLE, changes, summary, facts)


def _size(rec: Mapping[str, Any]) -> str:
    size = rec.get("size")
    return f"({size} bytes)" if isinstance(size, int) else ""
