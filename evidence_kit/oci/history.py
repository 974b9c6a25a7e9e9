"""The sign-off history of a repository: every bundle's tags, digest and facts, from manifests alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence_kit.errors import EvidenceError
from evidence_kit.oci import artifact, referrers
from evidence_kit.oci.client import Registry
from evidence_kit.oci.reference import Reference


@dataclass(frozen=True)
class Row:
    """One bundle in a repository."""

    tags: tuple[str, ...]
    digest: str
    bundle: str
    service: str
    phase: str
    commit: str
    created: str
    signed: bool
    statements: int

    def as_json(self) -> dict[str, Any]:
        return {
            "tags": list(self.tags),
            "digest": self.digest,
            "bundle": self.bundle,
            "service": self.service,
            "phase": self.phase,
            "commit": self.commit,
            "created": self.created,
            "signed": self.signed,
            "statements": self.statements,
        }


@dataclass(frozen=True)
class History:
    """The bundles of a repository, oldest first, and the tags that name something else."""

    reference: Reference
    rows: tuple[Row, ...]
    other: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "repository": self.reference.repo,
            "bundles": [r.as_json() for r in self.rows],
            "other_tags": list(self.other),
        }


def history(ref: Reference, *, insecure: bool = False, env: Mapping[str, str] | None = None) -> History:
    """Every bundle in the repository (or only the one the reference names), read from its manifests."""
    with Registry(ref, insecure=insecure, env=env) as registry:
        if ref.target:
            names = [ref.target]
            fallback: set[str] = set()
        else:
            every = registry.tags()
            names = sorted(t for t in every if not referrers.is_fallback_tag(t))
            fallback = {"sha256:" + t.split("-", 1)[1] for t in every if referrers.is_fallback_tag(t)}
        bundles: dict[str, artifact.Pushed] = {}
        tags: dict[str, list[str]] = {}
        other: list[str] = []
        for name in names:
            found = registry.get_manifest(name)
            try:
                pushed = artifact.read_bundle(found, ref.with_tag(name))
            except EvidenceError:
                if ref.target:
                    raise
                other.append(name)
                continue
            bundles[found.digest] = pushed
            if not name.startswith("sha256:"):
                tags.setdefault(found.digest, []).append(name)
        api: bool | None = None
        rows = []
        for digest, pushed in bundles.items():
            kinds: list[str] = []
            if api is not False or digest in fallback or ref.target:
                listed, api = referrers.find(registry, digest)
                kinds = [str(d.get("artifactType")) for d in listed]
            notes = pushed.annotations
            rows.append(
                Row(
                    tags=tuple(tags.get(digest, ())),
                    digest=digest,
                    bundle=pushed.name,
                    service=notes.get(artifact.SERVICE, ""),
                    phase=notes.get(artifact.PHASE, ""),
                    commit=notes.get(artifact.REVISION, ""),
                    created=notes.get(artifact.CREATED, ""),
                    signed=artifact.SIGNATURE_TYPE in kinds,
                    statements=kinds.count(artifact.STATEMENT_TYPE),
                )
            )
    rows.sort(key=lambda r: (r.created, r.bundle, r.digest))
    return History(ref, tuple(rows), tuple(other))
