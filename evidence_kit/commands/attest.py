"""in-toto statements about a bundle, and DSSE envelopes that sign them with Ed25519 keys.

The statement (https://in-toto.io/Statement/v1) names as subjects the bundle's archive (when there
is one) and its manifest.json, by sha256; the manifest in turn holds the digest of every artifact,
so one signature covers the whole bundle. Its predicate type is `PREDICATE_TYPE`; the predicate
says what the bundle is: service, phase, commit, creation time, the tool, the manifest digest,
every collector's status, the artifact count and, when given, the summary of `evidence check`.

The envelope (https://github.com/secure-systems-lab/dsse) is written beside the bundle as
`<bundle>.dsse.json`, for the folder and its `.tar.gz` alike: `payload` (the statement, base64),
`payloadType` (`application/vnd.in-toto+json`) and `signatures` (`keyid`: sha256 of the public key's
DER SubjectPublicKeyInfo, hex; `sig`: Ed25519 over the DSSE pre-authentication encoding, base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_kit.bundle import writer as b
from evidence_kit.bundle.archive import ARCHIVE_SUFFIXES, is_archive, opened
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.bundle.verify import verify
from evidence_kit.bundle.writer import dumps
from evidence_kit.commands import Printer, exiting, read_check_report, write_file
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://evidence-kit.invalid/evidence-bundle/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_SUFFIX = ".dsse.json"
_KEY_HINT = (
    "make an Ed25519 key pair with `evidence keygen --out PATH` (PATH: private key, PATH.pub: public key)"
)


def envelope_path(bundle: Path) -> Path:
    """Where the envelope of a bundle folder or archive lives: `<bundle>.dsse.json` beside it."""
    name = bundle.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return bundle.with_name(name + ENVELOPE_SUFFIX)


def _archive_for(bundle: Path, archive: Path | None) -> Path | None:
    if archive is not None:
        return archive
    if is_archive(bundle):
        return bundle
    beside = bundle.with_name(bundle.name + ".tar.gz")
    return beside if beside.is_file() else None


def _refuse(path: Path, problems: list[str]) -> EvidenceError:
    shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
    return EvidenceError(
        f"{path} does not verify; refusing to attest it",
        hint=f"`evidence verify {path}` lists the problems; attest only a bundle that verifies",
        details=shown,
    )


def statement(
    bundle: Path, archive: Path | None = None, check_report: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The in-toto Statement v1 about a bundle that verifies (and its archive, given or found beside it)."""
    verdict = verify(bundle)
    if not verdict.ok or verdict.digest is None:
        raise _refuse(bundle, [str(p) for p in verdict.problems])
    manifest = verdict.manifest
    archive = _archive_for(bundle, archive)
    subjects: list[dict[str, Any]] = []
    if archive is not None:
        if not archive.is_file():
            raise EvidenceError(f"{archive} does not exist", hint=f"write it with `evidence pack {bundle}`")
        if archive != bundle:
            packed = verify(archive)
            if not packed.ok:
                raise _refuse(archive, [str(p) for p in packed.problems])
            if packed.digest != verdict.digest:
                raise EvidenceError(
                    f"{archive} is not an archive of {bundle}: their manifests differ",
                    hint=f"pass the archive written by `evidence pack {bundle}`",
                )
        subjects.append({"name": archive.name, "digest": {"sha256": file_sha256(archive)[0]}})
    subjects.append({"name": f"{manifest['bundle']}/{b.MANIFEST}", "digest": {"sha256": verdict.digest}})
    predicate: dict[str, Any] = {
        "bundle": manifest["bundle"],
        "service": manifest["service"],
        "phase": manifest["phase"],
        "commit": manifest["git"].get("sha"),
        "created": manifest["created"],
        "tool": manifest["tool"],
        "manifest": {"digest": {"sha256": verdict.digest}, "schema_version": manifest["schema_version"]},
        "collectors": {str(c["name"]): str(c["status"]) for c in manifest["collectors"]},
        "artifacts": verdict.artifacts,
        "bytes": verdict.bytes,
        "redactions": manifest["redactions"],
        "ci": manifest["ci"],
    }
    if check_report is not None:
        predicate["check"] = _check_summary(check_report)
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def predicate_only(
    bundle: Path, archive: Path | None = None, check_report: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Just the predicate, for `cosign attest-blob --predicate FILE` or `actions/attest`'s predicate-path."""
    predicate: dict[str, Any] = statement(bundle, archive, check_report)["predicate"]
    return predicate


def _check_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    summary, checks = report.get("summary"), report.get("checks")
    if not isinstance(summary, dict) or not isinstance(checks, list):
        raise EvidenceError(
            "the check report is not the JSON report of `evidence check`",
            hint="write it with `evidence check --bundle BUNDLE --format json --output FILE`",
        )
    failed = sorted(str(c.get("id")) for c in checks if isinstance(c, dict) and c.get("status") == "failed")
    return {"packs": list(report.get("packs") or []), "summary": dict(summary), "failed": failed}


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def keyid(key: Ed25519PublicKey) -> str:
    """The key's id: sha256 of its DER SubjectPublicKeyInfo, hex."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def keygen(path: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: PATH (private, PEM PKCS8, mode 0600) and PATH.pub (public, PEM)."""
    public_path = path.with_name(path.name + ".pub")
    if not force:
        for existing in (path, public_path):
            if existing.exists():
                raise EvidenceError(
                    f"{existing} already exists; refusing to overwrite a key",
                    hint="choose another --out, or pass --force to replace the pair "
                    "(what the old key signed no longer verifies with the new PATH.pub)",
                )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, private_pem, 0o600, replace=force)
    try:
        _write(public_path, public_pem, 0o644, replace=force)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, public_path


def _write(path: Path, data: bytes, mode: int, *, replace: bool) -> None:
    """Write a file with exactly `mode`, atomically; never over an existing file unless `replace`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            # NOTE: a hard link fails when the target exists, so a key made meanwhile is never overwritten.
            os.link(tmp, path)
    except FileExistsError as exc:
        raise EvidenceError(
            f"{path} already exists; refusing to overwrite a key", hint="pass --force"
        ) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"cannot read the key {path}: {exc.strerror or exc}", hint=_KEY_HINT) from exc


def _kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"an RSA ({key.key_size} bit)"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"an ECDSA ({key.curve.name})"
    return f"a {type(key).__name__.removesuffix('PrivateKey').removesuffix('PublicKey')}"


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file; EvidenceError naming the file and the fix otherwise."""
    data = _read_key(path)
    if b"PRIVATE KEY-----" not in data and b"PUBLIC KEY-----" in data:
        raise EvidenceError(
            f"{path} is a public key; signing needs the private key",
            hint=f"pass the private key (`{path.name.removesuffix('.pub')}`, without .pub) with --key",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise EvidenceError(
            f"{path} is encrypted with a passphrase, which evidence-kit does not read",
            hint="keep the key in a secret store and hand it over unencrypted, or " + _KEY_HINT,
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise EvidenceError(f"{path} is not a PEM private key", hint=_KEY_HINT) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path} holds {_kind(key)} key, not an Ed25519 key", hint=_KEY_HINT)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file; EvidenceError naming the file and the fix otherwise."""
    data = _read_key(path)
    if b"PRIVATE KEY-----" in data:
        raise EvidenceError(
            f"{path} is a private key; verifying needs only the public key",
            hint=f"pass `{path.name}.pub` and keep the private key where only the signer can read it",
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise EvidenceError(f"{path} is not a PEM public key", hint=_KEY_HINT) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path} holds {_kind(key)} key, not an Ed25519 key", hint=_KEY_HINT)
    return key


def _payload(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(
    bundle: Path,
    key: Path,
    archive: Path | None = None,
    *,
    check_report: Mapping[str, Any] | None = None,
    out: Path | None = None,
) -> Path:
    """Sign the bundle's statement as a DSSE envelope written to `<bundle>.dsse.json` (or `out`)."""
    private = load_private_key(key)
    body = _payload(statement(bundle, archive, check_report))
    signature = private.sign(pae(PAYLOAD_TYPE, body))
    envelope = {
        "payload": base64.b64encode(body).decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": keyid(private.public_key()), "sig": base64.b64encode(signature).decode()}],
    }
    dest = out or envelope_path(bundle)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write(dest, dumps(envelope), 0o644, replace=True)
    return dest


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE allows both alphabets)."""
    text = text.strip()
    altchars = b"-_" if ("-" in text or "_" in text) else None
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)


def _envelope(path: Path) -> tuple[str, bytes, list[dict[str, Any]]] | str:
    """payloadType, payload and signatures of an envelope file, or why it is not one."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"{path} is not a DSSE envelope: {exc}"
    if not isinstance(data, dict):
        return f"{path} is not a DSSE envelope: not a JSON object"
    kind, payload, signatures = data.get("payloadType"), data.get("payload"), data.get("signatures")
    if not isinstance(kind, str) or not isinstance(payload, str) or not isinstance(signatures, list):
        return f"{path} is not a DSSE envelope: it needs `payload`, `payloadType` and `signatures`"
    try:
        body = _b64decode(payload)
    except (binascii.Error, ValueError):
        return f"{path}: the payload is not base64"
    sigs = [s for s in signatures if isinstance(s, dict) and isinstance(s.get("sig"), str)]
    if not sigs:
        return f"{path} holds no signatures"
    return kind, body, sigs


def verify_signature(
    bundle: Path, pubkey: Path, *, archive: Path | None = None, envelope: Path | None = None
) -> list[str]:
    """Check the bundle's envelope against a public key and the statement against the bundle; [] when ok.

    The artifacts themselves are `verify`'s to check: the signed manifest digest only vouches for them
    when the bundle also verifies.
    """
    public = load_public_key(pubkey)
    if not bundle.exists():
        raise EvidenceError(f"{bundle} does not exist", hint="pass a bundle folder or its .tar.gz archive")
    path = envelope or envelope_path(bundle)
    if not path.is_file():
        return [
            f"the bundle is not signed: there is no {path.name} beside it "
            f"(sign it with `evidence sign {bundle} --key KEY`)"
        ]
    parsed = _envelope(path)
    if isinstance(parsed, str):
        return [parsed]
    kind, body, sigs = parsed
    if kind != PAYLOAD_TYPE:
        return [f"{path.name}: payloadType is {kind!r}, not {PAYLOAD_TYPE!r}"]
    ours = keyid(public)
    message = pae(kind, body)
    tampered = False
    for sig in sigs:
        try:
            public.verify(_b64decode(sig["sig"]), message)
            break
        except (InvalidSignature, binascii.Error, ValueError):
            tampered = tampered or sig.get("keyid") == ours
    else:
        if tampered:
            return [
                f"{path.name}: the statement was changed after it was signed (the signature by {ours} fails)"
            ]
        signers = ", ".join(str(s.get("keyid") or "(no keyid)") for s in sigs)
        return [
            f"signature does not verify with {pubkey} (keyid {ours}; the envelope was signed by {signers})"
        ]
    return _check_statement(body, bundle, _archive_for(bundle, archive), path)


def _check_statement(body: bytes, bundle: Path, archive: Path | None, path: Path) -> list[str]:
    try:
        stmt = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [f"{path.name}: the signed payload is not JSON: {exc}"]
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE:
        return [f"{path.name}: the signed payload is not an in-toto Statement v1"]
    problems: list[str] = []
    if stmt.get("predicateType") != PREDICATE_TYPE:
        problems.append(
            f"{path.name}: predicateType is {stmt.get('predicateType')!r}, not {PREDICATE_TYPE!r}"
        )
    subjects = [
        s for s in stmt.get("subject") or [] if isinstance(s, dict) and isinstance(s.get("name"), str)
    ]
    digests = {str(s["name"]): str((s.get("digest") or {}).get("sha256")) for s in subjects}
    signed_manifest = next((d for n, d in digests.items() if n.endswith(f"/{b.MANIFEST}")), None)
    predicate = stmt.get("predicate")
    signed_for = predicate.get("bundle") if isinstance(predicate, dict) else None
    with opened(bundle) as root:
        manifest_path = root / b.MANIFEST
        if not manifest_path.is_file():
            return [*problems, f"{bundle} has no {b.MANIFEST}"]
        actual = file_sha256(manifest_path)[0]
        try:
            name = json.loads(manifest_path.read_bytes()).get("bundle")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            name = None
    if signed_manifest is None:
        problems.append(f"{path.name}: the statement names no {b.MANIFEST} subject")
    elif signed_manifest != actual:
        whose = (
            f" (it was signed for {signed_for}, this is {name})" if signed_for and signed_for != name else ""
        )
        problems.append(
            f"the statement's manifest digest {signed_manifest[:16]}… does not match this bundle's "
            f"{actual[:16]}…{whose}: the envelope is of another bundle, or {b.MANIFEST} changed after signing"
        )
    signed_archive = next((d for n, d in digests.items() if n.endswith(ARCHIVE_SUFFIXES)), None)
    if signed_archive is not None and archive is not None and archive.is_file():
        digest = file_sha256(archive)[0]
        if digest != signed_archive:
            problems.append(
                f"the statement's archive digest {signed_archive[:16]}… does not match {archive.name}'s "
                f"{digest[:16]}…: the archive changed after signing"
            )
    return problems


def run(
    printer: Printer,
    bundle: Path,
    *,
    archive: Path | None = None,
    out: Path | None = None,
    only_predicate: bool = False,
    check_json: Path | None = None,
) -> int:
    """`evidence attest`: print (or write to `out`) the statement about BUNDLE, or just its predicate."""
    bundle = bundle.resolve()
    checked = read_check_report(check_json) if check_json else None
    make = predicate_only if only_predicate else statement
    with exiting(EXIT_FAIL):
        text = json.dumps(make(bundle, archive, checked), indent=2, sort_keys=True) + "\n"
    if out:
        write_file(out, text)
        printer.out(str(out))
    else:
        printer.out(text, end="")
    return EXIT_OK
