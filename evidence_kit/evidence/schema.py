"""Schema evidence: the `pg_dump` schema, the normalized catalog, table listings and row counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below, items, mapping

FOLDER = "schema"
DUMP = "schema.sql"
CATALOG = "schema.json"
TABLES = "tables.txt"
ROW_COUNTS = "row_counts.json"
STRUCTURES = "tables/"


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class SchemaEvidence:
    """The database schema as the schema collector recorded it."""

    catalog: dict[str, Any] | None
    tables_text: str | None
    row_counts: dict[str, Any] | None
    structures: tuple[str, ...]
    has_dump: bool

    @property
    def present(self) -> bool:
        """True when the bundle holds schema evidence at all."""
        return self.catalog is not None or self.tables_text is not None or self.has_dump

    @property
    def tables(self) -> list[str] | None:
        """Every table, `schema.table` (bare on SQLite); None when the bundle does not say."""
        if self.catalog is not None and isinstance(self.catalog.get("tables"), list):
            sqlite = self.catalog.get("dialect") == "sqlite"
            return [
                str(t["name"]) if sqlite or not t.get("schema") else f"{t['schema']}.{t['name']}"
                for t in items(self.catalog["tables"])
                if isinstance(t, dict) and "name" in t
            ]
        if self.tables_text is None:
            return None
        return [line.strip() for line in self.tables_text.splitlines() if line.strip()]


def read(view: BundleView) -> SchemaEvidence:
    """The schema evidence of a bundle."""
    catalog = view.json(path(CATALOG))
    counts = view.json(path(ROW_COUNTS))
    return SchemaEvidence(
        catalog=catalog if isinstance(catalog, dict) else None,
        tables_text=view.text(path(TABLES)),
        row_counts=mapping(counts) if isinstance(counts, dict) else None,
        structures=tuple(view.paths(path(STRUCTURES))),
        has_dump=view.has(path(DUMP)),
    )


def policy_text(policy: Mapping[str, Any]) -> str:
    """A row-level security policy as CREATE POLICY writes it after its name and table:
    `AS RESTRICTIVE FOR SELECT TO app USING (...) WITH CHECK (...)`."""
    parts = [
        "AS PERMISSIVE" if policy.get("permissive", True) else "AS RESTRICTIVE",
        f"FOR {policy.get('command', 'ALL')}",
        f"TO {', '.join(map(str, items(policy.get('roles'))))}",
    ]
    if policy.get("using") is not None:
        parts.append(f"USING ({policy['using']})")
    if policy.get("with_check") is not None:
        parts.append(f"WITH CHECK ({policy['with_check']})")
    return " ".join(parts)


# NOTE: what an index lists beside each key column where not the default, in the order CREATE INDEX writes it.
INDEX_KEY_PARTS = ("collations", "opclasses")


def index_keys(index: Mapping[str, Any], parts: Iterable[str] = INDEX_KEY_PARTS) -> list[str]:
    """An index's key columns as CREATE INDEX writes them: `name COLLATE "C" text_pattern_ops`, with those
    of `parts` the index lists (a bundle from before one was listed has none)."""
    listed = [(part, items(index.get(part))) for part in INDEX_KEY_PARTS if part in parts]
    keys = []
    for k, column in enumerate(items(index.get("columns"))):
        text = str(column)
        order = next((o for o in _ORDERINGS if text.endswith(o)), "")
        text = text[: len(text) - len(order)]
        for part, values in listed:
            if k < len(values) and values[k]:
                text += f" COLLATE {values[k]}" if part == "collations" else f" {values[k]}"
        keys.append(text + order)
    return keys


# NOTE: how a key column's ordering ends its text in the catalog, the longest first.
_ORDERINGS = (" DESC NULLS LAST", " NULLS FIRST", " DESC")
