"""Benchmark: `evidence diff` between two large bundles against `diff -r` on the same two folders.

Generates (seeded) two bundles with `BundleWriter` whose artifacts have the shapes the collectors write:

- `schema/schema.json` (the normalized catalog description, rendered with the schema collector's own
  `render_json`) with 1,000 tables in 10 schemas: identity keys, 5-14 columns, foreign keys, unique
  constraints, check constraints, 1-3 indexes each; one identity sequence per table; 20 enums; plus
  `schema/tables.txt`;
- `openapi/openapi.json` (FastAPI-shaped: `$ref`s into `components/schemas`, 422 responses) with 500
  operations on 100 resources, plus `openapi/routes.json` and `openapi/routes.txt` as the openapi
  collector writes them;
- `tests/tests.json` (the normalized JUnit report) with 3,000 tests, plus `tests/summary.txt`.

The new bundle alters 5% of the tables (columns added, NOT NULL added, dropped, widened, narrowed, made
NOT NULL; defaults added; indexes added, dropped, given a predicate) and adds a few, changes 5% of the
operations (optional and required parameters added, a parameter made required, a response removed, an
operation deprecated) and makes 1% of the tests newly fail (and a few pass again, a few new ones appear).

Times, median of R runs in turns after a warm-up round:

- baseline: `diff -r OLD NEW > /dev/null` (a subprocess);
- `diff(OLD, NEW, verify=True)` then rendering the report as text, Markdown and JSON (as `--format json`
  prints it), in this process;
- the same with `verify=False` (the bundles are still read and hashed, but not refused);
- rendering alone (the three formats), as a breakdown.

Then prints the changes found, by section and classification.

    python benchmarks/bench_diff.py [--quick] [--runs R] [--workdir DIR]

`--quick` uses 100 tables, 50 operations and 300 tests. Target: `diff(verify=True)` plus rendering at most
2x the wall time of `diff -r` (medians of the same run); the exit code is 1 when it is missed, when the diff
finds nothing or when `diff -r` is missing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.collectors.schema import render_json, render_tables
from evidence_kit.diff import CLASSIFICATIONS, DiffReport, diff, render
from evidence_kit.evidence.openapi import routes
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support import junit

SEED = 20260
TARGET = 2.0  # diff(verify=True) + rendering, as a multiple of diff -r's wall time, at most
ALTERED = 0.05
ADDED_TABLES = 0.005
FAILING = 0.01
FIXED = 0.002
NEW_TESTS = 0.002
BIGINT_MAX = 9223372036854775807

AREAS = ["billing", "catalog", "crm", "ops", "auth", "jobs", "audit", "ledger", "shipping", "support"]
NOUNS = [
    "account",
    "invoice",
    "order",
    "customer",
    "product",
    "payment",
    "refund",
    "subscription",
    "coupon",
    "address",
    "shipment",
    "ticket",
    "comment",
    "attachment",
    "webhook_target",
    "api_key",
    "session",
    "job",
    "run",
    "report",
]
VARIANTS = ["", "_history", "_events", "_links", "_settings"]
COLUMN_TYPES = [
    ("text", True),
    ("character varying(255)", True),
    ("character varying(64)", False),
    ("integer", False),
    ("bigint", True),
    ("boolean", False),
    ("numeric(12,2)", False),
    ("jsonb", True),
    ("uuid", False),
    ("timestamp with time zone", True),
    ("date", True),
]
FIELD_WORDS = [
    "name",
    "status",
    "amount",
    "currency",
    "email",
    "reference",
    "note",
    "payload",
    "external_id",
    "priority",
    "due_on",
    "closed_at",
    "owner",
    "region",
    "kind",
    "attempts",
    "score",
    "source",
    "label",
    "version",
]

Obj = dict[str, Any]


# ----------------------------------------------------------------------------------------------------
# Schema


def _column(name: str, type_: str, nullable: bool, default: str | None = None) -> Obj:
    return {
        "name": name,
        "type": type_,
        "nullable": nullable,
        "default": default,
        "identity": None,
        "generated": None,
    }


def _table_names(count: int) -> list[tuple[str, str]]:
    names = [(area, f"{noun}{variant}") for variant in VARIANTS for noun in NOUNS for area in AREAS]
    return names[:count]


def _table(rng: random.Random, schema: str, name: str, earlier: list[Obj]) -> Obj:
    columns = [
        {**_column("id", "bigint", False), "identity": "by default"},
        _column("created_at", "timestamp with time zone", False, "now()"),
    ]
    fields = rng.sample(FIELD_WORDS, rng.randint(3, 9))
    for field in fields:
        type_, nullable = rng.choice(COLUMN_TYPES)
        columns.append(_column(field, type_, nullable))
    foreign_keys = []
    for ref in rng.sample(earlier[-50:], min(len(earlier), rng.randint(0, 2))):
        col = f"{ref['name']}_id"
        if any(c["name"] == col for c in columns):
            continue
        columns.append(_column(col, "bigint", rng.random() < 0.3))
        foreign_keys.append(
            {
                "name": f"fk_{name}_{col}",
                "columns": [col],
                "references": {"schema": ref["schema"], "table": ref["name"], "columns": ["id"]},
                "on_delete": rng.choice(["NO ACTION", "CASCADE", "SET NULL"]),
                "on_update": "NO ACTION",
            }
        )
    indexes = [
        {
            "name": f"ix_{name}_{c['name']}",
            "unique": False,
            "method": "btree",
            "columns": [c["name"]],
            "include": [],
            "where": None,
        }
        for c in rng.sample(columns[1:], rng.randint(1, 3))
    ]
    uniques = []
    if rng.random() < 0.3:
        uniques.append({"name": f"uq_{name}_{fields[0]}", "columns": [fields[0]]})
    checks = []
    if "amount" in fields:
        checks.append({"name": f"ck_{name}_amount", "definition": "CHECK (amount >= 0)"})
    table = {
        "schema": schema,
        "name": name,
        "columns": columns,
        "primary_key": {"name": f"{name}_pkey", "columns": ["id"]},
        "unique_constraints": uniques,
        "indexes": indexes,
        "foreign_keys": foreign_keys,
        "check_constraints": checks,
        "exclusion_constraints": [],
    }
    return table


def _sequence(table: Obj) -> Obj:
    return {
        "schema": table["schema"],
        "name": f"{table['name']}_id_seq",
        "type": "bigint",
        "start": 1,
        "increment": 1,
        "min": 1,
        "max": BIGINT_MAX,
        "cache": 1,
        "cycle": False,
        "identity": True,
        "owned_by": f"{table['schema']}.{table['name']}.id",
    }


def _ordered(model: Obj) -> Obj:
    """Sort the model as the schema collector does."""
    model["tables"].sort(key=lambda t: (t["schema"], t["name"]))
    for table in model["tables"]:
        table["columns"].sort(key=lambda c: c.get("_pos", 0))
        for key in ("unique_constraints", "indexes", "foreign_keys", "check_constraints"):
            table[key].sort(key=lambda i: i["name"])
    model["sequences"].sort(key=lambda s: (s["schema"], s["name"]))
    return model


def schema_model(rng: random.Random, count: int) -> Obj:
    """A normalized schema description of `count` tables."""
    tables: list[Obj] = []
    for schema, name in _table_names(count):
        tables.append(_table(rng, schema, name, tables))
    enums = [
        {"schema": AREAS[i % len(AREAS)], "name": f"{NOUNS[i]}_status", "values": ["new", "active", "closed"]}
        for i in range(20)
    ]
    model = {
        "dialect": "postgresql",
        "server_version": "16.4",
        "schemas": sorted(AREAS),
        "tables": tables,
        "enums": sorted(enums, key=lambda e: (e["schema"], e["name"])),
        "sequences": [_sequence(t) for t in tables],
    }
    return _ordered(model)


def _alter_table(rng: random.Random, table: Obj, how: int) -> None:
    cols = table["columns"]
    plain = [c for c in cols[2:] if not c["name"].endswith("_id")]
    if how == 0:
        cols.append(_column("archived_at", "timestamp with time zone", True))
    elif how == 1:
        cols.append(_column("tenant_id", "bigint", False))
    elif how == 2 and plain:
        dropped = rng.choice(plain)["name"]
        cols.remove(next(c for c in cols if c["name"] == dropped))
        table["indexes"] = [i for i in table["indexes"] if dropped not in i["columns"]]
        table["unique_constraints"] = [u for u in table["unique_constraints"] if dropped not in u["columns"]]
        table["check_constraints"] = [c for c in table["check_constraints"] if dropped not in c["name"]]
    elif how == 3:
        next(c for c in cols if c["name"] == "created_at")["type"] = "timestamp(3) with time zone"
        for col in plain:
            if col["type"] == "integer":
                col["type"] = "bigint"
                break
        else:
            cols.append(_column("revision", "integer", True))
    elif how == 4:
        target = next((c for c in plain if c["type"].startswith("character varying")), None)
        if target is None:
            cols.append(_column("code", "character varying(32)", True))
        else:
            target["type"] = "character varying(40)"
    elif how == 5 and plain:
        for col in plain:
            col["nullable"] = False
            break
    elif how == 6:
        col = rng.choice(cols[1:])["name"]
        table["indexes"].append(
            {
                "name": f"ix_{table['name']}_{col}_recent",
                "unique": False,
                "method": "btree",
                "columns": [col, "created_at DESC NULLS LAST"],
                "include": [],
                "where": None,
            }
        )
    elif how == 7 and table["indexes"]:
        table["indexes"].pop(0)
    elif how == 8 and table["indexes"]:
        table["indexes"][0]["where"] = "(created_at > '2024-01-01 00:00:00+00'::timestamp with time zone)"
    else:
        cols[-1]["default"] = "'{}'::jsonb" if cols[-1]["type"] == "jsonb" else "NULL"
    for pos, col in enumerate(cols):
        col["_pos"] = pos


def altered_schema(rng: random.Random, old: Obj) -> Obj:
    """A copy of `old` with a fraction of its tables altered and a few tables added."""
    new = copy.deepcopy(old)
    tables = new["tables"]
    for n, table in enumerate(rng.sample(tables, max(1, round(len(tables) * ALTERED)))):
        _alter_table(rng, table, n % 10)
    for k in range(max(1, round(len(old["tables"]) * ADDED_TABLES))):
        added = _table(rng, "jobs", f"outbox_{k}", tables)
        tables.append(added)
        new["sequences"].append(_sequence(added))
    for table in tables:
        for col in table["columns"]:
            col.pop("_pos", None)
    return _ordered(new)


# ----------------------------------------------------------------------------------------------------
# OpenAPI


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _ref(name: str) -> Obj:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema: Obj) -> Obj:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, required: bool, schema: Obj) -> Obj:
    return {"name": name, "in": where, "required": required, "schema": {**schema, "title": _title(name)}}


def _resources(count: int) -> list[tuple[str, str]]:
    return [(area, noun) for noun in NOUNS for area in AREAS][:count]


def openapi_doc(rng: random.Random, operations: int) -> Obj:
    """A FastAPI-shaped OpenAPI document with `operations` operations (5 per resource)."""
    paths: Obj = {}
    schemas: Obj = {
        "ValidationError": {
            "type": "object",
            "title": "ValidationError",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "msg": {"type": "string", "title": "Message"},
                "type": {"type": "string", "title": "Error Type"},
            },
        },
        "HTTPValidationError": {
            "type": "object",
            "title": "HTTPValidationError",
            "properties": {"detail": {"type": "array", "items": _ref("ValidationError")}},
        },
    }
    invalid = _json_response("Validation Error", _ref("HTTPValidationError"))
    request_id = _param("X-Request-Id", "header", False, {"anyOf": [{"type": "string"}, {"type": "null"}]})
    for area, noun in _resources(operations // 5):
        model = _title(f"{area}_{noun}")
        fields = rng.sample(FIELD_WORDS, rng.randint(3, 8))
        props = {
            f: {"type": rng.choice(["string", "integer", "boolean"]), "title": _title(f)} for f in fields
        }
        schemas[f"{model}Create"] = {
            "type": "object",
            "title": f"{model}Create",
            "required": fields[:2],
            "properties": props,
        }
        schemas[f"{model}Out"] = {
            "type": "object",
            "title": f"{model}Out",
            "required": ["id", "created_at", *fields[:2]],
            "properties": {
                "id": {"type": "integer", "title": "Id"},
                "created_at": {"type": "string", "format": "date-time", "title": "Created At"},
                **props,
            },
        }
        base, item = f"/v1/{area}/{noun}s", f"/v1/{area}/{noun}s/{{{noun}_id}}"
        ident = _param(f"{noun}_id", "path", True, {"type": "integer"})

        def op(
            verb: str,
            path: str,
            summary: str,
            params: list[Obj],
            ok: Obj,
            extra: Obj | None = None,
            tag: str = area,
        ) -> Obj:
            op_id = f"{summary.lower().replace(' ', '_')}_{path.strip('/').replace('/', '_')}_{verb}"
            responses = {"200" if verb != "post" else "201": ok, "422": invalid}
            if "{" in path:
                responses["404"] = {"description": "Not Found"}
            return {
                "tags": [tag],
                "summary": summary,
                "operationId": op_id.replace("{", "").replace("}", ""),
                "parameters": [*params, request_id],
                "responses": responses,
                **(extra or {}),
            }

        body = {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(f"{model}Create")}},
            }
        }
        out = _json_response("Successful Response", _ref(f"{model}Out"))
        paging = [
            _param("limit", "query", False, {"type": "integer", "maximum": 500, "default": 50}),
            _param("offset", "query", False, {"type": "integer", "minimum": 0, "default": 0}),
        ]
        listed = _json_response("Successful Response", {"type": "array", "items": _ref(f"{model}Out")})
        paths[base] = {
            "get": op("get", base, f"List {noun}s", paging, listed),
            "post": op("post", base, f"Create {noun}", [], out, body),
        }
        paths[item] = {
            "get": op("get", item, f"Get {noun}", [ident], out),
            "patch": op("patch", item, f"Update {noun}", [ident], out, body),
            "delete": op("delete", item, f"Delete {noun}", [ident], {"description": "Successful Response"}),
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "bench service", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _operations(doc: Obj) -> list[Obj]:
    return [op for _, item in sorted(doc["paths"].items()) for _, op in sorted(item.items())]


def altered_openapi(rng: random.Random, old: Obj, operations: int) -> Obj:
    """A copy of `old` with a fraction of its operations changed."""
    new = copy.deepcopy(old)
    chosen = rng.sample(_operations(new), max(1, round(operations * ALTERED)))
    for n, op in enumerate(chosen):
        how = n % 5
        if how == 0:
            op["parameters"].append(_param("include_archived", "query", False, {"type": "boolean"}))
        elif how == 1:
            op["parameters"].append(_param("X-Tenant", "header", True, {"type": "string"}))
        elif how == 2:
            op["parameters"] = [
                {**p, "required": True} if p["name"] == "X-Request-Id" else p for p in op["parameters"]
            ]
        elif how == 3:
            op["responses"].pop("404" if "404" in op["responses"] else "422")
        else:
            op["deprecated"] = True
    return new


# ----------------------------------------------------------------------------------------------------
# Tests


def test_report(rng: random.Random, count: int) -> Obj:
    """A normalized test report of `count` tests, about 0.5% skipped, the rest passing."""
    entries: list[Obj] = []
    for n in range(count):
        area, noun = AREAS[n % len(AREAS)], NOUNS[n // len(AREAS) % len(NOUNS)]
        skipped = rng.random() < 0.005
        entries.append(
            {
                "id": f"tests.{area}.test_{noun}s::test_case_{n:05d}",
                "outcome": "skipped" if skipped else "passed",
                "duration_s": round(rng.uniform(0.001, 0.2), 3),
                "message": "needs the staging broker" if skipped else None,
            }
        )
    return junit.normalize(entries, sum(e["duration_s"] for e in entries))


def altered_tests(rng: random.Random, old: Obj) -> Obj:
    """A copy of `old` where some tests newly fail, a few pass again and a few were added."""
    entries = copy.deepcopy(old["tests"])
    count = len(entries)
    for test in rng.sample(entries, max(1, round(count * FAILING))):
        test["outcome"] = "failed"
        test["message"] = "AssertionError: assert 409 == 201\n  where 409 = response.status_code"
    for n in range(max(1, round(count * NEW_TESTS))):
        entries.append(
            {
                "id": f"tests.ops.test_outbox::test_new_{n:03d}",
                "outcome": "passed",
                "duration_s": 0.02,
                "message": None,
            }
        )
    for test in entries:
        test["duration_s"] = round(test["duration_s"] * rng.uniform(0.9, 1.1), 3)
    for test in rng.sample([t for t in entries if t["outcome"] == "passed"], max(1, round(count * FIXED))):
        test["outcome"] = "xpassed"
    return junit.normalize(entries, sum(e["duration_s"] for e in entries))


# ----------------------------------------------------------------------------------------------------
# Bundles


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def write_bundle(out: Path, phase: str, model: Obj, doc: Obj, report: Obj) -> Path:
    """Write one bundle with the schema, openapi and tests collectors' artifacts."""
    found = [r.as_json() for r in routes(doc)]
    outputs = {
        "schema": [
            Output(
                "schema.json", "Normalized schema description", "application/json", data=render_json(model)
            ),
            Output("tables.txt", "Tables in database", data=render_tables(model)),
        ],
        "openapi": [
            Output("openapi.json", "OpenAPI document (app bench)", "application/json", data=_json_bytes(doc)),
            Output("routes.json", "Routes (app bench)", "application/json", data=_json_bytes(found)),
            Output(
                "routes.txt",
                "Routes, one line per path (app bench)",
                data="".join(f"{','.join(r['methods'])} {r['path']}\n" for r in found).encode(),
            ),
        ],
        "tests": [
            Output(
                "tests.json",
                "Test outcomes, normalized and sorted",
                "application/json",
                data=junit.to_json(report),
            ),
            Output("summary.txt", "Test summary", data=junit.summary(report).encode()),
        ],
    }
    writer = BundleWriter(out, Redactor())
    for collector, items in outputs.items():
        for output in items:
            writer.add(collector, output)
    return writer.finish(
        service="bench",
        phase=phase,
        git_sha=None,
        results=[CollectorResult(name, "ok", tuple(items)) for name, items in outputs.items()],
        host={"name": "bench", "platform": sys.platform, "python": sys.version.split()[0]},
        ci=None,
    )


def size_of(path: Path) -> int:
    """Total bytes of the files below `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------------
# Timing


@dataclass
class Method:
    """One timed method: wall and CPU seconds of each run."""

    name: str
    run: Callable[[], None]
    subprocess: bool = False
    walls: list[float] | None = None
    cpus: list[float] | None = None

    def once(self) -> tuple[float, float]:
        """Run once; wall and CPU seconds (the children's for a subprocess; this process's and its
        children's otherwise, as `diff` may fork a copy that compares part of the bundles)."""
        whose = (
            [resource.RUSAGE_CHILDREN]
            if self.subprocess
            else [resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN]
        )
        before = [resource.getrusage(who) for who in whose]
        t0 = time.perf_counter()
        self.run()
        wall = time.perf_counter() - t0
        after = [resource.getrusage(who) for who in whose]
        cpu = sum(
            (a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime) for a, b in zip(after, before, strict=True)
        )
        return wall, cpu


def render_all(report: DiffReport) -> int:
    """Render the report as text, Markdown and JSON; the total characters."""
    out = render.text(report), render.markdown(report)
    as_json = json.dumps(render.as_json(report), indent=2, sort_keys=True) + "\n"
    return sum(map(len, out)) + len(as_json)


def main() -> int:
    """Generate the bundles, time the methods in turns, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 tables, 50 operations, 300 tests")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each method (default 5)")
    parser.add_argument("--workdir", type=Path, help="where to generate the bundles (default: a temp folder)")
    args = parser.parse_args()
    tables, operations, tests = (100, 50, 300) if args.quick else (1000, 500, 3000)
    if shutil.which("diff") is None:
        print("diff is not installed", file=sys.stderr)
        return 1

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-diff-", dir=args.workdir))
    try:
        t0 = time.perf_counter()
        rng = random.Random(SEED)
        model, doc, report = schema_model(rng, tables), openapi_doc(rng, operations), test_report(rng, tests)
        new_model = altered_schema(rng, model)
        new_doc = altered_openapi(rng, doc, operations)
        new_report = altered_tests(rng, report)
        old = write_bundle(work / "old", "1", model, doc, report)
        new = write_bundle(work / "new", "2", new_model, new_doc, new_report)
        print(
            f"generated in {time.perf_counter() - t0:.1f} s: {tables} tables, {operations} operations, "
            f"{tests} tests; bundles of {size_of(old) / 1e6:.2f} MB and {size_of(new) / 1e6:.2f} MB"
        )
        print(f"  old: {old}\n  new: {new}")

        def baseline() -> None:
            done = subprocess.run(["diff", "-r", str(old), str(new)], stdout=subprocess.DEVNULL, check=False)
            if done.returncode not in (0, 1):
                raise RuntimeError(f"diff -r exited {done.returncode}")

        def verified() -> None:
            render_all(diff(old, new, verify=True))

        def unverified() -> None:
            render_all(diff(old, new, verify=False))

        result = diff(old, new, verify=True)

        def rendering() -> None:
            render_all(result)

        methods = [
            Method("diff -r OLD NEW > /dev/null", baseline, subprocess=True),
            Method("diff(verify=True) + text/md/json", verified),
            Method("diff(verify=False) + text/md/json", unverified),
            Method("of which rendering text/md/json", rendering),
        ]
        for method in methods:
            method.once()
            method.walls, method.cpus = [], []
        for _ in range(args.runs):
            for method in methods:
                wall, cpu = method.once()
                assert method.walls is not None and method.cpus is not None
                method.walls.append(wall)
                method.cpus.append(cpu)

        base_wall = statistics.median(methods[0].walls or [0.0])
        base_cpu = statistics.median(methods[0].cpus or [0.0])
        print(f"\nmedian of {args.runs} runs in turns (after a warm-up round)")
        print(f"{'method':<36} {'wall':>9} {'ratio':>7} {'cpu':>9} {'ratio':>7} {'min wall':>9}")
        for method in methods:
            wall, cpu = statistics.median(method.walls or [0.0]), statistics.median(method.cpus or [0.0])
            print(
                f"{method.name:<36} {wall * 1000:7.1f}ms {wall / base_wall:6.2f}x "
                f"{cpu * 1000:7.1f}ms {cpu / base_cpu if base_cpu else 0:6.2f}x "
                f"{min(method.walls or [0.0]) * 1000:7.1f}ms"
            )

        print(f"\nchanges found: {len(result.changes)} ({render.counts_text(result.counts)})")
        print(f"{'section':<12} " + " ".join(f"{c:>9}" for c in CLASSIFICATIONS))
        for section in result.sections:
            counts = {c: 0 for c in CLASSIFICATIONS}
            for change in section.changes:
                counts[change.classification] += 1
            print(f"{section.kind:<12} " + " ".join(f"{counts[c]:>9}" for c in CLASSIFICATIONS))
        print(f"rendered: {render_all(result):,} characters (text + markdown + json)")
        ratio = statistics.median(methods[1].walls or [0.0]) / base_wall
        met = ratio <= TARGET
        print(
            f"target: diff(verify=True) + text/md/json <= {TARGET:.1f}x diff -r: {ratio:.2f}x "
            f"{'met' if met else 'MISSED'} (load average {os.getloadavg()[0]:.2f})"
        )
        return 0 if result.changes and met else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
