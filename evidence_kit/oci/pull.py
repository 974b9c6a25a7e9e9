"""Pull a bundle from a registry: every blob's digest, the archive and its signatures checked before use.

`fetch` downloads into an empty staging folder and proves everything there; `pull` then renames the
results into the destination, so a refusal leaves nothing behind in it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.bundle.archive import MAX_TOTAL, unpack
from evidence_kit.bundle.verify import verify_dir
from evidence_kit.bundle.writer import dumps, partial_name, sweep_partials
from evidence_kit.commands.attest import ENVELOPE_SUFFIX
from evidence_kit.errors import EvidenceError
from evidence_kit.oci import artifact, referrers
from evidence_kit.oci.artifact import Pushed
from evidence_kit.oci.client import Registry
from evidence_kit.oci.reference import Reference

Log = Callable[[str], None]
STATEMENT_SUFFIX = ".intoto.json"
REFERRER_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class Pulled:
    """A bundle fetched from a registry: its digest reference and the files written for it."""

    reference: Reference
    name: str
    files: tuple[Path, ...]
    signed: bool
    statements: int

    @property
    def bundle(self) -> Path:
        """The unpacked bundle folder."""
        return self.files[0]


def _refuse(ref: Reference, message: str, details: list[str] | None = None) -> EvidenceError:
    return EvidenceError(
        f"{ref}: {message}; nothing was written",
        hint="push the bundle again from a copy that verifies (`evidence verify`, then `evidence push`)",
        details=details,
    )


def _archive(registry: Registry, ref: Reference, pushed: Pushed, staging: Path, manifest_hex: str) -> Path:
    """Download the archive, unpack it safely, verify the bundle and match it to its manifest.json layer."""
    layer = pushed.archive_layer
    if layer["size"] > MAX_TOTAL:
        raise _refuse(ref, f"its archive is {layer['size']} bytes, more than the {MAX_TOTAL} allowed")
    archive = staging / f"{pushed.name}.tar.gz"
    with archive.open("wb") as f:
        registry.download_blob(layer["digest"], layer["size"], f)
    unpacked = unpack(archive, staging / ".unpacked")
    verdict = verify_dir(unpacked, label=pushed.name)
    if not verdict.ok:
        shown = [str(p) for p in verdict.problems[:20]]
        raise _refuse(ref, "the archive in the registry does not verify", shown)
    if verdict.digest != manifest_hex:
        raise _refuse(
            ref,
            f"the archive's manifest.json (sha256 {str(verdict.digest)[:16]}…) is not the "
            f"manifest.json layer (sha256 {manifest_hex[:16]}…)",
        )
    if verdict.manifest.get("bundle") != pushed.name:
        raise _refuse(
            ref, f"the archive holds bundle {verdict.manifest.get('bundle')!r}, not {pushed.name!r}"
        )
    folder = staging / pushed.name
    os.rename(unpacked, folder)
    shutil.rmtree(staging / ".unpacked", ignore_errors=True)
    return archive


def _referrers(
    registry: Registry, ref: Reference, pushed: Pushed, manifest_hex: str
) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """The signature envelopes and statements that refer to the bundle, each checked to be about it."""
    listed, _ = referrers.find(registry, pushed.digest)
    envelopes: list[tuple[str, bytes]] = []
    statements: list[bytes] = []
    for descriptor in sorted(listed, key=lambda d: str(d.get("digest"))):
        kind = descriptor.get("artifactType")
        if kind not in (artifact.SIGNATURE_TYPE, artifact.STATEMENT_TYPE):
            continue
        found = registry.get_manifest(str(descriptor.get("digest")), missing_ok=True)
        value = found.json()
        if not found.data:
            # NOTE: a referrers tag may still list a manifest that was deleted since; it refers to nothing.
            continue
        subject = artifact.fields(value, "subject")
        layers = artifact.items(value, "layers")
        if subject.get("digest") != pushed.digest or len(layers) != 1 or not isinstance(layers[0], dict):
            continue
        layer = layers[0]
        if not isinstance(layer.get("digest"), str) or not isinstance(layer.get("size"), int):
            continue
        data = registry.read_blob(layer["digest"], layer["size"], REFERRER_LIMIT)
        what = "signature" if kind == artifact.SIGNATURE_TYPE else "statement"
        try:
            statement = artifact.statement_of(str(kind), data)
        except ValueError as exc:
            raise _refuse(ref, f"the {what} {found.digest} attached to it is broken: {exc}") from exc
        signed, name = artifact.about(statement)
        if signed != manifest_hex:
            whose = f" {name}" if name else ""
            raise EvidenceError(
                f"{ref}: the {what} {found.digest} attached to it is for another bundle{whose} "
                f"(manifest sha256 {(signed or 'missing')[:16]}…, this bundle's is {manifest_hex[:16]}…); "
                "nothing was written",
                hint=f"delete that referrer from {ref.repo} and push the bundle with its own {what} "
                f"(`evidence push BUNDLE {ref.repo}`, with BUNDLE{ENVELOPE_SUFFIX} beside it)",
            )
        if kind == artifact.SIGNATURE_TYPE:
            envelopes.append((found.digest, data))
        else:
            statements.append(data)
    return envelopes, statements


def _envelope(envelopes: list[tuple[str, bytes]]) -> bytes | None:
    """One envelope file: the first envelope, with the signatures of envelopes over the same payload."""
    if not envelopes:
        return None
    if len(envelopes) == 1:
        return envelopes[0][1]
    first: dict[str, Any] = json.loads(envelopes[0][1])
    signatures = list(first.get("signatures") or [])
    for _, data in envelopes[1:]:
        other = json.loads(data)
        if other.get("payload") == first.get("payload") and other.get("payloadType") == first.get(
            "payloadType"
        ):
            signatures += [s for s in other.get("signatures") or [] if s not in signatures]
    return dumps({**first, "signatures": signatures})


def fetch(
    ref: Reference,
    staging: Path,
    *,
    insecure: bool = False,
    env: Mapping[str, str] | None = None,
    log: Log | None = None,
) -> Pulled:
    """Download and prove a bundle into the empty folder `staging`: folder, archive, envelope, statements."""
    say = log or (lambda _: None)
    with Registry(ref, insecure=insecure, env=env) as registry:
        found = registry.get_manifest(ref.target)
        pinned = ref.at(found.digest)
        pushed = artifact.read_bundle(found, ref)
        layer = pushed.manifest_layer
        manifest_json = registry.read_blob(layer["digest"], layer["size"], artifact.MANIFEST_LIMIT)
        manifest_hex = layer["digest"].removeprefix("sha256:")
        say(f"manifest {pushed.name} ({pinned.digest[:19]})")
        envelopes, statements = _referrers(registry, ref, pushed, manifest_hex)
        archive = _archive(registry, ref, pushed, staging, manifest_hex)
        say(f"verified {pushed.name}.tar.gz ({pushed.archive_layer['size']} bytes)")
    if (staging / pushed.name / "manifest.json").read_bytes() != manifest_json:
        raise _refuse(ref, "the manifest.json layer differs from the one in the archive")
    files = [staging / pushed.name, archive]
    envelope = _envelope(envelopes)
    if envelope is not None:
        files.append(staging / f"{pushed.name}{ENVELOPE_SUFFIX}")
        files[-1].write_bytes(envelope)
    for n, data in enumerate(statements, 1):
        suffix = STATEMENT_SUFFIX if len(statements) == 1 else f".{n}{STATEMENT_SUFFIX}"
        files.append(staging / f"{pushed.name}{suffix}")
        files[-1].write_bytes(data)
    return Pulled(pinned, pushed.name, tuple(files), envelope is not None, len(statements))


PULL_PREFIX = ".evidence-pull-"


def pull(
    ref: Reference,
    out: Path,
    *,
    insecure: bool = False,
    env: Mapping[str, str] | None = None,
    log: Log | None = None,
) -> Pulled:
    """Fetch a bundle and move it into `out`; on any refusal nothing is left in `out`."""
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        sweep_partials(out, PULL_PREFIX)
        staging = out / partial_name(PULL_PREFIX)
        staging.mkdir(mode=0o700)
    except OSError as exc:
        raise EvidenceError(
            f"cannot write into {out}: {exc.strerror or exc}", hint="choose a folder you may write to"
        ) from exc
    try:
        fetched = fetch(ref, staging, insecure=insecure, env=env, log=log)
        targets = [out / path.name for path in fetched.files]
        taken = [str(t) for t in targets if t.exists()]
        if taken:
            raise EvidenceError(
                f"{out} already holds {fetched.name}; nothing was written",
                hint="pull into another folder, or remove the old copy first",
                details=taken,
            )
        for path, target in zip(fetched.files, targets, strict=True):
            os.rename(path, target)
        return Pulled(fetched.reference, fetched.name, tuple(targets), fetched.signed, fetched.statements)
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
