"""The items API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.db import get_session
from app.models import Item

router = APIRouter()


class ItemOut(BaseModel):
    id: int
    title: str


@router.get("/items/", response_model=list[ItemOut])
def read_items(session: Session = Depends(get_session)) -> list[ItemOut]:
    rows = session.scalars(select(Item).order_by(Item.id)).all()
    return [ItemOut(id=row.id, title=row.title) for row in rows]


@router.get("/utils/health-check/")
def health() -> bool:
    return True
