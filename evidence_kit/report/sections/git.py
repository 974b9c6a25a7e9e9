"""Report section: git."""

from __future__ import annotations

from evidence_kit.evidence import git
from evidence_kit.report.page import Fact, Part, Row, _Bundle, _str, _table, plural


def _git(bd: _Bundle, paths: list[str], part: Part) -> None:
    head = bd.json(f"data/{git.path(git.HEAD)}")
    if isinstance(head, dict):
        branch = head.get("branch") or "(detached HEAD)"
        part.facts += [
            Fact("Branch", str(branch)),
            Fact("Commit", _str(head.get("sha")), mono=True),
            Fact("Tags at HEAD", _str(head.get("tags") or [])),
        ]
        if head.get("describe"):
            part.facts.append(Fact("Describe", str(head["describe"])))
        if head.get("shallow"):
            part.facts.append(Fact("Clone", "shallow: older history is not in the checkout", "warn"))
    status = bd.json(f"data/{git.path(git.STATUS)}")
    if isinstance(status, dict):
        entries = [e for e in status.get("entries", []) if isinstance(e, dict)]
        if status.get("clean"):
            part.facts.append(Fact("Working tree", "clean", "ok"))
        else:
            part.facts.append(Fact("Working tree", f"dirty: {plural(len(entries), 'changed path')}", "warn"))
            rows = [Row((str(e.get("code", "")), str(e.get("path", "")))) for e in entries]
            part.tables.append(_table("Changed paths (git status)", ("code", "path"), rows))
    elif f"data/{git.path(git.STATUS_TEXT)}" in bd.records:
        text = bd.text(f"data/{git.path(git.STATUS_TEXT)}") or ""
        part.facts.append(Fact("git status", text.rstrip("\n") or "<clean>", pre=True))
    log = bd.json(f"data/{git.path(git.LOG)}")
    if isinstance(log, dict) and isinstance(log.get("commits"), list):
        rows = [
            Row(
                (
                    str(c.get("sha", ""))[:12],
                    str(c.get("authored", "")),
                    str((c.get("author") or {}).get("name", "")),
                    str(c.get("subject", "")),
                )
            )
            for c in log["commits"]
            if isinstance(c, dict)
        ]
        part.tables.append(_table("Recent commits (git log)", ("commit", "date", "author", "subject"), rows))
    elif f"data/{git.path(git.LOG_TEXT)}" in bd.records:
        part.facts.append(
            Fact("git log", (bd.text(f"data/{git.path(git.LOG_TEXT)}") or "").rstrip("\n"), pre=True)
        )
    rng = bd.json(f"data/{git.path(git.RANGE)}")
    if isinstance(rng, dict):
        files = [f for f in rng.get("files", []) if isinstance(f, dict)]
        part.facts += [
            Fact("Base", f"{rng.get('base')} ({str(rng.get('base_sha', ''))[:12]})"),
            Fact(
                "Since base",
                f"{plural(len(rng.get('commits') or []), 'commit')}, {plural(len(files), 'file')} changed",
            ),
        ]
        rows = [Row((str(f.get("status", "")), str(f.get("path", "")))) for f in files]
        part.tables.append(_table(f"Files changed since {rng.get('base')}", ("status", "path"), rows))
