"""Merging the bundles of a CI matrix: verified parts, own names, combined tests, refusals."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.verify import verify
from evidence_kit.bundle.writer import PARTIAL_PREFIX, BundleWriter, dumps
from evidence_kit.commands.merge import merge
from evidence_kit.errors import EvidenceError
from evidence_kit.model import CollectorResult, Output, Status
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support import junit

HOST = {"name": "runner-1", "platform": "Linux-6-x86_64", "python": "3.12.0"}
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def make_part(
    out: Path,
    python: str,
    tests: list[tuple[str, str]],
    *,
    service: str = "jobs",
    phase: str = "3.6",
    sha: str | None = "a" * 40,
    extra: dict[str, Status] | None = None,
    log: bytes = b"worker started\n",
    tests_status: Status = "ok",
) -> Path:
    """A part bundle as a matrix job would write it: tests, environment and a log."""
    writer = BundleWriter(out, Redactor())
    report = junit.normalize(
        [{"id": i, "outcome": o, "duration_s": 0.5, "message": None} for i, o in tests], len(tests) * 0.5
    )
    environment = {"python": {"version": python}, "os": {"platform": f"Linux-py{python}"}}
    message = "timed out after 60 s" if tests_status == "timeout" else None
    writer.add(
        "tests",
        Output(
            "tests.json",
            "tests",
            "application/json",
            junit.to_json(report),
            status=tests_status,
            message=message,
        ),
    )
    writer.add("environment", Output("environment.json", "env", "application/json", dumps(environment)))
    writer.add("files", Output("logs/worker.log", "worker log", data=log))
    results = [
        CollectorResult("tests", "ok"),
        CollectorResult("environment", "ok"),
        CollectorResult("files", "ok"),
    ]
    for name, status in (extra or {}).items():
        results.append(CollectorResult(name, status, error=f"{name} broke", hint=f"fix {name}"))
    return writer.finish(
        service=service, phase=phase, git_sha=sha, results=results, host=HOST, ci=None, created=CREATED
    )


def read(bundle: Path, rel: str) -> Any:
    return json.loads((bundle / "data" / rel).read_text())


@pytest.fixture()
def parts(tmp_path: Path) -> list[Path]:
    # NOTE: the same creation time and commit give both parts the same bundle name, as two matrix jobs may.
    return [
        make_part(tmp_path / "py311", "3.11.9", [("t::a", "passed"), ("t::b", "failed")]),
        make_part(
            tmp_path / "py312", "3.12.4", [("t::a", "passed"), ("t::b", "passed"), ("t::c", "skipped")]
        ),
    ]


def test_merged_bundle_verifies_and_keeps_every_part_apart(tmp_path: Path, parts: list[Path]) -> None:
    assert parts[0].name == parts[1].name
    merged = merge(parts, tmp_path / "out", env={})
    verdict = verify(merged)
    assert verdict.ok, verdict.problems
    manifest = json.loads((merged / "manifest.json").read_text())
    labels = [p["label"] for p in read(merged, "merged/parts.json")["parts"]]
    assert labels == [parts[0].name, f"{parts[0].name}-2"]
    paths = {a["path"] for a in manifest["artifacts"]}
    for label in labels:
        for rel in ("tests/tests.json", "environment/environment.json", "files/logs/worker.log"):
            assert f"data/part-{label}/{rel}" in paths
    assert len(paths) == len(manifest["artifacts"]) == 2 * 3 + 3 + 2
    assert sorted(c["name"] for c in manifest["collectors"]) == sorted(
        ["merged", *(f"part-{x}" for x in labels)]
    )
    assert (manifest["service"], manifest["phase"], manifest["git"]["sha"]) == ("jobs", "3.6", "a" * 40)
    copied = next(
        a for a in manifest["artifacts"] if a["path"].endswith(f"{labels[1]}/files/logs/worker.log")
    )
    original = json.loads((parts[1] / "manifest.json").read_text())["artifacts"]
    assert copied["sha256"] == next(
        a["sha256"] for a in original if a["path"] == "data/files/logs/worker.log"
    )


def test_merged_tests_count_every_part(tmp_path: Path, parts: list[Path]) -> None:
    merged = merge(parts, tmp_path / "out", env={})
    tests = read(merged, "merged/tests.json")
    totals = tests["totals"]
    assert (totals["tests"], totals["passed"], totals["failed"], totals["skipped"]) == (5, 3, 1, 1)
    assert totals["duration_s"] == 2.5
    a = [t for t in tests["tests"] if t["id"] == "t::a"]
    assert len(a) == 2 and {t["part"] for t in a} == {
        p["label"] for p in read(merged, "merged/parts.json")["parts"]
    }
    assert set(tests) == {"totals", "tests"}
    assert {"id", "outcome", "duration_s", "message", "part"} == set(tests["tests"][0])


def test_parts_json_and_environment(tmp_path: Path, parts: list[Path]) -> None:
    merged = merge(parts, tmp_path / "out", env={})
    facts = read(merged, "merged/parts.json")
    assert facts["same_commit"] is True and facts["commits"] == ["a" * 40]
    digests = sorted(p["manifest_sha256"] for p in facts["parts"])
    assert digests == sorted(hashlib.sha256((p / "manifest.json").read_bytes()).hexdigest() for p in parts)
    # NOTE: parts are ordered by manifest digest; pick the py3.11 part (two tests) by its digest.
    py311 = hashlib.sha256((parts[0] / "manifest.json").read_bytes()).hexdigest()
    first = next(p for p in facts["parts"] if p["manifest_sha256"] == py311)
    assert first["collectors"] == {"environment": "ok", "files": "ok", "tests": "ok"}
    assert first["tests"]["tests/tests.json"]["tests"] == 2
    for part in facts["parts"]:
        copy = merged / "data" / "merged" / "manifests" / f"{part['label']}.json"
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == part["manifest_sha256"]
    environment = read(merged, "merged/environment.json")
    assert sorted(environment["python"].values()) == ["3.11.9", "3.12.4"]
    assert "runner-1" not in json.dumps(environment)


def test_archives_and_folders_merge_alike(tmp_path: Path, parts: list[Path]) -> None:
    archive = pack(parts[1], tmp_path / "py312.tar.gz")
    from_archive = merge([parts[0], archive], tmp_path / "a", env={})
    from_folders = merge([parts[1], parts[0]], tmp_path / "b", env={})
    assert verify(from_archive).ok
    for rel in ("merged/tests.json", "merged/parts.json"):
        left, right = read(from_archive, rel), read(from_folders, rel)
        if rel.endswith("parts.json"):
            for p in left["parts"] + right["parts"]:
                p.pop("file")
        assert left == right


def test_a_tampered_part_refuses_the_merge(tmp_path: Path, parts: list[Path]) -> None:
    (parts[1] / "data" / "files" / "logs" / "worker.log").write_text("edited\n")
    out = tmp_path / "out"
    with pytest.raises(EvidenceError) as caught:
        merge(parts, out, env={})
    assert "1 of 2 parts cannot be merged" in caught.value.message
    assert any(str(parts[1]) in d and "data/files/logs/worker.log" in d for d in caught.value.details)
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(PARTIAL_PREFIX)]


def test_missing_part_and_duplicate_part(tmp_path: Path, parts: list[Path]) -> None:
    with pytest.raises(EvidenceError) as caught:
        merge([parts[0], tmp_path / "nope.tar.gz"], tmp_path / "out", env={})
    assert any("nope.tar.gz" in d and "does not exist" in d for d in caught.value.details)
    with pytest.raises(EvidenceError) as caught:
        merge([parts[0], parts[0]], tmp_path / "out", env={})
    assert any("given twice" in d for d in caught.value.details)


def test_services_must_agree_unless_given(tmp_path: Path) -> None:
    one = make_part(tmp_path / "1", "3.11", [("a", "passed")], service="jobs")
    two = make_part(tmp_path / "2", "3.12", [("a", "passed")], service="billing")
    with pytest.raises(EvidenceError) as caught:
        merge([one, two], tmp_path / "out", env={})
    assert "different services" in caught.value.message and "--service" in caught.value.hint
    merged = merge([one, two], tmp_path / "out", service="platform", env={})
    manifest = json.loads((merged / "manifest.json").read_text())
    assert manifest["service"] == "platform" and verify(merged).ok
    assert {p["service"] for p in read(merged, "merged/parts.json")["parts"]} == {"jobs", "billing"}


def test_different_commits_are_recorded(tmp_path: Path) -> None:
    one = make_part(tmp_path / "1", "3.11", [("a", "passed")], sha="a" * 40)
    two = make_part(tmp_path / "2", "3.12", [("a", "passed")], sha="b" * 40)
    merged = merge([one, two], tmp_path / "out", env={})
    facts = read(merged, "merged/parts.json")
    assert facts["same_commit"] is False and facts["commits"] == ["a" * 40, "b" * 40]
    assert json.loads((merged / "manifest.json").read_text())["git"]["sha"] is None


def test_a_part_whose_suite_did_not_finish_makes_the_merged_results_not_finished(tmp_path: Path) -> None:
    """The merged tests.json of a part stopped at its timeout has that status, so EK303 fails on it."""
    from evidence_kit.policy import loader as policy
    from evidence_kit.policy.engine import run
    from evidence_kit.policy.target import Target

    one = make_part(tmp_path / "1", "3.11", [("a", "passed")], tests_status="timeout")
    two = make_part(tmp_path / "2", "3.12", [("a", "passed")])
    merged = merge([one, two], tmp_path / "out", labels=["py3.11", "py3.12"], env={})
    manifest = json.loads((merged / "manifest.json").read_text())
    record = next(a for a in manifest["artifacts"] if a["path"] == "data/merged/tests.json")
    assert (record["status"], record["message"]) == ("timeout", "part py3.11: timed out after 60 s")
    outcome = next(
        o
        for o in run(policy.load(["default"]), Target(bundle=merged, manifest=manifest)).outcomes
        if o.check == "EK303"
    )
    assert outcome.status == "failed"
    assert [f.snippet for f in outcome.findings] == ["tests timed out"]


def test_part_status_is_its_worst_collector(tmp_path: Path) -> None:
    one = make_part(tmp_path / "1", "3.11", [("a", "passed")], extra={"schema": "error"})
    two = make_part(tmp_path / "2", "3.12", [("a", "passed")], sha="b" * 40)
    merged = merge([one, two], tmp_path / "out", labels=["py3.11", "py3.12"], env={})
    manifest = json.loads((merged / "manifest.json").read_text())
    statuses = {c["name"]: c["status"] for c in manifest["collectors"]}
    assert statuses == {"part-py3.11": "error", "part-py3.12": "ok", "merged": "ok"}
    assert manifest["errors"] == [
        {"collector": "part-py3.11", "message": "schema error: schema broke", "hint": "fix schema"}
    ]
    assert (merged / "data" / "part-py3.11" / "tests" / "tests.json").is_file()


def test_labels_must_be_safe_and_distinct(tmp_path: Path, parts: list[Path]) -> None:
    with pytest.raises(EvidenceError) as caught:
        merge(parts, tmp_path / "out", labels=["py/3.11", "x"], env={})
    assert any("py/3.11" in d for d in caught.value.details)
    with pytest.raises(EvidenceError):
        merge(parts, tmp_path / "out", labels=["x", "x"], env={})


def test_redaction_applies_to_merged_parts(tmp_path: Path) -> None:
    secret = "s3cr3t-value-123"
    one = make_part(tmp_path / "1", "3.11", [("a", "passed")], log=f"token {secret}\n".encode())
    merged = merge([one], tmp_path / "out", env={"DEPLOY_TOKEN": secret})
    assert verify(merged).ok
    log = next((merged / "data").rglob("worker.log")).read_text()
    assert secret not in log and "[REDACTED]" in log
    assert json.loads((merged / "manifest.json").read_text())["redactions"] == 1


def test_nothing_to_merge(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError):
        merge([], tmp_path / "out")


def test_pytest_plugin_parts(tmp_path: Path) -> None:
    writer = BundleWriter(tmp_path / "p", Redactor())
    report = junit.normalize(
        [{"id": "t::a", "nodeid": "t.py::a", "outcome": "xfailed", "duration_s": 0.1, "message": "known"}],
        0.1,
    )
    session = {"environment": {"python": "3.13.1", "platform": "Linux-x", "pytest": "8.3.0", "plugins": []}}
    writer.add("pytest", Output("tests.json", "tests", "application/json", junit.to_json(report)))
    writer.add("pytest", Output("session.json", "session", "application/json", dumps(session)))
    part = writer.finish(
        service="jobs",
        phase="3.6",
        git_sha=None,
        results=[CollectorResult("pytest", "ok")],
        host=HOST,
        ci=None,
    )
    merged = merge([part], tmp_path / "out", labels=["py3.13"], env={})
    tests = read(merged, "merged/tests.json")
    assert tests["totals"]["xfailed"] == 1 and tests["tests"][0]["nodeid"] == "t.py::a"
    assert tests["tests"][0]["part"] == "py3.13"
    environment = read(merged, "merged/environment.json")
    assert environment["python"] == {"py3.13": "3.13.1"}
    assert read(merged, "merged/parts.json")["same_commit"] is None
