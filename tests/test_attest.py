"""in-toto statements and DSSE signatures: shape, keys, signing, and every way a check must fail."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.commands import attest
from evidence_kit.errors import EvidenceError
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor


def make_bundle(out: Path, phase: str = "3.6") -> Path:
    writer = BundleWriter(out, Redactor())
    writer.add("git", Output("head.json", "HEAD", "application/json", b'{"sha": "abc"}\n'))
    writer.add("tests", Output("summary.txt", "tests", data=b"3 passed in 0.10s\n"))
    return writer.finish(
        service="jobs",
        phase=phase,
        git_sha="c" * 40,
        host={"name": "h", "platform": "p", "python": "3.12"},
        ci={"provider": "github-actions", "run_id": "42"},
        results=[CollectorResult("git", "ok"), CollectorResult("tests", "failed")],
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "out")


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return attest.keygen(tmp_path / "keys" / "evidence.key")


def payload(envelope: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(json.loads(envelope.read_text())["payload"]))
    return data


def test_pae_is_the_spec_construction() -> None:
    assert attest.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert attest.pae("", b"") == b"DSSEv1 0  0 "
    assert attest.pae("t\u00e9", b"\x00\xff") == b"DSSEv1 3 t\xc3\xa9 2 \x00\xff"


def test_statement_shape_and_subject_digests(bundle: Path) -> None:
    archive = pack(bundle, bundle.with_name(bundle.name + ".tar.gz"))
    report = {
        "packs": ["default"],
        "summary": {"checks": 3, "passed": 2, "failed": 1},
        "checks": [{"id": "EK303", "status": "failed"}, {"id": "EK301", "status": "passed"}],
    }
    stmt = attest.statement(bundle, check_report=report)
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == attest.PREDICATE_TYPE
    assert stmt["subject"] == [
        {"name": archive.name, "digest": {"sha256": sha256(archive)}},
        {"name": f"{bundle.name}/manifest.json", "digest": {"sha256": sha256(bundle / "manifest.json")}},
    ]
    predicate = stmt["predicate"]
    assert predicate["bundle"] == bundle.name
    assert (predicate["service"], predicate["phase"], predicate["commit"]) == ("jobs", "3.6", "c" * 40)
    assert predicate["created"] == "2026-01-01T00:00:00.000000Z"
    assert predicate["tool"]["name"] == "evidence-kit"
    assert predicate["manifest"]["digest"]["sha256"] == sha256(bundle / "manifest.json")
    assert predicate["collectors"] == {"git": "ok", "tests": "failed"}
    assert predicate["artifacts"] == 2
    assert predicate["ci"]["run_id"] == "42"
    assert predicate["check"] == {"packs": ["default"], "summary": report["summary"], "failed": ["EK303"]}
    assert attest.predicate_only(bundle, check_report=report) == predicate
    assert attest.statement(archive)["subject"] == stmt["subject"]


def test_statement_without_archive_and_refusals(bundle: Path, tmp_path: Path) -> None:
    assert [s["name"] for s in attest.statement(bundle)["subject"]] == [f"{bundle.name}/manifest.json"]
    with pytest.raises(EvidenceError, match="not the JSON report"):
        attest.statement(bundle, check_report={"findings": []})
    other = pack(make_bundle(tmp_path / "other", phase="3.7"), tmp_path / "other.tar.gz")
    with pytest.raises(EvidenceError, match="not an archive of"):
        attest.statement(bundle, archive=other)
    (bundle / "data" / "tests" / "summary.txt").write_text("all green\n")
    with pytest.raises(EvidenceError, match="does not verify") as caught:
        attest.statement(bundle)
    assert any("summary.txt" in d for d in caught.value.details)


def test_keygen_modes_and_no_overwrite(keys: tuple[Path, Path]) -> None:
    private, public = keys
    assert public == private.with_name("evidence.key.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = private.read_bytes()
    with pytest.raises(EvidenceError, match="already exists") as caught:
        attest.keygen(private)
    assert "--force" in caught.value.hint and private.read_bytes() == before
    attest.keygen(private, force=True)
    assert private.read_bytes() != before and stat.S_IMODE(private.stat().st_mode) == 0o600
    assert not [p for p in private.parent.iterdir() if p.name.endswith(".partial")]


def test_sign_and_verify(bundle: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    archive = pack(bundle, bundle.with_name(bundle.name + ".tar.gz"))
    envelope = attest.sign(bundle, private)
    assert envelope == bundle.with_name(bundle.name + ".dsse.json")
    data = json.loads(envelope.read_text())
    assert data["payloadType"] == "application/vnd.in-toto+json"
    key = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert data["signatures"][0]["keyid"] == hashlib.sha256(der).hexdigest()
    body = base64.b64decode(data["payload"])
    message = b"DSSEv1 %d application/vnd.in-toto+json %d " % (28, len(body)) + body
    key.verify(base64.b64decode(data["signatures"][0]["sig"]), message)
    assert payload(envelope)["subject"][0]["name"] == archive.name
    assert attest.verify_signature(bundle, public) == []
    assert attest.verify_signature(archive, public) == []


def test_wrong_key(bundle: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    attest.sign(bundle, keys[0])
    _, other = attest.keygen(tmp_path / "other.key")
    [problem] = attest.verify_signature(bundle, other)
    assert problem.startswith(f"signature does not verify with {other}")
    ours = json.loads(bundle.with_name(bundle.name + ".dsse.json").read_text())["signatures"][0]["keyid"]
    assert f"the envelope was signed by {ours}" in problem


def test_tampered_payload(bundle: Path, keys: tuple[Path, Path]) -> None:
    envelope = attest.sign(bundle, keys[0])
    data = json.loads(envelope.read_text())
    stmt = payload(envelope)
    stmt["predicate"]["collectors"]["tests"] = "ok"
    data["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    envelope.write_text(json.dumps(data))
    [problem] = attest.verify_signature(bundle, keys[1])
    assert "changed after it was signed" in problem


def test_envelope_of_another_bundle(bundle: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    other = make_bundle(tmp_path / "other", phase="3.7")
    signed = attest.sign(other, keys[0])
    signed.rename(bundle.with_name(bundle.name + ".dsse.json"))
    [problem] = attest.verify_signature(bundle, keys[1])
    assert problem.startswith("the statement's manifest digest")
    assert f"does not match this bundle's {sha256(bundle / 'manifest.json')[:16]}" in problem
    assert f"signed for {other.name}, this is {bundle.name}" in problem


def test_manifest_edited_after_signing(bundle: Path, keys: tuple[Path, Path]) -> None:
    attest.sign(bundle, keys[0])
    manifest = bundle / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"phase": "3.6"', '"phase": "3.7"'))
    [problem] = attest.verify_signature(bundle, keys[1])
    assert "does not match this bundle's" in problem and "changed after signing" in problem


def test_archive_changed_after_signing(bundle: Path, keys: tuple[Path, Path]) -> None:
    archive = pack(bundle, bundle.with_name(bundle.name + ".tar.gz"))
    attest.sign(bundle, keys[0])
    pack(bundle, archive, mtime=1)
    [problem] = attest.verify_signature(archive, keys[1])
    assert problem.startswith("the statement's archive digest") and archive.name in problem


def test_missing_envelope(bundle: Path, keys: tuple[Path, Path]) -> None:
    [problem] = attest.verify_signature(bundle, keys[1])
    assert "not signed" in problem and f"{bundle.name}.dsse.json" in problem and "evidence sign" in problem


def test_envelope_that_is_not_one(bundle: Path, keys: tuple[Path, Path]) -> None:
    bundle.with_name(bundle.name + ".dsse.json").write_text('{"payload": 1}')
    [problem] = attest.verify_signature(bundle, keys[1])
    assert "is not a DSSE envelope" in problem


def write_pem(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pub = path.with_name(path.name + ".pub")
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, pub


def test_keys_that_are_not_ed25519(bundle: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    rsa_key, rsa_pub = write_pem(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    with pytest.raises(EvidenceError, match="holds an RSA") as caught:
        attest.sign(bundle, rsa_key)
    assert str(rsa_key) in caught.value.message and "evidence keygen" in caught.value.hint
    _, ec_pub = write_pem(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(EvidenceError, match=r"holds an ECDSA \(secp256r1\) key, not an Ed25519 key"):
        attest.verify_signature(bundle, ec_pub)
    with pytest.raises(EvidenceError, match="holds an RSA"):
        attest.verify_signature(bundle, rsa_pub)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key\n")
    with pytest.raises(EvidenceError, match="not a PEM private key"):
        attest.sign(bundle, junk)
    with pytest.raises(EvidenceError, match="is a public key"):
        attest.sign(bundle, keys[1])
    with pytest.raises(EvidenceError, match="is a private key"):
        attest.verify_signature(bundle, keys[0])
    with pytest.raises(EvidenceError, match="cannot read the key"):
        attest.sign(bundle, tmp_path / "absent.key")
    assert not bundle.with_name(bundle.name + ".dsse.json").exists()
