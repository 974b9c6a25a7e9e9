"""`diff()` itself: verification first, archives, exit codes, fingerprints; renderers and JSON Schema."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from evidence_kit.bundle.archive import pack
from evidence_kit.diff import KINDS, diff
from evidence_kit.diff.model import BundleInfo, DiffReport, change, section
from evidence_kit.diff.render import LIMIT, as_json, markdown, schema, text
from evidence_kit.errors import EvidenceError
from tests.diff.bundles import make

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())


def merged(side: str) -> dict[str, Any]:
    """The artifacts of the first case of every kind, one bundle holding them all."""
    found: dict[str, Any] = {}
    for kind, cases in CASES.items():
        if kind.startswith("_"):
            continue
        case = next(c for c in cases if c["expect"])
        found.update(case[side])
    return found


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return make(tmp_path / "old", merged("old"), git_sha="1" * 40), make(
        tmp_path / "new", merged("new"), git_sha="3" * 40
    )


def test_every_kind_has_a_section_with_changes(pair: tuple[Path, Path]) -> None:
    report = diff(*pair)
    assert [s.kind for s in report.sections] == list(KINDS)
    assert all(s.changes for s in report.sections)
    assert report.old.verified and report.new.verified and not report.warnings


def test_a_tampered_bundle_stops_the_diff(pair: tuple[Path, Path]) -> None:
    old, new = pair
    (new / "data/schema/schema.json").write_text(json.dumps({"dialect": "postgresql", "tables": []}))
    with pytest.raises(EvidenceError) as caught:
        diff(old, new)
    err = caught.value
    assert f"the new bundle {new.name} does not verify" in err.message
    assert any("modified: data/schema/schema.json" in d for d in err.details), err.details
    assert "--no-verify" in err.hint


def test_without_verification_the_diff_goes_on_and_reads_the_files_as_they_are(
    pair: tuple[Path, Path],
) -> None:
    old, new = pair
    (new / "data/schema/schema.json").write_text(json.dumps({"dialect": "postgresql", "tables": []}))
    (new / "data/files").mkdir(exist_ok=True)
    (new / "data/files/smuggled.txt").write_text("not in the manifest")
    report = diff(old, new, verify=False)
    assert report.old.verified and not report.new.verified
    assert report.new.problems and any("does not verify" in w for w in report.warnings)
    schema_changes = {
        c.what: c.classification for s in report.sections if s.kind == "schema" for c in s.changes
    }
    assert schema_changes["table public.jobs dropped"] == "breaking"
    artifacts = {c.what for s in report.sections if s.kind == "artifacts" for c in s.changes}
    assert "files/smuggled.txt added" in artifacts
    assert "NOT VERIFIED" in text(report) and "not verified" in markdown(report)


def test_archives_compare_like_folders(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = pair
    old_tar, new_tar = pack(old, tmp_path / "old.tar.gz"), pack(new, tmp_path / "new.tar.gz")
    from_dirs, from_archives = as_json(diff(old, new)), as_json(diff(old_tar, new_tar))
    assert from_archives["sections"] == from_dirs["sections"]
    assert (
        from_archives["old"]["label"] == "old.tar.gz"
        and from_archives["old"]["digest"] == from_dirs["old"]["digest"]
    )
    mixed = diff(old_tar, new)
    assert as_json(mixed)["sections"] == from_dirs["sections"]


def test_a_folder_that_is_not_a_bundle_is_refused(pair: tuple[Path, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvidenceError, match="does not verify"):
        diff(pair[0], empty)
    with pytest.raises(EvidenceError, match="does not exist"):
        diff(pair[0], tmp_path / "missing.tar.gz")


def test_identical_bundles_have_no_changes_and_exit_0(pair: tuple[Path, Path]) -> None:
    report = diff(pair[0], pair[0])
    assert report.changes == ()
    assert [report.exit_code(f) for f in ("breaking", "any", "never")] == [0, 0, 0]


def test_exit_codes(pair: tuple[Path, Path], tmp_path: Path) -> None:
    report = diff(*pair)
    assert report.counts["breaking"] > 0
    assert [report.exit_code(f) for f in ("breaking", "any", "never")] == [1, 1, 0]
    info_only = diff(make(tmp_path / "a", {"files/x.txt": "1"}), make(tmp_path / "b", {"files/x.txt": "2"}))
    assert info_only.counts["info"] == 1 and sum(info_only.counts.values()) == 1
    assert [info_only.exit_code(f) for f in ("breaking", "any", "never")] == [0, 1, 0]
    with pytest.raises(ValueError, match="fail_on"):
        report.exit_code("sometimes")  # type: ignore[arg-type]


def test_fingerprints_are_stable_short_sha256_ids(pair: tuple[Path, Path]) -> None:
    first, second = diff(*pair), diff(*pair)
    assert [c.fingerprint for c in first.changes] == [c.fingerprint for c in second.changes]
    for c in first.changes:
        assert c.fingerprint == hashlib.sha256(f"{c.kind}\0{c.what}".encode()).hexdigest()[:16]
    assert len({c.fingerprint for c in first.changes}) == len(first.changes)


def test_bundles_of_different_services_are_compared_with_a_warning(tmp_path: Path) -> None:
    report = diff(
        make(tmp_path / "a", {"files/x": "1"}, service="one"), make(tmp_path / "b", {"files/x": "1"})
    )
    assert report.warnings == ("the bundles are of different services: one and svc",)


def test_json_output_matches_its_schema(pair: tuple[Path, Path]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    data = as_json(diff(*pair))
    jsonschema.Draft202012Validator(schema()).validate(data)
    json.dumps(data)
    assert data["counts"] == {k: sum(s["counts"][k] for s in data["sections"]) for k in data["counts"]}
    broken = json.loads(json.dumps(data))
    broken["sections"][0]["changes"][0]["classification"] = "scary"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema()).validate(broken)


def test_text_puts_counts_first_and_groups_by_kind(pair: tuple[Path, Path]) -> None:
    out = text(diff(*pair))
    lines = out.splitlines()
    assert lines[4].endswith("info") and "breaking" in lines[4]
    headers = [line for line in lines if line.startswith("== ")]
    assert [h.split(":")[0][3:] for h in headers] == [
        "Artifacts",
        "Git",
        "Migrations",
        "Schema",
        "Routes",
        "Tests",
        "CI",
        "Results",
    ]
    assert (
        "  breaking  POST /runs removed: was Create run\n            clients that call it get 404 or 405"
        in out
    )
    assert "  safe      table public.events added: 1 column" in out


def synthetic(n_info: int, n_breaking: int = 3) -> DiffReport:
    """A report with many changes and no bundle names or times in it, for size and golden tests."""
    side = BundleInfo("a", "svc-1-aaaaaaaa-20260101T000000Z", "svc", "1", "a" * 40, None, None, True)
    changes = [
        change("results", f"sql/query-{i:05d} changed", "info", "1 row", "2 rows") for i in range(n_info)
    ]
    breaking = [
        change("schema", f"column public.t.c{i} dropped", "breaking", "integer", None, "gone")
        for i in range(n_breaking)
    ]
    risky = [change("tests", "fewer tests ran", "risky", "120 tests", "80 tests")]
    return DiffReport(
        side,
        BundleInfo("b", "svc-1-bbbbbbbb-20260102T000000Z", "svc", "1", "b" * 40, None, None, True),
        (
            section("results", "Results", changes, f"{n_info} changed"),
            section("schema", "Schema", breaking, "1 → 1 tables"),
            section("tests", "Tests", risky, "120 tests → 80 tests"),
        ),
    )


def test_markdown_stays_under_the_comment_limit_and_keeps_what_matters() -> None:
    report = synthetic(5_000)
    out = markdown(report)
    assert len(out) <= LIMIT
    assert out.startswith("## evidence diff: 3 breaking, 1 risky, 0 safe, 5000 info")
    assert "fewer tests ran" in out and out.count("**breaking**") == 3
    assert "were cut to stay under GitHub's 65,536-character comment limit" in out
    note = out.rsplit("\n_", 1)[1]
    assert "info) in Results (" in note
    assert "<details><summary>" in out


def test_markdown_folds_long_sections_and_cuts_nothing_when_it_fits() -> None:
    out = markdown(synthetic(40))
    assert "were cut" not in out
    assert out.count("sql/query-") == 40
    assert "<details><summary>30 more (30 info)</summary>" in out


@pytest.mark.parametrize(("name", "render"), [("report.md", markdown), ("report.txt", text)])
def test_golden(name: str, render: Any) -> None:
    out = render(synthetic(30))
    path = GOLDEN / name
    if os.environ.get("EVIDENCE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(out)
    assert out == path.read_text(), (
        f"refresh on purpose with EVIDENCE_UPDATE_GOLDEN=1 if {name} should change"
    )


def test_markdown_folds_the_artifact_inventory_but_shows_its_risky_changes(pair: tuple[Path, Path]) -> None:
    out = markdown(diff(*pair))
    artifacts = out.split("### Artifacts", 1)[1].split("\n### ", 1)[0]
    shown, folded = artifacts.split("<details>", 1)
    assert "🟠 **risky** command/old.txt removed" in shown
    assert "**info**" not in shown and "**info** command/new.txt added" in folded
    assert out.index("### Artifacts") < out.index("### Git") < out.index("### Schema")


def test_identical_failures_are_shown_once_and_counted(tmp_path: Path) -> None:
    error = 'failed on setup with "OperationalError: connection refused"\nconftest.py:12: in db'
    ids = [f"tests.test_api::test_{i:02d}" for i in range(60)]

    def report(outcome: str) -> dict[str, Any]:
        tests = [
            {
                "id": t,
                "outcome": outcome,
                "duration_s": 0.1,
                "message": f"{error}\n    {t}()" if outcome == "error" else None,
            }
            for t in ids
        ]
        tests.append(
            {
                "id": "tests.test_other::test_x",
                "outcome": outcome,
                "duration_s": 0.1,
                "message": "assert 1 == 2" if outcome == "error" else None,
            }
        )
        counts = {"passed": 0, "failed": 0, "errors": 0}
        counts["errors" if outcome == "error" else "passed"] = len(tests)
        return {
            "totals": {"tests": len(tests), "skipped": 0, "xfailed": 0, "xpassed": 0, **counts},
            "tests": tests,
        }

    found = diff(
        make(tmp_path / "old", {"tests/tests.json": report("passed")}),
        make(tmp_path / "new", {"tests/tests.json": report("error")}),
    )
    assert len([c for c in found.changes if c.classification == "breaking"]) == 61
    plain = text(found)
    assert plain.count("OperationalError: connection refused") == 1
    assert plain.count("assert 1 == 2") == 1
    assert "and 59 more changes with the same outcome and error:" in plain
    assert "test tests.test_api::test_20 newly failing" in plain and "… and 39 more" in plain
    assert "test_21" not in plain
    assert len(plain.splitlines()) < 60
    md = markdown(found)
    assert md.count("OperationalError: connection refused") == 1 and "and 59 more changes" in md
    tests = next(s for s in as_json(found)["sections"] if s["kind"] == "tests")
    assert len([c for c in tests["changes"] if c["classification"] == "breaking"]) == 61
    from evidence_kit.report.render import render_diff

    page, _ = render_diff(as_json(found), tmp_path / "pages")
    shown = page.read_text()
    assert shown.count("OperationalError: connection refused") == 2  # the attention line and the change
    assert "(and 59 more like it)" in shown and "test_api::test_20 newly failing" in shown


def _with_runs(out: Path, runs: dict[str, tuple[str, int | None]]) -> Path:
    """A bundle whose artifacts (`openapi/<name>`) have the given status and exit code."""
    from evidence_kit.bundle.writer import BundleWriter
    from evidence_kit.model import CollectorResult, Output
    from evidence_kit.redact.redactor import Redactor

    writer = BundleWriter(out, Redactor())
    for name, (status, code) in runs.items():
        writer.add("openapi", Output(name, name, data=b"same\n", status=status, exit_code=code))  # type: ignore[arg-type]
    host = {"name": "h", "platform": "p", "python": "3"}
    return writer.finish(
        service="svc",
        phase="1",
        git_sha="a" * 40,
        results=[CollectorResult("openapi", "ok")],
        host=host,
        ci=None,
    )


def test_an_exit_code_that_appears_or_changes_under_the_same_status_is_no_status_change(
    tmp_path: Path,
) -> None:
    old = _with_runs(tmp_path / "old", {"a.txt": ("ok", None), "b.txt": ("ok", 0), "c.txt": ("ok", 0)})
    new = _with_runs(tmp_path / "new", {"a.txt": ("ok", 0), "b.txt": ("failed", 1), "c.txt": ("ok", 0)})
    found = {(c.what, c.classification, c.before, c.after) for c in diff(old, new).changes}
    assert ("openapi/a.txt exit code changed", "info", "none", "0") in found
    assert ("openapi/b.txt status changed", "risky", "ok (exit 0)", "failed (exit 1)") in found
    assert not any("c.txt" in what for what, *_ in found)
    assert not any(what.startswith("openapi/a.txt status") for what, *_ in found)


def _tests_doc(duration: Any) -> dict[str, Any]:
    return {
        "tests": [{"id": "t::a", "outcome": "passed", "duration_s": duration, "message": None}],
        "totals": {"tests": 1, "passed": 1},
    }


HUGE = 10**400


@pytest.mark.parametrize(
    "before, after",
    [(HUGE, 1.0), (1.0, HUGE), (HUGE, HUGE), (1.0, 3.0)],
    ids=["huge-1", "1-huge", "both", "slower"],
)
def test_a_duration_no_float_can_hold_is_no_duration(tmp_path: Path, before: Any, after: Any) -> None:
    old = make(tmp_path / "old", {"tests/tests.json": _tests_doc(before)})
    new = make(tmp_path / "new", {"tests/tests.json": _tests_doc(after)})
    slower = [c.what for s in diff(old, new).sections for c in s.changes if "slower" in c.what]
    assert slower == (["test t::a slower"] if (before, after) == (1.0, 3.0) else [])


def test_a_nan_in_a_sequence_is_never_the_same_as_itself(tmp_path: Path) -> None:
    schema = {
        "dialect": "postgresql",
        "tables": [],
        "sequences": [{"schema": "public", "name": "s", "type": "bigint", "start": float("nan")}],
    }
    old = make(tmp_path / "old", {"schema/schema.json": schema})
    new = make(tmp_path / "new", {"schema/schema.json": schema})
    changes = [c.what for s in diff(old, new).sections for c in s.changes]
    assert changes == ["sequence public.s changed"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the OS does not fork")
def test_large_bundles_are_compared_in_two_processes_with_the_same_report(
    pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routes and tests compared by a forked copy give the very report one process gives; a copy that
    fails leaves the work to this process, with the same report again."""
    import evidence_kit.diff as module

    alone = as_json(diff(*pair))
    assert all(s["changes"] for s in alone["sections"] if s["kind"] in module.FORKED_KINDS)
    started: list[int] = []
    real = module.Forked

    def counted(work: Any) -> Any:
        started.append(1)
        return real(work)

    monkeypatch.setattr(module, "FORK_FROM", 0)
    monkeypatch.setattr(module, "forked_available", lambda: True)
    monkeypatch.setattr(module, "Forked", counted)
    assert as_json(diff(*pair)) == alone and started == [1]
    monkeypatch.setattr(real, "result", lambda self: (False, None))
    assert as_json(diff(*pair)) == alone and started == [1, 1]


def test_test_totals_are_told_in_pytests_words() -> None:
    from evidence_kit.diff import tests as tests_diff

    one = {"totals": {"tests": 3, "passed": 2, "errors": 1, "duration_s": 1.5}, "tests": []}
    two = {"totals": {"tests": 4, "passed": 2, "errors": 2}, "tests": []}
    assert tests_diff._totals(one) == "3 tests (2 passed, 1 error) in 1.50 s"
    assert tests_diff._totals(two) == "4 tests (2 passed, 2 errors)"
