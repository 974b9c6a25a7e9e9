"""The served app: no OpenAPI of its own, the API mounted under /api/v1."""

from __future__ import annotations

from fastapi import FastAPI

from tenancy.api.app import api_app

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
app.mount("/api/v1", api_app)


@app.get("/healthz", include_in_schema=False)
def healthz() -> str:
    return "ok"
