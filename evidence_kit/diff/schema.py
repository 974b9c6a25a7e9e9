"""Database schema between two bundles: tables and what they hold, policies, enums, sequences, code."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from evidence_kit.diff.fingerprint import same
from evidence_kit.diff.model import Changes, Classification, Section, plural, section
from evidence_kit.diff.read import Side, items, mapping, one_sided
from evidence_kit.evidence import schema as schema_evidence

KIND = "schema"
TITLE = "Schema"
ARTIFACT = schema_evidence.path(schema_evidence.CATALOG)

Obj = dict[str, Any]

# ----------------------------------------------------------------------------------------------------
# Column types: which changes narrow what a column can hold.

_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "serial": "integer",
    "serial4": "integer",
    "mediumint": "integer",
    "int8": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "int2": "smallint",
    "smallserial": "smallint",
    "tinyint": "smallint",
    "varchar": "character varying",
    "nvarchar": "character varying",
    "varying character": "character varying",
    "char": "character",
    "nchar": "character",
    "bpchar": "character",
    "clob": "text",
    "decimal": "numeric",
    "float8": "double precision",
    "double": "double precision",
    "float": "double precision",
    "float4": "real",
    "bool": "boolean",
    "timestamptz": "timestamp with time zone",
    "timestamp without time zone": "timestamp",
    "datetime": "timestamp",
    "timetz": "time with time zone",
    "time without time zone": "time",
}
_INTEGERS = {"smallint": 2, "integer": 4, "bigint": 8}
_INTEGER_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_FLOATS = {"real": 4, "double precision": 8}
_STRINGS = {"text", "character varying", "character", "citext", "name"}
_BOUNDED_STRINGS = {"character varying", "character"}
_TIMESTAMPS = {"timestamp", "timestamp with time zone"}
_PRECISION = {"timestamp", "timestamp with time zone", "time", "time with time zone", "interval"}
_JSON = {"json", "jsonb"}
_ARGS = re.compile(r"\(([^)]*)\)")


@dataclass(frozen=True)
class ColumnType:
    """A column type as `format_type` (or SQLite's declaration) writes it, taken apart."""

    base: str
    args: tuple[int, ...]
    dims: int

    @classmethod
    def parse(cls, text: str) -> ColumnType:
        """Parse `character varying(200)`, `VARCHAR(20)`, `numeric(10,2)`, `timestamp(3) with time zone`."""
        raw = " ".join(str(text).lower().split())
        dims = raw.count("[]")
        raw = raw.replace("[]", "").strip()
        args: tuple[int, ...] = ()
        match = _ARGS.search(raw)
        if match:
            parts = [p.strip() for p in match.group(1).split(",")]
            args = tuple(int(p) for p in parts if p.lstrip("-").isdigit())
            raw = " ".join((raw[: match.start()] + raw[match.end() :]).split())
        raw = raw.removeprefix("pg_catalog.")
        return cls(_ALIASES.get(raw, raw), args, dims)

    def __str__(self) -> str:
        return self.base + (f"({','.join(map(str, self.args))})" if self.args else "") + "[]" * self.dims


def narrowing(before: str, after: str) -> str | None:
    """Why a column going from `before` to `after` may lose values; None when it widens or is unclear."""
    a, b = ColumnType.parse(before), ColumnType.parse(after)
    if a == b or a.dims != b.dims:
        return None
    if a.base == b.base:
        return _same_base(a, b)
    if a.base in _INTEGERS and b.base in _INTEGERS:
        if _INTEGERS[b.base] < _INTEGERS[a.base]:
            return f"{b.base} holds smaller numbers than {a.base}"
        return None
    if a.base in _FLOATS and b.base in _FLOATS:
        return f"{b.base} keeps fewer digits than {a.base}" if _FLOATS[b.base] < _FLOATS[a.base] else None
    if (a.base in _FLOATS or a.base == "numeric") and b.base in _INTEGERS:
        return f"{b.base} drops the fractional part of {a.base} values"
    if a.base == "numeric" and b.base in _FLOATS:
        return f"{b.base} is inexact where numeric was exact"
    if a.base in _FLOATS and b.base == "numeric" and b.args:
        return f"numeric{tuple(b.args)} cannot hold every {a.base} value"
    if a.base in _INTEGERS and b.base == "numeric" and b.args:
        scale = b.args[1] if len(b.args) > 1 else 0
        if b.args[0] - scale < _INTEGER_DIGITS[a.base]:
            return f"{b} cannot hold every {a.base} value"
        return None
    if a.base in _STRINGS and b.base in _STRINGS:
        if b.base in _BOUNDED_STRINGS:
            length = b.args[0] if b.args else 1
            return f"values longer than {length} characters no longer fit"
        return None
    if a.base in _STRINGS:
        return f"not every {a.base} value converts to {b.base}"
    if a.base in _TIMESTAMPS and b.base == "date":
        return "date drops the time of day"
    if a.base in _JSON and b.base not in _JSON | _STRINGS:
        return f"not every {a.base} value converts to {b.base}"
    if b.base == "boolean":
        return f"not every {a.base} value converts to boolean"
    return None


def _same_base(a: ColumnType, b: ColumnType) -> str | None:
    if a.base in _BOUNDED_STRINGS:
        if b.args and (not a.args or b.args[0] < a.args[0]):
            return f"values longer than {b.args[0]} characters no longer fit"
        return None
    if a.base == "numeric" and b.args:
        if not a.args:
            return f"{b} cannot hold every unconstrained numeric value"
        pa, sa = a.args[0], a.args[1] if len(a.args) > 1 else 0
        pb, sb = b.args[0], b.args[1] if len(b.args) > 1 else 0
        if pb - sb < pa - sa:
            return f"{b} holds fewer digits before the point than {a}"
        if sb < sa:
            return f"{b} rounds away digits after the point that {a} kept"
        return None
    if a.base in _PRECISION and b.args and (a.args[0] if a.args else 6) > b.args[0]:
        return f"fractional seconds are rounded to {b.args[0]} digits"
    return None


# ----------------------------------------------------------------------------------------------------
# Tables and what they hold.


def _named(entries: Any, key: Callable[[Obj], str]) -> dict[str, Obj]:
    return {key(e): e for e in items(entries) if isinstance(e, dict)}


def _constraint_key(entry: Obj) -> str:
    if entry.get("name"):
        return str(entry["name"])
    cols = entry.get("columns")
    return f"({', '.join(map(str, cols))})" if isinstance(cols, list) else str(entry.get("definition", "?"))


def _cols(value: Any) -> str:
    return f"({', '.join(map(str, items(value)))})"


def _default(col: Obj) -> str | None:
    if col.get("default") is not None:
        return str(col["default"])
    if col.get("generated") is not None:
        return f"GENERATED ({col['generated']})"
    if col.get("identity"):
        return f"IDENTITY {str(col['identity']).upper()}"
    return None


def _column_text(col: Obj) -> str:
    text = str(col.get("type", "?"))
    if col.get("nullable") is False:
        text += " NOT NULL"
    default = _default(col)
    return text + (f" DEFAULT {default}" if default else "")


def _index_text(index: Obj, parts_listed: Iterable[str] = schema_evidence.INDEX_KEY_PARTS) -> str:
    """An index as CREATE INDEX writes it, its key columns with their collations and operator classes where
    not the default, of those in `parts_listed` (a bundle from before one was listed has none)."""
    parts = [
        "UNIQUE" if index.get("unique") else "",
        str(index.get("method") or ""),
        _cols(schema_evidence.index_keys(index, parts_listed)),
    ]
    if items(index.get("include")):
        parts.append(f"INCLUDE {_cols(index.get('include'))}")
    if index.get("where"):
        parts.append(f"WHERE {index['where']}")
    return " ".join(p for p in parts if p)


def _fk_text(fk: Obj) -> str:
    ref = mapping(fk.get("references"))
    target = ".".join(str(ref[k]) for k in ("schema", "table") if ref.get(k))
    return (
        f"{_cols(fk.get('columns'))} REFERENCES {target} {_cols(ref.get('columns'))} "
        f"ON DELETE {fk.get('on_delete', 'NO ACTION')} ON UPDATE {fk.get('on_update', 'NO ACTION')}"
    )


def _columns(out: Changes, table: str, a: Obj, b: Obj) -> None:
    cols_a, cols_b = (
        _named(a.get("columns"), lambda c: str(c.get("name"))),
        _named(b.get("columns"), lambda c: str(c.get("name"))),
    )
    for name, added in cols_b.items():
        if name in cols_a:
            continue
        what = f"column {table}.{name} added"
        if added.get("nullable") is False and _default(added) is None:
            out.add(
                what,
                "breaking",
                after=_column_text(added),
                detail="NOT NULL without a default: adding it fails on a table that has rows, and inserts "
                "that do not set it fail",
            )
        else:
            out.add(what, "safe", after=_column_text(added))
    for name, dropped in cols_a.items():
        if name not in cols_b:
            out.add(
                f"column {table}.{name} dropped",
                "breaking",
                before=_column_text(dropped),
                detail="its data is gone, and code that reads or writes it fails",
            )
    for name in (n for n in cols_a if n in cols_b):
        ca, cb = cols_a[name], cols_b[name]
        col = f"column {table}.{name}"
        ta, tb = str(ca.get("type")), str(cb.get("type"))
        if ta != tb and ColumnType.parse(ta) != ColumnType.parse(tb):
            why = narrowing(ta, tb)
            if why:
                out.add(
                    f"{col} type narrowed",
                    "breaking",
                    ta,
                    tb,
                    f"{why}; the change fails or cuts existing data",
                )
            else:
                out.add(
                    f"{col} type changed",
                    "risky",
                    ta,
                    tb,
                    "may rewrite the table under a lock; check the casts",
                )
        da, db = _default(ca), _default(cb)
        not_null = cb.get("nullable") is False
        if ca.get("nullable") is not False and not_null:
            out.add(
                f"{col} made NOT NULL",
                "breaking",
                "NULL allowed",
                "NOT NULL",
                "existing NULLs make the change fail, and writes of NULL now fail",
            )
        elif ca.get("nullable") is False and cb.get("nullable") is not False:
            out.add(f"{col} made nullable", "risky", "NOT NULL", "NULL allowed", "readers may now get NULL")
        if da != db:
            if da is None:
                out.add(f"{col} default added", "safe", None, db)
            elif db is None:
                out.add(
                    f"{col} default removed",
                    "breaking" if not_null else "risky",
                    da,
                    None,
                    "inserts that do not set it now fail"
                    if not_null
                    else "inserts that do not set it get NULL",
                )
            else:
                out.add(f"{col} default changed", "risky", da, db)


def _keys(out: Changes, table: str, a: Obj, b: Obj) -> None:
    pk_a, pk_b = mapping(a.get("primary_key")), mapping(b.get("primary_key"))
    if pk_a.get("columns") != pk_b.get("columns"):
        if not pk_b:
            out.add(
                f"primary key of {table} dropped",
                "breaking",
                _cols(pk_a.get("columns")),
                None,
                "rows are no longer identified; foreign keys and ORMs rely on it",
            )
        else:
            out.add(
                f"primary key of {table} {'added' if not pk_a else 'changed'}",
                "risky",
                _cols(pk_a.get("columns")) if pk_a else None,
                _cols(pk_b.get("columns")),
                "existing duplicates or NULLs make the change fail",
            )
    uq_a, uq_b = (
        _named(a.get("unique_constraints"), _constraint_key),
        _named(b.get("unique_constraints"), _constraint_key),
    )
    for name in sorted(uq_b.keys() - uq_a.keys()):
        out.add(
            f"unique constraint {table}.{name} added",
            "risky",
            None,
            _cols(uq_b[name].get("columns")),
            "existing duplicates make the change fail; inserts that would duplicate now fail",
        )
    for name in sorted(uq_a.keys() - uq_b.keys()):
        out.add(
            f"unique constraint {table}.{name} dropped",
            "risky",
            _cols(uq_a[name].get("columns")),
            None,
            "duplicates are now allowed; ON CONFLICT clauses that named it fail",
        )
    for name in sorted(uq_a.keys() & uq_b.keys()):
        if uq_a[name].get("columns") != uq_b[name].get("columns"):
            out.add(
                f"unique constraint {table}.{name} changed",
                "risky",
                _cols(uq_a[name].get("columns")),
                _cols(uq_b[name].get("columns")),
            )


def _indexes(out: Changes, table: str, a: Obj, b: Obj) -> None:
    ix_a, ix_b = _named(a.get("indexes"), _constraint_key), _named(b.get("indexes"), _constraint_key)
    for name in sorted(ix_b.keys() - ix_a.keys()):
        ix = ix_b[name]
        if ix.get("unique"):
            partial = f" (only rows where {ix['where']})" if ix.get("where") else ""
            out.add(
                f"unique index {table}.{name} added",
                "risky",
                None,
                _index_text(ix),
                f"existing duplicates{partial} make the migration fail; inserts that would duplicate fail",
            )
        else:
            out.add(f"index {table}.{name} added", "safe", None, _index_text(ix))
    for name in sorted(ix_a.keys() - ix_b.keys()):
        ix = ix_a[name]
        detail = "queries that used it may get slower"
        if ix.get("unique"):
            detail += "; duplicates are now allowed and ON CONFLICT clauses that relied on it fail"
        out.add(
            f"{'unique ' if ix.get('unique') else ''}index {table}.{name} dropped",
            "risky",
            _index_text(ix),
            None,
            detail,
        )
    for name in sorted(ix_a.keys() & ix_b.keys()):
        ia, ib = ix_a[name], ix_b[name]
        # NOTE: operator classes and collations are compared only when both bundles list them.
        both = [p for p in schema_evidence.INDEX_KEY_PARTS if p in ia and p in ib]
        if _index_text(ia, both) == _index_text(ib, both):
            continue
        notes = []
        if ia.get("where") != ib.get("where"):
            notes.append(
                f"predicate {ia.get('where') or '(none)'} → {ib.get('where') or '(none)'}; "
                "ON CONFLICT ... WHERE clauses must match the new predicate"
            )
        if bool(ia.get("unique")) != bool(ib.get("unique")):
            notes.append("became unique" if ib.get("unique") else "no longer unique")
        if ia.get("columns") != ib.get("columns"):
            notes.append(f"columns {_cols(ia.get('columns'))} → {_cols(ib.get('columns'))}")
        if "opclasses" in both and ia.get("opclasses") != ib.get("opclasses"):
            notes.append("operator classes changed: queries the old ones served may no longer use it")
        if "collations" in both and ia.get("collations") != ib.get("collations"):
            notes.append("collations changed: its order and the queries it serves follow the new ones")
        out.add(
            f"index {table}.{name} changed",
            "risky",
            _index_text(ia, both),
            _index_text(ib, both),
            "; ".join(notes),
        )


def _foreign_keys(out: Changes, table: str, a: Obj, b: Obj) -> None:
    fk_a, fk_b = (
        _named(a.get("foreign_keys"), _constraint_key),
        _named(b.get("foreign_keys"), _constraint_key),
    )
    for name in sorted(fk_b.keys() - fk_a.keys()):
        out.add(
            f"foreign key {table}.{name} added",
            "risky",
            None,
            _fk_text(fk_b[name]),
            "existing orphan rows make the change fail; writes of unknown ids now fail",
        )
    for name in sorted(fk_a.keys() - fk_b.keys()):
        out.add(
            f"foreign key {table}.{name} dropped",
            "risky",
            _fk_text(fk_a[name]),
            None,
            "the database no longer keeps these rows consistent",
        )
    for name in sorted(fk_a.keys() & fk_b.keys()):
        fa, fb = fk_a[name], fk_b[name]
        if fa.get("on_delete") != fb.get("on_delete"):
            out.add(
                f"foreign key {table}.{name} on delete changed",
                "risky",
                str(fa.get("on_delete")),
                str(fb.get("on_delete")),
                "deleting a referenced row now does something else",
            )
        if fa.get("on_update") != fb.get("on_update"):
            out.add(
                f"foreign key {table}.{name} on update changed",
                "risky",
                str(fa.get("on_update")),
                str(fb.get("on_update")),
            )
        if (fa.get("columns"), fa.get("references")) != (fb.get("columns"), fb.get("references")):
            out.add(f"foreign key {table}.{name} changed", "risky", _fk_text(fa), _fk_text(fb))


def _constraints(out: Changes, table: str, a: Obj, b: Obj, key: str, label: str) -> None:
    ca, cb = _named(a.get(key), _constraint_key), _named(b.get(key), _constraint_key)
    for name in sorted(cb.keys() - ca.keys()):
        out.add(
            f"{label} {table}.{name} added",
            "risky",
            None,
            str(cb[name].get("definition")),
            "existing rows that break it make the change fail; writes that break it now fail",
        )
    for name in sorted(ca.keys() - cb.keys()):
        out.add(
            f"{label} {table}.{name} dropped",
            "risky",
            str(ca[name].get("definition")),
            None,
            "the database no longer enforces it",
        )
    for name in sorted(ca.keys() & cb.keys()):
        if ca[name].get("definition") != cb[name].get("definition"):
            out.add(
                f"{label} {table}.{name} changed",
                "risky",
                str(ca[name].get("definition")),
                str(cb[name].get("definition")),
                "existing rows must satisfy the new definition",
            )


def _row_security(out: Changes, table: str, a: Obj, b: Obj) -> None:
    """Row-level security switched on or off, forced or not, and policies added, dropped or changed; only
    when both bundles describe it (older ones do not). Each is a security change: risky."""
    ra, rb = a.get("row_security"), b.get("row_security")
    if isinstance(ra, dict) and isinstance(rb, dict):
        if bool(ra.get("enabled")) != bool(rb.get("enabled")):
            on = bool(rb.get("enabled"))
            out.add(
                f"row-level security of {table} {'enabled' if on else 'disabled'}",
                "risky",
                "disabled" if on else "enabled",
                "enabled" if on else "disabled",
                "roles other than the owner now see and write only the rows a policy allows, none without one"
                if on
                else "its policies no longer apply: every role with privileges on the table sees and writes "
                "every row",
            )
        if bool(ra.get("forced")) != bool(rb.get("forced")):
            on = bool(rb.get("forced"))
            out.add(
                f"row-level security of {table} {'forced' if on else 'no longer forced'}",
                "risky",
                "not forced" if on else "forced",
                "forced" if on else "not forced",
                "the table's owner is now held to its policies too"
                if on
                else "the table's owner bypasses its policies again",
            )
    pa, pb = a.get("policies"), b.get("policies")
    if not isinstance(pa, list) or not isinstance(pb, list):
        return
    off = "" if not isinstance(rb, dict) or rb.get("enabled") else "; row-level security is off on this table"
    na, nb = _named(pa, lambda p: str(p.get("name"))), _named(pb, lambda p: str(p.get("name")))
    for name in sorted(nb.keys() - na.keys()):
        added = nb[name]
        out.add(
            f"policy {table}.{name} added",
            "risky",
            None,
            schema_evidence.policy_text(added),
            (
                "the roles it names may now see or write the rows it allows"
                if added.get("permissive", True)
                else "the roles it names now see and write only the rows it allows"
            )
            + off,
        )
    for name in sorted(na.keys() - nb.keys()):
        dropped = na[name]
        out.add(
            f"policy {table}.{name} dropped",
            "risky",
            schema_evidence.policy_text(dropped),
            None,
            "the rows only it allowed are now hidden from, or refused to, the roles it named"
            if dropped.get("permissive", True)
            else "the rows it kept from the roles it named are open to them now",
        )
    for name in sorted(na.keys() & nb.keys()):
        before, after = schema_evidence.policy_text(na[name]), schema_evidence.policy_text(nb[name])
        if before != after:
            fields = [
                f
                for f in ("command", "permissive", "roles", "using", "with_check")
                if na[name].get(f) != nb[name].get(f)
            ]
            out.add(
                f"policy {table}.{name} changed",
                "risky",
                before,
                after,
                f"which rows the roles it names may see or write changed ({', '.join(fields)})",
            )


def _enums(out: Changes, a: Iterable[Any], b: Iterable[Any]) -> None:
    def key(e: Obj) -> str:
        return f"{e['schema']}.{e.get('name')}" if e.get("schema") else str(e.get("name"))

    en_a, en_b = _named(list(a), key), _named(list(b), key)
    for name in sorted(en_b.keys() - en_a.keys()):
        out.add(f"enum {name} added", "safe", None, ", ".join(map(str, items(en_b[name].get("values")))))
    for name in sorted(en_a.keys() - en_b.keys()):
        out.add(
            f"enum {name} dropped",
            "breaking",
            ", ".join(map(str, items(en_a[name].get("values")))),
            None,
            "columns of this type and code that uses it fail",
        )
    for name in sorted(en_a.keys() & en_b.keys()):
        va, vb = (
            [str(v) for v in items(en_a[name].get("values"))],
            [str(v) for v in items(en_b[name].get("values"))],
        )
        if va == vb:
            continue
        for value in (v for v in va if v not in vb):
            out.add(
                f"enum {name} value {value!r} removed",
                "breaking",
                value,
                None,
                "rows holding it and code that writes it fail",
            )
        kept = [v for v in vb if v in va]
        last_old = max((vb.index(v) for v in kept), default=-1)
        for value in (v for v in vb if v not in va):
            where = (
                "appended" if vb.index(value) > last_old else f"inserted before {vb[vb.index(value) + 1]!r}"
            )
            out.add(f"enum {name} value {value!r} added", "safe", None, value, where)
        if kept != [v for v in va if v in vb]:
            out.add(
                f"enum {name} values reordered",
                "risky",
                ", ".join(va),
                ", ".join(vb),
                "comparisons and ORDER BY on this type change meaning",
            )


_SEQUENCE_FIELDS = ("type", "start", "increment", "min", "max", "cache", "cycle", "owned_by")


def _sequences(out: Changes, a: Iterable[Any], b: Iterable[Any]) -> None:
    def named(sequences: Iterable[Any]) -> dict[str, Obj]:
        return {
            f"{s['schema']}.{s.get('name')}" if s.get("schema") else str(s.get("name")): s
            for s in sequences
            if isinstance(s, dict)
        }

    def text(s: Obj) -> str:
        return ", ".join(f"{f} {s.get(f)}" for f in _SEQUENCE_FIELDS if s.get(f) is not None)

    sq_a, sq_b = named(a), named(b)
    for name in sorted(sq_b.keys() - sq_a.keys()):
        out.add(f"sequence {name} added", "safe", None, text(sq_b[name]))
    for name in sorted(sq_a.keys() - sq_b.keys()):
        out.add(
            f"sequence {name} dropped",
            "risky",
            text(sq_a[name]),
            None,
            "defaults that call nextval() on it fail",
        )
    for name in sorted(sq_a.keys() & sq_b.keys()):
        sa, sb = sq_a[name], sq_b[name]
        fields = [f for f in _SEQUENCE_FIELDS if sa.get(f) != sb.get(f)]
        if not fields:
            continue
        why = narrowing(str(sa.get("type")), str(sb.get("type"))) if "type" in fields else None
        lowered = (
            "max" in fields
            and isinstance(sa.get("max"), int)
            and isinstance(sb.get("max"), int)
            and (sb["max"] < sa["max"])
        )
        classification: Classification = "breaking" if why else "risky" if lowered else "info"
        detail = why or ("the sequence runs out sooner" if lowered else "")
        before = ", ".join(f"{f} {sa.get(f)}" for f in fields)
        after = ", ".join(f"{f} {sb.get(f)}" for f in fields)
        out.add(f"sequence {name} changed", classification, before, after, detail)


def _extensions(out: Changes, a: Any, b: Any) -> None:
    """Extensions added, dropped or updated; only when both bundles list them (older ones do not)."""
    if not isinstance(a, list) or not isinstance(b, list):
        return
    ea = {str(e.get("name")): e for e in a if isinstance(e, dict)}
    eb = {str(e.get("name")): e for e in b if isinstance(e, dict)}
    for name in sorted(eb.keys() - ea.keys()):
        out.add(f"extension {name} added", "safe", None, str(eb[name].get("version")))
    for name in sorted(ea.keys() - eb.keys()):
        out.add(
            f"extension {name} dropped",
            "breaking",
            str(ea[name].get("version")),
            None,
            "the types, functions, operators and indexes it provides are gone",
        )
    for name in sorted(ea.keys() & eb.keys()):
        va, vb = ea[name].get("version"), eb[name].get("version")
        if va != vb:
            out.add(f"extension {name} version changed", "info", str(va), str(vb))


# NOTE: what each kind of code object is keyed and described by, and what its loss or change means.
_CODE = {
    "views": ("view", "a query that reads it fails", "what it returns may differ"),
    "functions": ("function", "callers fail", "its behaviour may differ"),
    "triggers": (
        "trigger",
        "what it did on each write no longer happens",
        "what it does on each write differs",
    ),
    "composite_types": ("composite type", "code that uses it fails", "values of it are read differently"),
    "domains": ("domain", "code that uses it fails", "values it accepted may now fail, or the other way"),
}


def _code_key(kind: str, o: Obj) -> str:
    if kind == "functions":
        return f"{o.get('schema')}.{o.get('name')}({o.get('arguments') or ''})"
    if kind == "triggers":
        return f"{o.get('name')} on {o.get('schema')}.{o.get('table')}"
    return f"{o.get('schema')}.{o.get('name')}"


def _code(out: Changes, kind: str, a: Any, b: Any) -> None:
    """Views, functions (by their arguments), triggers, composite types and domains added, dropped or
    changed; only when both bundles list them (older ones do not). A function's body is compared by its
    definition's digest."""
    if not isinstance(a, list) or not isinstance(b, list):
        return
    word, lost, changed = _CODE[kind]
    oa = {_code_key(kind, o): o for o in a if isinstance(o, dict)}
    ob = {_code_key(kind, o): o for o in b if isinstance(o, dict)}
    # NOTE: a new trigger changes what writes do; a new view or function changes nothing that ran before.
    for name in sorted(ob.keys() - oa.keys()):
        out.add(
            f"{word} {name} added", "risky" if kind == "triggers" else "safe", None, _shown(kind, ob[name])
        )
    for name in sorted(oa.keys() - ob.keys()):
        dropped: Classification = "risky" if kind == "triggers" else "breaking"
        out.add(f"{word} {name} dropped", dropped, _shown(kind, oa[name]), None, lost)
    for name in sorted(oa.keys() & ob.keys()):
        before, after = oa[name], ob[name]
        fields = [f for f in sorted(set(before) | set(after)) if before.get(f) != after.get(f)]
        if not fields:
            continue
        if fields == ["materialized"]:
            out.add(f"{word} {name} changed", "info", _shown(kind, before), _shown(kind, after))
            continue
        if kind == "triggers" and fields == ["enabled"]:
            what = "enabled" if after.get("enabled") else "disabled"
            out.add(f"{word} {name} {what}", "risky", _shown(kind, before), _shown(kind, after), changed)
            continue
        classification: Classification = "breaking" if kind == "functions" and "result" in fields else "risky"
        out.add(f"{word} {name} changed", classification, _shown(kind, before), _shown(kind, after), changed)


def _shown(kind: str, o: Obj) -> str:
    if kind == "functions":
        body = str(o.get("definition_sha256"))[:12]
        return f"{o.get('kind')} returning {o.get('result')} in {o.get('language')}, body {body}"
    if kind == "triggers":
        return str(o.get("definition")) + ("" if o.get("enabled", True) else " (disabled)")
    if kind == "composite_types":
        return "(" + ", ".join(map(str, items(o.get("attributes")))) + ")"
    if kind == "domains":
        parts = [str(o.get("type"))]
        if o.get("nullable") is False:
            parts.append("NOT NULL")
        if o.get("default") is not None:
            parts.append(f"DEFAULT {o.get('default')}")
        return " ".join(parts + [str(c) for c in items(o.get("checks"))])
    return ("materialized view: " if o.get("materialized") else "") + " ".join(
        str(o.get("definition")).split()
    )


_OBJECTS = (
    "primary key",
    "foreign key",
    "unique index",
    "unique constraint",
    "check constraint",
    "exclusion constraint",
    "composite type",
    "database dialect",
    "row-level security",
)
_PLURALS = {
    "index": "indexes",
    "unique index": "unique indexes",
    "policy": "policies",
    "row-level security": "row-level security settings",
}


def _object(what: str) -> str:
    return next((o for o in _OBJECTS if what.startswith(o)), what.split(" ")[0])


def _tables(doc: Obj) -> dict[str, Obj]:
    """The tables by qualified name (bare on SQLite); of two with one name, the last."""
    bare = doc.get("dialect") == "sqlite"
    return {
        str(t.get("name")) if bare or not t.get("schema") else f"{t['schema']}.{t.get('name')}": t
        for t in items(doc.get("tables"))
        if isinstance(t, dict)
    }


def diff(old: Side, new: Side) -> Section | None:
    """Compare the normalized schema descriptions (schema/schema.json) of the two bundles."""
    a, b = old.json(ARTIFACT, split="tables"), new.json(ARTIFACT, split="tables")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return one_sided(KIND, TITLE, old, new, isinstance(a, dict), isinstance(b, dict), "schema")
    tables_a, tables_b = _tables(a), _tables(b)
    out = Changes(KIND)
    for name in sorted(tables_b.keys() - tables_a.keys()):
        out.add(
            f"table {name} added", "safe", None, plural(len(items(tables_b[name].get("columns"))), "column")
        )
    for name in sorted(tables_a.keys() - tables_b.keys()):
        out.add(
            f"table {name} dropped",
            "breaking",
            plural(len(items(tables_a[name].get("columns"))), "column"),
            None,
            "its data is gone, and code that uses it fails",
        )
    for name in sorted(tables_a.keys() & tables_b.keys()):
        ta, tb = tables_a[name], tables_b[name]
        # NOTE: the same object is a table both sides hold in the very same text (see Side.json).
        if ta is tb or same(ta, tb):
            continue
        _columns(out, name, ta, tb)
        _keys(out, name, ta, tb)
        _indexes(out, name, ta, tb)
        _foreign_keys(out, name, ta, tb)
        _constraints(out, name, ta, tb, "check_constraints", "check constraint")
        _constraints(out, name, ta, tb, "exclusion_constraints", "exclusion constraint")
        _row_security(out, name, ta, tb)
    _enums(out, items(a.get("enums")), items(b.get("enums")))
    _sequences(out, items(a.get("sequences")), items(b.get("sequences")))
    _extensions(out, a.get("extensions"), b.get("extensions"))
    for kind in _CODE:
        _code(out, kind, a.get(kind), b.get(kind))
    if a.get("dialect") != b.get("dialect"):
        out.add(
            "database dialect changed",
            "info",
            str(a.get("dialect")),
            str(b.get("dialect")),
            "the two schemas come from different databases; type names differ between them",
        )
    objects = Counter(_object(c.what) for c in out.found)
    touched = ", ".join(plural(n, word, _PLURALS.get(word)) for word, n in sorted(objects.items()))
    summary = f"{len(tables_a)} → {len(tables_b)} tables" + (
        f"; changes to {touched}" if touched else "; no change"
    )
    facts = {
        "tables_before": len(tables_a),
        "tables_after": len(tables_b),
        "dialect_before": a.get("dialect"),
        "dialect_after": b.get("dialect"),
    }
    return section(KIND, TITLE, out.found, summary, facts)
