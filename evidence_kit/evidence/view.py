"""An opened bundle as the readers see it: its manifest and its artifacts by their path below `data/`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from evidence_kit.bundle.digest import file_sha256

PAYLOAD = "data"
# NOTE: artifacts larger than this are compared by digest only; no reader needs to parse them.
MAX_PARSE = 256 * 1024 * 1024
# NOTE: the manifest's `schema_version` is the one place that says which layout a reader must expect.
LAYOUTS = ("1",)


class BundleView:
    """The artifacts of one bundle (or of one part of a merged bundle), read through its manifest.

    A bundle that verified is trusted: its manifest's digests are used. One read without
    verification is taken as it is on disk: files the manifest lists but that are gone count as
    absent, files it does not list count, and digests are computed from the files.
    """

    def __init__(
        self, root: Path, manifest: Mapping[str, Any], trusted: bool = True, prefix: str = ""
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.trusted = trusted
        self.prefix = prefix
        self._json: dict[str, Any] = {}

    @classmethod
    def open(cls, root: Path, trusted: bool = True) -> BundleView:
        """A view of the bundle folder at `root` (an empty manifest when it has none)."""
        try:
            manifest = json.loads((root / "manifest.json").read_bytes())
        except (OSError, ValueError):
            manifest = {}
        return cls(root, manifest if isinstance(manifest, dict) else {}, trusted)

    @property
    def layout(self) -> str:
        """The manifest's schema version: which artifact layout the readers expect."""
        return str(self.manifest.get("schema_version") or LAYOUTS[0])

    @cached_property
    def records(self) -> dict[str, Mapping[str, Any]]:
        """Manifest record of each artifact, by its path below `data/` (and below the part's prefix)."""
        lead = f"{PAYLOAD}/{self.prefix}"
        listed: dict[str, Mapping[str, Any]] = {}
        artifacts = self.manifest.get("artifacts")
        for rec in artifacts if isinstance(artifacts, list) else []:
            path = rec.get("path") if isinstance(rec, dict) else None
            if isinstance(path, str) and path.startswith(lead):
                listed[path.removeprefix(lead)] = rec
        if self.trusted:
            return listed
        data = self.root / PAYLOAD / self.prefix if self.prefix else self.root / PAYLOAD
        found: dict[str, Mapping[str, Any]] = {}
        if data.is_dir():
            for path in sorted(data.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(data).as_posix()
                    found[rel] = listed.get(rel, {})
        return found

    def file(self, rel: str) -> Path:
        """Where the artifact `rel` lies on disk."""
        return self.root / PAYLOAD / f"{self.prefix}{rel}"

    def paths(self, folder: str = "") -> list[str]:
        """Sorted artifact paths under `folder` (e.g. `alembic/`), or all of them."""
        return sorted(p for p in self.records if p.startswith(folder))

    def has(self, rel: str) -> bool:
        """True when the bundle holds the artifact."""
        return rel in self.records

    def record(self, rel: str) -> Mapping[str, Any]:
        """The manifest record of an artifact (empty when unlisted)."""
        return self.records.get(rel, {})

    def digest(self, rel: str) -> str | None:
        """The artifact's sha256: the manifest's when trusted, else the file's own."""
        rec = self.records.get(rel)
        if rec is None:
            return None
        if self.trusted and isinstance(rec.get("sha256"), str):
            return str(rec["sha256"])
        return file_sha256(self.file(rel))[0]

    def bytes(self, rel: str, cap: int = MAX_PARSE) -> bytes | None:
        """The artifact's bytes, None when absent or larger than `cap`."""
        if rel not in self.records:
            return None
        path = self.file(rel)
        try:
            if path.stat().st_size > cap:
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

    def parts(self) -> list[tuple[str, BundleView]]:
        """The parts of a merged bundle (label, view of the part); empty for a plain bundle."""
        labels = sorted({p.split("/", 1)[0] for p in self.records if p.startswith(PART_PREFIX) and "/" in p})
        return [
            (label.removeprefix(PART_PREFIX), BundleView(self.root, self.manifest, self.trusted, f"{label}/"))
            for label in labels
        ]


PART_PREFIX = "part-"


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
