"""Typed access to the job tables (Python 3.12 generics)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Page[T]:
    items: Sequence[T]
    total: int

    def first[D](self, default: D) -> T | D:
        return self.items[0] if self.items else default


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str


def list_jobs(conn: Connection, limit: int = 50) -> Page[Job]:
    rows = conn.execute(text("SELECT id, kind, state FROM jobs ORDER BY id LIMIT :n"), {"n": limit}).all()
    total = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
    return Page([Job(r.id, r.kind, r.state) for r in rows], int(total))
