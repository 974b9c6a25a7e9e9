"""One side of a diff: the artifacts of an opened bundle, read by their path below `data/`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from evidence_kit.bundle.digest import file_sha256
from evidence_kit.bundle.writer import PAYLOAD
from evidence_kit.diff.model import Change, Section, change, section

# NOTE: artifacts larger than this are compared by digest only; no differ needs to parse them.
MAX_PARSE = 256 * 1024 * 1024


class Side:
    """The artifacts of one bundle. Paths are relative to `data/`, e.g. `schema/schema.json`.

    A bundle that verified is trusted: its manifest's digests are used. One compared without
    verification is read as it is on disk: files the manifest lists but that are gone count as
    absent, files it does not list count, and digests are computed from the files.
    """

    def __init__(self, root: Path, manifest: Mapping[str, Any], trusted: bool) -> None:
        self.root = root
        self.manifest = manifest
        self.trusted = trusted
        self._json: dict[str, Any] = {}

    @cached_property
    def records(self) -> dict[str, Mapping[str, Any]]:
        """Manifest record of each artifact, by its path below `data/`."""
        listed: dict[str, Mapping[str, Any]] = {}
        artifacts = self.manifest.get("artifacts")
        for rec in artifacts if isinstance(artifacts, list) else []:
            path = rec.get("path") if isinstance(rec, dict) else None
            if isinstance(path, str) and path.startswith(f"{PAYLOAD}/"):
                listed[path.removeprefix(f"{PAYLOAD}/")] = rec
        if self.trusted:
            return listed
        data = self.root / PAYLOAD
        found: dict[str, Mapping[str, Any]] = {}
        if data.is_dir():
            for path in sorted(data.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(data).as_posix()
                    found[rel] = listed.get(rel, {})
        return found

    def paths(self, folder: str = "") -> list[str]:
        """Sorted artifact paths under `folder` (e.g. `alembic/`), or all of them."""
        return sorted(p for p in self.records if p.startswith(folder))

    def has(self, rel: str) -> bool:
        """True when the bundle holds the artifact."""
        return rel in self.records

    def digest(self, rel: str) -> str | None:
        """The artifact's sha256: the manifest's when trusted, else the file's own."""
        rec = self.records.get(rel)
        if rec is None:
            return None
        if self.trusted and isinstance(rec.get("sha256"), str):
            return str(rec["sha256"])
        return file_sha256(self.root / PAYLOAD / rel)[0]

    def bytes(self, rel: str) -> bytes | None:
        """The artifact's bytes, None when absent or too large to parse."""
        if rel not in self.records:
            return None
        path = self.root / PAYLOAD / rel
        try:
            if path.stat().st_size > MAX_PARSE:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def text(self, rel: str) -> str | None:
        """The artifact as text, None when absent."""
        data = self.bytes(rel)
        return None if data is None else data.decode("utf-8", errors="replace")

    def json(self, rel: str) -> Any:
        """The artifact parsed as JSON, None when absent or not JSON."""
        if rel not in self._json:
            data = self.bytes(rel)
            try:
                self._json[rel] = None if data is None else json.loads(data)
            except (ValueError, RecursionError):
                self._json[rel] = None
        return self._json[rel]

    def collector(self, name: str) -> Mapping[str, Any] | None:
        """The manifest's entry for a collector, None when it did not run."""
        entries = self.manifest.get("collectors")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
        return None

    def why_absent(self, collector: str) -> str:
        """Why the bundle holds no evidence of a collector, as the manifest tells it."""
        entry = self.collector(collector)
        if entry is None:
            return f"the {collector} collector did not run"
        status = entry.get("status")
        error = entry.get("error")
        if error:
            return f"the {collector} collector ended {status}: {error}"
        return f"the {collector} collector ended {status} without this artifact"


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def one_sided(
    kind: str, title: str, old: Side, new: Side, in_old: bool, in_new: bool, collector: str
) -> Section | None:
    """None when neither bundle holds this evidence; a one-change Section when only one does."""
    if not in_old and not in_new:
        return None
    changes: list[Change]
    if in_new:
        changes = [
            change(
                kind, f"{title} evidence appeared", "info", detail=f"old bundle: {old.why_absent(collector)}"
            )
        ]
        summary = f"only the new bundle holds {title.lower()} evidence"
    else:
        changes = [
            change(
                kind,
                f"{title} evidence disappeared",
                "risky",
                detail=f"new bundle: {new.why_absent(collector)}",
            )
        ]
        summary = f"only the old bundle holds {title.lower()} evidence"
    return section(kind, title, changes, summary)
