"""Report section: routes."""

from __future__ import annotations

from evidence_kit.evidence import openapi
from evidence_kit.report.page import Fact, Part, _Bundle, level, plural


def _routes(bd: _Bundle, paths: list[str], part: Part) -> None:
    found = openapi.read(bd.view)
    if found.present:
        ops = sum(len(r.methods) for r in found.paths)
        text = f"{plural(len(found.paths), 'path')}, {plural(ops, 'operation')}"
        if found.webhooks:
            text += f", {plural(len(found.webhooks), 'webhook')}"
        part.facts.append(Fact("Routes", text))
    hidden = bd.text(f"data/{openapi.path(openapi.HIDDEN)}")
    if hidden:
        # NOTE: a line a method and its path, as the document's operations: counted as the Routes fact counts.
        lines = hidden.splitlines()
        served = {line.split(" ", 1)[-1] for line in lines}
        part.facts.append(
            Fact(
                "Not in the document",
                f"{plural(len(served), 'path')}, {plural(len(lines), 'operation')} the app serves with "
                f"`include_in_schema=False` ({openapi.HIDDEN})",
            )
        )
    spec = found.document
    if spec is not None and isinstance(spec.get("info"), dict):
        info = spec["info"]
        part.facts.append(Fact("API", f"{info.get('title', '?')} {info.get('version', '')}".strip()))
    rec = bd.records.get(f"data/{openapi.path(openapi.DOCUMENT)}")
    if rec is not None:
        # NOTE: the title says where the document came from (imported, served, a URL, a file).
        part.facts.append(Fact("Source", str(rec.get("title") or "?")))
        if rec.get("message"):
            part.facts.append(Fact("Message", str(rec["message"]), level(rec.get("status"))))
    listing = f"data/{openapi.path(openapi.ROUTES_TEXT)}"
    if listing in bd.records:
        part.shown.append(bd.show(listing, unfold=True))
