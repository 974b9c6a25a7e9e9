"""verify_dir's fast paths give exactly the verdicts of the plain algorithm: same problems, same order.

The oracle below is the straightforward verifier (pathlib checks per artifact, `rglob` over data/,
jsonschema over the manifest). Every tampering case and every manifest mutation must give the same
Verdict from both, and the compiled schema check must never accept what jsonschema refuses.
"""

from __future__ import annotations

import copy
import json
import os
import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evidence_kit.bundle import verify as v
from evidence_kit.bundle import writer as b
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor


def oracle_schema(manifest: Any) -> list[v.Problem]:
    validator = jsonschema.Draft202012Validator(v.manifest_schema())
    problems = []
    for err in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, err.absolute_path)) or "(top)"
        problems.append(v.Problem("invalid", b.MANIFEST, f"{where}: {err.message}"))
    return problems


def oracle(root: Path) -> v.Verdict:
    """The plain verifier: one stat per check, rglob over data/, jsonschema for the manifest."""
    problems: list[v.Problem] = []
    manifest: dict[str, Any] = {}
    path = root / b.MANIFEST
    if not path.is_file():
        problems.append(v.Problem("missing", b.MANIFEST, "the bundle has no manifest.json"))
    else:
        try:
            parsed = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(v.Problem("invalid", b.MANIFEST, f"not valid JSON: {exc}"))
        else:
            problems += oracle_schema(parsed)
            manifest = parsed if isinstance(parsed, dict) else {}
    if not (root / b.BAGIT_TXT).is_file():
        problems.append(v.Problem("missing", b.BAGIT_TXT, "BagIt declaration is missing"))
    tags = v._read_lines(root / b.TAG_MANIFEST, problems)
    for name, digest in sorted(tags.items()):
        path = root / name
        if not v._safe_rel(name) or not path.is_file():
            problems.append(v.Problem("missing", name, "listed in the tag manifest but absent"))
        elif file_sha256(path)[0] != digest:
            problems.append(v.Problem("modified", name, "digest differs from the tag manifest"))
    for name in b.TAG_FILES:
        if name not in tags and (root / name).exists():
            problems.append(v.Problem("unexpected", name, "tag file not covered by the tag manifest"))
    payload = v._read_lines(root / b.PAYLOAD_MANIFEST, problems)
    listed: dict[str, dict[str, Any]] = {}
    for rec in manifest.get("artifacts", []) if isinstance(manifest.get("artifacts"), list) else []:
        if isinstance(rec, dict) and isinstance(rec.get("path"), str):
            listed[rec["path"]] = rec
    for path_ in sorted(set(payload) ^ set(listed)):
        where = "manifest.json" if path_ in listed else b.PAYLOAD_MANIFEST
        problems.append(v.Problem("invalid", path_, f"listed only in {where}"))
    total = 0
    for rel, rec in sorted(listed.items()):
        path = root / rel
        if not v._safe_rel(rel) or not rel.startswith(f"{b.PAYLOAD}/"):
            problems.append(v.Problem("invalid", rel, "artifact path is outside data/"))
            continue
        if not path.is_file() or path.is_symlink():
            problems.append(v.Problem("missing", rel, "listed in the manifest but absent"))
            continue
        digest, size = file_sha256(path)
        total += size
        if digest != rec.get("sha256") or (rel in payload and digest != payload[rel]):
            problems.append(
                v.Problem(
                    "modified", rel, f"sha256 is {digest[:16]}…, manifest says {str(rec.get('sha256'))[:16]}…"
                )
            )
        elif size != rec.get("size"):
            problems.append(v.Problem("modified", rel, f"size is {size}, manifest says {rec.get('size')}"))
    data = root / b.PAYLOAD
    if data.is_dir():
        for path in sorted(data.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or (path.is_file() and rel not in listed):
                problems.append(v.Problem("unexpected", rel, "file is not in the manifest"))
    else:
        problems.append(v.Problem("missing", b.PAYLOAD, "payload folder is missing"))
    known = {*b.TAG_FILES, b.TAG_MANIFEST, b.PAYLOAD}
    for path in sorted(root.iterdir()):
        if path.name not in known and path.name not in tags:
            problems.append(v.Problem("unexpected", path.name, "file is not part of a bundle"))
    return v.Verdict(
        bundle=root.name,
        ok=not problems,
        artifacts=len(listed),
        bytes=total,
        problems=tuple(problems),
        manifest=manifest,
        digest=file_sha256(root / b.MANIFEST)[0] if (root / b.MANIFEST).is_file() else None,
    )


NAMES = ["a.txt", "a-b.txt", "a/b.txt", "a/c/d.txt", "a.b/x.txt", "Z.txt", ".hidden", "deep/1/2/3/4.txt"]


def make(out: Path) -> Path:
    writer = b.BundleWriter(out, Redactor())
    outputs = [Output(name, name, data=f"{name}\n".encode() * (i + 1)) for i, name in enumerate(NAMES)]
    ending = {
        "signal": "SIGTERM",
        "sent": [{"signal": "SIGTERM", "after_s": 1.5, "processes": 2}],
        "left_behind": 0,
        "confirmed": True,
    }
    outputs.append(
        Output("run.txt", "run", data=b"ok\n", argv=("true",), exit_code=0, duration_s=0.5, process=ending)
    )
    for o in outputs:
        writer.add("demo", o)
    return writer.finish(
        service="svc",
        phase="1",
        git_sha="b" * 40,
        host={"name": "h", "platform": "p", "python": "3.11"},
        ci={"GITHUB_SHA": None},
        config={"path": "evidence.yaml", "sha256": "c" * 64},
        results=[
            CollectorResult("demo", "ok", tuple(outputs)),
            CollectorResult("schema", "error", error="cannot connect", hint="start it"),
        ],
    )


def edit_manifest(bundle: Path, change: Callable[[dict[str, Any]], object], retag: bool = False) -> None:
    path = bundle / b.MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    if retag:
        retag_bundle(bundle)


def retag_bundle(bundle: Path) -> None:
    """Rewrite the tag manifest so that only the payload checks can catch the change."""
    lines = [f"{file_sha256(bundle / n)[0]}  {n}\n" for n in sorted(b.TAG_FILES) if (bundle / n).is_file()]
    (bundle / b.TAG_MANIFEST).write_text("".join(lines))


def artifact(m: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(a for a in m["artifacts"] if a["path"].endswith(suffix))


def relist(bundle: Path, old: str, new: str) -> None:
    """Point one artifact's record (manifest and payload manifest) at another path."""
    edit_manifest(bundle, lambda m: artifact(m, old).__setitem__("path", new))
    payload = bundle / b.PAYLOAD_MANIFEST
    payload.write_text(payload.read_text().replace(f"  data/demo/{old}\n", f"  {new}\n"))
    retag_bundle(bundle)


def symlink_file(bundle: Path) -> None:
    target = bundle / "data/demo/a.txt"
    os.rename(target, bundle / "moved.txt")
    os.symlink(bundle / "moved.txt", target)


def symlink_folder(bundle: Path) -> None:
    os.rename(bundle / "data/demo/a", bundle / "elsewhere")
    os.symlink(bundle / "elsewhere", bundle / "data/demo/a")


def symlink_data(bundle: Path) -> None:
    os.rename(bundle / "data", bundle.parent / "payload")
    os.symlink(bundle.parent / "payload", bundle / "data")


def dangling(bundle: Path) -> None:
    os.symlink(bundle / "nowhere", bundle / "data/demo/zz-dangling")


def fifo(bundle: Path) -> None:
    os.unlink(bundle / "data/demo/a.txt")
    os.mkfifo(bundle / "data/demo/a.txt")


def extra_files(bundle: Path) -> None:
    for rel in ["data/demo/a/new.txt", "data/demo/a-c", "data/demo/a/b/c.txt", "data/x", "data/.dot"]:
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_text("new\n")
    (bundle / "data/empty-dir").mkdir()


def unreadable_folder(bundle: Path) -> None:
    (bundle / "data/demo/a/c").chmod(0)


TAMPERS: dict[str, Callable[[Path], object]] = {
    "untouched": lambda _: None,
    "flip a byte": lambda p: (p / "data/demo/a.txt").write_text("A.txt\n"),
    "append": lambda p: (p / "data/demo/a/b.txt").open("a").write("more\n"),
    "truncate": lambda p: (p / "data/demo/deep/1/2/3/4.txt").write_bytes(b""),
    "delete": lambda p: (p / "data/demo/a/c/d.txt").unlink(),
    "delete a folder": lambda p: [q.unlink() for q in (p / "data/demo/a/c").iterdir()],
    "add files": extra_files,
    "symlinked file": symlink_file,
    "symlinked folder": symlink_folder,
    "symlinked data": symlink_data,
    "dangling link": dangling,
    "fifo in place of a file": fifo,
    "data is a file": lambda p: [os.rename(p / "data", p / "d"), (p / "data").write_text("x")],
    "no data": lambda p: os.rename(p / "data", p / "d"),
    "no manifest": lambda p: (p / b.MANIFEST).unlink(),
    "manifest not JSON": lambda p: (p / b.MANIFEST).write_text("{nope"),
    "manifest not UTF-8": lambda p: (p / b.MANIFEST).write_bytes(b'{"a": "\xff"}'),
    "manifest a list": lambda p: (p / b.MANIFEST).write_text("[]"),
    "manifest edited": lambda p: edit_manifest(p, lambda m: m.__setitem__("phase", "2")),
    "manifest edited, retagged": lambda p: edit_manifest(p, lambda m: m.__setitem__("phase", "2"), True),
    "schema violations": lambda p: edit_manifest(
        p, lambda m: [artifact(m, "a.txt").__setitem__("size", -1), m.__setitem__("extra", 1)], True
    ),
    "digest forged": lambda p: edit_manifest(
        p, lambda m: artifact(m, "a.txt").__setitem__("sha256", "0" * 64), True
    ),
    "size forged": lambda p: edit_manifest(p, lambda m: artifact(m, "a.txt").__setitem__("size", 1), True),
    "size is a string": lambda p: edit_manifest(
        p, lambda m: artifact(m, "a.txt").__setitem__("size", "1"), True
    ),
    "record dropped": lambda p: edit_manifest(
        p, lambda m: m["artifacts"].remove(artifact(m, "a-b.txt")), True
    ),
    "artifacts not a list": lambda p: edit_manifest(p, lambda m: m.__setitem__("artifacts", {}), True),
    "record not an object": lambda p: edit_manifest(p, lambda m: m["artifacts"].append(7), True),
    "path with a dot part": lambda p: relist(p, "a.txt", "data/./demo/a.txt"),
    "path with ..": lambda p: relist(p, "a.txt", "data/demo/../demo/a.txt"),
    "path outside data": lambda p: relist(p, "a.txt", "bagit.txt"),
    "absolute path": lambda p: relist(p, "a.txt", str(p / "data/demo/a.txt")),
    "path to a folder": lambda p: relist(p, "a.txt", "data/demo/a"),
    "path with a trailing slash": lambda p: relist(p, "Z.txt", "data/demo/Z.txt/"),
    "payload manifest line broken": lambda p: (p / b.PAYLOAD_MANIFEST).open("a").write("nonsense\n"),
    "payload manifest missing": lambda p: (p / b.PAYLOAD_MANIFEST).unlink(),
    "tag manifest missing": lambda p: (p / b.TAG_MANIFEST).unlink(),
    "tag manifest lists ..": lambda p: (p / b.TAG_MANIFEST).open("a").write(f"{'0' * 64}  ../x\n"),
    "bagit.txt missing": lambda p: (p / b.BAGIT_TXT).unlink(),
    "stray top-level file": lambda p: (p / "notes.txt").write_text("x"),
}


# NOTE: a re-tagged manifest is a different, consistent bundle (its digest changes); a linked data/
# folder holds the very bytes listed.
STILL_VALID = {"untouched", "manifest edited, retagged", "symlinked data"}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_verdict_is_the_plain_algorithms(tmp_path: Path, name: str) -> None:
    bundle = make(tmp_path)
    TAMPERS[name](bundle)
    got, want = v.verify_dir(bundle), oracle(bundle)
    assert got.problems == want.problems
    assert got.ok == want.ok and got.digest == want.digest
    assert (got.artifacts, got.bytes) == (want.artifacts, want.bytes)
    assert got.manifest == want.manifest
    assert got.ok == (name in STILL_VALID)


def test_unreadable_folder_is_skipped_like_rglob(tmp_path: Path) -> None:
    bundle = make(tmp_path)
    unreadable_folder(bundle)
    try:
        if os.access(bundle / "data/demo/a/c", os.R_OK):
            pytest.skip("this user reads every folder")
        got, want = v.verify_dir(bundle), oracle(bundle)
        assert got.problems == want.problems and not got.ok
    finally:
        (bundle / "data/demo/a/c").chmod(0o755)


def test_deeply_nested_manifest_is_invalid_not_a_crash(tmp_path: Path) -> None:
    bundle = make(tmp_path)
    (bundle / b.MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    verdict = v.verify_dir(bundle)
    assert v.Problem("invalid", b.MANIFEST, "not valid JSON: nested too deeply") in verdict.problems


# The manifest schema, keyword by keyword: every leaf replaced by each of these values, every key
# removed, an unknown key added to every object, every array emptied and given a foreign item.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    0.5,
    -0.5,
    2**63,
    2**64 + 1,
    -(2**70),
    float("nan"),
    float("inf"),
    "",
    "x",
    "ok",
    "failed",
    "timeout",
    "OK",
    "evidence-kit",
    "data/x",
    "data/x\n",
    "data//x",
    "data/",
    "/data/x",
    "c" * 64,
    "c" * 64 + "\n",
    "C" * 64,
    "c" * 63,
    "2026-01-01T00:00:00Z",
    "not a date",
    "\ud800",
    "é",
    [],
    ["x"],
    [1],
    {},
    {"x": "y"},
    {"x": 1},
]


def locations(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield where
    if isinstance(value, dict):
        for key, item in value.items():
            yield from locations(item, (*where, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):
            yield from locations(item, (*where, i))


def mutations(manifest: dict[str, Any]) -> Iterator[Any]:
    yield manifest
    for where in locations(manifest):
        for change in changes(manifest, where):
            mutated = copy.deepcopy(manifest)
            node = mutated
            for key in where[:-1]:
                node = node[key]
            change(node, where[-1] if where else None)
            yield mutated
    yield from VALUES


def changes(manifest: dict[str, Any], where: tuple[Any, ...]) -> Iterator[Callable[[Any, Any], None]]:
    """Edits of the node at `where`, each applied to its parent and the last key."""
    node: Any = manifest
    for key in where:
        node = node[key]
    if where:
        for value in VALUES:
            yield lambda parent, key, value=value: parent.__setitem__(key, value)
        if isinstance(where[-1], str):
            yield lambda parent, key: parent.__delitem__(key)

    def inner(parent: Any, key: Any) -> Any:
        return parent[key] if where else parent

    if isinstance(node, dict):
        yield lambda parent, key: inner(parent, key).__setitem__("unknown", 1)
    elif isinstance(node, list):
        yield lambda parent, key: inner(parent, key).append(7)
        yield lambda parent, key: inner(parent, key).clear()


def test_schema_problems_are_jsonschemas_on_every_mutation(tmp_path: Path) -> None:
    manifest = json.loads((make(tmp_path) / b.MANIFEST).read_text())
    manifest["artifacts"] = [artifact(manifest, "a.txt"), artifact(manifest, "run.txt")]
    assert set(manifest) == set(v.manifest_schema()["properties"]), "the sample must use every property"
    for key in ("artifacts", "collectors", "errors"):
        record = max(manifest[key], key=len)
        assert set(record) == set(v.manifest_schema()["properties"][key]["items"]["properties"]), key
    accepted = refused = stricter = 0
    for mutated in mutations(manifest):
        want = oracle_schema(mutated)
        fast = v._fast_valid(mutated)
        assert not (fast and want), f"compiled schema accepts what jsonschema refuses: {want}"
        assert v.schema_problems(mutated) == want
        accepted += fast
        refused += bool(want)
        stricter += not fast and not want
    # NOTE: the compiled check refuses NaN and infinities, and a newline just before the end of a
    # `pattern` match (Python's `$` allows it); jsonschema then decides them, and accepts them.
    assert accepted > 500 and refused > 1500 and stricter < 100, (accepted, refused, stricter)


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="jsonschema-rs is for CPython")
def test_the_compiled_schema_is_in_use(tmp_path: Path) -> None:
    manifest = json.loads((make(tmp_path) / b.MANIFEST).read_text())
    assert v._fast_validator() is not None and v._fast_valid(manifest)
