"""CI workflows between two bundles: workflows added or removed, triggers, action pins, artifact retention."""

from __future__ import annotations

import json
from typing import Any

from evidence_kit.diff.model import Change, Classification, Section, change, plural, section
from evidence_kit.diff.read import Side, items, one_sided
from evidence_kit.evidence import ci as ci_evidence

KIND = "ci"
TITLE = "CI"
ARTIFACT = ci_evidence.path(ci_evidence.WORKFLOWS)


def _workflows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(w["file"]): w for w in items(doc.get("workflows")) if isinstance(w, dict) and "file" in w}


def _pins(wf: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """`job <id>: <action>` -> {ref: pinned by sha} of the actions a workflow uses."""
    found: dict[str, dict[str, bool]] = {}
    for use in items(wf.get("uses")):
        if not isinstance(use, dict) or use.get("kind") == "local":
            continue
        key = f"job {use.get('job')}: {use.get('action')}"
        found.setdefault(key, {})[str(use.get("ref"))] = bool(use.get("pinned_by_sha"))
    return found


def _uploads(wf: dict[str, Any]) -> dict[str, Any]:
    """`job <id>: <artifact name>` -> retention days of each artifact upload."""
    return {
        f"job {a.get('job')}: {a.get('name') or '(unnamed)'}": a.get("retention_days")
        for a in items(wf.get("artifacts"))
        if isinstance(a, dict) and a.get("kind") == "upload"
    }


def _days(value: Any) -> str:
    return "repository default" if value is None else str(value)


def _retention(before: Any, after: Any) -> Classification:
    try:
        shorter = after is not None and (before is None or int(after) < int(before))
    except (TypeError, ValueError):
        return "info"
    return "risky" if shorter else "info"


def _workflow(file: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if a.get("error") is None and b.get("error") is not None:
        changes.append(
            change(
                KIND, f"workflow {file} became unreadable", "risky", None, str(b["error"]), "CI cannot run it"
            )
        )
        return changes
    if a.get("error") is not None and b.get("error") is None:
        changes.append(change(KIND, f"workflow {file} became readable", "safe", str(a["error"]), None))
    # NOTE: GitHub runs only what is committed: a workflow git starts or stops tracking changes what runs.
    if a.get("tracked") is False and b.get("tracked") is True:
        changes.append(change(KIND, f"workflow {file} committed", "safe", "not committed", "committed"))
    elif a.get("tracked") is True and b.get("tracked") is False:
        changes.append(
            change(
                KIND,
                f"workflow {file} no longer committed",
                "risky",
                "committed",
                "not committed",
                "GitHub does not run it",
            )
        )
    ta, tb = sorted(map(str, items(a.get("triggers")))), sorted(map(str, items(b.get("triggers"))))
    if ta != tb:
        gone = [t for t in ta if t not in tb]
        changes.append(
            change(
                KIND,
                f"workflow {file} triggers changed",
                "risky" if gone else "info",
                ", ".join(ta) or "none",
                ", ".join(tb) or "none",
                f"no longer runs on {', '.join(gone)}" if gone else "",
            )
        )
    pa, pb = _pins(a), _pins(b)
    for key in sorted(pa.keys() & pb.keys()):
        if pa[key] == pb[key]:
            continue
        was_pinned, is_pinned = all(pa[key].values()), all(pb[key].values())
        classification: Classification = "info"
        detail = ""
        if was_pinned and not is_pinned:
            classification, detail = "risky", "no longer pinned by commit SHA: the tag can be moved under it"
        elif is_pinned and not was_pinned:
            classification, detail = "safe", "now pinned by commit SHA"
        changes.append(
            change(
                KIND,
                f"workflow {file} {key} pin changed",
                classification,
                ", ".join(sorted(pa[key])),
                ", ".join(sorted(pb[key])),
                detail,
            )
        )
    for key in sorted(pb.keys() - pa.keys()):
        risky = not all(pb[key].values())
        changes.append(
            change(
                KIND,
                f"workflow {file} {key} added",
                "info",
                None,
                ", ".join(sorted(pb[key])),
                "not pinned by commit SHA" if risky else "",
            )
        )
    for key in sorted(pa.keys() - pb.keys()):
        changes.append(
            change(KIND, f"workflow {file} {key} removed", "info", ", ".join(sorted(pa[key])), None)
        )
    ua, ub = _uploads(a), _uploads(b)
    for key in sorted(ua.keys() & ub.keys()):
        if ua[key] != ub[key]:
            changes.append(
                change(
                    KIND,
                    f"workflow {file} {key} retention changed",
                    _retention(ua[key], ub[key]),
                    _days(ua[key]),
                    _days(ub[key]),
                )
            )
    for key in sorted(ub.keys() - ua.keys()):
        changes.append(change(KIND, f"workflow {file} {key} upload added", "info", None, _days(ub[key])))
    for key in sorted(ua.keys() - ub.keys()):
        changes.append(
            change(
                KIND,
                f"workflow {file} {key} upload removed",
                "risky",
                _days(ua[key]),
                None,
                "the artifact is no longer kept",
            )
        )
    perm_a, perm_b = a.get("permissions"), b.get("permissions")
    if perm_a != perm_b:
        changes.append(
            change(
                KIND,
                f"workflow {file} permissions changed",
                "info",
                json.dumps(perm_a, sort_keys=True),
                json.dumps(perm_b, sort_keys=True),
            )
        )
    return changes


def diff(old: Side, new: Side) -> Section | None:
    """Compare the CI workflow inventories of the two bundles."""
    a, b = old.json(ARTIFACT), new.json(ARTIFACT)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return one_sided(KIND, TITLE, old, new, isinstance(a, dict), isinstance(b, dict), "ci")
    wa, wb = _workflows(a), _workflows(b)
    changes: list[Change] = []
    for file in sorted(wb.keys() - wa.keys()):
        changes.append(
            change(
                KIND,
                f"workflow {file} added",
                "info",
                None,
                ", ".join(map(str, items(wb[file].get("triggers")))) or None,
            )
        )
    for file in sorted(wa.keys() - wb.keys()):
        changes.append(
            change(
                KIND,
                f"workflow {file} removed",
                "risky",
                ", ".join(map(str, items(wa[file].get("triggers")))) or None,
                None,
                "the checks it ran no longer run",
            )
        )
    for file in sorted(wa.keys() & wb.keys()):
        changes += _workflow(file, wa[file], wb[file])
    summary = f"{len(wa)} → {plural(len(wb), 'workflow')}"
    facts = {"workflows_before": sorted(wa), "workflows_after": sorted(wb)}
    return section(KIND, TITLE, changes, summary, facts)
