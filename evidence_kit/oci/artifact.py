"""How a bundle looks in a registry: media types, annotations, tags, and the manifests built from a bundle.

Every byte of these manifests comes from the bundle (its manifest.json, its archive, its own creation
time), and JSON is written with sorted keys and no spaces, so pushing the same bundle twice gives the
same digests.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.bundle.writer import slug
from evidence_kit.errors import EvidenceError
from evidence_kit.oci.client import OCI_MANIFEST, Manifest, sha256
from evidence_kit.oci.reference import Reference

ARTIFACT_TYPE = "application/vnd.evidence-kit.bundle.v1"
MANIFEST_MEDIA = "application/vnd.evidence-kit.bundle.manifest.v1+json"
ARCHIVE_MEDIA = "application/vnd.evidence-kit.bundle.archive.v1.tar+gzip"
SIGNATURE_TYPE = "application/vnd.dsse.envelope.v1+json"
STATEMENT_TYPE = "application/vnd.in-toto+json"
EMPTY_MEDIA = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"
PREFIX = "invalid.evidence-kit."
CREATED = "org.opencontainers.image.created"
REVISION = "org.opencontainers.image.revision"
SOURCE = "org.opencontainers.image.source"
TITLE = "org.opencontainers.image.title"
SERVICE, PHASE, BUNDLE, TOOL = (PREFIX + k for k in ("service", "phase", "bundle", "tool-version"))
MANIFEST_LIMIT = 64 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$")


def items(value: dict[str, Any], key: str) -> list[Any]:
    """`value[key]` when it is a list, else []."""
    found = value.get(key)
    return found if isinstance(found, list) else []


def fields(value: dict[str, Any], key: str) -> dict[str, Any]:
    """`value[key]` when it is an object, else {}."""
    found = value.get(key)
    return found if isinstance(found, dict) else {}


def dumps(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: one value, one byte string."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Blob:
    """Content to upload: bytes in memory or a file, with its media type, digest and size."""

    media_type: str
    digest: str
    size: int
    data: bytes | None = None
    path: Path | None = None
    title: str | None = None

    @classmethod
    def of(cls, media_type: str, data: bytes, title: str | None = None) -> Blob:
        return cls(media_type, sha256(data), len(data), data=data, title=title)

    @property
    def content(self) -> bytes | Path:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path

    def descriptor(self) -> dict[str, Any]:
        found: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.title:
            found["annotations"] = {TITLE: self.title}
        return found


def empty_config() -> dict[str, Any]:
    """The empty config descriptor of OCI 1.1 artifacts, with its two bytes inlined."""
    return {
        "mediaType": EMPTY_MEDIA,
        "digest": sha256(EMPTY),
        "size": len(EMPTY),
        "data": base64.b64encode(EMPTY).decode(),
    }


def bundle_annotations(manifest: dict[str, Any]) -> dict[str, str]:
    """The bundle's facts as OCI annotations: created, revision, source, title, service, phase, tool."""
    found = {
        CREATED: str(manifest["created"]),
        TITLE: str(manifest["bundle"]),
        BUNDLE: str(manifest["bundle"]),
        SERVICE: str(manifest["service"]),
        PHASE: str(manifest["phase"]),
        TOOL: str(manifest["tool"]["version"]),
    }
    sha = (manifest.get("git") or {}).get("sha")
    if sha:
        found[REVISION] = str(sha)
    ci = manifest.get("ci") or {}
    if ci.get("server_url") and ci.get("repository"):
        found[SOURCE] = f"{ci['server_url']}/{ci['repository']}"
    return found


def bundle_manifest(manifest: dict[str, Any], manifest_blob: Blob, archive: Blob) -> bytes:
    """The image manifest of a bundle: empty config, manifest.json and archive layers, the bundle's facts."""
    return dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": empty_config(),
            "layers": [manifest_blob.descriptor(), archive.descriptor()],
            "annotations": bundle_annotations(manifest),
        }
    )


def referrer_manifest(artifact_type: str, blob: Blob, subject: dict[str, Any], created: str) -> bytes:
    """The manifest of a signature or statement whose subject is the bundle's manifest."""
    return dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": empty_config(),
            "layers": [blob.descriptor()],
            "subject": subject,
            "annotations": {CREATED: created},
        }
    )


def tags(manifest: dict[str, Any]) -> tuple[str, str]:
    """The immutable tag (the bundle's name: service, phase, short commit, time) and the moving one."""
    immutable = slug(str(manifest["bundle"]))[:128].rstrip(".-")
    moving = "-".join(
        p
        for p in (slug(str(manifest["service"])), slug(str(manifest["phase"])) if manifest["phase"] else "")
        if p
    )
    return immutable, moving[:128].rstrip(".-")


@dataclass(frozen=True)
class Pushed:
    """A bundle as the registry holds it: its manifest's digest, facts, and the two layers."""

    digest: str
    size: int
    annotations: dict[str, str]
    manifest_layer: dict[str, Any]
    archive_layer: dict[str, Any]

    @property
    def name(self) -> str:
        """The bundle's name, safe as a file name."""
        return self.annotations.get(BUNDLE, "")

    def subject(self) -> dict[str, Any]:
        """The descriptor that signatures and statements point at."""
        return {"mediaType": OCI_MANIFEST, "digest": self.digest, "size": self.size}


def _descriptor(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str) or not re.match(r"^sha256:[0-9a-f]{64}$", digest):
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return None
    return value


def read_bundle(found: Manifest, ref: Reference) -> Pushed:
    """The bundle a registry manifest describes; EvidenceError when it is not an evidence bundle."""
    value = found.json()
    hint = (
        f"pass the reference of a bundle pushed with `evidence push`; `evidence list {ref.repo}` shows them"
    )
    kind = value.get("artifactType") or fields(value, "config").get("mediaType")
    if value.get("mediaType", found.media_type) != OCI_MANIFEST or value.get("artifactType") != ARTIFACT_TYPE:
        what = f"its type is {kind}" if kind else f"its media type is {found.media_type or 'unknown'}"
        raise EvidenceError(f"{ref} is not an evidence bundle: {what}", hint=hint)
    layers = items(value, "layers")
    by_type = {layer.get("mediaType"): layer for layer in layers if isinstance(layer, dict)}
    manifest_layer = _descriptor(by_type.get(MANIFEST_MEDIA))
    archive_layer = _descriptor(by_type.get(ARCHIVE_MEDIA))
    if len(layers) != 2 or manifest_layer is None or archive_layer is None:
        raise EvidenceError(
            f"{ref} is not an evidence bundle: it needs one manifest.json layer and one archive layer",
            hint=hint,
        )
    if manifest_layer["size"] > MANIFEST_LIMIT:
        raise EvidenceError(f"{ref}: its manifest.json layer is {manifest_layer['size']} bytes", hint=hint)
    notes = {str(k): str(v) for k, v in fields(value, "annotations").items()}
    if not _NAME.match(notes.get(BUNDLE, "")):
        raise EvidenceError(
            f"{ref} is not an evidence bundle: its {BUNDLE} annotation is not a bundle name",
            hint=hint,
        )
    return Pushed(found.digest, len(found.data), notes, manifest_layer, archive_layer)


def statement_of(artifact_type: str, data: bytes) -> dict[str, Any]:
    """The in-toto statement in a DSSE envelope or a plain statement file; ValueError saying why not."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if artifact_type == SIGNATURE_TYPE:
        payload = value.get("payload")
        if not isinstance(payload, str) or not isinstance(value.get("signatures"), list):
            raise ValueError("not a DSSE envelope (it needs payload, payloadType and signatures)")
        try:
            text = payload.strip()
            altchars = b"-_" if ("-" in text or "_" in text) else None
            value = json.loads(
                base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"the envelope's payload is not base64 JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError("the envelope's payload is not a JSON object")
    if not isinstance(value.get("subject"), list):
        raise ValueError("not an in-toto statement (it has no subject list)")
    return value


def subjects(statement: dict[str, Any]) -> dict[str, str]:
    """A statement's subjects: name -> sha256 hex."""
    found: dict[str, str] = {}
    for subject in statement.get("subject") or []:
        if isinstance(subject, dict) and isinstance(subject.get("name"), str):
            digest = subject.get("digest")
            if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
                found[subject["name"]] = digest["sha256"]
    return found


def about(statement: dict[str, Any]) -> tuple[str | None, str | None]:
    """The manifest.json digest (hex) a statement names, and the bundle its predicate names."""
    manifest = next((d for n, d in subjects(statement).items() if n.endswith("/manifest.json")), None)
    predicate = statement.get("predicate")
    bundle = predicate.get("bundle") if isinstance(predicate, dict) else None
    return manifest, bundle if isinstance(bundle, str) else None
