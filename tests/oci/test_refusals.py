"""Bad input against a real registry: each refusal names the reference and the fix, and writes nothing."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import tarfile
from datetime import datetime
from pathlib import Path

import pytest

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.commands import attest
from evidence_kit.errors import EvidenceError
from evidence_kit.oci import artifact, history, pull, push, reference, referrers, resolve
from evidence_kit.oci.artifact import Blob
from evidence_kit.oci.client import OCI_MANIFEST, Registry
from tests.oci import registry, tokens
from tests.oci.helpers import make_bundle


def refused(call: object, *args: object, **kwargs: object) -> EvidenceError:
    assert callable(call)
    with pytest.raises(EvidenceError) as caught:
        call(*args, **kwargs)
    assert caught.value.hint, f"no hint: {caught.value}"
    return caught.value


def pull_refused(ref: str, out: Path) -> EvidenceError:
    """Pull must fail and leave `out` as it was (absent)."""
    error = refused(pull.pull, reference.parse(ref), out)
    assert not out.exists(), f"{out} was written: {list(out.rglob('*'))}"
    return error


def upload_artifact(ref: str, tag: str, bundle: Path, archive: Path) -> str:
    """Push a hand-made bundle artifact (no checks), as a registry could hold it; its manifest digest."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest_blob = Blob.of(artifact.MANIFEST_MEDIA, (bundle / "manifest.json").read_bytes(), "manifest.json")
    hexdigest, size = file_sha256(archive)
    archive_blob = Blob(artifact.ARCHIVE_MEDIA, f"sha256:{hexdigest}", size, path=archive, title=archive.name)
    config = Blob.of(artifact.EMPTY_MEDIA, artifact.EMPTY)
    with Registry(reference.parse(ref), push=True) as client:
        for blob in (config, manifest_blob, archive_blob):
            client.upload_blob(blob.digest, blob.content)
        data = artifact.bundle_manifest(manifest, manifest_blob, archive_blob)
        client.put_manifest(tag, data, OCI_MANIFEST)
    return Blob.of(OCI_MANIFEST, data).digest


def epoch(bundle: Path) -> int:
    created = json.loads((bundle / "manifest.json").read_text())["created"]
    return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())


def test_registry_down(tmp_path: Path) -> None:
    down = f"oci://127.0.0.1:{registry.free_port()}/team/svc"
    error = refused(push.push, make_bundle(tmp_path / "b"), reference.parse(down))
    assert "cannot reach the registry at http://127.0.0.1:" in error.message and down in error.message
    assert "registry is up" in error.hint
    error = pull_refused(down + ":svc-1", tmp_path / "out")
    assert "cannot reach" in error.message
    assert "cannot reach" in refused(history.history, reference.parse(down)).message


def test_credentials(
    tmp_path: Path, auth_registry: registry.Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = auth_registry.ref("team/svc")
    bundle = make_bundle(tmp_path / "b")
    error = refused(push.push, bundle, reference.parse(ref))
    assert "needs credentials to push to" in error.message and "REGISTRY_USERNAME" in error.hint
    monkeypatch.setenv("REGISTRY_USERNAME", auth_registry.username)
    monkeypatch.setenv("REGISTRY_PASSWORD", "wrong-" + secrets.token_hex(4))
    error = refused(push.push, bundle, reference.parse(ref))
    assert "refused the credentials of 'tester' from REGISTRY_USERNAME/REGISTRY_PASSWORD" in error.message
    assert auth_registry.password not in str(error)
    error = pull_refused(ref + ":svc-1", tmp_path / "out")
    assert "refused the credentials" in error.message

    monkeypatch.setenv("REGISTRY_PASSWORD", auth_registry.password)
    done = push.push(bundle, reference.parse(ref))
    assert [r.digest for r in history.history(reference.parse(ref)).rows] == [done.digest]
    assert pull.pull(reference.parse(ref + ":svc-1"), tmp_path / "out").name == bundle.name


def test_docker_config_login_reaches_the_registry(
    tmp_path: Path, auth_registry: registry.Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    pair = f"{auth_registry.username}:{auth_registry.password}".encode()
    folder = tmp_path / "docker-config"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": base64.b64encode(pair).decode()}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    done = push.push(make_bundle(tmp_path / "b"), reference.parse(auth_registry.ref("team/docker")))
    assert done.digest.startswith("sha256:")


def test_missing_tag_and_repository(tmp_path: Path, repo: str) -> None:
    error = pull_refused(repo + ":nope", tmp_path / "out")
    assert error.message == f"{repo} has no tag nope" and f"evidence list {repo}" in error.hint
    error = refused(resolve.local_path, repo + "@sha256:" + "0" * 64)
    assert "has no digest sha256:000" in error.message or "no repository" in error.message
    push.push(make_bundle(tmp_path / "b"), reference.parse(repo))
    error = refused(resolve.local_path, repo + ":nope")
    assert "has no tag nope" in error.message


def test_not_a_bundle(tmp_path: Path, repo: str) -> None:
    with Registry(reference.parse(repo), push=True) as client:
        config = Blob.of("application/vnd.oci.image.config.v1+json", b'{"architecture":"amd64"}')
        client.upload_blob(config.digest, config.content)
        image = artifact.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(), "layers": []}
        )
        client.put_manifest("app", image, OCI_MANIFEST)
    error = pull_refused(repo + ":app", tmp_path / "out")
    assert error.message == (
        f"{repo}:app is not an evidence bundle: its type is application/vnd.oci.image.config.v1+json"
    )
    assert "evidence push" in error.hint


def test_damaged_blobs(tmp_path: Path, repo: str, open_registry: registry.Running) -> None:
    bundle = make_bundle(tmp_path / "b", "x" * 3000)
    done = push.push(bundle, reference.parse(repo))
    with Registry(done.reference) as client:
        layers = client.get_manifest(done.digest).json()["layers"]
    archive = open_registry.blob_file(
        next(x["digest"] for x in layers if x["mediaType"] == artifact.ARCHIVE_MEDIA)
    )
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    error = pull_refused(str(done.reference), tmp_path / "out")
    assert f"of {done.reference} does not match its descriptor: its digest is sha256:" in error.message
    assert "push the bundle again" in error.hint
    archive.write_bytes(bytes(data[:-10]))
    assert "bytes, not" in pull_refused(str(done.reference), tmp_path / "out").message
    assert "does not match" in refused(resolve.local_path, str(done.reference)).message


def test_archive_that_does_not_verify(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    (bundle / "data" / "tests" / "summary.txt").write_text("99 passed\n")
    archive = pack(bundle, tmp_path / f"{bundle.name}.tar.gz", epoch(bundle))
    upload_artifact(repo, "tampered", bundle, archive)
    error = pull_refused(repo + ":tampered", tmp_path / "out")
    assert (
        error.message == f"{repo}:tampered: the archive in the registry does not verify; nothing was written"
    )
    assert any("data/tests/summary.txt" in d for d in error.details)
    # NOTE: a pushed bundle cannot be tampered with like this: push verifies first.
    assert "does not verify; refusing to push" in refused(push.push, bundle, reference.parse(repo)).message


def test_hostile_archive(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    upload_artifact(repo, "hostile", bundle, hostile)
    error = pull_refused(repo + ":hostile", tmp_path / "out")
    assert "unsafe members" in error.message
    assert not (tmp_path / "escape.txt").exists()


def test_signature_for_another_bundle(tmp_path: Path, repo: str) -> None:
    mine = make_bundle(tmp_path / "b", "mine\n")
    theirs = make_bundle(tmp_path / "b", "theirs\n")
    key, _ = attest.keygen(tmp_path / "k")
    wrong = attest.sign(theirs, key, out=tmp_path / "theirs.dsse.json")
    error = refused(push.push, mine, reference.parse(repo), signature=wrong)
    assert f"is a signature for another bundle (it is about {theirs.name})" in error.message
    assert f"evidence sign {mine}" in error.hint
    statement = tmp_path / "theirs.intoto.json"
    statement.write_text(json.dumps(attest.statement(theirs)))
    error = refused(push.push, mine, reference.parse(repo), statements=[statement])
    assert "is a statement for another bundle" in error.message
    error = refused(history.history, reference.parse(repo))
    assert "has no repository" in error.message, "nothing reached the registry"

    done = push.push(mine, reference.parse(repo))
    envelope = Blob.of(artifact.SIGNATURE_TYPE, wrong.read_bytes())
    subject = {"mediaType": OCI_MANIFEST, "digest": done.digest, "size": 0}
    with Registry(done.reference, push=True) as client:
        subject["size"] = len(client.get_manifest(done.digest).data)
        body = artifact.referrer_manifest(artifact.SIGNATURE_TYPE, envelope, subject, "2026-01-01T00:00:00Z")
        client.upload_blob(envelope.digest, envelope.content)
        digest = Blob.of(OCI_MANIFEST, body).digest
        client.put_manifest(digest, body, OCI_MANIFEST)
        descriptor = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
        referrers.attach(client, done.digest, {**descriptor, "artifactType": artifact.SIGNATURE_TYPE}, False)
    error = pull_refused(str(done.reference), tmp_path / "out")
    assert f"the signature {digest} attached to it is for another bundle {theirs.name}" in error.message
    assert "delete that referrer" in error.hint


def test_push_refusals(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    error = refused(push.push, bundle, reference.parse(repo + "@sha256:" + "a" * 64))
    assert "cannot push to a digest" in error.message
    error = refused(push.push, tmp_path / "nowhere", reference.parse(repo))
    assert "does not exist" in error.message
    error = refused(push.push, bundle, reference.parse(repo), signature=tmp_path / "none.dsse.json")
    assert "sign the bundle first" in error.hint


def test_immutable_tag_never_moves(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    with Registry(reference.parse(repo), push=True) as client:
        config = Blob.of(artifact.EMPTY_MEDIA, artifact.EMPTY)
        client.upload_blob(config.digest, config.content)
        other = artifact.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/x-other",
                "config": artifact.empty_config(),
                "layers": [],
            }
        )
        client.put_manifest(bundle.name, other, OCI_MANIFEST)
    error = refused(push.push, bundle, reference.parse(repo))
    assert f"{repo}:{bundle.name} already names another bundle" in error.message


def test_pull_never_overwrites(tmp_path: Path, repo: str) -> None:
    done = push.push(make_bundle(tmp_path / "b"), reference.parse(repo))
    out = tmp_path / "out"
    pull.pull(done.reference, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    error = refused(pull.pull, done.reference, out)
    assert "already holds" in error.message
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_a_killed_pull_is_swept_by_the_next_one(tmp_path: Path, repo: str) -> None:
    done = push.push(make_bundle(tmp_path / "b"), reference.parse(repo))
    out = tmp_path / "out"
    child = subprocess.Popen(["true"])
    child.wait()
    left = out / pull.partial_name(pull.PULL_PREFIX).replace(f"{os.getpid()}-", f"{child.pid}-", 1)
    (left / "half-written").mkdir(parents=True)
    mine = out / pull.partial_name(pull.PULL_PREFIX)
    mine.mkdir()
    pulled = pull.pull(done.reference, out)
    assert not left.exists(), "a pull that was killed leaves a hidden folder that the next pull removes"
    assert mine.exists(), "a pull still running is left alone"
    assert sorted(p.name for p in out.iterdir()) == sorted([mine.name, *(p.name for p in pulled.files)])


def test_bearer_tokens(
    tmp_path: Path,
    token_registry: registry.Running,
    token_service: tokens.TokenService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = token_registry.ref("team/tok")
    bundle = make_bundle(tmp_path / "b")
    error = refused(push.push, bundle, reference.parse(ref))
    assert "needs credentials to push to" in error.message
    monkeypatch.setenv("REGISTRY_USERNAME", token_service.username)
    monkeypatch.setenv("REGISTRY_PASSWORD", "wrong-" + secrets.token_hex(4))
    assert "refused the credentials" in refused(push.push, bundle, reference.parse(ref)).message
    monkeypatch.setenv("REGISTRY_PASSWORD", token_service.password)
    token_service.asked.clear()
    done = push.push(bundle, reference.parse(ref))
    assert {"scope": ["repository:team/tok:pull,push"], "service": [tokens.SERVICE]} in token_service.asked
    assert len(token_service.asked) == 1, "one token serves the whole push"
    assert pull.pull(done.reference, tmp_path / "out").name == bundle.name


def test_plain_http_only_for_this_machine_or_insecure(
    tmp_path: Path, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Registry(reference.parse("oci://registry.example.com/a")).scheme == "https"
    assert Registry(reference.parse("oci://registry.example.com/a"), insecure=True).scheme == "http"
    assert Registry(reference.parse(repo)).scheme == "http"
    # NOTE: the test registry seen as if it were elsewhere: HTTPS is tried, and plain HTTP needs --insecure.
    monkeypatch.setattr(reference.Reference, "loopback", property(lambda self: False))
    bundle = make_bundle(tmp_path / "b")
    error = refused(push.push, bundle, reference.parse(repo))
    assert error.message.startswith(f"TLS with https://{repo.split('/')[2]} failed for {repo}")
    assert "--insecure" in error.hint
    assert push.push(bundle, reference.parse(repo), insecure=True).digest.startswith("sha256:")
