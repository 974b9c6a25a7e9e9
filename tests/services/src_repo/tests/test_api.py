from __future__ import annotations

from fastapi.testclient import TestClient

from tenancy.main import app


def test_health() -> None:
    assert TestClient(app).get("/healthz").text == '"ok"'


def test_organisations_are_listed() -> None:
    response = TestClient(app).get("/api/v1/organisations")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_the_top_level_app_hides_its_openapi() -> None:
    assert TestClient(app).get("/openapi.json").status_code == 404
