"""EK308 gate-skip-locked: workers claim jobs with FOR UPDATE SKIP LOCKED.

Without SKIP LOCKED, two workers polling the queue block on the same row, or (with no lock
at all) both run it. A claim query picks one of many candidates (ORDER BY ... LIMIT).

Bad:
    SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1 FOR UPDATE

Good:
    SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
    select(Job).where(...).limit(1).with_for_update(skip_locked=True)
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import codefacts, queue
from evidence_kit.model import Finding
from evidence_kit.policy.target import Skipped, missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK308"
NAME = "gate-skip-locked"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
DEFAULT_WORKERS = ["*worker*.py", "*workers/*", "*tasks*.py", "*consumer*.py"]
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "workers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Globs of worker modules (default: *worker*.py, *workers/*, *tasks*.py, ...).",
        },
    },
}
_PICK = re.compile(r"\bLIMIT\b", re.I)
# NOTE: what makes a lock a job claim rather than a lock on a row known by its key: it picks one of many
# (LIMIT, ORDER BY, `.first()`), or it selects by a state (`status = 'queued'`).
_CLAIM_SQL = re.compile(r"\b(?:LIMIT|ORDER\s+BY|status|state)\b", re.I)
_CLAIM_ORM = re.compile(r"\.(?:limit|order_by|first)\(|\b(?:status|state)\b", re.I)


def _at(locks: list[dict[str, Any]], shown: int = 5) -> str:
    places = {(str(lock.get("path")), lock.get("line")) for lock in locks}
    where = [
        f"{path}:{line}"
        for path, line in sorted(
            places, key=lambda p: (p[0], p[1] if isinstance(p[1], int) else 0, str(p[1]))
        )
    ]
    return ", ".join(where[:shown]) + (f" and {len(where) - shown} more" if len(where) > shown else "")


def _no_worker_lock(app_locks: list[dict[str, Any]], globs: list[str]) -> str:
    """Why no worker lock was found, saying whether application code locks rows elsewhere."""
    if not app_locks:
        return "the bundle shows a job queue but no application code takes a row lock (no FOR UPDATE found)"
    skipping = [lock for lock in app_locks if lock.get("skip_locked")]
    waiting = [lock for lock in app_locks if not lock.get("skip_locked")]
    parts = [f"{len(skipping)} with SKIP LOCKED at {_at(skipping)}"] if skipping else []
    parts += [f"{len(waiting)} without at {_at(waiting)}"] if waiting else []
    return (
        f"application code takes {len(app_locks)} row lock{'' if len(app_locks) == 1 else 's'} "
        f"({'; '.join(parts)}) but none in a worker module (EK308's `workers` globs: {', '.join(globs)}); "
        "set `workers` to the modules that claim jobs"
    )


def _claims(lock: dict[str, Any]) -> bool:
    """True when a row lock is shaped like a job claim (see _CLAIM_SQL), or skips locked rows."""
    if lock.get("skip_locked"):
        return True
    if "sql" in lock:
        return bool(_CLAIM_SQL.search(str(lock.get("sql", ""))))
    return bool(_CLAIM_ORM.search(str(lock.get("code", ""))))


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _no_queue(app_locks: list[dict[str, Any]], globs: list[str]) -> str:
    """Why EK308 has no job queue to judge: what it looked for, what it found instead, how to point it."""
    claims = [lock for lock in app_locks if _claims(lock)]
    ordinary = [lock for lock in app_locks if not _claims(lock)]
    said = [f"{_n(len(claims), 'job claim')} outside the worker modules ({_at(claims, 3)})"] if claims else []
    said += (
        [f"{_n(len(ordinary), 'ordinary lock')}, not shaped like a claim ({_at(ordinary, 3)})"]
        if ordinary
        else []
    )
    found = (
        f"application code takes {' and '.join(said)}; "
        if app_locks
        else "no FOR UPDATE in application code; "
    )
    return (
        "the bundle shows no database job queue: no `queue` evidence (a queue table), no `workers` set "
        f"for EK308, and no job claim (a FOR UPDATE that skips locked rows, picks one of many or selects by "
        f"a status) in a worker module ({', '.join(globs)}); {found}"
        "if the service has a queue, set EK308's `workers` to the modules that claim jobs, "
        "or collect its table with the `queue` collector"
    )


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail when worker code locks rows but never skips locked ones, or a raw claim query lacks it.

    Judged only where the bundle shows a database job queue: `queue` evidence, EK308's `workers` set,
    or a job claim in a worker module (a lock that skips locked rows, picks one of many or selects by a
    status: one that waits on locked rows is the fault this check is for). Other row locks are ordinary
    locks (a request handler's `SELECT ... FOR UPDATE`, a task's lock on one account by its id), not a
    queue: with none of these the check is skipped.
    """
    facts = codefacts.read(target.view).facts
    if facts is None:
        yield missing(ID, codefacts.path(codefacts.FACTS), "codefacts", target.manifest)
        return
    globs = rule.options.get("workers", DEFAULT_WORKERS)
    locks = facts.get("row_locks") or {}
    app_locks = [lock for kind in ("sql", "orm") for lock in (locks.get(kind) or {}).get("app", [])]
    mine = [lock for lock in app_locks if any(fnmatch.fnmatch(str(lock.get("path", "")), g) for g in globs)]
    if not (queue.read(target.view).present or "workers" in rule.options or any(map(_claims, mine))):
        raise Skipped(_no_queue(app_locks, globs))
    if not mine:
        yield Finding(
            ID,
            _no_worker_lock(app_locks, globs),
            path=f"data/{codefacts.path(codefacts.FACTS)}",
            snippet="no claim query",
        )
        return
    for lock in mine:
        sql = str(lock.get("sql", ""))
        if "sql" in lock and _PICK.search(sql) and not lock.get("skip_locked"):
            yield Finding(
                ID,
                f"claim query without SKIP LOCKED at {lock.get('path')}:{lock.get('line')}",
                path=str(lock.get("path")),
                line=lock.get("line"),
                snippet=" ".join(sql.split())[:200],
            )
    if not any(lock.get("skip_locked") for lock in mine):
        first = mine[0]
        yield Finding(
            ID,
            "worker code locks rows but never with SKIP LOCKED",
            path=str(first.get("path")),
            line=first.get("line"),
            snippet="no skip locked",
        )
