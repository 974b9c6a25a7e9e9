"""The back office, served on an internal port only."""

from __future__ import annotations

from fastapi import FastAPI

admin = FastAPI(title="Back office")


@admin.get("/stats")
def stats() -> dict[str, int]:
    return {"organisations": 0}
