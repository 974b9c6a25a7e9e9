"""OpenAPI evidence: the document, its routes and its webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below, items, mapping

FOLDER = "openapi"
DOCUMENT = "openapi.json"
ROUTES = "routes.json"
ROUTES_TEXT = "routes.txt"
# NOTE: the routes an imported app serves that its document leaves out (`include_in_schema=False`).
HIDDEN = "hidden-routes.txt"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WEBHOOK = "webhook"


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class Route:
    """A path (or a webhook, by its name) with its methods and operation ids."""

    path: str
    methods: tuple[str, ...]
    operation_ids: tuple[str, ...] = ()
    webhook: bool = False

    @property
    def line(self) -> str:
        """The route as `routes.txt` prints it: `GET,POST /runs`, `POST webhook newRun`."""
        where = f"{WEBHOOK} {self.path}" if self.webhook else self.path
        return f"{','.join(self.methods)} {where}"

    def as_json(self) -> dict[str, Any]:
        """The route as `routes.json` records it (`webhook` only when true)."""
        found: dict[str, Any] = {
            "path": self.path,
            "methods": list(self.methods),
            "operation_ids": list(self.operation_ids),
        }
        if self.webhook:
            found["webhook"] = True
        return found


def _of(table: Any, webhook: bool) -> list[Route]:
    found = []
    for name, item in sorted(mapping(table).items()):
        if not isinstance(item, dict):
            continue
        methods = sorted(key for key in item if key.lower() in METHODS)
        if not methods:
            continue
        ops = [item[m].get("operationId") if isinstance(item[m], dict) else None for m in methods]
        found.append(
            Route(
                str(name),
                tuple(m.upper() for m in methods),
                tuple(op for op in ops if isinstance(op, str)),
                webhook,
            )
        )
    return found


def routes(spec: Mapping[str, Any]) -> list[Route]:
    """Every path of an OpenAPI document, then every webhook (OpenAPI 3.1), sorted by name."""
    return _of(spec.get("paths"), False) + _of(spec.get("webhooks"), True)


@dataclass(frozen=True)
class OpenAPIEvidence:
    """The OpenAPI document and its routes; None/empty when the bundle lacks them."""

    document: dict[str, Any] | None
    routes: tuple[Route, ...]
    listed: bool

    @property
    def present(self) -> bool:
        """True when the bundle holds OpenAPI evidence at all."""
        return self.document is not None or self.listed

    @property
    def paths(self) -> list[Route]:
        """The routes that are paths."""
        return [r for r in self.routes if not r.webhook]

    @property
    def webhooks(self) -> list[Route]:
        """The routes that are webhooks."""
        return [r for r in self.routes if r.webhook]


def _from_json(raw: list[Any]) -> list[Route]:
    return [
        Route(
            str(r.get("path", "")),
            tuple(str(m) for m in items(r.get("methods"))),
            tuple(str(o) for o in items(r.get("operation_ids"))),
            bool(r.get("webhook")),
        )
        for r in raw
        if isinstance(r, dict)
    ]


def _from_text(text: str) -> list[Route]:
    found = []
    for line in text.splitlines():
        methods, _, rest = line.strip().partition(" ")
        if not rest:
            continue
        webhook = rest.startswith(f"{WEBHOOK} ")
        found.append(Route(rest.removeprefix(f"{WEBHOOK} "), tuple(methods.split(",")), (), webhook))
    return found


def read(view: BundleView) -> OpenAPIEvidence:
    """The OpenAPI evidence of a bundle: routes from the document when it is there (webhooks included)."""
    doc = view.json(path(DOCUMENT))
    document = doc if isinstance(doc, dict) else None
    listed = view.has(path(ROUTES)) or view.has(path(ROUTES_TEXT))
    if document is not None:
        found = routes(document)
    elif isinstance(view.json(path(ROUTES)), list):
        found = _from_json(view.json(path(ROUTES)))
    else:
        found = _from_text(view.text(path(ROUTES_TEXT)) or "")
    return OpenAPIEvidence(document, tuple(found), listed)
