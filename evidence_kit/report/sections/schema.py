"""Report section: schema."""

from __future__ import annotations

from typing import Any

from evidence_kit.evidence import schema
from evidence_kit.report.page import Fact, Part, Row, _Bundle, _str, _table

# NOTE: what schema.json lists besides tables, counted when it lists any (older bundles lack some of them);
# the tables' policies and row-level security are counted the same way.
_COUNTED = (
    ("enums", "Enums"),
    ("sequences", "Sequences"),
    ("views", "Views"),
    ("functions", "Functions"),
    ("triggers", "Triggers"),
    ("composite_types", "Composite types"),
    ("domains", "Domains"),
)


def _schema(bd: _Bundle, paths: list[str], part: Part) -> None:
    model = bd.json(f"data/{schema.path(schema.CATALOG)}")
    if isinstance(model, dict):
        tables: list[Any] = model["tables"] if isinstance(model.get("tables"), list) else []
        part.facts.append(Fact("Database", _str(model.get("dialect"))))
        part.facts.append(Fact("Tables", str(len(tables))))
        for key, label in _COUNTED:
            if isinstance(model.get(key), list) and model[key]:
                part.facts.append(Fact(label, str(len(model[key]))))
        described = [t for t in tables if isinstance(t, dict)]
        secured = sum(
            1
            for t in described
            if isinstance(t.get("row_security"), dict) and t["row_security"].get("enabled")
        )
        if secured:
            part.facts.append(Fact("Tables with row-level security", str(secured)))
        policies = sum(len(t["policies"]) for t in described if isinstance(t.get("policies"), list))
        if policies:
            part.facts.append(Fact("Policies", str(policies)))
    text = bd.text(f"data/{schema.path(schema.TABLES)}")
    if text is not None:
        part.facts.append(Fact("Tables in database", text.rstrip("\n"), pre=True))
    counts = bd.json(f"data/{schema.path(schema.ROW_COUNTS)}")
    if isinstance(counts, dict):
        rows = [Row((str(k), _str(v))) for k, v in sorted(counts.items())]
        part.tables.append(_table("Row counts", ("table", "rows"), rows))
    structures = [p for p in paths if p.startswith(f"data/{schema.path(schema.STRUCTURES)}")]
    if structures:
        group = Part(bd.part_id("schema-", "tables"), f"Table structures ({len(structures)})")
        group.shown = [bd.show(p, unfold=True) for p in structures]
        part.parts.append(group)
