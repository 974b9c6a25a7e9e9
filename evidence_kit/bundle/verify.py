"""Prove a bundle complete and untouched: every digest, every file, the manifest's schema."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evidence_kit.bundle import writer as b
from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.digest import bytes_sha256, file_sha256
from evidence_kit.support import gc


@dataclass(frozen=True)
class Problem:
    """One reason a bundle does not verify."""

    kind: str  # modified | missing | unexpected | invalid
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one bundle."""

    bundle: str
    ok: bool
    artifacts: int
    bytes: int
    problems: tuple[Problem, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    digest: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "ok": self.ok,
            "artifacts": self.artifacts,
            "bytes": self.bytes,
            "digest": self.digest,
            "problems": [{"kind": p.kind, "path": p.path, "detail": p.detail} for p in self.problems],
        }


@cache
def manifest_schema() -> dict[str, Any]:
    """The shipped JSON Schema of manifest.json."""
    text = resources.files("evidence_kit.bundle").joinpath("manifest.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _read_lines(path: Path, problems: list[Problem]) -> dict[str, str]:
    entries: dict[str, str] = {}
    if not path.is_file():
        problems.append(Problem("missing", path.name, "BagIt manifest is missing"))
        return entries
    for n, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
        digest, _, name = line.partition(" ")
        name = name.lstrip(" *")
        if len(digest) != 64 or not name:
            problems.append(Problem("invalid", path.name, f"line {n} is not `<sha256>  <path>`"))
            continue
        entries[name] = digest.lower()
    return entries


@cache
def _fast_validator() -> Callable[[Any], bool] | None:
    """jsonschema-rs's compiled form of the manifest schema, when it is installed."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    # NOTE: formats stay annotations, as in jsonschema's default; the checks below rely on it.
    validator = jsonschema_rs.Draft202012Validator(manifest_schema(), validate_formats=False)
    return validator.is_valid


def _fast_valid(manifest: Any) -> bool:
    """True only when the compiled validator accepts the manifest.

    A manifest it refuses, or cannot take (lone surrogates, NaN, integers past 64 bits), goes to
    jsonschema, which decides and words the problems, so the outcome is always jsonschema's.
    """
    valid = _fast_validator()
    if valid is None:
        return False
    try:
        return valid(manifest)
    except (ValueError, TypeError, OverflowError):
        return False


def schema_problems(manifest: Any) -> list[Problem]:
    """Everything the shipped JSON Schema finds wrong with a parsed manifest.json."""
    if _fast_valid(manifest):
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(manifest_schema())
    problems: list[Problem] = []
    for err in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, err.absolute_path)) or "(top)"
        problems.append(Problem("invalid", b.MANIFEST, f"{where}: {err.message}"))
    return problems


def _parse_manifest(raw: bytes, problems: list[Problem]) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem("invalid", b.MANIFEST, f"not valid JSON: {exc}"))
        return {}
    except RecursionError:
        problems.append(Problem("invalid", b.MANIFEST, "not valid JSON: nested too deeply"))
        return {}
    problems.extend(schema_problems(manifest))
    return manifest if isinstance(manifest, dict) else {}


def read_manifest(root: Path, problems: list[Problem]) -> dict[str, Any]:
    """manifest.json parsed and checked against its schema; problems are appended to `problems`."""
    path = root / b.MANIFEST
    if not path.is_file():
        problems.append(Problem("missing", b.MANIFEST, "the bundle has no manifest.json"))
        return {}
    return _parse_manifest(path.read_bytes(), problems)


def _safe_rel(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def _walk(root: Path, top: str) -> tuple[set[str], list[str]]:
    """The regular files under `root/top` reached through no symbolic link, and every symbolic link.

    Paths are relative to `root`, `/`-separated. Like `Path.rglob("*")` it lists hidden entries, does
    not descend into linked folders and skips folders it may not read.
    """
    files: set[str] = set()
    links: list[str] = []
    pending = [(os.path.join(root, top), top)]
    while pending:
        folder, rel = pending.pop()
        try:
            with os.scandir(folder) as entries:
                found = list(entries)
        except PermissionError:
            continue
        for entry in found:
            child = f"{rel}/{entry.name}"
            try:
                if entry.is_symlink():
                    links.append(child)
                elif entry.is_file(follow_symlinks=False):
                    files.add(child)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, child))
            except OSError:
                continue
    return files, links


def _parts(rel: str) -> list[str]:
    return rel.split("/")


def verify_dir(root: Path, label: str | None = None) -> Verdict:
    """Verify an unpacked bundle folder, collecting every problem at once."""
    # NOTE: a manifest of thousands of artifacts is that many objects, none in a cycle: each collection
    # while it is read would walk all of them (and everything else the process holds) again.
    with gc.paused():
        return _verify_dir(root, label)


def _verify_dir(root: Path, label: str | None) -> Verdict:
    problems: list[Problem] = []
    manifest_path = root / b.MANIFEST
    manifest: dict[str, Any] = {}
    manifest_digest: str | None = None
    if manifest_path.is_file():
        raw = manifest_path.read_bytes()
        manifest_digest = bytes_sha256(raw)
        manifest = _parse_manifest(raw, problems)
    else:
        problems.append(Problem("missing", b.MANIFEST, "the bundle has no manifest.json"))
    if not (root / b.BAGIT_TXT).is_file():
        problems.append(Problem("missing", b.BAGIT_TXT, "BagIt declaration is missing"))
    tags = _read_lines(root / b.TAG_MANIFEST, problems)
    for name, digest in sorted(tags.items()):
        path = root / name
        if not _safe_rel(name) or not path.is_file():
            problems.append(Problem("missing", name, "listed in the tag manifest but absent"))
        elif (manifest_digest if name == b.MANIFEST else file_sha256(path)[0]) != digest:
            problems.append(Problem("modified", name, "digest differs from the tag manifest"))
    for name in b.TAG_FILES:
        if name not in tags and (root / name).exists():
            problems.append(Problem("unexpected", name, "tag file not covered by the tag manifest"))
    payload = _read_lines(root / b.PAYLOAD_MANIFEST, problems)
    listed: dict[str, dict[str, Any]] = {}
    for rec in manifest.get("artifacts", []) if isinstance(manifest.get("artifacts"), list) else []:
        if isinstance(rec, dict) and isinstance(rec.get("path"), str):
            listed[rec["path"]] = rec
    for path_ in sorted(set(payload) ^ set(listed)):
        where = "manifest.json" if path_ in listed else b.PAYLOAD_MANIFEST
        problems.append(Problem("invalid", path_, f"listed only in {where}"))
    data = root / b.PAYLOAD
    is_data = data.is_dir()
    files, links = _walk(root, b.PAYLOAD) if is_data else (set(), [])
    base = os.fspath(root)
    total = 0
    for rel, rec in sorted(listed.items()):
        # NOTE: a path the walk found as a regular file is safe, inside data/ and no link: that
        # spares two stats and two path parses per artifact. Any other path takes the full checks.
        if rel in files:
            digest, size = file_sha256(f"{base}/{rel}")
        else:
            path = root / rel
            if not _safe_rel(rel) or not rel.startswith(f"{b.PAYLOAD}/"):
                problems.append(Problem("invalid", rel, "artifact path is outside data/"))
                continue
            if not path.is_file() or path.is_symlink():
                problems.append(Problem("missing", rel, "listed in the manifest but absent"))
                continue
            digest, size = file_sha256(path)
        total += size
        if digest != rec.get("sha256") or (rel in payload and digest != payload[rel]):
            problems.append(
                Problem(
                    "modified", rel, f"sha256 is {digest[:16]}…, manifest says {str(rec.get('sha256'))[:16]}…"
                )
            )
        elif size != rec.get("size"):
            problems.append(Problem("modified", rel, f"size is {size}, manifest says {rec.get('size')}"))
    if is_data:
        stray = [*links, *(rel for rel in files if rel not in listed)]
        for rel in sorted(stray, key=_parts):
            problems.append(Problem("unexpected", rel, "file is not in the manifest"))
    else:
        problems.append(Problem("missing", b.PAYLOAD, "payload folder is missing"))
    known = {*b.TAG_FILES, b.TAG_MANIFEST, b.PAYLOAD}
    for path in sorted(root.iterdir()):
        if path.name not in known and path.name not in tags:
            problems.append(Problem("unexpected", path.name, "file is not part of a bundle"))
    return Verdict(
        bundle=label or root.name,
        ok=not problems,
        artifacts=len(listed),
        bytes=total,
        problems=tuple(problems),
        manifest=manifest,
        digest=manifest_digest,
    )


def verify(path: Path) -> Verdict:
    """Verify a bundle folder or archive; never writes outside a temporary folder."""
    with opened(path) as root:
        return verify_dir(root, label=path.name)
