"""Alembic migrations between two bundles: revisions added and removed, heads, current, edited migrations."""

from __future__ import annotations

from typing import Any

from evidence_kit.collectors.alembic import BadScript, read_script
from evidence_kit.diff.model import Change, Section, change, plural, section
from evidence_kit.diff.read import Side, items, mapping, one_sided
from evidence_kit.evidence import alembic

KIND = "migrations"
TITLE = "Migrations"


def _digests(side: Side, prefix: str) -> dict[str, tuple[str, str]]:
    """File name below `migrations/` -> (artifact path, digest) of each migration file."""
    folder = f"{prefix}{alembic.MIGRATIONS}"
    return {path.removeprefix(folder): (path, side.digest(path) or "") for path in side.paths(folder)}


def _by_revision(side: Side, files: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """revision (or `file <name>` when unreadable) -> (artifact path, digest) of the given files."""
    found: dict[str, tuple[str, str]] = {}
    for name, (path, digest) in sorted(files.items()):
        data = side.bytes(path)
        try:
            script = read_script(name, data) if data is not None else None
        except BadScript:
            script = None
        found.setdefault(script.revision if script is not None else f"file {name}", (path, digest))
    return found


def _files(
    old: Side, new: Side, pa: str, pb: str
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """The migration files that differ by name or digest, by revision; identical files are never parsed."""
    da, db = _digests(old, pa), _digests(new, pb)
    same = {name for name in da.keys() & db.keys() if da[name][1] == db[name][1]}
    return (
        _by_revision(old, {n: v for n, v in da.items() if n not in same}),
        _by_revision(new, {n: v for n, v in db.items() if n not in same}),
    )


def _current(summary: dict[str, Any]) -> str:
    current = summary.get("current")
    if not isinstance(current, dict):
        return f"not read ({summary.get('current_status', 'unknown')})" if summary else "unknown"
    # NOTE: a version table of another name (`context.configure(version_table=...)`) is named with its schema.
    table = summary.get("version_table") or alembic.DEFAULT_VERSION_TABLE
    suffix = "" if table == alembic.DEFAULT_VERSION_TABLE else f".{table}"
    return "; ".join(
        f"{schema}{suffix}: {', '.join(map(str, v)) or 'none'}" for schema, v in sorted(current.items())
    )


def _config(old: Side, new: Side, label_a: str, label_b: str) -> tuple[list[Change], dict[str, Any]]:
    pa, pb = alembic.prefix(label_a), alembic.prefix(label_b)
    tag = f"[{label_b}] " if label_b else ""
    hist_a, hist_b = mapping(old.json(pa + alembic.HISTORY)), mapping(new.json(pb + alembic.HISTORY))
    if not hist_a or not hist_b:
        facts: dict[str, Any] = {
            "heads_before": items(hist_a.get("heads")),
            "heads_after": items(hist_b.get("heads")),
        }
        if not hist_a and not hist_b:
            return [], facts
        side, prefix, role = (old, pa, "old") if not hist_a else (new, pb, "new")
        error = (side.text(prefix + alembic.ERROR) or "").strip()
        reason = error.splitlines()[0] if error else side.why_absent("alembic")
        gone = change(KIND, f"{tag}revision graph disappeared", "risky", detail=f"new bundle: {reason}")
        came = change(KIND, f"{tag}revision graph appeared", "info", detail=f"old bundle: {reason}")
        return [came if role == "old" else gone], facts
    sum_a, sum_b = mapping(old.json(pa + alembic.SUMMARY)), mapping(new.json(pb + alembic.SUMMARY))
    revs_a = {str(r.get("revision")): r for r in items(hist_a.get("revisions")) if isinstance(r, dict)}
    revs_b = {str(r.get("revision")): r for r in items(hist_b.get("revisions")) if isinstance(r, dict)}
    order = [str(r) for r in items(hist_b.get("history"))] or sorted(revs_b)
    order += [r for r in sorted(revs_b) if r not in order]
    changes: list[Change] = []
    for rev in order:
        if rev in revs_b and rev not in revs_a:
            entry = revs_b[rev]
            down = ", ".join(map(str, items(entry.get("down_revisions")))) or "<base>"
            changes.append(
                change(
                    KIND,
                    f"{tag}revision {rev} added",
                    "info",
                    after=str(entry.get("message") or ""),
                    detail=f"{down} -> {rev} ({entry.get('path', '')})",
                )
            )
    for rev in sorted(set(revs_a) - set(revs_b)):
        changes.append(
            change(
                KIND,
                f"{tag}revision {rev} removed",
                "breaking",
                before=str(revs_a[rev].get("message") or ""),
                detail="a released revision is gone: databases already at or past it can no longer be "
                "upgraded or downgraded by the new code",
            )
        )
    files_a, files_b = _files(old, new, pa, pb)
    for key in sorted(set(files_a) & set(files_b)):
        (path_a, digest_a), (path_b, digest_b) = files_a[key], files_b[key]
        if digest_a == digest_b:
            continue
        what = (
            f"{tag}released migration {key} edited" if not key.startswith("file ") else f"{tag}{key} edited"
        )
        detail = (
            "the file changed but its revision id did not: databases already past this revision will "
            "not run the new code, so they differ from databases migrated after the edit; add a new "
            "revision instead"
        )
        down_a = items(revs_a.get(key, {}).get("down_revisions"))
        down_b = items(revs_b.get(key, {}).get("down_revisions"))
        if down_a != down_b:
            detail += (
                f"\ndown_revision changed: {', '.join(down_a) or '<base>'} -> {', '.join(down_b) or '<base>'}"
            )
        changes.append(
            change(
                KIND,
                what,
                "breaking",
                f"{path_a.rsplit('/', 1)[-1]} sha256:{digest_a[:12]}",
                f"{path_b.rsplit('/', 1)[-1]} sha256:{digest_b[:12]}",
                detail,
            )
        )
    heads_a = sorted(map(str, items(sum_a.get("heads") or hist_a.get("heads"))))
    heads_b = sorted(map(str, items(sum_b.get("heads") or hist_b.get("heads"))))
    if heads_a != heads_b:
        changes.append(
            change(
                KIND,
                f"{tag}heads changed",
                "info",
                ", ".join(heads_a) or "none",
                ", ".join(heads_b) or "none",
            )
        )
    if len(heads_b) > 1 and len(heads_a) <= 1:
        changes.append(
            change(
                KIND,
                f"{tag}multiple heads appeared",
                "breaking",
                ", ".join(heads_a) or "none",
                ", ".join(heads_b),
                "`alembic upgrade head` refuses to run with several heads; "
                "merge them with `alembic merge heads`",
            )
        )
    elif len(heads_a) > 1 and len(heads_b) == 1:
        changes.append(change(KIND, f"{tag}multiple heads merged", "safe", ", ".join(heads_a), heads_b[0]))
    current_a, current_b = _current(sum_a), _current(sum_b)
    if current_a != current_b:
        changes.append(change(KIND, f"{tag}database version changed", "info", current_a, current_b))
    if sum_b.get("up_to_date") is False and sum_a.get("up_to_date") is not False:
        changes.append(
            change(
                KIND,
                f"{tag}database behind the migrations",
                "risky",
                "up to date",
                "not up to date",
                "the new bundle's database is not at the head revision(s); its schema evidence predates "
                "the newest migrations",
            )
        )
    problems_a, problems_b = items(hist_a.get("problems")), items(hist_b.get("problems"))
    fresh = [str(p) for p in problems_b if p not in problems_a]
    if fresh:
        changes.append(
            change(
                KIND,
                f"{tag}migration problems appeared",
                "risky",
                str(len(problems_a)),
                str(len(problems_b)),
                "\n".join(fresh[:20]),
            )
        )
    facts = {
        "revisions_before": len(revs_a),
        "revisions_after": len(revs_b),
        "added": [rev for rev in order if rev in revs_b and rev not in revs_a],
        "removed": sorted(set(revs_a) - set(revs_b)),
        "heads_before": heads_a,
        "heads_after": heads_b,
        "current_before": sum_a.get("current"),
        "current_after": sum_b.get("current"),
    }
    return changes, facts


def _moved(before: list[str], after: list[str]) -> str:
    shown_before, shown_after = ", ".join(before) or "none", ", ".join(after) or "none"
    return shown_after if before == after else f"{shown_before} → {shown_after}"


def diff(old: Side, new: Side) -> Section | None:
    """Compare each alembic config's revision graph, heads, database version and migration files."""
    labels_a, labels_b = alembic.labels(old), alembic.labels(new)
    if not labels_a or not labels_b:
        return one_sided(KIND, TITLE, old, new, bool(labels_a), bool(labels_b), "alembic")
    pairs = [(label, label) for label in labels_a if label in labels_b]
    only_a = [label for label in labels_a if label not in labels_b]
    only_b = [label for label in labels_b if label not in labels_a]
    if len(only_a) == 1 and len(only_b) == 1:
        pairs.append((only_a[0], only_b[0]))
        only_a, only_b = [], []
    changes: list[Change] = []
    facts: dict[str, Any] = {}
    for label_a, label_b in pairs:
        found, config_facts = _config(old, new, label_a, label_b)
        changes += found
        facts[label_b or "alembic"] = config_facts
    changes += [change(KIND, f"[{label}] alembic config disappeared", "risky") for label in only_a]
    changes += [change(KIND, f"[{label}] alembic config appeared", "info") for label in only_b]
    added = sum(len(f.get("added", [])) for f in facts.values())
    removed = sum(len(f.get("removed", [])) for f in facts.values())
    heads = "; ".join(
        f"{name + ': ' if len(facts) > 1 else ''}heads {_moved(f['heads_before'], f['heads_after'])}"
        for name, f in facts.items()
    )
    summary = f"{plural(added, 'revision')} added, {removed} removed; {heads}"
    return section(KIND, TITLE, changes, summary, facts)
