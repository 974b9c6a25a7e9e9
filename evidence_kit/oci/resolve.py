"""Where commands turn a bundle argument into a local path: `oci://` references go through the cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from evidence_kit.errors import EvidenceError
from evidence_kit.oci import reference


def local_path(
    ref_or_path: str | Path, *, insecure: bool = False, env: Mapping[str, str] | None = None
) -> Path:
    """The bundle folder of an `oci://` reference (pulled, verified and cached by digest), else the path."""
    if not reference.is_reference(ref_or_path):
        return Path(ref_or_path)
    # NOTE: imported here, so that commands given a local path load no HTTP or TLS machinery.
    from evidence_kit.oci import cache
    from evidence_kit.oci.client import Registry
    from evidence_kit.oci.pull import fetch

    env = os.environ if env is None else env
    ref = reference.parse(str(ref_or_path))
    digest = ref.digest
    if not digest:
        if not ref.tag:
            raise EvidenceError(
                f"{ref} names a repository, not a bundle",
                hint=f"add a tag or digest (`evidence list {ref}` shows them)",
            )
        with Registry(ref, insecure=insecure, env=env) as registry:
            digest = registry.get_manifest(ref.tag).digest
    found = cache.lookup(digest, env)
    if found is None:
        pinned = reference.Reference(ref.registry, ref.repository, ref.tag, digest)
        found = cache.store(digest, lambda staging: fetch(pinned, staging, insecure=insecure, env=env), env)
    return found.folder
