"""Strict fingerprints of parsed JSON, so that differs skip what is the same on both sides."""

from __future__ import annotations

import marshal
import math
import struct
from typing import Any

# NOTE: marshal writes each value with its type (True, 1 and 1.0 differ) and dict items in order,
# and loads gives the value back: equal bytes are equal values. Two equal values may still differ
# in bytes (marshal marks objects shared inside the process); that only costs a full comparison.
_FORMAT = 4
# NOTE: the bytes of the one NaN json.loads makes (from `NaN`), as marshal writes a float. A NaN is
# not equal to itself, so a comparison of two "equal" ones can report a change.
_NAN = struct.pack("<d", math.nan)


def fingerprint(value: Any) -> bytes | None:
    """Bytes that are equal for two values parsed by json.loads only when they are the same JSON.

    Same types, same contents, same key order. None when the value may hold a NaN: such values
    are always compared in full.
    """
    blob = marshal.dumps(value, _FORMAT)
    return None if _NAN in blob else blob


def same(a: Any, b: Any) -> bool:
    """True when two parsed JSON values are the same JSON, with no NaN; False may still be equal."""
    blob = fingerprint(a)
    return blob is not None and blob == fingerprint(b)


def refs(value: Any) -> set[str]:
    """Every string held by a `$ref` key anywhere in a parsed JSON value."""
    found: set[str] = set()
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found
