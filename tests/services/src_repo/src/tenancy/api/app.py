"""The public API, mounted under /api/v1 by the top-level app."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from tenancy.db import engine

api_app = FastAPI(title="Tenancy API", version="2.3.0")


class Organisation(BaseModel):
    id: int
    name: str


@api_app.get("/organisations", response_model=list[Organisation])
def organisations() -> list[Organisation]:
    with engine().connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM organisations ORDER BY id")).all()
    return [Organisation(id=r.id, name=r.name) for r in rows]


@api_app.get("/organisations/{org_id}/members")
def members(org_id: int) -> list[str]:
    with engine().connect() as conn:
        rows = conn.execute(
            text("SELECT email FROM tenant.members WHERE organisation_id = :id ORDER BY email"), {"id": org_id}
        ).all()
    return [r.email for r in rows]
