"""The differs' shortcuts change nothing: split parsing is json.loads, skipping is comparing.

The schema and routes differs skip tables and operations that are the same on both sides (same
object, or same fingerprint). Every case below is compared once with the shortcuts and once with
them off (each side parsed on its own, nothing ever "the same"), on seeded random mutations
that include the traps: True against 1, 1 against 1.0, NaN, key order, references into `paths`,
reference cycles, duplicate names and reformatting.
"""

from __future__ import annotations

import copy
import json
import marshal
import random
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.diff import routes, schema
from evidence_kit.diff.fingerprint import fingerprint, refs, same
from evidence_kit.diff.read import Side
from evidence_kit.evidence.view import Shared, _load_split

SCALARS: list[Any] = [True, False, 1, 0, 1.0, 0.0, 2, -1, 2**70, "x", "", None, float("nan"), "NaN"]


def strict(value: Any) -> bytes:
    """Bytes equal only for the same JSON: types, contents and key order (format 2: no sharing)."""
    return marshal.dumps(value, 2)


def table(n: int) -> dict[str, Any]:
    return {
        "schema": "public" if n % 3 else "audit",
        "name": f"t{n}",
        "columns": [
            {"name": "id", "type": "integer", "nullable": False, "default": None, "identity": "always"},
            {"name": "title", "type": "character varying(200)", "nullable": n % 2 == 0, "default": None},
            {"name": "amount", "type": "numeric(10,2)", "nullable": True, "default": "0"},
        ],
        "primary_key": {"name": f"t{n}_pkey", "columns": ["id"]},
        "unique_constraints": [{"name": f"uq_t{n}", "columns": ["title"]}],
        "indexes": [{"name": f"ix_t{n}", "unique": n % 4 == 0, "method": "btree", "columns": ["title"]}],
        "foreign_keys": [
            {
                "name": f"fk_t{n}",
                "columns": ["id"],
                "references": {"schema": "public", "table": f"t{n + 1}", "columns": ["id"]},
                "on_delete": "CASCADE",
                "on_update": "NO ACTION",
            }
        ],
        "check_constraints": [{"name": f"ck_t{n}", "definition": "CHECK (amount >= 0)"}],
    }


def schema_doc() -> dict[str, Any]:
    return {
        "dialect": "postgresql",
        "enums": [{"schema": "public", "name": "status", "values": ["a", "b"]}],
        "sequences": [{"schema": "public", "name": "s1", "type": "integer", "start": 1, "max": 100}],
        "tables": [table(n) for n in range(8)],
    }


def openapi_doc() -> dict[str, Any]:
    item = {"$ref": "#/components/schemas/Item"}
    return {
        "openapi": "3.1.0",
        "paths": {
            "/items": {
                "parameters": [{"$ref": "#/components/parameters/Page"}],
                "get": {
                    "summary": "list",
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"type": "array", "items": item}}}}
                    },
                },
                "post": {
                    "requestBody": {"required": True, "content": {"application/json": {"schema": item}}},
                    "responses": {"201": {"$ref": "#/components/responses/Created"}},
                },
            },
            "/items/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"$ref": "#/paths/~1items/parameters/0"},
                    ],
                    "responses": {"200": {"content": {"application/json": {"schema": item}}}},
                },
                "delete": {"deprecated": False, "responses": {"204": {"description": "gone"}}},
            },
            "/other": {"$ref": "#/paths/~1items"},
            "/remote": {"get": {"responses": {"200": {"$ref": "other.json#/x"}}}},
        },
        "components": {
            "parameters": {"Page": {"name": "page", "in": "query", "schema": {"type": "integer"}}},
            "responses": {"Created": {"content": {"application/json": {"schema": item}}}},
            "schemas": {
                "Item": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "integer"},
                        "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                        "parent": {"anyOf": [{"$ref": "#/components/schemas/Item"}, {"type": "null"}]},
                    },
                },
                "Tag": {"type": "string", "enum": ["a", "b"]},
            },
        },
    }


def locations(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [where]
    if isinstance(value, dict):
        for key, item in value.items():
            found += locations(item, (*where, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += locations(item, (*where, n))
    return found


def mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of `doc` with one to three random edits."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        where = rng.choice(locations(doc)[1:])
        parent: Any = doc
        for key in where[:-1]:
            parent = parent[key]
        last = where[-1]
        node = parent[last]
        edit = rng.randrange(6)
        if edit == 0 or not isinstance(node, dict | list):
            parent[last] = rng.choice(SCALARS)
        elif edit == 1 and isinstance(parent, dict):
            del parent[last]
        elif edit == 2 and isinstance(parent, dict):
            # the same content with its keys in another order
            parent[last] = dict(reversed(list(node.items()))) if isinstance(node, dict) else node[::-1]
        elif edit == 3 and isinstance(parent, list):
            parent.insert(rng.randrange(len(parent) + 1), copy.deepcopy(node))
        elif edit == 4 and isinstance(node, dict):
            node["$ref"] = rng.choice(["#/components/schemas/Tag", "#/paths/~1items/get", "#/nowhere"])
        else:
            parent[last] = {"type": rng.choice(["string", "integer", True, 1])}
    return doc


def dumps(doc: Any, rng: random.Random | int) -> bytes:
    style = rng if isinstance(rng, int) else rng.randrange(3)
    if style == 0:
        return (json.dumps(doc, indent=2) + "\n").encode()
    if style == 1:
        return json.dumps(doc, separators=(",", ":")).encode()
    return json.dumps(doc, indent="\t", sort_keys=True).encode()


def side(root: Path, rel: str, data: bytes, shared: Shared) -> Side:
    (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / "data" / rel).write_bytes(data)
    return Side(root, {"artifacts": [{"path": f"data/{rel}"}]}, trusted=True, shared=shared)


def compare(tmp_path: Path, rel: str, old: bytes, new: bytes, differ: Any) -> Any:
    shared: Shared = {}
    a, b = side(tmp_path / "a", rel, old, shared), side(tmp_path / "b", rel, new, shared)
    found = differ(a, b)
    return None if found is None else (found.changes, found.summary, found.facts)


@pytest.mark.parametrize("kind", ["schema", "routes"])
def test_shortcuts_give_the_full_comparisons_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    rng = random.Random(kind)
    base, rel, differ = (
        (schema_doc(), schema.ARTIFACT, schema.diff)
        if kind == "schema"
        else (openapi_doc(), routes.ARTIFACT, routes.diff)
    )
    skipped = changed = 0
    for n in range(150):
        old = mutate(base, rng) if n % 3 else base
        new = mutate(old, rng) if n % 5 else copy.deepcopy(old)
        # NOTE: odd cases format each side its own way, so that equal values have unequal texts.
        raw_old, raw_new = (dumps(old, rng), dumps(new, rng)) if n % 2 else (dumps(old, 0), dumps(new, 0))
        fast = compare(tmp_path / f"{n}-fast", rel, raw_old, raw_new, differ)
        with monkeypatch.context() as m:
            m.setattr(schema, "same", lambda a, b: False)
            m.setattr(routes._Unchanged, "operation", lambda self, a, b, shared=False: False)
            m.setattr(Side, "json", lambda self, rel, split=None: json.loads(self.bytes(rel) or b"null"))
            full = compare(tmp_path / f"{n}-full", rel, raw_old, raw_new, differ)
        assert fast == full, (n, old, new)
        skipped += fast is not None and not fast[0]
        changed += fast is not None and bool(fast[0])
    assert skipped > 10 and changed > 50, (skipped, changed)


def test_unchanged_tables_are_shared_and_skipped(tmp_path: Path) -> None:
    old = schema_doc()
    new = copy.deepcopy(old)
    new["tables"][3]["columns"][1]["type"] = "text"
    new["tables"].insert(5, table(99))
    del new["tables"][1]
    shared: Shared = {}
    raw = [(json.dumps(d, indent=2) + "\n").encode() for d in (old, new)]
    a = side(tmp_path / "a", schema.ARTIFACT, raw[0], shared)
    b = side(tmp_path / "b", schema.ARTIFACT, raw[1], shared)
    ta = a.json(schema.ARTIFACT, split="tables")["tables"]
    tb = b.json(schema.ARTIFACT, split="tables")["tables"]
    ids = {id(t) for t in ta}
    assert [id(t) in ids for t in tb] == [True, True, False, True, False, True, True, True]
    found = schema.diff(a, b)
    assert found is not None
    assert {c.what for c in found.changes} >= {"column audit.t3.title type changed", "table audit.t99 added"}


JSON_TEXTS = [
    b'{"tables": [1, 2, 3]}',
    b' \n{ "tables" : [ ] , "x" : {"tables": [1]} }\r\n',
    b'{"tables": [{"a": 1}, {"a": 1.0}, {"a": true}, NaN, -Infinity, 123456789012345678901234567890]}',
    b'{"tables": [1], "tables": [2, 3]}',
    b'{"a": 1, "tables": "not an array", "a": 2}',
    b'{"tables": [1, 2,]}',
    b'{"tables": [1 2]}',
    b'{"tables": [1]} x',
    b"[1, 2]",
    b"{}",
    b'\xef\xbb\xbf{"tables": [1]}',
    '{"tables": ["\u00e9", "\\ud800"]}'.encode("utf-16"),
    b'{"tables": [12, 12.5, 12e3, "12"]}',
    b'{"tables": [{"x": [1, {"y": null}]}, {"x": [1, {"y": null}]}]}',
    b'{"tables": [1]',
    b"",
    b'{"tables": {"a": 1, "b": [2, {"c": null}], "a": 3}}',
    b'{"tables": {}, "x": 1}',
    b'{"tables": { "a" : 12 , "b":12.5}}',
    b'{"tables": {"a": 1,}}',
    b'{"tables": {"a" 1}}',
    b'{"tables": {1: 2}}',
    b'{"tables": {"a": NaN, "b": 1}}',
    b'{"tables": ["a": 1]}',
    b'{"tables": ["b":12]}',
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_split_parse_is_json_loads(text: bytes) -> None:
    try:
        want: Any = json.loads(text)
    except ValueError:
        want = None
    pieces = ["12", "1", '[1, {"y": null}]', "2", '{"x": [1, {"y": null}]}']
    members = ['"a": 1', '"b": [2, {"c": null}]', '"a" : 12', '"b":12']
    known_members = [(m, next(iter(json.loads("{" + m + "}").items()))) for m in members]
    known_items = [(piece, json.loads(piece)) for piece in pieces]
    for known in (None, ("[", known_items), ("{", known_members)):
        got = _load_split(text, "tables", known)
        if got is None:
            assert want is None or not isinstance(want, dict) or not isinstance(want.get("tables"), list)
        else:
            assert strict(got[0]) == strict(want)


def test_split_parse_reuses_only_whole_values() -> None:
    old = b'{"tables": [12, {"a": [1]}, "s"]}'
    first = _load_split(old, "tables", None)
    assert first is not None
    value, elements = first
    second = _load_split(b'{"tables": [12.5, {"a": [1]}, "s", 123]}', "tables", elements)
    assert second is not None
    assert second[0] == {"tables": [12.5, {"a": [1]}, "s", 123]}
    assert second[0]["tables"][1] is value["tables"][1]


def test_fingerprints_tell_types_and_order_apart() -> None:
    assert not same({"a": True}, {"a": 1}) and not same([1], [1.0]) and not same([0], [False])
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert same(json.loads('{"a": [1, "x", null]}'), json.loads('{"a": [1, "x", null]}'))
    assert fingerprint(json.loads('{"a": NaN}')) is None and not same([float("nan")], [float("nan")])
    assert refs({"a": [{"$ref": "#/x"}, {"b": {"$ref": "#/y", "c": {"$ref": 3}}}]}) == {"#/x", "#/y"}


def test_a_reference_into_paths_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = openapi_doc()
    old["paths"]["/items/{id}"]["get"]["requestBody"] = {"$ref": "#/paths/~1items/post/requestBody"}
    new = json.loads(json.dumps(old))
    # GET /items/{id} names the body of POST /items, and only that body changes (no key changes:
    # the fingerprints of the operation itself must still agree).
    body = new["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["$ref"] = "#/components/schemas/Tag"
    raw_old, raw_new = dumps(old, 0), dumps(new, 0)
    fast = compare(tmp_path / "fast", routes.ARTIFACT, raw_old, raw_new, routes.diff)
    monkeypatch.setattr(routes._Unchanged, "operation", lambda self, a, b, shared=False: False)
    assert fast == compare(tmp_path / "full", routes.ARTIFACT, raw_old, raw_new, routes.diff)
    assert "GET /items/{id} request property id removed" in {c.what for c in fast[0]}


def test_a_change_two_references_away_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = openapi_doc()
    old["components"]["schemas"]["Tag"] = {"type": "object", "properties": {"label": {"type": "string"}}}
    new = json.loads(json.dumps(old))
    # operations name Item, Item names Tag, and only Tag changes
    new["components"]["schemas"]["Tag"]["properties"]["label"]["type"] = "integer"
    raw_old, raw_new = dumps(old, 0), dumps(new, 0)
    fast = compare(tmp_path / "fast", routes.ARTIFACT, raw_old, raw_new, routes.diff)
    monkeypatch.setattr(routes._Unchanged, "operation", lambda self, a, b, shared=False: False)
    assert fast == compare(tmp_path / "full", routes.ARTIFACT, raw_old, raw_new, routes.diff)
    assert "GET /items/{id} response 200 property tags.[].label type changed" in {c.what for c in fast[0]}
