"""The openapi collector on a Litestar service: its served document lists `servers: [{"url": "/"}]`, and
its app gives the document by `app.openapi_schema.to_schema()`, not `app.openapi()`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import openapi
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Handoff, Output

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Shelf", "version": "1.0.0"},
    "servers": [{"url": "/"}],
    "paths": {"/books": {"get": {"operationId": "listBooks", "responses": {"200": {"description": "ok"}}}}},
}

# NOTE: a stand-in for a Litestar app, written here: Litestar is not a dependency of evidence-kit.
LITESTAR_LIKE = f"""
import datetime


class Schema:
    def to_schema(self):
        document = {DOCUMENT!r}
        document["info"]["x-released"] = datetime.date(2024, 5, 1)
        return document


class Litestar:
    openapi_schema = Schema()


class NoSchema:
    openapi_schema = None


app = Litestar()
plain = NoSchema()


def create_app():
    return Litestar()
"""


def served(tmp_path: Path, document: dict[str, Any]) -> Handoff:
    """What the http collector leaves when the service it started served `document`."""
    handoff = Handoff("/schema/openapi.json", tmp_path / "doc.json", tmp_path / "meta.json", 5)
    handoff.file.write_text(json.dumps(document))
    url = "http://127.0.0.1:8000/schema/openapi.json"
    handoff.meta.write_text(json.dumps({"url": url, "status": 200, "error": None, "duration_s": 0.01}))
    return handoff


def collect(root: Path, handoff: Handoff | None = None, **options: Any) -> dict[str, Output]:
    ctx = Context(root=root, scratch=root / "scratch", handoffs=(handoff,) if handoff else ())
    return {o.name: o for o in openapi.collect(ctx, options)}


def data(output: Output) -> bytes:
    assert output.data is not None
    return output.data


@pytest.mark.parametrize("servers", [[{"url": "/"}], [{"url": ""}], [], [{"url": "https://shelf.example"}]])
def test_a_served_document_whose_servers_add_no_path_is_taken(tmp_path: Path, servers: list[Any]) -> None:
    # NOTE: `nowhere:app` cannot be imported: the document is taken only if it is not imported.
    outs = collect(tmp_path, served(tmp_path, {**DOCUMENT, "servers": servers}), app="nowhere:app")
    doc = outs["openapi.json"]
    assert doc.status == "ok" and doc.message is None
    assert doc.title.endswith("served at http://127.0.0.1:8000/schema/openapi.json)")
    assert json.loads(data(doc))["servers"] == servers
    assert data(outs["routes.txt"]) == b"GET /books\n"


@pytest.mark.parametrize(
    "servers",
    [
        [{"url": "/api/v1"}],
        [{"url": "/"}, {"url": "/api/v1"}],
        [{"url": "https://shelf.example/api/v1"}],
        [{"description": "no url"}],
        ["/"],
        {"url": "/"},
    ],
)
def test_a_served_document_whose_servers_add_a_path_is_not_taken(tmp_path: Path, servers: Any) -> None:
    handoff = served(tmp_path, {**DOCUMENT, "servers": servers})
    assert "lists `servers`, which an import may not" in str(openapi._from_served(handoff))


def test_when_the_import_after_a_refused_document_fails_the_error_says_why_it_was_imported(
    tmp_path: Path,
) -> None:
    handoff = served(tmp_path, {**DOCUMENT, "servers": [{"url": "/api/v1"}]})
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, handoff, app="nowhere:app")
    error = caught.value
    assert error.message.startswith("importing nowhere:app failed: ModuleNotFoundError: No module named")
    assert error.message.endswith(
        "(imported because it was not read from the service the http collector started: the document at "
        "http://127.0.0.1:8000/schema/openapi.json lists `servers`, which an import may not)"
    )
    assert "module path" in error.hint
    assert any("Traceback" in line for line in error.details)


def test_an_import_that_fails_without_a_served_document_says_nothing_of_one(tmp_path: Path) -> None:
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, app="nowhere:app")
    assert "not read from the service" not in caught.value.message


@pytest.fixture()
def service(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    (root / "shelf").mkdir(parents=True)
    (root / "shelf" / "__init__.py").write_text("")
    (root / "shelf" / "main.py").write_text(textwrap.dedent(LITESTAR_LIKE))
    return root


def test_a_litestar_app_gives_its_document_by_its_openapi_schema(service: Path) -> None:
    outs = collect(service, app="shelf.main:app")
    assert {o.status for o in outs.values()} == {"ok"}
    document = json.loads(data(outs["openapi.json"]))
    assert document == {**DOCUMENT, "info": {**DOCUMENT["info"], "x-released": "2024-05-01"}}
    assert data(outs["routes.txt"]) == b"GET /books\n"
    factory = collect(service, app="shelf.main:create_app", factory=True)
    assert data(factory["openapi.json"]) == data(outs["openapi.json"])


def test_an_object_that_is_no_app_names_the_kinds_taken_and_the_other_sources(service: Path) -> None:
    target = "shelf.main:plain"
    with pytest.raises(CollectorError) as caught:
        collect(service, app=target)
    error = caught.value
    assert error.message.startswith(f"importing {target} failed: TypeError: {target} is of type ")
    assert error.message.endswith(
        "not an app with openapi() (FastAPI, Starlette) or openapi_schema.to_schema() (Litestar)"
    )
    assert "module path" not in error.hint
    assert "`factory: true`" in error.hint
    assert "`url:`, `file:` or `served_at:`" in error.hint
    # NOTE: a factory named without `factory: true` is called, as uvicorn calls one.
    called = collect(service, app="shelf.main:create_app")
    assert data(called["openapi.json"]) == data(
        collect(service, app="shelf.main:create_app", factory=True)["openapi.json"]
    )
