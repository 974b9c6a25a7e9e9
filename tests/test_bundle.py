"""The bundle writer, verify and pack: digests, BagIt, atomicity, determinism, tampering."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import bagit
import pytest

from evidence_kit.bundle.archive import opened, pack
from evidence_kit.bundle.verify import verify
from evidence_kit.bundle.writer import PARTIAL_PREFIX, BundleWriter, artifact_path
from evidence_kit.errors import EvidenceError
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor


def make_bundle(out: Path, *, secret: str = "pa55w0rd-xyz", big: Path | None = None) -> Path:
    writer = BundleWriter(out, Redactor(literals=[secret]))
    outputs = [
        Output("head.json", "HEAD", media_type="application/json", data=b'{"sha": "abc"}\n'),
        Output("log.txt", "log", data=f"connect postgresql://app:{secret}@db/x\n".encode()),
        Output(
            "proof.stdout.txt",
            "proof",
            data=b"=== VALIDATION PASSED ===\n",
            argv=("sh", "-c", f"echo {secret}"),
            exit_code=0,
            started="2026-01-01T00:00:00Z",
            finished="2026-01-01T00:00:01Z",
            duration_s=1.0,
        ),
    ]
    if big is not None:
        outputs.append(Output("worker.log", "worker log", source=big))
    for o in outputs:
        writer.add("demo", o)
    return writer.finish(
        service="jobs",
        phase="3.6",
        git_sha="a" * 40,
        host={"name": "h", "platform": "p", "python": "3.11"},
        ci=None,
        results=[
            CollectorResult("demo", "ok", tuple(outputs)),
            CollectorResult("schema", "error", error="cannot connect", hint="start it"),
        ],
    )


def test_bundle_layout_manifest_and_redaction(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    assert bundle.parent == tmp_path and bundle.name.startswith("jobs-3.6-aaaaaaaa-")
    manifest = json.loads((bundle / "manifest.json").read_text())
    paths = [a["path"] for a in manifest["artifacts"]]
    assert (
        paths == sorted(paths) == ["data/demo/head.json", "data/demo/log.txt", "data/demo/proof.stdout.txt"]
    )
    proof = next(a for a in manifest["artifacts"] if a["path"].endswith("proof.stdout.txt"))
    assert proof["argv"] == ["sh", "-c", "echo [REDACTED]"] and proof["redactions"] == 1
    assert manifest["redactions"] == 2
    assert manifest["errors"] == [{"collector": "schema", "message": "cannot connect", "hint": "start it"}]
    for path in bundle.rglob("*"):
        if path.is_file():
            assert b"pa55w0rd-xyz" not in path.read_bytes(), path
    assert not list(tmp_path.glob(PARTIAL_PREFIX + "*"))


def test_bundle_is_a_valid_bag(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    bag = bagit.Bag(str(bundle))
    bag.validate()
    assert bag.is_valid()


def test_verify_accepts_untouched_directory_and_archive(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    assert verify(bundle).ok
    archive = pack(bundle, tmp_path / "b.tar.gz", mtime=1_700_000_000)
    verdict = verify(archive)
    assert verdict.ok and verdict.artifacts == 3


def tamper_flip(bundle: Path) -> None:
    path = bundle / "data/demo/log.txt"
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))


def tamper_delete(bundle: Path) -> None:
    (bundle / "data/demo/head.json").unlink()


def tamper_add(bundle: Path) -> None:
    (bundle / "data/demo/extra.txt").write_text("slipped in\n")


def tamper_manifest(bundle: Path) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["phase"] = "3.7"
    path.write_text(json.dumps(manifest))


def tamper_manifest_and_payload(bundle: Path) -> None:
    (bundle / "data/demo/head.json").write_text('{"sha": "forged"}\n')
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["artifacts"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("tamper", "kind", "where"),
    [
        (tamper_flip, "modified", "data/demo/log.txt"),
        (tamper_delete, "missing", "data/demo/head.json"),
        (tamper_add, "unexpected", "data/demo/extra.txt"),
        (tamper_manifest, "modified", "manifest.json"),
        (tamper_manifest_and_payload, "modified", "data/demo/head.json"),
    ],
)
def test_verify_reports_tampering(tmp_path: Path, tamper: object, kind: str, where: str) -> None:
    bundle = make_bundle(tmp_path)
    tamper(bundle)  # type: ignore[operator]
    verdict = verify(bundle)
    assert not verdict.ok
    assert any(p.kind == kind and p.path == where for p in verdict.problems), verdict.problems


def test_verify_reports_every_problem_at_once(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    tamper_flip(bundle)
    tamper_delete(bundle)
    tamper_add(bundle)
    kinds = {(p.kind, p.path) for p in verify(bundle).problems}
    assert {
        ("modified", "data/demo/log.txt"),
        ("missing", "data/demo/head.json"),
        ("unexpected", "data/demo/extra.txt"),
    } <= kinds


def test_manifest_schema_violation_is_reported(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["artifacts"][0]["status"] = "great"
    path.write_text(json.dumps(manifest))
    problems = verify(bundle).problems
    assert any(p.kind == "invalid" and "artifacts/0/status" in p.detail for p in problems)


def test_pack_is_byte_identical_and_honours_source_date_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path)
    a = pack(bundle, tmp_path / "a.tar.gz", mtime=1)
    os.utime(bundle / "manifest.json", (5, 5))
    b = pack(bundle, tmp_path / "b.tar.gz", mtime=1)
    assert a.read_bytes() == b.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    c = pack(bundle, tmp_path / "c.tar.gz", mtime=1)
    with tarfile.open(c) as tar:
        members = tar.getmembers()
    assert {m.mtime for m in members} == {1234567890}
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    names = [m.name for m in members]
    assert names[0] == bundle.name and all(n.startswith(bundle.name) for n in names)


def test_bad_source_date_epoch_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = make_bundle(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(EvidenceError, match="SOURCE_DATE_EPOCH"):
        pack(bundle, tmp_path / "x.tar.gz")
    assert not list(tmp_path.glob("*.tar.gz")) and not list(tmp_path.glob(".x.tar.gz.*"))


def hostile(tmp_path: Path, name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> Path:
    path = tmp_path / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("bundle/manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
        evil = tarfile.TarInfo(name)
        evil.type = kind
        evil.linkname = linkname
        data = b"owned\n"
        evil.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(evil, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize(
    ("name", "kind", "linkname", "reason"),
    [
        ("bundle/../../escaped.txt", tarfile.REGTYPE, "", "`..`"),
        ("/tmp/evidence-absolute-test.txt", tarfile.REGTYPE, "", "absolute path"),
        ("bundle/data/link", tarfile.SYMTYPE, "/etc/passwd", "link"),
        ("bundle/data/hard", tarfile.LNKTYPE, "bundle/manifest.json", "link"),
        ("bundle/data/dev", tarfile.CHRTYPE, "", "device"),
    ],
)
def test_hostile_archive_is_refused_and_writes_nothing(
    tmp_path: Path, name: str, kind: bytes, linkname: str, reason: str
) -> None:
    archive = hostile(tmp_path, name, kind, linkname)
    before = set(tmp_path.parent.iterdir())
    with pytest.raises(EvidenceError) as err, opened(archive):
        pass
    assert any(reason in d for d in err.value.details)
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not Path("/tmp/evidence-absolute-test.txt").exists()
    assert set(tmp_path.parent.iterdir()) == before


def test_corrupt_archive_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(EvidenceError, match=r"not a readable archive|damaged"):
        verify(bad)


def test_large_source_streams_with_flat_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    with big.open("wb") as f:
        for _ in range(64):
            f.write(b"2026-01-01 INFO worker claimed job\n" * 30_000)
    bundle = make_bundle(tmp_path / "out", big=big)
    rec = next(
        a
        for a in json.loads((bundle / "manifest.json").read_text())["artifacts"]
        if a["title"] == "worker log"
    )
    assert rec["size"] == big.stat().st_size
    assert verify(bundle).ok


def test_artifact_names_cannot_escape_the_payload() -> None:
    assert artifact_path("files", "../../etc/passwd") == "data/files/etc/passwd"
    assert artifact_path("files", "/abs/x.log") == "data/files/abs/x.log"
    assert artifact_path("a b", "we:ird%name") == "data/a-b/we_ird_name"


def test_killed_writer_leaves_only_a_hidden_partial_that_the_next_run_sweeps(tmp_path: Path) -> None:
    stale = tmp_path / f"{PARTIAL_PREFIX}999999999-dead"
    (stale / "data").mkdir(parents=True)
    writer = BundleWriter(tmp_path, Redactor())
    assert not stale.exists()
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_archive_made_with_plain_tar_of_the_folder_contents_verifies(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "out")
    archive = tmp_path / "flat.tgz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(bundle), "."], check=True)
    assert verify(archive).ok


def test_archive_with_conflicting_entries_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for _ in range(2):
            info = tarfile.TarInfo("bundle/manifest.json")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(EvidenceError) as err, opened(path):
        pass
    assert any("appears twice" in d for d in err.value.details)


def test_pack_refuses_to_write_inside_the_bundle(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    with pytest.raises(EvidenceError, match="inside the bundle"):
        pack(bundle, bundle / "self.tar.gz")
    assert verify(bundle).ok


def test_partials_of_other_hosts_are_left_alone(tmp_path: Path) -> None:
    other = tmp_path / f"{PARTIAL_PREFIX}999999999-abcd1234-some-other-host"
    (other / "data").mkdir(parents=True)
    BundleWriter(tmp_path, Redactor()).abort()
    assert other.is_dir()
