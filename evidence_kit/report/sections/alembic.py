"""Report section: alembic."""

from __future__ import annotations

from evidence_kit.evidence import alembic
from evidence_kit.report.page import Fact, Part, _Bundle, _str


def _alembic(bd: _Bundle, paths: list[str], part: Part) -> None:
    configs = alembic.read(bd.view).configs
    for config in configs:
        target = (
            part
            if len(configs) <= 1
            else Part(bd.part_id("alembic-", config.label), f"alembic config {config.name}")
        )
        base = f"data/{config.prefix}"
        graph, summary = config.graph, config.summary
        if graph is not None and graph.get("ini"):
            target.facts.append(Fact("Config", f"{graph.get('ini')} [{graph.get('section')}]"))
        if summary is not None:
            count = _str(summary.get("count"))
            origin = str((graph or {}).get("version_locations_from") or "")
            folders = (graph or {}).get("version_locations") or []
            if "per database dialect" in origin and len(folders) == 1:
                # NOTE: env.py picks one folder by the database's dialect: the count is that folder's, and
                # the other dialects' folders are histories of their own, not part of it.
                count += f" in {folders[0]} ({origin})"
            target.facts.append(Fact("Revisions", count))
            up = config.up_to_date
            state = "up to date" if up else "NOT at head" if up is False else "unknown"
            target.facts.append(Fact("Database", state, "ok" if up else "warn"))
            if summary.get("multiple_heads"):
                target.facts.append(Fact("Heads", f"{len(config.heads)} heads: the graph has split", "warn"))
            if summary.get("problems"):
                target.facts.append(
                    Fact("Problems", f"{summary['problems']} migration files alembic would not load", "bad")
                )
        for text, label in ((config.current_text, "alembic current"), (config.heads_text, "alembic heads")):
            if text is not None:
                target.facts.append(Fact(label, text.rstrip("\n"), pre=True))
        for name in (alembic.ERROR, alembic.PROBLEMS):
            if base + name in bd.records:
                target.shown.append(bd.show(base + name, unfold=True))
        history = base + alembic.HISTORY_TEXT
        if history in bd.records:
            target.shown.append(bd.show(history))
        migrations = [f"data/{m}" for m in config.migrations]
        if migrations:
            group = Part(
                bd.part_id("files-", base + "migrations"),
                f"Migration files ({len(migrations)})",
                collapsed=True,
            )
            group.shown = [bd.show(p) for p in migrations]
            target.parts.append(group)
        if target is not part:
            part.parts.append(target)
