"""Database schema: pg_dump DDL, a normalized catalog description, the table list, row counts."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.errors import CollectorError
from evidence_kit.evidence import schema as layout
from evidence_kit.model import Context, Intent, Output, Status
from evidence_kit.support import db, pgdump, proc

if TYPE_CHECKING:
    import sqlite3

    import psycopg

NAME = "schema"
DEFAULT_TIMEOUT_S = 300.0

_TABLE_NAMES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "uniqueItems": True,
}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "schemas": {
            **_TABLE_NAMES,
            "description": "PostgreSQL schemas to describe and dump (default: every non-system schema).",
        },
        "row_counts": {
            **_TABLE_NAMES,
            "description": "Tables (`name` or `schema.name`) to count rows of exactly (row_counts.json).",
        },
        "describe": {
            **_TABLE_NAMES,
            "description": "Tables (`name` or `schema.name`) listed column by column in "
            "tables/<schema>.<name>.txt (tables/<name>.txt on SQLite).",
        },
        "pg_dump": {
            "type": "string",
            "minLength": 1,
            "description": "pg_dump to run (a path, relative to evidence.yaml, or a name on PATH); "
            "default: the one matching the server's major version.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Seconds pg_dump may run (default 300).",
        },
    },
}

Table = dict[str, Any]

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_IDENTITY = {"a": "always", "d": "by default"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

# NOTE: one filter for every query; system schemas never count, even when named in `schemas`.
_SCHEMA_FILTER = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)' "
    "AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY(%(schemas)s::text[]))"
)


def _not_extension_member(catalog: str, alias: str) -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x "
        f"WHERE x.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass AND x.objid = {alias}.oid "
        "AND x.deptype = 'e')"
    )


_TABLES_SQL = f"""
SELECT c.oid, n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_SCHEMA_FILTER} AND {_not_extension_member("pg_class", "c")}
"""

_SCHEMAS_SQL = f"SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE {_SCHEMA_FILTER}"

_COLUMNS_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, {{generated}}
FROM t
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT con.conrelid, con.conname, con.contype, con.conkey, rn.nspname, rc.relname,
       CASE WHEN con.contype = 'f' THEN
           ARRAY(SELECT a.attname FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                 ORDER BY k.ord)
       END,
       con.confdeltype, con.confupdtype,
       CASE WHEN con.contype IN ('c', 'x') THEN pg_catalog.pg_get_constraintdef(con.oid, true) END
FROM t
JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
"""

# NOTE: indexes that back a primary key or unique constraint are described by the constraint; column
# numbers are named from the columns query, only expressions need pg_get_indexdef.
_INDEXES_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT i.indrelid, ic.relname, i.indisunique, am.amname, {{nkeyatts}}, i.indkey::pg_catalog.int2[],
       CASE WHEN i.indexprs IS NOT NULL THEN
           ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
                 FROM pg_catalog.generate_series(1, i.indnatts) AS k ORDER BY k)
       END,
       i.indoption::pg_catalog.int2[],
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true),
       ARRAY(SELECT CASE WHEN oc.opcdefault THEN ''
                         WHEN ons.nspname = 'pg_catalog' THEN oc.opcname::pg_catalog.text
                         ELSE ons.nspname || '.' || oc.opcname END
             FROM pg_catalog.generate_series(0, {{nkeyatts}} - 1) AS k
             JOIN pg_catalog.pg_opclass oc ON oc.oid = i.indclass[k]
             JOIN pg_catalog.pg_namespace ons ON ons.oid = oc.opcnamespace
             ORDER BY k),
       ARRAY(SELECT CASE WHEN i.indcollation[k] = 0
                           OR i.indcollation[k] = COALESCE(a.attcollation, 100) THEN ''
                         WHEN cns.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
                         ELSE pg_catalog.quote_ident(cns.nspname) || '.'
                              || pg_catalog.quote_ident(co.collname)
                    END
             FROM pg_catalog.generate_series(0, {{nkeyatts}} - 1) AS k
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k]
             LEFT JOIN pg_catalog.pg_collation co ON co.oid = i.indcollation[k]
             LEFT JOIN pg_catalog.pg_namespace cns ON cns.oid = co.collnamespace
             ORDER BY k)
FROM t
JOIN pg_catalog.pg_index i ON i.indrelid = t.oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid
                  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u'))
"""

# NOTE: row-level security and its policies, each with its roles by name (PUBLIC as `public`, as pg_policies
# shows it) and its expressions as pg_get_expr prints them, which is what pg_dump writes in CREATE POLICY.
_ROW_SECURITY_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT t.oid, c.relrowsecurity, c.relforcerowsecurity
FROM t
JOIN pg_catalog.pg_class c ON c.oid = t.oid
"""

_POLICIES_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE ro.rolname::pg_catalog.text END
             FROM pg_catalog.unnest(p.polroles) AS r(oid)
             LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = r.oid),
       pg_catalog.pg_get_expr(p.polqual, p.polrelid),
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
FROM t
JOIN pg_catalog.pg_policy p ON p.polrelid = t.oid
"""

_ENUMS_SQL = f"""
SELECT n.nspname, t.typname, pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
WHERE {_SCHEMA_FILTER} AND {_not_extension_member("pg_type", "t")}
GROUP BY n.nspname, t.typname
"""

_SEQUENCES_SQL = f"""
SELECT n.nspname, c.relname, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
       s.seqmin, s.seqmax, s.seqcache, s.seqcycle, dn.nspname, dc.relname, da.attname, dep.deptype
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND dep.objid = c.oid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class dc ON dc.oid = dep.refobjid
LEFT JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
LEFT JOIN pg_catalog.pg_attribute da ON da.attrelid = dep.refobjid AND da.attnum = dep.refobjsubid
WHERE {_SCHEMA_FILTER} AND {_not_extension_member("pg_class", "c")}
"""

_VIEWS_SQL = f"""
SELECT n.nspname, c.relname, c.relkind = 'm', pg_catalog.pg_get_viewdef(c.oid, true)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {_SCHEMA_FILTER} AND {_not_extension_member("pg_class", "c")}
"""

# NOTE: functions and procedures, by their identity arguments (overloads are distinct objects); the whole
# definition pg_get_functiondef gives is digested, so that a changed body shows without its text.
_FUNCTIONS_SQL = f"""
SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_function_result(p.oid), CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       l.lanname, pg_catalog.pg_get_functiondef(p.oid)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE {{kinds}} AND {_SCHEMA_FILTER} AND {_not_extension_member("pg_proc", "p")}
"""

_TRIGGERS_SQL = f"""
WITH t AS ({_TABLES_SQL})
SELECT t.nspname, t.relname, tg.tgname, pg_catalog.pg_get_triggerdef(tg.oid, true), tg.tgenabled
FROM t
JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = t.oid
WHERE NOT tg.tgisinternal
"""

# NOTE: composite types made with CREATE TYPE (every table has one too: those are left out) and domains,
# each with what makes it up, in declared order; a column of either shows the type's name only.
_TYPES_SQL = f"""
SELECT n.nspname, t.typname,
       ARRAY(SELECT a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
             FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
WHERE t.typtype = 'c' AND c.relkind = 'c' AND {_SCHEMA_FILTER} AND {_not_extension_member("pg_type", "t")}
"""

_DOMAINS_SQL = f"""
SELECT n.nspname, t.typname, pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
       ARRAY(SELECT pg_catalog.pg_get_constraintdef(con.oid, true) FROM pg_catalog.pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY con.conname)
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND {_SCHEMA_FILTER} AND {_not_extension_member("pg_type", "t")}
"""

# NOTE: extensions belong to the database, not to a schema: all of them, whatever schemas are read.
_EXTENSIONS_SQL = """
SELECT e.extname, e.extversion, n.nspname
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
"""


# ----------------------------------------------------------------------------------------------------
# The normalized description, shared by both dialects.


def _new_table(schema: str, name: str) -> Table:
    return {
        "schema": schema,
        "name": name,
        "columns": [],
        "primary_key": None,
        "unique_constraints": [],
        "indexes": [],
        "foreign_keys": [],
        "check_constraints": [],
        "exclusion_constraints": [],
    }


_LISTS = ("unique_constraints", "indexes", "foreign_keys", "check_constraints", "exclusion_constraints")


def _by_name(item: Mapping[str, Any]) -> tuple[str, str]:
    # NOTE: SQLite constraints may be unnamed; their columns or definition break the tie.
    return (item.get("name") or "", str(item.get("columns") or item.get("definition") or ""))


def _finish(
    dialect: str,
    version: str,
    schemas: list[str],
    tables: Iterable[Table],
    enums: list[dict[str, Any]],
    sequences: list[dict[str, Any]],
    extensions: list[dict[str, Any]] | None = None,
    code: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    ordered = sorted(tables, key=lambda t: (t["schema"], t["name"]))
    for table in ordered:
        for key in _LISTS:
            table[key].sort(key=_by_name)
    found: dict[str, Any] = {
        "dialect": dialect,
        "server_version": version,
        "schemas": sorted(schemas),
        "tables": ordered,
        "enums": sorted(enums, key=lambda e: (e["schema"], e["name"])),
        "sequences": sorted(sequences, key=lambda s: (s["schema"], s["name"])),
    }
    if extensions is not None:
        found["extensions"] = sorted(extensions, key=lambda e: e["name"])
    for key, listed in (code or {}).items():
        found[key] = sorted(
            listed, key=lambda o: [str(o.get(k, "")) for k in ("schema", "table", "name", "arguments")]
        )
    return found


def qualified(table: Mapping[str, Any], dialect: str) -> str:
    """How a table is named in listings: `schema.name` on PostgreSQL, `name` on SQLite."""
    return str(table["name"]) if dialect == "sqlite" else f"{table['schema']}.{table['name']}"


_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _holds_containers(items: Iterable[Any]) -> bool:
    return any(isinstance(i, dict | list) for i in items)


def _emit(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, dict):
        expand = depth == 0 or any(isinstance(v, list) and _holds_containers(v) for v in value.values())
    else:
        expand = isinstance(value, list) and _holds_containers(value)
    if not expand or not value:
        out.append(_COMPACT.encode(value))
        return
    pad, close = "\n" + "  " * (depth + 1), "\n" + "  " * depth
    if isinstance(value, dict):
        out.append("{")
        for n, key in enumerate(sorted(value)):
            out.append(f"{',' if n else ''}{pad}{_COMPACT.encode(key)}: ")
            _emit(value[key], depth + 1, out)
        out.append(close + "}")
    else:
        out.append("[")
        for n, item in enumerate(value):
            out.append(f"{',' if n else ''}{pad}")
            _emit(item, depth + 1, out)
        out.append(close + "]")


def render_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, the nesting indented, each column, index or key on one line."""
    # NOTE: one line per leaf object keeps diffs between bundles to the objects that changed, and lets the
    # C encoder do the bulk of the work (json.dumps with `indent` falls back to the pure-Python encoder).
    out: list[str] = []
    _emit(value, 0, out)
    out.append("\n")
    return "".join(out).encode()


def render_tables(model: Mapping[str, Any]) -> bytes:
    """The `Tables in database:` listing with a count line."""
    names = [qualified(t, model["dialect"]) for t in model["tables"]]
    lines = ["Tables in database:", *(f"  {n}" for n in names or ["(none)"])]
    lines += ["", f"{len(names)} table{'' if len(names) == 1 else 's'}"]
    return ("\n".join(lines) + "\n").encode()


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    rule = ["-" * w for w in widths]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, rule, *rows]
    ]


def _cols(columns: Sequence[str]) -> str:
    return f"({', '.join(columns)})"


def _default(column: Mapping[str, Any]) -> str:
    if column["default"] is not None:
        return str(column["default"])
    if column["generated"] is not None:
        return f"GENERATED ({column['generated']})"
    return f"IDENTITY {column['identity'].upper()}" if column["identity"] else ""


def _named(item: Mapping[str, Any], rest: str) -> str:
    return f"{item['name']} {rest}" if item["name"] else rest


def _index_line(index: Mapping[str, Any]) -> str:
    parts = [index["name"], "UNIQUE" if index["unique"] else "", index["method"] or ""]
    parts.append(_cols(layout.index_keys(index)))
    if index["include"]:
        parts.append(f"INCLUDE {_cols(index['include'])}")
    if index["where"]:
        parts.append(f"WHERE {index['where']}")
    return " ".join(p for p in parts if p)


def _fk_line(fk: Mapping[str, Any], dialect: str) -> str:
    ref = fk["references"]
    target = ref["table"] if dialect == "sqlite" else f"{ref['schema']}.{ref['table']}"
    return (
        _named(fk, f"{_cols(fk['columns'])} REFERENCES {target} {_cols(ref['columns'])} ")
        + f"ON DELETE {fk['on_delete']} ON UPDATE {fk['on_update']}"
    )


def _row_security_line(table: Mapping[str, Any]) -> list[str]:
    rls = table.get("row_security")
    if not rls or not (rls["enabled"] or rls["forced"] or table["policies"]):
        return []
    state = "enabled" if rls["enabled"] else "disabled"
    return ["", f"Row-level security: {state}{', forced' if rls['forced'] else ''}"]


def render_describe(table: Mapping[str, Any], dialect: str) -> bytes:
    """A per-table structure listing: columns in ordinal order, then keys, indexes and constraints."""
    rows = [[c["name"], c["type"], "YES" if c["nullable"] else "NO", _default(c)] for c in table["columns"]]
    lines = [f"Table: {qualified(table, dialect)}", ""]
    lines += _aligned(["Column Name", "Data Type", "Nullable", "Default"], rows)
    pk = table["primary_key"]
    if pk:
        lines += ["", f"Primary key: {_named(pk, _cols(pk['columns']))}"]
    sections = [
        ("Unique constraints", [_named(u, _cols(u["columns"])) for u in table["unique_constraints"]]),
        ("Indexes", [_index_line(i) for i in table["indexes"]]),
        ("Foreign keys", [_fk_line(f, dialect) for f in table["foreign_keys"]]),
        ("Check constraints", [_named(c, c["definition"]) for c in table["check_constraints"]]),
        ("Exclusion constraints", [_named(x, x["definition"]) for x in table["exclusion_constraints"]]),
    ]
    for title, items in sections:
        if items:
            lines += ["", f"{title}:", *(f"  {item}" for item in items)]
    lines += _row_security_line(table)
    if table.get("policies"):
        lines += ["", "Policies:", *(f"  {p['name']} {layout.policy_text(p)}" for p in table["policies"])]
    return ("\n".join(lines) + "\n").encode()


def resolve(wanted: str, model: Mapping[str, Any]) -> Table | str:
    """The table `wanted` names (`name` or `schema.name`), or why there is none."""
    tables: list[Table] = model["tables"]
    exact = [t for t in tables if qualified(t, model["dialect"]) == wanted]
    if exact:
        return exact[0]
    bare = [t for t in tables if t["name"] == wanted]
    if len(bare) == 1:
        return bare[0]
    public = [t for t in bare if t["schema"] == "public"]
    if public:
        return public[0]
    if bare:
        listed = ", ".join(qualified(t, model["dialect"]) for t in bare)
        return f"table {wanted!r} is ambiguous ({listed}); name it as schema.name"
    return f"table {wanted!r} not found"


# ----------------------------------------------------------------------------------------------------
# PostgreSQL


def server_version(conn: psycopg.Connection[Any]) -> str:
    """The server's version as `15.4` (from the startup parameters, no query)."""
    shown = conn.info.parameter_status("server_version")
    if shown:
        return shown.split()[0]
    num = conn.info.server_version
    if num >= 100000:
        return f"{num // 10000}.{num % 10000}"
    return f"{num // 10000}.{num // 100 % 100}.{num % 100}"


def postgres_catalog(conn: psycopg.Connection[Any], schemas: Sequence[str] | None = None) -> dict[str, Any]:
    """The normalized schema description, read in one query per kind over all selected tables."""
    num = conn.info.server_version
    params = {"schemas": list(schemas) if schemas else None}
    run = conn.execute
    # NOTE: with only pg_catalog on the search path every type, default and expression is schema-qualified,
    # so the description does not depend on the user's search_path (pg_dump does the same).
    run("SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)")
    found_schemas = [r[0] for r in run(_SCHEMAS_SQL, params).fetchall()]
    tables: dict[int, Table] = {oid: _new_table(s, n) for oid, s, n in run(_TABLES_SQL, params).fetchall()}

    generated = "a.attgenerated" if num >= 120000 else "''::\"char\""
    names: dict[tuple[int, int], str] = {}
    for relid, attnum, name, type_, notnull, default, identity, gen in run(
        _COLUMNS_SQL.format(generated=generated), params
    ).fetchall():
        names[relid, attnum] = name
        tables[relid]["columns"].append(
            {
                "name": name,
                "type": type_,
                "nullable": not notnull,
                "default": None if gen else default,
                "identity": _IDENTITY.get(identity or ""),
                "generated": default if gen else None,
            }
        )

    for relid, name, kind, keys, ref_schema, ref_table, ref_cols, on_delete, on_update, definition in run(
        _CONSTRAINTS_SQL, params
    ).fetchall():
        table = tables[relid]
        cols = [names.get((relid, k), str(k)) for k in keys or ()]
        if kind == "p":
            table["primary_key"] = {"name": name, "columns": cols}
        elif kind == "u":
            table["unique_constraints"].append({"name": name, "columns": cols})
        elif kind == "f":
            table["foreign_keys"].append(
                {
                    "name": name,
                    "columns": cols,
                    "references": {"schema": ref_schema, "table": ref_table, "columns": ref_cols},
                    "on_delete": _FK_ACTIONS.get(on_delete, on_delete),
                    "on_update": _FK_ACTIONS.get(on_update, on_update),
                }
            )
        elif kind == "c":
            table["check_constraints"].append({"name": name, "definition": definition})
        else:
            table["exclusion_constraints"].append({"name": name, "definition": definition})

    nkeyatts = "i.indnkeyatts" if num >= 110000 else "i.indnatts"
    for relid, name, unique, method, nkey, attnums, exprs, options, where, opclasses, collations in run(
        _INDEXES_SQL.format(nkeyatts=nkeyatts), params
    ).fetchall():
        defs = [names.get((relid, n), str(n)) if n else exprs[k] for k, n in enumerate(attnums)]
        keys = [d + _ordering(options[k] if k < len(options) else 0) for k, d in enumerate(defs[:nkey])]
        tables[relid]["indexes"].append(
            {
                "name": name,
                "unique": unique,
                "method": method,
                "columns": keys,
                "include": defs[nkey:],
                "where": where,
                # NOTE: each key column's operator class where it is not its type's default (`gin_trgm_ops`).
                "opclasses": [c or None for c in opclasses],
                # NOTE: and its collation where not the column's own (an expression's: the default one).
                "collations": [c or None for c in collations],
            }
        )

    for relid, enabled, forced in run(_ROW_SECURITY_SQL, params).fetchall():
        tables[relid]["row_security"] = {"enabled": enabled, "forced": forced}
        tables[relid]["policies"] = []
    for relid, name, command, permissive, roles, using, with_check in run(_POLICIES_SQL, params).fetchall():
        tables[relid]["policies"].append(
            {
                "name": name,
                "command": _POLICY_COMMANDS.get(command, command),
                "permissive": permissive,
                "roles": sorted(roles),
                "using": using,
                "with_check": with_check,
            }
        )
    for table in tables.values():
        table["policies"].sort(key=lambda policy: policy["name"])

    enums = [{"schema": s, "name": n, "values": list(v)} for s, n, v in run(_ENUMS_SQL, params).fetchall()]
    sequences = [
        {
            "schema": s,
            "name": n,
            "type": type_,
            "start": start,
            "increment": inc,
            "min": low,
            "max": high,
            "cache": cache,
            "cycle": cycle,
            "identity": dep == "i",
            "owned_by": f"{o_schema}.{o_table}.{o_column}" if o_table else None,
        }
        for s, n, type_, start, inc, low, high, cache, cycle, o_schema, o_table, o_column, dep in run(
            _SEQUENCES_SQL, params
        ).fetchall()
    ]
    extensions = [
        {"name": name, "version": version, "schema": schema}
        for name, version, schema in run(_EXTENSIONS_SQL).fetchall()
    ]
    views = [
        {"schema": s, "name": n, "materialized": m, "definition": d}
        for s, n, m, d in run(_VIEWS_SQL, params).fetchall()
    ]
    kinds = "p.prokind IN ('f', 'p')" if num >= 110000 else "NOT p.proisagg AND NOT p.proiswindow"
    functions = [
        {
            "schema": s,
            "name": n,
            "arguments": args,
            "result": result,
            "kind": kind,
            "language": language,
            "definition_sha256": hashlib.sha256(definition.encode()).hexdigest(),
        }
        for s, n, args, result, kind, language, definition in run(
            _FUNCTIONS_SQL.format(kinds=kinds), params
        ).fetchall()
    ]
    triggers = [
        {"schema": s, "table": t, "name": n, "definition": d, "enabled": enabled != "D"}
        for s, t, n, d, enabled in run(_TRIGGERS_SQL, params).fetchall()
    ]
    types = [
        {"schema": s, "name": n, "attributes": list(attributes)}
        for s, n, attributes in run(_TYPES_SQL, params).fetchall()
    ]
    domains = [
        {
            "schema": s,
            "name": n,
            "type": type_,
            "nullable": not notnull,
            "default": default,
            "checks": list(checks),
        }
        for s, n, type_, notnull, default, checks in run(_DOMAINS_SQL, params).fetchall()
    ]
    code = {
        "views": views,
        "functions": functions,
        "triggers": triggers,
        "composite_types": types,
        "domains": domains,
    }
    return _finish(
        "postgresql", server_version(conn), found_schemas, tables.values(), enums, sequences, extensions, code
    )


def _ordering(option: int) -> str:
    desc, nulls_first = bool(option & 1), bool(option & 2)
    if desc:
        return " DESC" if nulls_first else " DESC NULLS LAST"
    return " NULLS FIRST" if nulls_first else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pg_row_counts(conn: psycopg.Connection[Any], model: Mapping[str, Any], names: Sequence[str]) -> Output:
    import psycopg
    from psycopg import sql

    started, t0 = proc.utcnow(), time.monotonic()
    counts: dict[str, int] = {}
    errors: list[str] = []
    for wanted in names:
        table = resolve(wanted, model)
        if isinstance(table, str):
            errors.append(table)
            continue
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(table["schema"]), sql.Identifier(table["name"])
        )
        try:
            # NOTE: a savepoint per table, so one failing count (timeout, permission) spares the others.
            with conn.transaction():
                row = conn.execute(query).fetchone()
        except psycopg.Error as exc:
            errors.append(f"{qualified(table, 'postgresql')}: {_first_line(exc)}")
            continue
        counts[qualified(table, "postgresql")] = int(row[0]) if row else 0
    return _counts_output(counts, errors, started, t0)


def _counts_output(counts: Mapping[str, int], errors: Sequence[str], started: str, t0: float) -> Output:
    return Output(
        layout.ROW_COUNTS,
        "Exact row counts",
        media_type="application/json",
        data=render_json(counts),
        status="error" if errors else "ok",
        message="; ".join(errors) or None,
        started=started,
        finished=proc.utcnow(),
        duration_s=round(time.monotonic() - t0, 3),
    )


def _pg_dump_argv(url: str) -> tuple[list[str], str | None]:
    """pg_dump connection arguments for `url` and the password, which goes into PGPASSWORD instead."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {k: str(v) for k, v in conninfo_to_dict(db.libpq_url(url)).items() if v is not None}
    password = params.pop("password", None)
    flags = {"host": "--host", "port": "--port", "user": "--username", "dbname": "--dbname"}
    dbname = params.get("dbname", "")
    if set(params) <= set(flags) and "=" not in dbname and not dbname.startswith("postgres"):
        return [f"{flags[k]}={params[k]}" for k in flags if k in params], password
    # NOTE: other parameters (sslmode, options, ...) travel in a connection string, still without password.
    return [f"--dbname={make_conninfo('', **params)}"], password


_DUMP_TITLE = "Schema DDL (pg_dump --schema-only)"

# NOTE: pg_dump since 17.6/16.10/15.14/14.19/13.22 brackets its script in `\restrict KEY` / `\unrestrict KEY`
# with a random KEY, which would make every dump differ. The key is replaced by one derived from the dump
# itself: stable for identical schemas, still unguessable for whoever wrote the objects being dumped.
_RESTRICT = re.compile(rb"^\\restrict ([A-Za-z0-9]+)\r?\n?$")


def stable_dump(src: Path, dest: Path) -> Path:
    """`src` with pg_dump's random `\\restrict` key swapped for a content-derived one; `src` if none."""
    key: bytes | None = None
    derived = hashlib.sha256()
    with src.open("rb") as f:
        for line in f:
            if key is None and (match := _RESTRICT.match(line)):
                key = match.group(1)
            derived.update(line.replace(key, b"") if key else line)
    if key is None:
        return src
    stable = derived.hexdigest().encode()
    with src.open("rb") as f, dest.open("wb") as out:
        for line in f:
            out.write(line.replace(key, stable))
    return dest


def _dump_error(message: str) -> Output:
    return Output(
        layout.DUMP, _DUMP_TITLE, media_type="application/sql", data=b"", status="error", message=message
    )


def _pg_dump_output(
    ctx: Context, url: str, version: str, schemas: Sequence[str] | None, options: Mapping[str, Any]
) -> Output:
    env = dict(ctx.env or os.environ)
    explicit = options.get("pg_dump")
    if explicit and ("/" in explicit) and not Path(explicit).expanduser().is_absolute():
        explicit = str(ctx.root / explicit)
    try:
        found = pgdump.find_pg_dump(version, explicit=explicit, path_env=env.get("PATH", ""), env=env)
    except CollectorError as exc:
        return _dump_error(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
    args, password = _pg_dump_argv(url)
    argv = [str(found.path), "--schema-only", "--no-owner", "--no-privileges", "--no-password", *args]
    # NOTE: a double-quoted pg_dump pattern matches the name literally (no wildcards, case kept).
    argv += ['--schema="' + s.replace('"', '""') + '"' for s in schemas or ()]
    if password is not None:
        env["PGPASSWORD"] = password
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT_S))
    try:
        result = proc.run(argv, scratch=ctx.scratch, label="pg_dump", env=env, timeout=timeout, tree=False)
    except CollectorError as exc:
        return _dump_error(exc.message)
    status: Status = "ok"
    message: str | None = None
    if result.timed_out:
        status, message = "timeout", f"pg_dump timed out after {timeout:g} s; its process group was killed"
    elif result.exit_code != 0:
        tail = " / ".join(result.text("stderr").strip().splitlines()[-3:])[:600]
        status, message = "failed", f"pg_dump exited with code {result.exit_code}: {tail or 'no message'}"
    elif result.stdout_truncated:
        message = "pg_dump output was cut at the size cap"
    source = stable_dump(result.stdout, ctx.scratch / layout.DUMP) if status == "ok" else result.stdout
    return Output(
        layout.DUMP,
        _DUMP_TITLE,
        media_type="application/sql",
        source=source,
        argv=result.argv,
        exit_code=result.exit_code,
        status=status,
        started=result.started,
        finished=result.finished,
        duration_s=result.duration_s,
        truncated=result.stdout_truncated,
        message=message,
    )


def _collect_postgres(ctx: Context, url: str, options: Mapping[str, Any]) -> list[Output]:
    import psycopg

    schemas = _names(options.get("schemas")) or None
    outputs: list[Output] = []
    catalog_error: str | None = None
    conn = db.connect_pg(url, source=ctx.database_source)
    try:
        # NOTE: one snapshot for the catalog reads and the row counts.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        version = server_version(conn)
        started, t0 = proc.utcnow(), time.monotonic()
        try:
            model = postgres_catalog(conn, schemas)
        except psycopg.Error as exc:
            catalog_error = f"reading the catalogs of {db.safe(url)} failed: {_first_line(exc)}"
        else:
            missing = sorted(set(schemas or ()) - set(model["schemas"]))
            note = f"schema(s) not found: {', '.join(missing)}" if missing else None
            outputs += _model_outputs(model, options, started, t0, note)
            if _names(options.get("row_counts")):
                outputs.append(_pg_row_counts(conn, model, _names(options.get("row_counts"))))
    finally:
        conn.close()
    outputs.append(_pg_dump_output(ctx, url, version, schemas, options))
    if catalog_error:
        dump = outputs[-1]
        if dump.status != "ok":
            raise CollectorError(
                f"{catalog_error}; pg_dump: {dump.message}",
                hint="check that the database user may read the system catalogs, and the pg_dump message",
            )
        outputs.append(
            Output(
                layout.CATALOG,
                "Normalized schema description",
                media_type="application/json",
                data=b"",
                status="error",
                message=catalog_error,
            )
        )
    return outputs


# ----------------------------------------------------------------------------------------------------
# Shared output assembly


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(str(v) for v in items))


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


def _model_outputs(
    model: Mapping[str, Any], options: Mapping[str, Any], started: str, t0: float, note: str | None
) -> list[Output]:
    duration = round(time.monotonic() - t0, 3)
    timing: dict[str, Any] = {"started": started, "finished": proc.utcnow(), "duration_s": duration}
    outputs = [
        Output(
            layout.CATALOG,
            "Normalized schema description",
            media_type="application/json",
            data=render_json(model),
            status="error" if note else "ok",
            message=note,
            **timing,
        ),
        Output(layout.TABLES, "Tables in database", data=render_tables(model), **timing),
    ]
    for wanted in _names(options.get("describe")):
        table = resolve(wanted, model)
        if isinstance(table, str):
            outputs.append(
                Output(
                    f"{layout.STRUCTURES}{_file_name(wanted)}.txt",
                    f"Structure of {wanted}",
                    data=b"",
                    status="error",
                    message=table,
                )
            )
        else:
            name = qualified(table, model["dialect"])
            outputs.append(
                Output(
                    f"{layout.STRUCTURES}{_file_name(name)}.txt",
                    f"Structure of {name}",
                    data=render_describe(table, model["dialect"]),
                    **timing,
                )
            )
    return outputs


# ----------------------------------------------------------------------------------------------------
# SQLite


_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|\w+|.""", re.S
)
Token = tuple[str, int, int]


def _tokens(text: str) -> list[Token]:
    return [
        (m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if not m.group().isspace() and not m.group().startswith(("--", "/*"))
    ]


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] + token[-1] in ('""', "``", "[]", "''"):
        inner = token[1:-1]
        return inner if token[0] == "[" else inner.replace(token[0] * 2, token[0])
    return token


def _group(tokens: Sequence[Token], start: int) -> tuple[int, list[tuple[int, int]]]:
    """The index of the `)` closing the `(` at `start`, and the [first, end) token ranges of its items."""
    depth, first, items = 0, start + 1, []
    for i in range(start, len(tokens)):
        tok = tokens[i][0]
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth == 0:
                items.append((first, i))
                return i, items
        elif tok == "," and depth == 1:
            items.append((first, i))
            first = i + 1
    items.append((first, len(tokens)))
    return len(tokens) - 1, items


def _span(text: str, tokens: Sequence[Token], first: int, end: int) -> str:
    return text[tokens[first][1] : tokens[end - 1][2]] if end > first else ""


class _TableSql:
    """What only the CREATE TABLE text tells: constraint names, CHECKs, generated column expressions."""

    def __init__(self, text: str) -> None:
        self.pk_name: str | None = None
        self.unique_names: dict[tuple[str, ...], str] = {}
        self.fk_names: dict[tuple[str, ...], str] = {}
        self.checks: list[dict[str, Any]] = []
        self.generated: dict[str, str] = {}
        tokens = _tokens(text)
        opening = next((i for i, t in enumerate(tokens) if t[0] == "("), None)
        if opening is None:
            return
        for first, end in _group(tokens, opening)[1]:
            if end > first:
                self._item(text, tokens, first, end)

    def _item(self, text: str, tokens: Sequence[Token], first: int, end: int) -> None:
        words = [t[0].upper() for t in tokens]
        column = (
            None
            if words[first] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")
            else _unquote(tokens[first][0])
        )
        pending: str | None = None
        j = first
        while j < end:
            word = words[j]
            paren = j + 1 < end and tokens[j + 1][0] == "("
            if word == "CONSTRAINT" and j + 1 < end:
                pending, j = _unquote(tokens[j + 1][0]), j + 2
                continue
            if word in ("CHECK", "AS") and paren:
                close, _ = _group(tokens, j + 1)
                if word == "CHECK":
                    self.checks.append({"name": pending, "definition": _span(text, tokens, j, close + 1)})
                elif column is not None:
                    self.generated[column] = _span(text, tokens, j + 2, close)
                pending, j = None, close + 1
                continue
            if word in ("PRIMARY", "UNIQUE", "FOREIGN", "REFERENCES"):
                cols: tuple[str, ...] = (column,) if column is not None else ()
                k = j + 2 if word in ("PRIMARY", "FOREIGN") else j + 1
                if column is None and k < end and tokens[k][0] == "(":
                    close, items = _group(tokens, k)
                    cols = tuple(_unquote(tokens[a][0]) for a, b in items if b > a)
                    k = close + 1
                if pending is not None and cols:
                    if word == "PRIMARY":
                        self.pk_name = pending
                    elif word == "UNIQUE":
                        self.unique_names[cols] = pending
                    else:
                        self.fk_names.setdefault(cols, pending)
                pending = None
                if word == "FOREIGN" or (word == "REFERENCES" and column is None):
                    return
                j = max(k, j + 1)
                continue
            pending = None
            j = _group(tokens, j)[0] + 1 if tokens[j][0] == "(" else j + 1


def _index_sql(text: str) -> tuple[list[str], str | None]:
    """The key expressions as written and the WHERE predicate of a CREATE INDEX statement."""
    tokens = _tokens(text)
    on = next((i for i, t in enumerate(tokens) if t[0].upper() == "ON"), None)
    opening = next((i for i in range(on or 0, len(tokens)) if tokens[i][0] == "("), None)
    if on is None or opening is None:
        return [], None
    close, items = _group(tokens, opening)
    exprs = [_span(text, tokens, a, b) for a, b in items]
    if close + 2 < len(tokens) and tokens[close + 1][0].upper() == "WHERE":
        return exprs, text[tokens[close + 2][1] :].strip().rstrip(";").strip()
    return exprs, None


_SQLITE_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"


def sqlite_catalog(conn: sqlite3.Connection) -> dict[str, Any]:
    """The normalized schema description of a SQLite database, in the PostgreSQL shape (types as declared)."""
    import sqlite3

    run = conn.execute
    sources = dict(run(f"SELECT m.name, m.sql FROM sqlite_master AS m WHERE {_SQLITE_TABLES}").fetchall())
    tables: dict[str, Table] = {name: _new_table("main", name) for name in sources}
    parsed = {name: _TableSql(text or "") for name, text in sources.items()}
    pk_columns: dict[str, list[tuple[int, str]]] = {}
    for table, name, type_, notnull, default, pk, hidden in run(
        'SELECT m.name, c.name, c.type, c."notnull", c.dflt_value, c.pk, c.hidden '
        f"FROM sqlite_master AS m JOIN pragma_table_xinfo(m.name) AS c WHERE {_SQLITE_TABLES} "
        "ORDER BY m.name, c.cid"
    ).fetchall():
        if hidden == 1:
            continue
        if pk:
            pk_columns.setdefault(table, []).append((pk, name))
        tables[table]["columns"].append(
            {
                "name": name,
                "type": type_,
                "nullable": not notnull,
                "default": default,
                "identity": None,
                "generated": parsed[table].generated.get(name, "") if hidden in (2, 3) else None,
            }
        )
    for table, cols in pk_columns.items():
        names = [n for _, n in sorted(cols)]
        tables[table]["primary_key"] = {"name": parsed[table].pk_name, "columns": names}
        without_rowid = "WITHOUT ROWID" in " ".join((sources[table] or "").upper().split())
        for col in tables[table]["columns"]:
            rowid = len(names) == 1 and col["type"].upper() == "INTEGER"
            # NOTE: SQLite lets NULL into a primary key unless it is the rowid or the table is WITHOUT ROWID.
            if col["name"] in names and (without_rowid or rowid):
                col["nullable"] = False

    index_sql = dict(run("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    index_cols: dict[str, list[tuple[int, str | None, bool]]] = {}
    for index, cid, name, desc, key in run(
        'SELECT il.name, ic.cid, ic.name, ic."desc", ic.key FROM sqlite_master AS m '
        "JOIN pragma_index_list(m.name) AS il JOIN pragma_index_xinfo(il.name) AS ic "
        f"WHERE {_SQLITE_TABLES} ORDER BY il.name, ic.seqno"
    ).fetchall():
        if key:
            index_cols.setdefault(index, []).append((cid, name, bool(desc)))
    for table, index, unique, origin, partial in run(
        'SELECT m.name, il.name, il."unique", il.origin, il.partial FROM sqlite_master AS m '
        f"JOIN pragma_index_list(m.name) AS il WHERE {_SQLITE_TABLES}"
    ).fetchall():
        exprs, where = _index_sql(index_sql.get(index) or "")
        keys = [
            f"{name} DESC" if name and desc else name or (exprs[i] if i < len(exprs) else "?")
            for i, (_, name, desc) in enumerate(index_cols.get(index, []))
        ]
        if origin == "u":
            tables[table]["unique_constraints"].append(
                {"name": parsed[table].unique_names.get(tuple(keys)), "columns": keys}
            )
        elif origin == "c":
            tables[table]["indexes"].append(
                {
                    "name": index,
                    "unique": bool(unique),
                    "method": None,
                    "columns": keys,
                    "include": [],
                    "where": where if partial else None,
                }
            )

    fks: dict[tuple[str, int], dict[str, Any]] = {}
    for table, fk_id, _seq, target, src, dest, on_update, on_delete in run(
        'SELECT m.name, fk.id, fk.seq, fk."table", fk."from", fk."to", fk.on_update, fk.on_delete '
        f"FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS fk WHERE {_SQLITE_TABLES} "
        "ORDER BY m.name, fk.id, fk.seq"
    ).fetchall():
        fk = fks.setdefault(
            (table, fk_id),
            {
                "name": None,
                "columns": [],
                "references": {"schema": "main", "table": target, "columns": []},
                "on_delete": on_delete,
                "on_update": on_update,
            },
        )
        fk["columns"].append(src)
        fk["references"]["columns"].append(dest)
    for (table, _), fk in fks.items():
        refs = fk["references"]
        if any(c is None for c in refs["columns"]):
            target = tables.get(refs["table"])
            pk = target["primary_key"] if target else None
            refs["columns"] = list(pk["columns"]) if pk else []
        fk["name"] = parsed[table].fk_names.get(tuple(fk["columns"]))
        tables[table]["foreign_keys"].append(fk)
    for table, info in parsed.items():
        tables[table]["check_constraints"] = list(info.checks)
    return _finish("sqlite", sqlite3.sqlite_version, ["main"], tables.values(), [], [])


def sqlite_ddl(conn: sqlite3.Connection) -> bytes:
    """The CREATE statements stored in sqlite_master: tables, indexes, views, triggers, each by name."""
    order = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    rows.sort(key=lambda r: (order.get(r[0], 9), r[1]))
    return "".join(f"{sql.strip().rstrip(';')};\n\n" for _, _, sql in rows).encode()


def _collect_sqlite(ctx: Context, url: str, options: Mapping[str, Any]) -> list[Output]:
    import sqlite3

    conn = db.connect_sqlite(url, ctx.root)
    try:
        started, t0 = proc.utcnow(), time.monotonic()
        try:
            model = sqlite_catalog(conn)
            ddl = sqlite_ddl(conn)
        except sqlite3.Error as exc:
            raise CollectorError(
                f"cannot read the schema of {db.sqlite_path(url, ctx.root)}: {_first_line(exc)}",
                hint="check that the file is a SQLite database and readable",
            ) from exc
        outputs = _model_outputs(model, options, started, t0, None)
        finished = proc.utcnow()
        outputs.insert(
            0,
            Output(
                layout.DUMP,
                "Schema DDL (sqlite_master)",
                media_type="application/sql",
                data=ddl,
                started=started,
                finished=finished,
            ),
        )
        names = _names(options.get("row_counts"))
        if names:
            started, t0 = proc.utcnow(), time.monotonic()
            counts: dict[str, int] = {}
            errors: list[str] = []
            for wanted in names:
                table = resolve(wanted, model)
                if isinstance(table, str):
                    errors.append(table)
                    continue
                quoted = '"' + str(table["name"]).replace('"', '""') + '"'
                try:
                    row = conn.execute(f"SELECT count(*) FROM main.{quoted}").fetchone()
                    counts[table["name"]] = int(row[0])
                except sqlite3.Error as exc:
                    errors.append(f"{table['name']}: {_first_line(exc)}")
            outputs.append(_counts_output(counts, errors, started, t0))
        return outputs
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------------------


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Describe the database schema: DDL, normalized JSON, table list, row counts and table listings."""
    url = db.require_url(ctx, NAME)
    if db.is_postgres(url):
        return _collect_postgres(ctx, url, options)
    if db.is_sqlite(url):
        return _collect_sqlite(ctx, url, options)
    raise CollectorError(
        f"unsupported database URL {db.safe(url)}",
        hint="the schema collector reads PostgreSQL (postgresql://...) and SQLite (sqlite:///...) databases",
    )


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the catalogs and pg_dump of the schemas, and the counted tables."""
    schemas = ", ".join(options.get("schemas", [])) or "every non-system schema"
    reads = [f"the database: catalogs and `pg_dump --schema-only` of {schemas}"]
    if options.get("row_counts"):
        reads.append(f"the database: exact row counts of {', '.join(options['row_counts'])}")
    return Intent(reads=tuple(reads))
