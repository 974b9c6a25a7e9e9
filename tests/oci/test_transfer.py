"""Push, list, pull and resolve against a real registry: round trips, idempotence, signatures, statements."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.bundle.verify import verify
from evidence_kit.commands import attest
from evidence_kit.diff import diff
from evidence_kit.oci import artifact, cache, history, pull, push, reference, resolve
from evidence_kit.oci.client import Registry
from tests.oci import front, registry
from tests.oci.helpers import make_bundle


def test_push_list_pull_verify_diff(tmp_path: Path, repo: str) -> None:
    old = make_bundle(tmp_path / "b", "3 passed\n")
    new = make_bundle(tmp_path / "b", "4 passed\n")
    ref = reference.parse(repo)
    first = push.push(old, ref)
    second = push.push(new, reference.parse(repo + ":release"))
    assert first.digest != second.digest
    assert first.tags == (old.name, "svc-1")
    assert second.tags == (new.name, "svc-1", "release")

    listed = history.history(ref)
    assert [r.bundle for r in listed.rows] == [old.name, new.name]
    assert listed.rows[0].tags == (old.name,)
    assert set(listed.rows[1].tags) == {new.name, "svc-1", "release"}
    assert listed.rows[1].commit == json.loads((new / "manifest.json").read_text())["git"]["sha"]
    assert not listed.rows[0].signed and listed.other == ()

    pulled = pull.pull(reference.parse(repo + ":svc-1"), tmp_path / "pulled")
    assert pulled.reference.digest == second.digest
    assert [p.name for p in pulled.files] == [new.name, new.name + ".tar.gz"]
    assert verify(pulled.bundle).ok and verify(pulled.files[1]).ok
    assert (pulled.bundle / "manifest.json").read_bytes() == (new / "manifest.json").read_bytes()

    report = diff(resolve.local_path(str(first.reference)), resolve.local_path(repo + ":svc-1"))
    assert report.sections, "the two bundles differ in their test summary"


def test_archive_bytes_are_what_pack_writes(
    tmp_path: Path, repo: str, open_registry: registry.Running
) -> None:
    bundle = make_bundle(tmp_path / "b")
    done = push.push(bundle, reference.parse(repo))
    created = json.loads((bundle / "manifest.json").read_text())["created"]
    from datetime import datetime

    epoch = int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    packed = pack(bundle, tmp_path / "packed.tar.gz", epoch)
    with Registry(done.reference) as client:
        manifest = client.get_manifest(done.digest).json()
    layer = next(x for x in manifest["layers"] if x["mediaType"] == artifact.ARCHIVE_MEDIA)
    assert layer["digest"] == "sha256:" + file_sha256(packed)[0]
    assert open_registry.blob_file(layer["digest"]).read_bytes() == packed.read_bytes()
    assert manifest["artifactType"] == artifact.ARTIFACT_TYPE
    assert manifest["annotations"][artifact.CREATED] == created
    assert manifest["annotations"][artifact.SERVICE] == "svc"


def test_pushing_twice_uploads_nothing(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    ref = reference.parse(repo)
    first = push.push(bundle, ref)
    again = push.push(bundle, ref)
    assert first.uploaded > 0 and first.uploaded_bytes > 0
    assert (again.uploaded, again.uploaded_bytes) == (0, 0)
    assert again.digest == first.digest


def test_archive_pushes_as_the_same_artifact(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    created = json.loads((bundle / "manifest.json").read_text())["created"]
    from datetime import datetime

    epoch = int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    archive = pack(bundle, bundle.with_name(bundle.name + ".tar.gz"), epoch)
    ref = reference.parse(repo)
    assert push.push(archive, ref).digest == push.push(bundle, ref).digest


def test_signature_and_statement_found_as_referrers(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    key, pub = attest.keygen(tmp_path / "keys" / "k")
    attest.sign(bundle, key)
    statement = tmp_path / "statement.json"
    statement.write_text(json.dumps(attest.statement(bundle)))
    ref = reference.parse(repo)
    done = push.push(bundle, ref, statements=[statement])
    assert [kind for kind, _ in done.referrers] == ["signature", "statement"]
    again = push.push(bundle, ref, statements=[statement])
    assert again.uploaded == 0 and again.referrers == done.referrers

    with Registry(ref) as client:
        tags = client.tags()
    assert f"sha256-{done.digest[7:]}" in tags, (
        "registry 2.8 has no referrers API: the tag fallback holds them"
    )
    row = history.history(ref).rows[0]
    assert row.signed and row.statements == 1

    pulled = pull.pull(done.reference, tmp_path / "pulled")
    assert pulled.signed and pulled.statements == 1
    assert (tmp_path / "pulled" / f"{bundle.name}.dsse.json").read_bytes() == (
        bundle.with_name(bundle.name + ".dsse.json").read_bytes()
    )
    assert json.loads((tmp_path / "pulled" / f"{bundle.name}.intoto.json").read_text()) == json.loads(
        statement.read_text()
    )
    cached = resolve.local_path(str(done.reference))
    assert attest.verify_signature(cached, pub) == []
    _, other_pub = attest.keygen(tmp_path / "keys" / "other")
    assert attest.verify_signature(cached, other_pub)


def test_two_signers_give_one_envelope_with_both(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    first, first_pub = attest.keygen(tmp_path / "k1")
    second, second_pub = attest.keygen(tmp_path / "k2")
    ref = reference.parse(repo)
    push.push(bundle, ref, signature=attest.sign(bundle, first, out=tmp_path / "one.dsse.json"))
    done = push.push(bundle, ref, signature=attest.sign(bundle, second, out=tmp_path / "two.dsse.json"))
    cached = resolve.local_path(str(done.reference))
    assert attest.verify_signature(cached, first_pub) == []
    assert attest.verify_signature(cached, second_pub) == []


def test_cache_reuses_by_digest_and_keeps_to_its_cap(
    tmp_path: Path, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = push.push(make_bundle(tmp_path / "b", "a" * 5000), reference.parse(repo))
    b = push.push(make_bundle(tmp_path / "b", "b" * 5000), reference.parse(repo))
    path = resolve.local_path(str(a.reference))
    assert resolve.local_path(str(a.reference)) == path
    assert [e.digest for e in cache.entries()] == [a.digest]
    # NOTE: a cached digest needs no registry: the same path comes back with the registry unreachable.
    offline = str(a.reference).replace(a.reference.registry, f"127.0.0.1:{registry.free_port()}")
    assert resolve.local_path(offline) == path
    monkeypatch.setenv("EVIDENCE_CACHE_MAX_MB", "0")
    resolve.local_path(str(b.reference))
    assert [e.digest for e in cache.entries()] == [b.digest], "the cap removes the least recently used"
    size = cache.entries()[0].size
    assert size > 10_000
    assert cache.prune() == (1, size)
    assert cache.entries() == [] and not any(Path(os.environ["EVIDENCE_CACHE_DIR"]).iterdir())


def test_list_skips_other_artifacts_and_one_tag(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    ref = reference.parse(repo)
    push.push(bundle, ref)
    with Registry(ref, push=True) as client:
        config = artifact.Blob.of("application/vnd.oci.image.config.v1+json", b'{"architecture":"amd64"}')
        client.upload_blob(config.digest, config.content)
        image = artifact.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config.descriptor(),
                "layers": [],
            }
        )
        client.put_manifest("app-image", image, "application/vnd.oci.image.manifest.v1+json")
    listed = history.history(ref)
    assert [r.bundle for r in listed.rows] == [bundle.name] and listed.other == ("app-image",)
    one = history.history(reference.parse(repo + ":svc-1"))
    assert [r.tags for r in one.rows] == [("svc-1",)]


def test_blob_redirects_go_without_the_registry_credentials(
    tmp_path: Path, auth_registry: registry.Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_USERNAME", auth_registry.username)
    monkeypatch.setenv("REGISTRY_PASSWORD", auth_registry.password)
    basic = (
        "Basic " + base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode()).decode()
    )
    with front.serve(auth_registry.host, basic) as served:
        bundle = make_bundle(tmp_path / "b")
        done = push.push(bundle, reference.parse(f"oci://{served.host}/team/redirected"))
        pulled = pull.pull(done.reference, tmp_path / "out")
    assert pulled.name == bundle.name and verify(pulled.bundle).ok
    assert len(served.store_authorization) == 2, "manifest.json and the archive came from the blob store"
    assert served.store_authorization == [None, None], "the registry's credentials never left for the store"
