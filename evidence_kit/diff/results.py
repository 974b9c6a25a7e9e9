"""Query, queue and HTTP results between two bundles, shown as compact table diffs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from evidence_kit.diff.model import Change, Classification, Section, change, plural, section
from evidence_kit.diff.read import Side, mapping
from evidence_kit.evidence import http, queue, sql
from evidence_kit.support import table

KIND = "results"
TITLE = "Results"
COLLECTORS = (sql.FOLDER, queue.FOLDER, http.FOLDER)
SHOWN_ROWS = 30
MAX_DEPTH = 20
_ABSENT = object()

Row = tuple[Any, ...]


def _names(side: Side) -> dict[str, str]:
    """`<collector>/<name>` -> artifact path of each JSON result (HTTP `.meta.json` files aside)."""
    found = {}
    for collector in COLLECTORS:
        for path in side.paths(f"{collector}/"):
            if path.endswith(".json") and not path.endswith(http.META) and path.count("/") == 1:
                found[path.removesuffix(".json")] = path
    return found


def _as_table(doc: Any) -> tuple[list[str], list[Row]] | None:
    """Columns and rows of a result that is a table: `{columns, rows}` or a list of objects."""
    if isinstance(doc, dict) and isinstance(doc.get("columns"), list) and isinstance(doc.get("rows"), list):
        columns = [str(c) for c in doc["columns"]]
        rows = [tuple(r) for r in doc["rows"] if isinstance(r, list) and len(r) == len(columns)]
        return columns, rows
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        columns = list(dict.fromkeys(str(k) for r in doc for k in r))
        return columns, [tuple(r.get(c) for c in columns) for r in doc]
    return None


def _flatten(value: Any, prefix: str, out: dict[str, Any], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        out[prefix or "$"] = value
    elif isinstance(value, dict) and value:
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out, depth + 1)
    elif isinstance(value, list) and value:
        ids = [v.get("id") for v in value if isinstance(v, dict)]
        keyed = len(ids) == len(value) and None not in ids and len(set(map(str, ids))) == len(ids)
        for i, item in enumerate(value):
            label = f"[id={item['id']}]" if keyed else f"[{i}]"
            _flatten(item, f"{prefix}{label}", out, depth + 1)
    else:
        out[prefix or "$"] = value


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _aligned(rows: list[list[str]]) -> str:
    sizes = [max(table.width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        " | ".join(c + " " * (s - table.width(c)) for c, s in zip(r, sizes, strict=True)).rstrip()
        for r in rows
    )


def _table_diff(
    cols_a: list[str], rows_a: list[Row], cols_b: list[str], rows_b: list[Row]
) -> tuple[str, Counter[str]]:
    """A compact diff of two tables: `-` removed rows, `+` added rows, `~` rows whose values changed."""
    columns = list(dict.fromkeys(cols_a + cols_b))

    def align(cols: list[str], rows: list[Row]) -> list[Row]:
        at = {c: i for i, c in enumerate(cols)}
        return [tuple(r[at[c]] if c in at else _ABSENT for c in columns) for r in rows]

    ra, rb = align(cols_a, rows_a), align(cols_b, rows_b)
    keys_a, keys_b = [_key(r[0]) for r in ra], [_key(r[0]) for r in rb]
    keyed = len(set(keys_a)) == len(keys_a) and len(set(keys_b)) == len(keys_b) and len(columns) > 1
    lines: list[list[str]] = [[" ", *columns]]
    counts: Counter[str] = Counter()

    def show(v: Any) -> str:
        return "" if v is _ABSENT else table.cell(v)

    if keyed:
        by_a = dict(zip(keys_a, ra, strict=True))
        by_b = dict(zip(keys_b, rb, strict=True))
        for k, row in by_a.items():
            if k not in by_b:
                lines.append(["-", *[show(v) for v in row]])
                counts["removed"] += 1
        for k, row in by_b.items():
            if k not in by_a:
                lines.append(["+", *[show(v) for v in row]])
                counts["added"] += 1
            elif by_a[k] != row:
                cells = [
                    show(b) if _key(a) == _key(b) else f"{show(a)} → {show(b)}"
                    for a, b in zip(by_a[k], row, strict=True)
                ]
                lines.append(["~", *cells])
                counts["changed"] += 1
    else:
        surplus_a = Counter(_key(r) for r in ra) - Counter(_key(r) for r in rb)
        surplus_b = Counter(_key(r) for r in rb) - Counter(_key(r) for r in ra)
        for mark, rows, surplus, what in (("-", ra, surplus_a, "removed"), ("+", rb, surplus_b, "added")):
            for row in rows:
                k = _key(row)
                if surplus[k] > 0:
                    surplus[k] -= 1
                    lines.append([mark, *[show(v) for v in row]])
                    counts[what] += 1
    extra = len(lines) - 1 - SHOWN_ROWS
    text = _aligned(lines[: SHOWN_ROWS + 1])
    if extra > 0:
        text += f"\n… and {plural(extra, 'more row')}"
    return text, counts


def _compare(name: str, a: Any, b: Any) -> Change | None:
    ta, tb = _as_table(a), _as_table(b)
    if ta is not None and tb is not None:
        (cols_a, rows_a), (cols_b, rows_b) = ta, tb
        unit = "row"
    else:
        flat_a: dict[str, Any] = {}
        flat_b: dict[str, Any] = {}
        _flatten(a, "", flat_a)
        _flatten(b, "", flat_b)
        cols_a = cols_b = ["key", "value"]
        rows_a, rows_b = sorted(flat_a.items()), sorted(flat_b.items())
        unit = "value"
    detail, counts = _table_diff(cols_a, rows_a, cols_b, rows_b)
    if not counts and cols_a == cols_b:
        return None
    parts = [f"{counts[k]} {k}" for k in ("added", "removed", "changed") if counts[k]]
    if cols_a != cols_b:
        parts.insert(0, f"columns {', '.join(cols_a)} → {', '.join(cols_b)}")
    return change(
        KIND,
        f"{name} changed",
        "info",
        plural(len(rows_a), unit),
        plural(len(rows_b), unit),
        f"{'; '.join(parts)}\n{detail}",
    )


def _http_status(name: str, old: Side, new: Side) -> Change | None:
    ma, mb = mapping(old.json(f"{name}.meta.json")), mapping(new.json(f"{name}.meta.json"))
    sa, sb = ma.get("status"), mb.get("status")
    if not ma or not mb or sa == sb:
        return None
    expect = mb.get("expect", 200)
    classification: Classification = (
        "risky" if sb != expect else "safe" if sa != ma.get("expect", 200) else "info"
    )
    return change(
        KIND,
        f"{name} HTTP status changed",
        classification,
        str(sa),
        str(sb),
        f"expected {expect}" if sb != expect else "",
    )


def diff(old: Side, new: Side) -> Section | None:
    """Compare each named query, queue and HTTP result present in either bundle."""
    na, nb = _names(old), _names(new)
    metas = {
        p.removesuffix(".meta.json") for s in (old, new) for p in s.paths("http/") if p.endswith(".meta.json")
    }
    if not na and not nb and not metas:
        return None
    changes: list[Change] = []
    for name in sorted(nb.keys() - na.keys()):
        changes.append(change(KIND, f"{name} added", "info", None, _size(new.json(nb[name]))))
    for name in sorted(na.keys() - nb.keys()):
        changes.append(
            change(KIND, f"{name} removed", "info", _size(old.json(na[name])), None, _reason(new, name))
        )
    both = sorted(na.keys() & nb.keys())
    changed = 0
    for name in both:
        if old.digest(na[name]) == new.digest(nb[name]):
            continue
        found = _compare(name, old.json(na[name]), new.json(nb[name]))
        if found is not None:
            changes.append(found)
            changed += 1
    for name in sorted(metas):
        status = _http_status(name, old, new)
        if status is not None:
            changes.append(status)
    summary = f"{plural(len(both), 'result')} in both bundles, {changed} changed"
    return section(KIND, TITLE, changes, summary, {"compared": len(both), "changed": changed})


def _size(doc: Any) -> str | None:
    shape = _as_table(doc)
    if shape is not None:
        return plural(len(shape[1]), "row")
    return None if doc is None else type(doc).__name__.replace("dict", "object").replace("list", "array")


def _reason(new: Side, name: str) -> str:
    """Why the new bundle has no result of this name, when it recorded an error for it."""
    error = new.text(f"{name}.error.txt")
    return error.strip().splitlines()[0] if error and error.strip() else ""
