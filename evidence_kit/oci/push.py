"""Push a bundle that verifies to a registry, with its signature and statements as referrers."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evidence_kit.bundle.archive import is_archive, opened, pack
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.bundle.verify import verify_dir
from evidence_kit.commands.attest import envelope_path
from evidence_kit.errors import EvidenceError
from evidence_kit.oci import artifact, referrers
from evidence_kit.oci.artifact import Blob
from evidence_kit.oci.client import OCI_MANIFEST, Registry
from evidence_kit.oci.reference import Reference

Log = Callable[[str], None]


@dataclass(frozen=True)
class Result:
    """What a push did: the digest reference, the tags, what was uploaded and which referrers exist."""

    reference: Reference
    tags: tuple[str, ...]
    uploaded: int
    uploaded_bytes: int
    referrers: tuple[tuple[str, str], ...]

    @property
    def digest(self) -> str:
        return self.reference.digest


def _attachment(path: Path, kind: str, bundle: Path, manifest_digest: str, archive_digest: str) -> Blob:
    """A signature or statement file, checked to be about this bundle before anything is uploaded."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="pass the file `evidence sign` or `attest` wrote",
        ) from exc
    what = "signature" if kind == artifact.SIGNATURE_TYPE else "statement"
    try:
        statement = artifact.statement_of(kind, data)
    except ValueError as exc:
        hint = (
            "pass the envelope `evidence sign` wrote"
            if what == "signature"
            else "pass `evidence attest` output"
        )
        raise EvidenceError(f"{path} is not a {what}: {exc}", hint=hint) from exc
    signed, name = artifact.about(statement)
    if signed != manifest_digest:
        whose = f" (it is about {name})" if name else ""
        redo = (
            f"evidence sign {bundle} --key KEY"
            if what == "signature"
            else f"evidence attest {bundle} --out FILE"
        )
        raise EvidenceError(
            f"{path} is a {what} for another bundle{whose}: its manifest digest is "
            f"{(signed or 'missing')[:16]}…, this bundle's is {manifest_digest[:16]}…",
            hint=f"make it for this bundle with `{redo}`, or push the bundle it belongs to",
        )
    archived = next(
        (d for n, d in artifact.subjects(statement).items() if n.endswith((".tar.gz", ".tgz"))), None
    )
    if archived is not None and archived != archive_digest:
        raise EvidenceError(
            f"{path} covers an archive whose sha256 is {archived[:16]}…, and the archive to push is "
            f"{archive_digest[:16]}…",
            hint=f"sign again after `evidence pack`, or push the archive that was signed with {bundle}",
        )
    return Blob.of(kind, data)


def _verified(root: Path, bundle: Path) -> dict[str, Any]:
    verdict = verify_dir(root, label=bundle.name)
    if not verdict.ok:
        shown = [str(p) for p in verdict.problems[:20]]
        if len(verdict.problems) > 20:
            shown.append(f"... and {len(verdict.problems) - 20} more")
        raise EvidenceError(
            f"{bundle} does not verify; refusing to push it",
            hint=f"`evidence verify {bundle}` lists the problems; push only a bundle that verifies",
            details=shown,
        )
    return verdict.manifest


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def push(
    bundle: Path,
    ref: Reference,
    *,
    signature: Path | None = None,
    statements: Sequence[Path] = (),
    insecure: bool = False,
    env: Mapping[str, str] | None = None,
    log: Log | None = None,
) -> Result:
    """Upload the bundle's archive and manifest.json, tag them, and attach its signature and statements."""
    say = log or (lambda _: None)
    if ref.digest:
        raise EvidenceError(
            f"cannot push to a digest ({ref})", hint=f"push to the repository or a tag: {ref.repo}[:TAG]"
        )
    if not bundle.exists():
        raise EvidenceError(f"{bundle} does not exist", hint="pass a bundle folder or its .tar.gz archive")
    explicit = signature is not None
    signature = signature if explicit else envelope_path(bundle)
    if explicit and signature is not None and not signature.is_file():
        raise EvidenceError(
            f"{signature} does not exist", hint=f"sign the bundle first: evidence sign {bundle}"
        )
    with opened(bundle) as root, tempfile.TemporaryDirectory(prefix="evidence-push-") as tmp:
        manifest = _verified(root, bundle)
        manifest_blob = Blob.of(
            artifact.MANIFEST_MEDIA, (root / "manifest.json").read_bytes(), "manifest.json"
        )
        name = str(manifest["bundle"])
        if is_archive(bundle) and _is_gzip(bundle):
            archive = bundle
        else:
            created = datetime.fromisoformat(str(manifest["created"]).replace("Z", "+00:00"))
            archive = pack(root, Path(tmp) / f"{name}.tar.gz", int(created.timestamp()))
        hexdigest, size = file_sha256(archive)
        archive_blob = Blob(
            artifact.ARCHIVE_MEDIA, f"sha256:{hexdigest}", size, path=archive, title=f"{name}.tar.gz"
        )
        attached: list[Blob] = []
        if signature is not None and signature.is_file():
            attached.append(
                _attachment(signature, artifact.SIGNATURE_TYPE, bundle, manifest_blob.digest[7:], hexdigest)
            )
        for path in statements:
            attached.append(
                _attachment(path, artifact.STATEMENT_TYPE, bundle, manifest_blob.digest[7:], hexdigest)
            )
        with Registry(ref, push=True, insecure=insecure, env=env) as registry:
            return _upload(registry, ref, manifest, manifest_blob, archive_blob, attached, say)


def _put_blobs(registry: Registry, blobs: Sequence[Blob], say: Log) -> tuple[int, int]:
    count = total = 0
    for blob in blobs:
        # NOTE: the two bytes of the empty config are not worth a line of their own.
        shown = blob.media_type != artifact.EMPTY_MEDIA
        if registry.has_blob(blob.digest):
            if shown:
                say(f"exists   {blob.digest[:19]}  {blob.title or blob.media_type}")
            continue
        registry.upload_blob(blob.digest, blob.content)
        count, total = count + 1, total + blob.size
        if shown:
            say(f"uploaded {blob.digest[:19]}  {blob.title or blob.media_type} ({blob.size} bytes)")
    return count, total


def _upload(
    registry: Registry,
    ref: Reference,
    manifest: dict[str, Any],
    manifest_blob: Blob,
    archive_blob: Blob,
    attached: Sequence[Blob],
    say: Log,
) -> Result:
    config = Blob.of(artifact.EMPTY_MEDIA, artifact.EMPTY)
    immutable, moving = artifact.tags(manifest)
    data = artifact.bundle_manifest(manifest, manifest_blob, archive_blob)
    digest = Blob.of(OCI_MANIFEST, data).digest
    held = registry.head_manifest(immutable)
    if held is not None and held != digest:
        raise EvidenceError(
            f"{ref.repo}:{immutable} already names another bundle ({held}); nothing was pushed",
            hint="tags named after a bundle never move; collect a new bundle, or push to another repository",
        )
    count, total = _put_blobs(registry, [config, manifest_blob, archive_blob], say)
    tags = [immutable, moving] + ([ref.tag] if ref.tag and ref.tag not in (immutable, moving) else [])
    for tag in tags:
        if (held if tag == immutable else registry.head_manifest(tag)) != digest:
            registry.put_manifest(tag, data, OCI_MANIFEST)
            count, total = count + 1, total + len(data)
            say(f"tagged   {tag}")
    found: list[tuple[str, str]] = []
    if attached:
        subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(data)}
        _, api = referrers.find(registry, digest)
        for blob in attached:
            body = artifact.referrer_manifest(blob.media_type, blob, subject, str(manifest["created"]))
            rdigest = Blob.of(OCI_MANIFEST, body).digest
            n, size = _put_blobs(registry, [config, blob], say)
            count, total = count + n, total + size
            if registry.head_manifest(rdigest) is None:
                registry.put_manifest(rdigest, body, OCI_MANIFEST)
                count, total = count + 1, total + len(body)
            descriptor = {
                "mediaType": OCI_MANIFEST,
                "digest": rdigest,
                "size": len(body),
                "artifactType": blob.media_type,
                "annotations": json.loads(body)["annotations"],
            }
            written = referrers.attach(registry, digest, descriptor, api)
            if written:
                count, total = count + 1, total + written
            kind = "signature" if blob.media_type == artifact.SIGNATURE_TYPE else "statement"
            say(f"attached {kind} {rdigest[:19]}")
            found.append((kind, rdigest))
    return Result(ref.at(digest), tuple(tags), count, total, tuple(found))
