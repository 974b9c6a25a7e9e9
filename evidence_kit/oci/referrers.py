"""Artifacts that refer to a bundle (OCI 1.1 `subject`): the referrers API, else the referrers tag.

Registries without the referrers API (the CNCF distribution server 2.8, among others) keep the list
in an image index tagged `sha256-<hex of the subject's digest>`, which the client updates itself.
"""

from __future__ import annotations

from typing import Any

from evidence_kit.oci.artifact import dumps, items
from evidence_kit.oci.client import OCI_INDEX, Registry


def fallback_tag(digest: str) -> str:
    """The referrers tag of a subject: `sha256-<hex>`."""
    return digest.replace(":", "-", 1)


def is_fallback_tag(tag: str) -> bool:
    """True for a referrers tag (`sha256-` and 64 hex digits), which is no bundle of its own."""
    head, _, rest = tag.partition("-")
    return head == "sha256" and len(rest) == 64 and all(c in "0123456789abcdef" for c in rest)


def _from_tag(registry: Registry, digest: str) -> list[dict[str, Any]]:
    found = registry.get_manifest(fallback_tag(digest), missing_ok=True)
    if not found.data:
        return []
    manifests = found.json().get("manifests")
    return [m for m in manifests if isinstance(m, dict)] if isinstance(manifests, list) else []


def find(registry: Registry, digest: str) -> tuple[list[dict[str, Any]], bool]:
    """The descriptors referring to `digest`, and whether they came from the referrers API."""
    listed = registry.referrers(digest)
    if listed is not None:
        return listed, True
    return _from_tag(registry, digest), False


def attach(registry: Registry, subject: str, descriptor: dict[str, Any], api: bool) -> int:
    """Record a pushed referrer in the referrers tag when the registry has no API; the bytes written."""
    if api:
        return 0
    current = registry.get_manifest(fallback_tag(subject), missing_ok=True)
    index: dict[str, Any] = current.json() if current.data else {}
    manifests = items(index, "manifests")
    if any(isinstance(m, dict) and m.get("digest") == descriptor["digest"] for m in manifests):
        return 0
    index = {
        **index,
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [*manifests, descriptor],
    }
    data = dumps(index)
    registry.put_manifest(fallback_tag(subject), data, OCI_INDEX)
    return len(data)
