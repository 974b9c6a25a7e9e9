"""Aligned plain-text tables in the style of psql, for the readable artifacts of the collectors."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

NULL = "NULL"

# NOTE: control characters are escaped so that every row stays on one line and the columns stay aligned.
_ESCAPES = {i: f"\\x{i:02x}" for i in range(32)} | {9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f"}


def cell(value: object) -> str:
    """One value as shown: NULL for None, true/false, \\x-hex bytes, compact JSON for lists and dicts."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = str(value)
    return text.translate(_ESCAPES)


def width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide characters count two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def _numeric(values: Sequence[object]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present
    )


def _pad(text: str, size: int, align: str) -> str:
    gap = size - width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def row_count(n: int) -> str:
    """The psql-style count line: `(1 row)`, `(N rows)`."""
    return f"({n} row)" if n == 1 else f"({n} rows)"


def render(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A psql-like aligned table: header, dashes rule, one line per row, then `(N rows)`.

    None is shown as `NULL` (psql's default shows nothing, which hides the difference from an empty
    string); numbers are right-aligned, headers centered; trailing blanks are trimmed from each line.
    """
    for n, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {n} has {len(row)} values for {len(columns)} columns")
    footer = row_count(len(rows)) + "\n"
    if not columns:
        return footer
    cells = [[cell(v) for v in row] for row in rows]
    heads = [cell(c) for c in columns]
    sizes = [max([width(heads[i]), *(width(r[i]) for r in cells)]) for i in range(len(columns))]
    aligns = ["right" if _numeric([row[i] for row in rows]) else "left" for i in range(len(columns))]

    def line(texts: Sequence[str], how: Sequence[str]) -> str:
        return (" " + " | ".join(_pad(t, s, a) for t, s, a in zip(texts, sizes, how, strict=True))).rstrip()

    out = [line(heads, ["center"] * len(heads)), "-" + "-+-".join("-" * s for s in sizes) + "-"]
    out += [line(r, aligns) for r in cells]
    return "\n".join(out) + "\n" + footer
