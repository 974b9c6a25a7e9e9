"""Git state between two bundles: the commits between the HEADs, files changed, branch, tags, dirtiness."""

from __future__ import annotations

from typing import Any

from evidence_kit.diff.model import Change, Classification, Section, change, plural, section
from evidence_kit.diff.read import Side, items, mapping, one_sided
from evidence_kit.evidence import git

KIND = "git"
TITLE = "Git"
SHOWN = 50


def _short(sha: Any) -> str:
    return str(sha)[:12] if isinstance(sha, str) and sha else "(no commit)"


def _commit_line(commit: dict[str, Any]) -> str:
    return f"{_short(commit.get('sha'))} {commit.get('subject', '')}".rstrip()


def _listing(lines: list[str]) -> str:
    extra = len(lines) - SHOWN
    return "\n".join(lines[:SHOWN] + ([f"… and {extra} more"] if extra > 0 else []))


def _log(side: Side) -> list[dict[str, Any]]:
    return [c for c in items(mapping(side.json(git.path(git.LOG))).get("commits")) if isinstance(c, dict)]


def _moved(old: Side, new: Side, before: str, after: str, facts: dict[str, Any]) -> list[Change]:
    newer = _log(new)
    shas = [c.get("sha") for c in newer]
    if before in shas:
        commits = newer[: shas.index(before)]
        facts["commits"] = [{"sha": c.get("sha"), "subject": c.get("subject")} for c in commits]
        return [
            change(
                KIND,
                "HEAD moved",
                "info",
                _short(before),
                f"{_short(after)} ({plural(len(commits), 'commit')} ahead)",
                _listing([_commit_line(c) for c in commits]),
            )
        ]
    older = _log(old)
    back = [c.get("sha") for c in older]
    if after in back:
        commits = older[: back.index(after)]
        return [
            change(
                KIND,
                "HEAD moved",
                "risky",
                _short(before),
                f"{_short(after)} ({plural(len(commits), 'commit')} behind)",
                "the new bundle describes an older commit than the old one; these commits are not in it:\n"
                + _listing([_commit_line(c) for c in commits]),
            )
        ]
    facts["commits"] = None
    return [
        change(
            KIND,
            "HEAD moved",
            "info",
            _short(before),
            f"{_short(after)} (range unknown)",
            f"the old HEAD is not among the {plural(len(newer), 'commit')} the new bundle's log recorded; "
            "collect with a larger `git.log`, or with `git.base` set to the old commit, to see the range",
        )
    ]


def _files(new: Side, before: str, facts: dict[str, Any]) -> list[Change]:
    rng = mapping(new.json(git.path(git.RANGE)))
    if before not in (rng.get("base_sha"), rng.get("merge_base")):
        return []
    files = [f for f in items(rng.get("files")) if isinstance(f, dict)]
    facts["files"] = files
    lines = []
    for f in files:
        old_path = f" (from {f['old_path']})" if f.get("old_path") else ""
        lines.append(f"{f.get('status', '?')} {f.get('path', '')}{old_path}")
    return [
        change(
            KIND,
            "files changed between the HEADs",
            "info",
            after=plural(len(files), "file"),
            detail=_listing(lines),
        )
    ]


def _entries(side: git.GitEvidence) -> dict[str, str]:
    """path -> `git status` code of each working-tree entry (`??` untracked, ` M` modified, ...)."""
    return {str(e.get("path", "")): str(e.get("code", "??")) for e in side.changed_files if e.get("path")}


def _files_line(entries: dict[str, str]) -> str:
    return _listing([f"{code} {path}" for path, code in sorted(entries.items())])


def _state(entries: dict[str, str]) -> str:
    untracked = sum(1 for code in entries.values() if code == "??")
    tracked = len(entries) - untracked
    parts = [plural(tracked, "changed file")] if tracked else []
    parts += [plural(untracked, "untracked file")] if untracked else []
    return ", ".join(parts) or "clean"


def _worktree(old: git.GitEvidence, new: git.GitEvidence, facts: dict[str, Any]) -> list[Change]:
    """Uncommitted changes between the bundles: clean to dirty and back, files newly changed or untracked,
    files no longer changed, and the same files edited again (the working-tree patch changed)."""
    a, b = _entries(old), _entries(new)
    dirty_a = bool(old.dirty) if old.dirty is not None else bool(a)
    dirty_b = bool(new.dirty) if new.dirty is not None else bool(b)
    facts["worktree_before"], facts["worktree_after"] = _state(a), _state(b)
    if not dirty_a and not dirty_b:
        return []
    if not dirty_a:
        facts["worktree"] = f"became dirty ({_state(b)})"
        detail = _files_line(b)
        return [
            change(
                KIND,
                "working tree became dirty",
                "risky",
                "clean",
                _state(b) if b else "dirty",
                "the new evidence was collected with uncommitted changes:\n" + detail if detail else "",
            )
        ]
    if not dirty_b:
        facts["worktree"] = "became clean"
        return [change(KIND, "working tree became clean", "safe", _state(a) if a else "dirty", "clean")]
    changes: list[Change] = []
    changed = {p: c for p, c in b.items() if c != "??" and a.get(p) != c}
    untracked = {p: c for p, c in b.items() if c == "??" and p not in a}
    settled = {p: c for p, c in a.items() if p not in b}
    listed: tuple[tuple[dict[str, str], str, Classification, str, str], ...] = (
        (
            changed,
            "files newly changed in the working tree",
            "risky",
            "after",
            "the new evidence was collected with these files changed and not committed:\n",
        ),
        (
            untracked,
            "new untracked files",
            "risky",
            "after",
            "files in the new working tree that git does not track (not in the commit):\n",
        ),
        (settled, "files no longer changed in the working tree", "info", "before", ""),
    )
    for files, what, classification, side, lead in listed:
        if files:
            count = {side: plural(len(files), "file")}
            changes.append(change(KIND, what, classification, **count, detail=lead + _files_line(files)))
    if not changed and old.diff_digest and new.diff_digest and old.diff_digest != new.diff_digest:
        again = {p: c for p, c in b.items() if c != "??"}
        changes.append(
            change(
                KIND,
                "uncommitted changes edited",
                "risky",
                f"diff.patch {old.diff_size} bytes",
                f"diff.patch {new.diff_size} bytes",
                "the working-tree patch differs although the same files are changed:\n" + _files_line(again),
            )
        )
    if changes:
        facts["worktree"] = f"{_state(a)} → {_state(b)}"
    return changes


def diff(old: Side, new: Side) -> Section | None:
    """HEAD, branch, tags and working-tree state of the two bundles, and what lies between them."""
    a, b = old.json(git.path(git.HEAD)), new.json(git.path(git.HEAD))
    if not isinstance(a, dict) or not isinstance(b, dict):
        return one_sided(KIND, TITLE, old, new, isinstance(a, dict), isinstance(b, dict), "git")
    before, after = a.get("sha"), b.get("sha")
    facts: dict[str, Any] = {"head_before": before, "head_after": after}
    changes: list[Change] = []
    if before != after and isinstance(before, str) and isinstance(after, str):
        changes += _moved(old, new, before, after, facts)
        changes += _files(new, before, facts)
    elif before != after:
        changes.append(change(KIND, "HEAD moved", "info", _short(before), _short(after)))
    branch_a, branch_b = a.get("branch") or "(detached)", b.get("branch") or "(detached)"
    if branch_a != branch_b:
        changes.append(change(KIND, "branch changed", "info", str(branch_a), str(branch_b)))
    tags_a, tags_b = sorted(map(str, items(a.get("tags")))), sorted(map(str, items(b.get("tags"))))
    if tags_a != tags_b:
        changes.append(
            change(
                KIND, "tags at HEAD changed", "info", ", ".join(tags_a) or "none", ", ".join(tags_b) or "none"
            )
        )
    changes += _worktree(git.read(old), git.read(new), facts)
    if bool(a.get("shallow")) != bool(b.get("shallow")):
        changes.append(
            change(
                KIND,
                "shallow clone changed",
                "info",
                str(bool(a.get("shallow"))),
                str(bool(b.get("shallow"))),
            )
        )
    tree = facts.get("worktree")
    if before == after:
        summary = f"HEAD unchanged at {_short(after)}"
    else:
        commits = facts.get("commits")
        ahead = f", {plural(len(commits), 'commit')}" if isinstance(commits, list) else ""
        summary = f"HEAD {_short(before)} → {_short(after)}{ahead}"
    summary += f" on {branch_b}"
    if tree:
        summary += f"; working tree: {tree}"
    return section(KIND, TITLE, changes, summary, facts)
