"""`evidence check`: rule packs, waivers, suppressions, exit codes and every output format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from evidence_kit.cli import app
from evidence_kit.errors import EvidenceError
from evidence_kit.export import FORMATS, render
from evidence_kit.model import Finding
from evidence_kit.policy import loader as policy
from evidence_kit.policy.engine import Outcome, Report, run
from evidence_kit.policy.packs import Policy
from evidence_kit.policy.target import Target
from tests.conftest import EXAMPLE

runner = CliRunner()
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = Path(__file__).resolve().parents[1] / "evidence_kit" / "export" / "check-report.schema.json"


def _report_data(text: str) -> dict:
    """`check --format json` output, validated against the schema it promises."""
    data = json.loads(text)
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(data)
    return data


NO_DOWNGRADE = '''"""Add the widgets table.

Revision ID: f00dfeed0001
"""
from alembic import op

revision = "f00dfeed0001"
down_revision = "c93d1a6e0f52"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE widgets (id integer)")  # evidence: allow[EK205] reason given
'''

SECOND_HEAD = '''"""Alembic migration script template.

Revision ID: <generated>
"""
from alembic import op

revision = "<generated>"
down_revision = "c93d1a6e0f52"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("SELECT 1")


def downgrade():
    op.execute("SELECT 1")
'''


def pack(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture()
def violating(example_copy: Path) -> Path:
    versions = example_copy / "migrations" / "versions"
    (versions / "f00dfeed0001_widgets.py").write_text(NO_DOWNGRADE)
    (versions / "placeholder_template.py").write_text(SECOND_HEAD)
    return example_copy


def test_example_service_passes_the_default_pack() -> None:
    res = runner.invoke(app, ["check", str(EXAMPLE), "--rules", "default", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = _report_data(res.stdout)
    assert data["findings"] == [] and data["summary"]["passed"] >= 5


def test_seeded_violations_give_exactly_those_findings(violating: Path) -> None:
    res = runner.invoke(app, ["check", str(violating), "--format", "json"])
    assert res.exit_code == 1
    findings = _report_data(res.stdout)["findings"]
    assert sorted(f["check"] for f in findings) == ["EK201", "EK202", "EK203", "EK203"]
    files = {f["check"]: f["path"].rsplit("/", 1)[-1] for f in findings}
    assert files["EK201"] == "f00dfeed0001_widgets.py" and files["EK203"] == "placeholder_template.py"
    two_heads = next(f for f in findings if f["check"] == "EK202")
    assert "<generated>" in two_heads["message"] and "f00dfeed0001" in two_heads["message"]


def test_waivers_by_path_and_fingerprint_and_expiry(violating: Path, tmp_path: Path) -> None:
    first = run(policy.load(["default"]), Target(root=violating))
    placeholder = next(f for f in first.findings if f.check == "EK203" and "placeholder" in f.message)
    rules = pack(
        tmp_path,
        f"""
extends: default
waivers:
  - check: EK201
    path: migrations/versions/f00dfeed0001_*.py
    owner: alice
    reason: rollback handled by a restore from backup
    expires: 2999-01-01
  - check: EK203
    fingerprint: {placeholder.fingerprint}
    owner: bob
    reason: renamed in the next phase
    expires: 2999-01-01
  - check: EK202
    path: migrations/versions/*.py
    owner: carol
    reason: old waiver
    expires: 2000-01-01
""",
    )
    report = run(policy.load([str(rules)]), Target(root=violating), today=date(2026, 11, 23))
    by = {(f.check, f.message): f for f in report.findings}
    waived = [f for f in report.findings if f.waived]
    assert {f.check for f in waived} == {"EK201", "EK203"}
    assert all("waived by" in (f.waived or "") for f in waived)
    assert any(c == "EK002" and "expired on 2000-01-01" in m for c, m in by)
    assert any(c == "EK202" and not f.waived for (c, _), f in by.items())
    assert report.counts()["waived"] == 2
    assert _report_data(FORMATS["json"](report))["summary"]["waived"] == 2


def test_inline_suppression_needs_a_reason(tmp_path: Path, example_copy: Path) -> None:
    versions = example_copy / "migrations" / "versions"
    (versions / "f00dfeed0001_widgets.py").write_text(
        NO_DOWNGRADE.replace(
            "def upgrade():\n", "def downgrade():  # evidence: allow[EK201]\n    pass\n\n\ndef upgrade():\n"
        )
    )
    report = run(policy.load(["default"]), Target(root=example_copy))
    checks = {(f.check, bool(f.waived)) for f in report.findings}
    assert ("EK201", False) in checks and ("EK001", False) in checks
    (versions / "f00dfeed0001_widgets.py").write_text(
        NO_DOWNGRADE.replace(
            "def upgrade():\n",
            "# evidence: allow[EK201] restore from backup instead\n"
            "def downgrade():\n    pass\n\n\ndef upgrade():\n",
        )
    )
    report = run(policy.load(["default"]), Target(root=example_copy))
    ek201 = [f for f in report.findings if f.check == "EK201"]
    assert ek201 and all(f.waived == "inline: restore from backup instead" for f in ek201)
    assert not [f for f in report.findings if f.check == "EK001"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checks: [1, 2\n", "not valid YAML at line"),
        ("checks:\n  EK999: {}\n", "checks.EK999: no such check"),
        ("checks:\n  EK202: {severity: fatal}\n", "'fatal' is not one of"),
        ("checks:\n  EK202: {options: {max_heads: zero}}\n", "checks.EK202.options.max_heads"),
        (
            "waivers:\n  - {check: EK201, path: x.py, reason: because, expires: 2030-01-01}\n",
            "'owner' is a required property",
        ),
        (
            "waivers:\n  - {check: EK201, path: x.py, owner: a, reason: because, expires: next week}\n",
            "expires",
        ),
        ("extends: nosuchpack\n", "no shipped rule pack named 'nosuchpack'"),
    ],
)
def test_bad_rule_packs_give_clear_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = pack(tmp_path, text)
    with pytest.raises(EvidenceError) as err:
        policy.load([str(path)])
    assert expected in str(err.value)
    res = runner.invoke(app, ["check", str(tmp_path), "--rules", str(path)])
    assert res.exit_code == 2


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    pack(tmp_path, "extends: b.yaml\n", "a.yaml")
    pack(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(EvidenceError, match="rule packs have 1 problem"):
        policy.load([str(tmp_path / "a.yaml")])


def test_fail_on_levels(violating: Path) -> None:
    warn_only = ["check", str(violating), "--rules", "default"]
    assert runner.invoke(app, [*warn_only, "--fail-on", "never"]).exit_code == 0
    never = runner.invoke(app, [*warn_only, "--fail-on", "never", "--format", "junit"])
    assert never.exit_code == 0 and 'failures="0"' in never.stdout and "<system-out>" in never.stdout
    assert runner.invoke(app, [*warn_only, "--fail-on", "error"]).exit_code == 1
    assert runner.invoke(app, [*warn_only, "--fail-on", "bogus"]).exit_code == 2
    assert runner.invoke(app, [*warn_only, "--format", "yaml"]).exit_code == 2


def test_sarif_validates_against_the_official_schema(violating: Path, tmp_path: Path) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"the SARIF 2.1.0 schema is expected at {SARIF_SCHEMA}")
    out = tmp_path / "r.sarif"
    res = runner.invoke(app, ["check", str(violating), "--format", "sarif", "--output", str(out)])
    assert res.exit_code == 1
    log = json.loads(out.read_text())
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    run_ = log["runs"][0]
    ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert all(r["partialFingerprints"]["evidenceKit/v1"] for r in run_["results"])
    assert {r["ruleId"] for r in run_["results"]} == {"EK201", "EK202", "EK203"}


def test_other_formats(violating: Path) -> None:
    report = run(policy.load(["default"]), Target(root=violating))
    junit = ET.fromstring(FORMATS["junit"](report))
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 3
    gh = FORMATS["github"](report).splitlines()
    assert gh[0].startswith("::error file=migrations/versions/") and ",line=" in gh[0]
    assert gh[-1] == report.summary()
    md = FORMATS["markdown"](report)
    assert md.startswith("## ❌ evidence check") and "| EK201 |" in md
    text = FORMATS["text"](report)
    assert "EK201 [error] downgrade" in text or "EK201 [error] revision" in text
    assert text.rstrip().endswith(report.summary())


def test_a_skipped_check_shows_its_reason_in_every_format_and_never_counts_as_passed(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    report = run(policy.load(["default"]), Target(root=tmp_path))
    skipped = {o.check: o.reason for o in report.outcomes if o.status == "skipped"}
    assert set(skipped) >= {"EK201", "EK202", "EK203", "EK204", "EK205"}
    reason = skipped["EK201"]
    assert reason.startswith("no Alembic configuration")
    counts = report.counts()
    milder = counts["with_warnings"] + counts["with_notes"]
    assert counts["checks"] == counts["passed"] + counts["failed"] + milder + counts["skipped"]
    assert f"{counts['skipped']} skipped" in report.summary()

    text = FORMATS["text"](report)
    assert f"skipped EK201 migration-without-downgrade: {reason}" in text
    data = _report_data(FORMATS["json"](report))
    ek201 = next(c for c in data["checks"] if c["id"] == "EK201")
    assert (ek201["status"], ek201["reason"]) == ("skipped", reason)
    assert data["summary"]["skipped"] == counts["skipped"]
    sarif = json.loads(FORMATS["sarif"](report))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    note = next(n for n in notes if n["associatedRule"]["id"] == "EK201")
    assert reason in note["message"]["text"] and not sarif["runs"][0]["results"]
    case = next(
        c
        for c in ET.fromstring(FORMATS["junit"](report)).iter("testcase")
        if c.get("classname", "").startswith("EK201")
    )
    assert case.find("skipped") is not None and case.find("skipped").get("message") == reason  # type: ignore[union-attr]
    github = FORMATS["github"](report)
    assert "::notice title=EK201 skipped::EK201 migration-without-downgrade was skipped: " in github
    markdown = FORMATS["markdown"](report)
    assert f"| EK201 | migration-without-downgrade | skipped: {reason} |" in markdown
    assert markdown.startswith("## ⚠️ evidence check")


def test_a_check_with_only_warnings_is_not_counted_as_failed_in_the_summary() -> None:
    """JSON and SARIF keep the status "failed"; the summary people read tells such checks apart."""
    warned = Finding("EK306", "the upload step is missing", path="data/ci/workflows.json", severity="warning")
    noted = Finding("EK104", "a note", path="app.py", severity="note")
    broken = Finding("EK201", "no downgrade", path="migrations/versions/a.py", severity="error")
    report = Report(
        (
            *(Outcome(f"EK1{i:02d}", "x", "error", "passed") for i in range(13)),
            Outcome("EK306", "gate-ci-uploads-bundle", "warning", "failed", (warned,)),
        )
    )
    assert report.counts()["failed"] == 0 and not report.fails("error")
    assert (
        report.summary() == "14 checks: 13 passed, 0 failed, 1 with warnings, 0 skipped; 1 warning, 0 waived"
    )
    assert FORMATS["text"](report).endswith(report.summary() + "\n")
    summary = _report_data(FORMATS["json"](report))["summary"]
    assert (summary["failed"], summary["with_warnings"], summary["with_notes"]) == (0, 1, 0)
    assert FORMATS["markdown"](report).count("| EK306 | gate-ci-uploads-bundle | failed (warning) | 1 |") == 1
    # NOTE: the step summary's mark follows: a warning to look at, not a failure.
    assert FORMATS["markdown"](report).startswith("## ⚠️ evidence check")
    mixed = Report(
        (
            *report.outcomes,
            Outcome("EK104", "x", "note", "failed", (noted,)),
            Outcome("EK201", "x", "error", "failed", (broken,)),
            Outcome("EK202", "x", "error", "skipped", reason="no source path"),
        )
    )
    assert mixed.summary() == (
        "17 checks: 13 passed, 1 failed, 1 with warnings, 1 with notes, 1 skipped; 1 warning, 0 waived"
    )
    assert FORMATS["markdown"](mixed).startswith("## ❌ evidence check")
    summary = _report_data(FORMATS["json"](mixed))["summary"]
    assert (summary["failed"], summary["with_warnings"], summary["with_notes"], summary["skipped"]) == (
        1,
        1,
        1,
        1,
    )
    # NOTE: a skipped check without its reason is no valid report.
    broken = json.loads(FORMATS["json"](mixed))
    next(c for c in broken["checks"] if c["status"] == "skipped")["reason"] = ""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(broken)


def test_junit_fails_a_testcase_only_for_findings_that_fail_the_run() -> None:
    """JUnit has no warning level: a warning-only check is a passing testcase with its findings as output,
    unless `--fail-on warning` makes the run fail on them."""
    warned = Finding("EK306", "the upload step is missing", path="ci.yml", severity="warning")
    broken = Finding("EK201", "no downgrade", path="migrations/versions/a.py", severity="error")
    report = Report(
        (
            Outcome("EK306", "gate-ci-uploads-bundle", "warning", "failed", (warned,)),
            Outcome("EK201", "x", "error", "failed", (broken,)),
        )
    )

    def cases(fail_on: str) -> dict[str, ET.Element]:
        root = ET.fromstring(render("junit", report, fail_on))
        suite = root.find("testsuite")
        assert suite is not None
        got = {c.get("classname", "").split(".")[0]: c for c in suite.iter("testcase")}
        failed = [k for k, c in got.items() if c.find("failure") is not None]
        assert suite.get("failures") == str(len(failed))
        return got

    default = cases("error")
    assert default["EK306"].find("failure") is None
    assert "warning: the upload step is missing" in (default["EK306"].findtext("system-out") or "")
    assert default["EK201"].find("failure") is not None
    strict = cases("warning")
    assert strict["EK306"].find("failure") is not None and strict["EK306"].find("system-out") is None
    assert all(c.find("failure") is None for c in cases("never").values())
    # NOTE: the command passes its --fail-on through, as its exit code judges.
    assert render("junit", report) == render("junit", report, "error")


def test_github_annotations_are_capped(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    for i in range(15):
        (versions / f"r{i}.py").write_text(
            f'"""m{i}"""\nrevision = "r{i}"\ndown_revision = None\ndef upgrade():\n    x()\n'
        )
    report = run(policy.load(["default"]), Target(root=tmp_path))
    lines = FORMATS["github"](report).splitlines()
    assert len([line for line in lines if line.startswith("::error")]) == 10
    assert "more findings or skipped checks are not shown" in lines[-2]


def test_check_on_a_bundle_archive_and_gates_report_missing_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\noutput: out\ncollectors:\n  command:\n    commands:\n"
        "      - {name: proof, run: 'echo ok'}\n"
    )
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--archive", "--json"])
    archive = json.loads(res.stdout)["archive"]
    res = runner.invoke(app, ["check", "--bundle", archive, "--format", "json"])
    assert res.exit_code == 1
    messages = [f["message"] for f in json.loads(res.stdout)["findings"]]
    assert any("no evidence: data/git/head.json" in m for m in messages)
    assert any("no evidence: data/alembic/summary.json" in m for m in messages)
    # NOTE: without a PATH the source checks run on the current folder, as the help says.
    ek201 = next(c for c in json.loads(res.stdout)["checks"] if c["id"] == "EK201")
    assert ek201["status"] == "skipped" and ek201["reason"].startswith("no Alembic configuration:")
    assert "no source path" not in res.stdout


def _git(root: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)


def _service_in_a_subfolder(repo: Path) -> Path:
    """A repository whose service (alembic.ini, evidence.yaml, migrations) lives in `backend/`."""
    backend = repo / "backend"
    versions = backend / "db" / "versions"
    versions.mkdir(parents=True)
    (backend / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/db\n\n[reports]\nscript_location = %(here)s/reports_db\n"
    )
    (versions / "f00dfeed0001_widgets.py").write_text(NO_DOWNGRADE.replace('"c93d1a6e0f52"', "None"))
    (backend / "reports_db" / "versions").mkdir(parents=True)
    (backend / "reports_db" / "versions" / "r1.py").write_text(
        '"""reports"""\nrevision = "r1"\ndown_revision = None\n\ndef upgrade():\n    x()\n\n'
        "def downgrade():\n    y()\n"
    )
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "service")
    return backend


def test_check_from_the_repository_root_finds_an_alembic_ini_in_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _service_in_a_subfolder(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["check", "--format", "json"])
    assert res.exit_code == 1, res.output
    report = json.loads(res.stdout)
    found = {(f["check"], f["path"]) for f in report["findings"]}
    assert ("EK201", "backend/db/versions/f00dfeed0001_widgets.py") in found
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["EK202"] == statuses["EK204"] == "passed"


def test_check_from_the_repository_root_reads_the_evidence_yaml_below_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _service_in_a_subfolder(tmp_path)
    (backend / "evidence.yaml").write_text(
        "service: backend\nrules: [default]\ncollectors:\n  alembic:\n    configs:\n"
        "      - {ini: alembic.ini, name: reports}\n"
    )
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["check", "--format", "json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["findings"] == [] and report["packs"] == ["rules/default.yaml"]
    assert {c["id"]: c["status"] for c in report["checks"]}["EK201"] == "passed"
    told = runner.invoke(app, ["check", "--config", "backend/evidence.yaml", "--format", "json"])
    assert told.exit_code == 0 and json.loads(told.stdout)["findings"] == []
    missing = runner.invoke(app, ["check", "--config", "nowhere/evidence.yaml"])
    assert missing.exit_code == 2 and "config file nowhere/evidence.yaml not found" in missing.output


def test_outside_a_repository_no_evidence_yaml_below_the_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A temporary or home folder holds other projects' (and tests') evidence.yaml files: a check run there
    reads none of them, and a broken one fails nothing."""
    (tmp_path / "pytest-1" / "case").mkdir(parents=True)
    (tmp_path / "pytest-1" / "case" / "evidence.yaml").write_text("service: [not, a, name]\n")
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["check", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["packs"] == ["rules/default.yaml"]
    # NOTE: ... but says so, and how to choose one.
    assert "note: pytest-1/case/evidence.yaml not read: outside a git repository" in res.stderr
    assert "--config pytest-1/case/evidence.yaml" in res.stderr
    told = runner.invoke(app, ["check", "--config", "pytest-1/case/evidence.yaml"])
    assert told.exit_code == 2 and "not read" not in told.stderr
    # NOTE: inside a repository the same file is the service's: its problem is reported.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    broken = runner.invoke(app, ["check", "--format", "json"])
    assert broken.exit_code == 2 and "evidence.yaml" in broken.output


def test_check_from_the_service_folder_reads_the_evidence_yaml_above_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`init` at the repository's top, the service in `backend/`: `check` run in `backend/` reads the
    top's evidence.yaml (its packs), never the default pack, and never one above the repository."""
    from evidence_kit.commands.check import configs

    backend = _service_in_a_subfolder(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "evidence.yaml").write_text("service: top\nrules: [default]\n")
    (tmp_path.parent / "evidence.yaml").unlink(missing_ok=True)
    monkeypatch.chdir(backend)
    assert [c.service for c in configs(Path("."), None)] == ["top"]
    (tmp_path / "evidence.yaml").unlink()
    outside = tmp_path.parent / "evidence.yaml"
    outside.write_text("service: outside\n")
    try:
        assert configs(Path("."), None) == ()
        # NOTE: and with no repository at all, nothing above is read.
        shutil.rmtree(tmp_path / ".git")
        assert configs(Path("."), None) == ()
    finally:
        outside.unlink()


def test_check_end_to_end_as_a_subprocess(violating: Path) -> None:
    exe = shutil.which("evidence", path=os.path.dirname(os.sys.executable))  # type: ignore[attr-defined]
    assert exe
    done = subprocess.run(
        [exe, "check", str(violating), "--format", "github"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "::error" in done.stdout


def test_seeded_copy_fails_phase16_with_exactly_the_seeded_findings(violating: Path, tmp_path: Path) -> None:
    worker = violating / "jobs_service" / "worker.py"
    worker.write_text(
        worker.read_text().replace(
            "stmt = stmt.with_for_update(skip_locked=True)", "stmt = stmt.with_for_update()"
        )
        + "\n\nCLAIM_SQL = (\n    \"SELECT id FROM jobs WHERE status = 'queued' \"\n"
        + '    "ORDER BY created_at LIMIT 1 FOR UPDATE"\n)\n'
        '\n\ndef websocket_heartbeat() -> None:\n    """Keep the connection warm."""\n'
    )
    app_py = violating / "jobs_service" / "app.py"
    app_py.write_text(
        app_py.read_text() + "\n\ndef bootstrap(engine):\n    Base.metadata.create_all(engine)\n"
    )
    cfg = violating / "evidence.yaml"
    cfg.write_text("service: jobs-service\noutput: out\ncollectors:\n  codefacts: true\n")
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--json"])
    bundle = json.loads(res.stdout)["bundle"]
    rules = pack(
        tmp_path,
        "extends: phase16\nchecks:\n"
        + "".join(
            f"  {c}: {{enabled: false}}\n"
            for c in ("EK301", "EK302", "EK303", "EK304", "EK305", "EK306", "EK309")
        ),
    )
    res = runner.invoke(
        app, ["check", str(violating), "--bundle", bundle, "--rules", str(rules), "--format", "json"]
    )
    assert res.exit_code == 1
    findings = json.loads(res.stdout)["findings"]
    assert sorted(f["check"] for f in findings) == [
        "EK101",
        "EK201",
        "EK202",
        "EK203",
        "EK203",
        "EK307",
        "EK308",
        "EK308",
    ]
    vocab = next(f for f in findings if f["check"] == "EK101")
    assert vocab["path"] == "jobs_service/worker.py" and vocab["kind"] == "identifier"
    assert "websocket" in vocab["message"]
    assert next(f for f in findings if f["check"] == "EK307")["path"] == "jobs_service/app.py"


NEWER_MIGRATION = '''"""add runs"""
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = None
branch_labels = None
depends_on = None

type Rows = list[int]


def upgrade():
    op.execute(f"SELECT {"1"}")


def downgrade():
    # nothing to undo
    pass
'''


def test_migration_checks_read_newer_syntax_in_the_service_interpreter(tmp_path: Path) -> None:
    from tests.pythons import python_for

    python = python_for("3.12")
    root = tmp_path / "svc"
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (versions / "a1b2c3d4e5f6_add_runs.py").write_text(NEWER_MIGRATION)
    (root / "evidence.yaml").write_text(f"service: svc\npython: {python}\ncollectors:\n  alembic: {{}}\n")
    result = runner.invoke(app, ["check", str(root), "--format", "json", "--rules", "default"])
    report = json.loads(result.stdout)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["EK201"]["status"] == "failed", checks["EK201"]
    assert checks["EK202"]["status"] == "passed" and checks["EK205"]["status"] == "passed"
    found = [(f["check"], f["line"], f["message"]) for f in report["findings"]]
    assert found == [("EK201", 16, "downgrade() of revision a1b2c3d4e5f6 does nothing")]


def test_check_output_masks_what_the_services_evidence_yaml_names_secret(tmp_path: Path) -> None:
    secret = "acme" + "-" + "7f3c9e1b" * 3
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text(f'websocket_label = "{secret}"\n')
    (root / "evidence.yaml").write_text(
        "service: svc\nredact:\n  patterns: ['acme-[0-9a-f]{24}']\ncollectors:\n  git: {}\n"
    )
    (root / "rules.yaml").write_text(
        "checks:\n  EK101:\n    severity: error\n    options: {forbidden: [websocket], where: [identifier]}\n"
    )
    for fmt in ("text", "json", "sarif", "markdown", "github", "junit"):
        result = runner.invoke(
            app, ["check", str(root), "--rules", str(root / "rules.yaml"), "--format", fmt]
        )
        assert "websocket" in result.stdout, (fmt, result.stdout)
        assert secret not in result.stdout, fmt


def test_every_dialects_folder_is_checked_whatever_database_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """env.py picks a version folder by the database's dialect; all of them are the service's
    migrations, so the checks read each as a history of its own: the same findings with a SQLite URL,
    a PostgreSQL URL or none (rules init writes must not fail when another database is set)."""
    from evidence_kit import config as config_file
    from tests.collectors.test_alembic import _dialect_service

    root = _dialect_service(tmp_path, "context.script.version_locations = [db.orm.versions_dir]")
    every = {
        "src/svc/db/_migrations/versions/sqlite/s1_a.py",
        "src/svc/db/_migrations/versions/postgresql/p1_a.py",
        "src/svc/db/_migrations/versions/postgresql/p2_b.py",
    }
    for name in ("PGHOST", "PGDATABASE", "PGUSER", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    for database, url in [
        ("  url_env: SVC_DB\n  default: sqlite:///svc.db\n", None),
        ("  url_env: SVC_DB\n", "postgresql://svc@127.0.0.1/svc"),
        ("  url_env: SVC_DB\n", None),
    ]:
        (root / "evidence.yaml").write_text(
            f"service: svc\ndatabase:\n{database}"
            "collectors:\n  alembic:\n    configs: [{ini: src/svc/db/alembic.ini}]\n"
        )
        if url:
            monkeypatch.setenv("SVC_DB", url)
        else:
            monkeypatch.delenv("SVC_DB", raising=False)
        cfg = config_file.load(root / "evidence.yaml")
        outcomes = {
            o.check: o for o in run(policy.load(["default"]), Target(root=root, configs=(cfg,))).outcomes
        }
        assert outcomes["EK202"].status == "passed", (database, outcomes["EK202"].reason)
        assert {f.path for f in outcomes["EK201"].findings} == every, database

    (root / "src/svc/db/_migrations/versions/sqlite/s2_b.py").write_text(
        'revision = "s2"\ndown_revision = None\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'
    )
    cfg = config_file.load(root / "evidence.yaml")
    outcomes = {o.check: o for o in run(policy.load(["default"]), Target(root=root, configs=(cfg,))).outcomes}
    assert [f.message for f in outcomes["EK202"].findings] == [
        "src/svc/db/alembic.ini, src/svc/db/_migrations/versions/sqlite: 2 heads (s1, s2); "
        "merge them with `alembic merge heads`"
    ]


def test_revisions_are_counted_per_dialects_folder_not_summed(tmp_path: Path) -> None:
    """A database holds one dialect's history: a skip says how many were read in each folder, never
    their sum (2 + 1 is no count of anything)."""
    from evidence_kit import config as config_file
    from evidence_kit.policy.packs import Policy, Rule
    from tests.collectors.test_alembic import _dialect_service

    root = _dialect_service(tmp_path, "context.script.version_locations = [db.orm.versions_dir]")
    (root / "evidence.yaml").write_text(
        "service: svc\ndatabase:\n  default: sqlite:///svc.db\n"
        "collectors:\n  alembic:\n    configs: [{ini: src/svc/db/alembic.ini}]\n"
    )
    cfg = config_file.load(root / "evidence.yaml")
    rule = Rule("EK201", "error", {"baseline": ["p2", "s1"]})
    outcome = next(
        o
        for o in run(Policy(("t",), (rule,)), Target(root=root, configs=(cfg,))).outcomes
        if o.check == "EK201"
    )
    versions = "src/svc/db/alembic.ini, src/svc/db/_migrations/versions"
    assert (outcome.status, outcome.reason) == (
        "skipped",
        f"no revision to check: {versions}/postgresql: of the 2 read, 2 at or before the baseline (p2); "
        f"{versions}/sqlite: of the 1 read, 1 at or before the baseline (s1); "
        "the check runs on the revisions added after the baseline",
    )


def test_a_finding_of_several_lines_stays_indented_under_its_file() -> None:
    from evidence_kit.model import Finding
    from evidence_kit.policy.engine import Outcome, Report

    finding = Finding("EK301", "the working tree was dirty:\n?? a.py\n?? b.py", path="data/git/status.txt")
    outcome = Outcome("EK301", "clean-tree", "error", "failed", (finding,))
    text = FORMATS["text"](Report((outcome,)))
    assert (
        "  data/git/status.txt: EK301 [error] the working tree was dirty:\n      ?? a.py\n      ?? b.py\n"
        in text
    )


def _history(root: Path) -> Path:
    """Three revisions a1 <- a2 <- a3; a1 and a3 cannot be rolled back."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    undo = {"a1": "pass", "a2": 'op.drop_table("t")', "a3": "pass"}
    for rev, down in (("a1", None), ("a2", "a1"), ("a3", "a2")):
        (versions / f"{rev}_step.py").write_text(
            f'"""step {rev}"""\nfrom alembic import op\n\nrevision = "{rev}"\ndown_revision = {down!r}\n\n\n'
            f'def upgrade():\n    op.execute("SELECT 1")\n\n\ndef downgrade():\n    {undo[rev]}\n'
        )
    return root


@pytest.mark.parametrize(
    ("baseline", "flagged", "problem"),
    [
        (None, ["a1_step.py", "a3_step.py"], False),
        (["a1"], ["a3_step.py"], False),
        (["a2"], ["a3_step.py"], False),
        (["a3"], [], False),
        (["zz9"], ["a1_step.py", "a3_step.py"], True),
    ],
)
def test_a_baseline_leaves_the_history_up_to_it_unchecked(
    tmp_path: Path, baseline: list[str] | None, flagged: list[str], problem: bool
) -> None:
    from evidence_kit.policy.packs import Policy, Rule

    root = _history(tmp_path)
    rule = Rule("EK201", "error", {"baseline": baseline} if baseline else {})
    outcome = next(o for o in run(Policy(("t",), (rule,)), Target(root=root)).outcomes if o.check == "EK201")
    assert sorted(Path(f.path).name for f in outcome.findings if f.path) == flagged
    unknown = [f.message for f in outcome.findings if not f.path]
    assert unknown == (
        ["baseline revision zz9 is in no Alembic configuration read; fix the rule's `baseline`"]
        if problem
        else []
    )
    # NOTE: with every revision in the baseline the check read nothing new: skipped, never passed.
    assert outcome.status == (
        "failed" if flagged or problem else "skipped" if baseline == ["a3"] else "passed"
    )
    if outcome.status == "skipped":
        assert outcome.reason == (
            "no revision to check: of the 3 read, 3 at or before the baseline (a3); "
            "the check runs on the revisions added after the baseline"
        )


def test_a_check_whose_every_revision_is_excluded_is_skipped(tmp_path: Path) -> None:
    from evidence_kit.policy.packs import Policy, Rule

    root = _history(tmp_path)
    rule = Rule("EK201", "error", {"baseline": ["a1"]}, exclude=("**/a2_*.py", "**/a3_*.py"))
    outcome = next(o for o in run(Policy(("t",), (rule,)), Target(root=root)).outcomes if o.check == "EK201")
    assert (outcome.status, outcome.reason) == (
        "skipped",
        "no revision to check: of the 3 read, 1 at or before the baseline (a1) and 2 excluded by the "
        "rule's `exclude`; the check runs on the revisions added after the baseline",
    )


def test_an_unknown_baseline_beside_an_unread_configuration_names_that_configuration(tmp_path: Path) -> None:
    from evidence_kit.policy.packs import Policy, Rule

    root = _history(tmp_path)
    rule = Rule("EK201", "error", {"baseline": ["b7"], "configs": ["alembic.ini", "reporting/alembic.ini"]})
    outcome = next(o for o in run(Policy(("t",), (rule,)), Target(root=root)).outcomes if o.check == "EK201")
    (message,) = [f.message for f in outcome.findings if not f.path]
    assert message.startswith("baseline revision b7 is in no Alembic configuration read; the configurations")
    assert "reporting/alembic.ini: alembic config file" in message and "not found" in message
    assert "fix the rule's `baseline`" not in message


def test_an_unknown_baseline_beside_a_known_head_fails_rather_than_skips(tmp_path: Path) -> None:
    from evidence_kit.policy.packs import Policy, Rule

    root = _history(tmp_path)
    rule = Rule("EK201", "error", {"baseline": ["a3", "zz9"]})
    outcome = next(o for o in run(Policy(("t",), (rule,)), Target(root=root)).outcomes if o.check == "EK201")
    assert outcome.status == "failed"
    assert [f.message for f in outcome.findings] == [
        "baseline revision zz9 is in no Alembic configuration read; fix the rule's `baseline`"
    ]


def test_version_subfolders_not_named_for_dialects_are_one_history(tmp_path: Path) -> None:
    """env.py that joins `versions/y2023` and `versions/y2024` at run time: not a folder per dialect, so
    not split (a revision's parent in the other folder is no broken graph); it cannot be read statically."""
    from evidence_kit import config as config_file
    from tests.collectors.test_alembic import _dialect_service

    root = _dialect_service(tmp_path, "context.script.version_locations = [db.orm.versions_dir]")
    versions = root / "src/svc/db/_migrations/versions"
    (versions / "postgresql").rename(versions / "y2023")
    (versions / "sqlite").rename(versions / "y2024")
    (versions / "y2024" / "s1_a.py").write_text(
        (versions / "y2024" / "s1_a.py").read_text().replace("down_revision = None", 'down_revision = "p2"')
    )
    (root / "evidence.yaml").write_text(
        "service: svc\ncollectors:\n  alembic:\n    configs: [{ini: src/svc/db/alembic.ini}]\n"
    )
    cfg = config_file.load(root / "evidence.yaml")
    outcomes = {o.check: o for o in run(policy.load(["default"]), Target(root=root, configs=(cfg,))).outcomes}
    assert outcomes["EK204"].status != "failed", [f.message for f in outcomes["EK204"].findings]
    assert outcomes["EK202"].status == "skipped"
    assert "cannot be read statically" in (outcomes["EK202"].reason or "")


def test_missing_evidence_says_whether_the_collector_ran_and_how_it_ended() -> None:
    """A gate whose artifact is missing: the collector was not configured or was skipped with `--skip`
    (the manifest does not list it), or it ran and ended without writing it (its status and error)."""
    from evidence_kit.policy.target import missing

    found = missing("EK303", "tests/tests.json", "tests", {"collectors": [{"name": "git", "status": "ok"}]})
    assert found.message == (
        "no evidence: data/tests/tests.json is not in the bundle (the `tests` collector did not run: "
        "configure it in evidence.yaml, or collect without leaving it out (`--skip tests`, or `--only` "
        "without it))"
    )
    # NOTE: a bundle that records what this collect left out tells the two causes apart.
    skipped = {"collectors": [], "config": {"path": "evidence.yaml", "sha256": "0", "left_out": ["tests"]}}
    assert missing("EK303", "tests/tests.json", "tests", skipped).message == (
        "no evidence: data/tests/tests.json is not in the bundle (the `tests` collector is configured but "
        "this collect left it out (`--skip tests`, or `--only` without it): collect without leaving it out)"
    )
    skipped["config"]["left_out"] = []  # type: ignore[index]
    assert missing("EK303", "tests/tests.json", "tests", skipped).message == (
        "no evidence: data/tests/tests.json is not in the bundle (the `tests` collector is not configured: "
        "add it to evidence.yaml)"
    )
    error = "pytest exited with code 4 (usage error or a conftest that fails to import); " + "x" * 300
    ran = {"collectors": [{"name": "tests", "status": "error", "error": error}]}
    found = missing("EK303", "tests/tests.json", "tests", ran)
    assert found.message.startswith(
        "no evidence: data/tests/tests.json is not in the bundle (the `tests` collector ran (error: pytest "
        "exited with code 4 (usage error or a conftest that fails to import); xxx"
    )
    assert found.message.endswith("x...) but did not write it)") and len(found.message) < 330
    assert missing(
        "EK303", "tests/tests.json", "tests", {"collectors": [{"name": "tests", "status": "ok"}]}
    ).message == (
        "no evidence: data/tests/tests.json is not in the bundle (the `tests` collector ran (ok) but did not "
        "write it)"
    )


def test_a_note_says_when_the_source_checked_is_at_another_commit_than_the_bundle(tmp_path: Path) -> None:
    from evidence_kit.collectors.git import head_sha
    from evidence_kit.commands.check import _other_commit

    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "app.py").write_text("x = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "first")
    here = head_sha(tmp_path)
    assert here is not None
    assert _other_commit(tmp_path, {"git": {"sha": here}}) is None
    note = _other_commit(tmp_path, {"git": {"sha": "0" * 40}})
    assert note == (
        f"note: the source checks read {tmp_path} at {here[:12]}, the bundle was collected at 000000000000: "
        "check the source at the bundle's commit to judge one state"
    )
    assert _other_commit(tmp_path / "app.py", {"git": {"sha": "0" * 40}}) is None
    assert _other_commit(tmp_path, {"git": {"sha": None}}) is None


def _ek101(root: Path) -> list[Finding]:
    """EK101's findings for the word `websocket` in the files of `root` (the rules are kept outside it)."""
    report = run(_ek101_policy(root.parent), Target(root=root))
    return [f for f in report.findings if f.check == "EK101"]


def test_the_caret_stands_under_the_forbidden_word_of_an_indented_line(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text(
        "class Feed:\n        def go(self):\n            return open_websocket()\n"
    )
    (found,) = _ek101(root)
    assert (found.line, found.col, found.snippet) == (3, 25, "return open_websocket()")
    lines = render(
        "text", Report((Outcome("EK101", "forbidden-vocabulary", "error", "failed", (found,)),))
    ).splitlines()
    shown = next(i for i, line in enumerate(lines) if line.strip() == found.snippet)
    caret = lines[shown + 1].index("^")
    assert lines[shown][caret : caret + len("websocket")] == "websocket"


def test_a_long_line_is_shown_around_its_match_and_keeps_the_whole_lines_fingerprint(tmp_path: Path) -> None:
    from evidence_kit.checks.vocabulary import SHOWN
    from evidence_kit.model import fingerprint

    names = ", ".join(f"'name_{i:04d}'" for i in range(400))
    line = f"    NAMES = {{{names}, 'websocket_route', {names}}}"
    assert len(line) > 10 * SHOWN
    root = tmp_path / "svc"
    root.mkdir()
    (root / "names.py").write_text(f"import os\n{line}\n")
    (found,) = _ek101(root)
    assert found.snippet.startswith("…") and found.snippet.endswith("…")
    assert len(found.snippet) <= SHOWN + 2
    assert found.snippet_col is not None
    at = found.snippet_col - 1
    assert found.snippet[at : at + len("websocket")] == "websocket"
    # NOTE: the fingerprint is the whole line's, as before lines were cut: waivers keep working.
    whole = Finding("EK101", "", path="names.py", snippet=line.strip())
    assert found.fingerprint == fingerprint(whole)
    # NOTE: the line is written once in the text report, cut; not once per finding in full.
    text = render("text", Report((Outcome("EK101", "forbidden-vocabulary", "error", "failed", (found,)),)))
    assert names not in text and "websocket_route" in text


def test_findings_in_many_files_each_honour_their_own_allow_comments(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    for name in ("a", "b", "c"):
        allow = "  # evidence: allow[EK101] the protocol's own name" if name == "b" else ""
        (root / f"{name}.py").write_text(f"websocket = 1{allow}\nother_websocket = 2\n")
    waived = {(f.path, f.line): f.waived for f in _ek101(root)}
    assert waived == {
        ("a.py", 1): None,
        ("a.py", 2): None,
        ("b.py", 1): "inline: the protocol's own name",
        ("b.py", 2): "inline: the protocol's own name",
        ("c.py", 1): None,
        ("c.py", 2): None,
    }


def test_the_engine_checks_are_skipped_when_they_have_nothing_to_read(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text("websocket = 1\n")
    statuses = {
        o.check: (o.status, o.reason) for o in run(_ek101_policy(tmp_path), Target(root=root)).outcomes
    }
    assert statuses["EK001"] == (
        "skipped",
        "no `# evidence: allow[...]` comment names a finding's check on its line or the line above",
    )
    assert statuses["EK002"] == ("skipped", "the rule packs hold no waiver")
    # NOTE: with a comment to read and a waiver to judge, each passes.
    (root / "worker.py").write_text("websocket = 1  # evidence: allow[EK101] the protocol's name\n")
    waiver = "  - {check: EK101, path: other.py, owner: a, reason: later, expires: '2999-01-01'}\n"
    statuses = {
        o.check: o.status
        for o in run(_ek101_policy(tmp_path, "waivers:\n" + waiver), Target(root=root)).outcomes
    }
    assert (statuses["EK001"], statuses["EK002"]) == ("passed", "passed")


def _ek101_policy(folder: Path, more: str = "") -> Policy:
    rules = folder / "rules.yaml"
    rules.write_text("checks:\n  EK101:\n    severity: error\n    options: {forbidden: [websocket]}\n" + more)
    return policy.load([str(rules)])


def test_a_long_lines_part_never_shows_a_secret_its_cut_would_separate_from_its_name(tmp_path: Path) -> None:
    from evidence_kit.redact.rules import fill

    password, _ = fill("{alnum:40}", "check/long-line-password")
    token, _ = fill("ghp_{alnum:36}", "check/long-line-token")
    pad = ", ".join(f'tag{i}="t{i}"' for i in range(25))
    lines = [
        f'db_password="{password}", region="eu-west-1-zone-a-b", {pad}, transport="websocket")',
        f'GH = "{token}"; {pad}; MODE = "websocket"',
        f'dsn = "websocket"; {pad}; url = "postgresql://app_user:{password}@db.internal/app"',
        # NOTE: a short line, its secret before the match: masked, the caret still under the word.
        f'db_password = "{password}"; mode = "websocket"',
    ]
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text("\n".join(lines) + "\n")
    findings = _ek101(root)
    assert len(findings) == 4
    for found in findings:
        shown = found.snippet
        for secret in (password, token):
            assert not any(secret[i : i + 8] in shown for i in range(len(secret) - 7)), shown
        assert found.snippet_col is not None
        at = found.snippet_col - 1
        assert shown[at : at + len("websocket")] == "websocket", (shown, found.snippet_col)
    text = render(
        "text", Report((Outcome("EK101", "forbidden-vocabulary", "error", "failed", tuple(findings)),))
    )
    assert password[:8] not in text and token[4:12] not in text


def test_a_match_inside_a_masked_secret_is_shown_without_a_caret(tmp_path: Path) -> None:
    from evidence_kit.redact.rules import fill

    value, _ = fill("{alnum:12}websocket{alnum:12}", "check/match-in-secret")
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text(f'API_TOKEN = "{value}"\n')
    findings = [f for f in _ek101_substring(root) if f.line == 1]
    assert findings and all(f.snippet_col is None and value not in f.snippet for f in findings)


def _ek101_substring(root: Path) -> list[Finding]:
    rules = root.parent / "rules.yaml"
    rules.write_text(
        "checks:\n  EK101:\n    severity: error\n"
        "    options: {forbidden: [{term: websocket, match: substring}]}\n"
    )
    report = run(policy.load([str(rules)]), Target(root=root))
    return [f for f in report.findings if f.check == "EK101"]


def test_a_clean_run_is_all_green_though_no_waiver_or_allow_comment_was_read(tmp_path: Path) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "worker.py").write_text("polling = 1\n")
    report = run(_ek101_policy(tmp_path), Target(root=root))
    assert {o.check: o.status for o in report.outcomes} == {
        "EK101": "passed",
        "EK001": "skipped",
        "EK002": "skipped",
    }
    assert render("markdown", report).startswith("## ✅ evidence check")
    assert "::notice" not in render("github", report)
    # NOTE: another skipped check still is a gap: not all green, and annotated.
    gap = Outcome("EK304", "gate-required-artifacts", "error", "skipped", reason="no --bundle given")
    with_gap = Report((*report.outcomes, gap))
    assert render("markdown", with_gap).startswith("## ⚠️ evidence check")
    assert "EK304 skipped" in render("github", with_gap)


def _terminal_column(text: str) -> int:
    """Where a terminal puts what follows `text`: tabs stop every 8 columns, wide characters take two."""
    import unicodedata

    column = 0
    for ch in text:
        column = (
            (column // 8 + 1) * 8
            if ch == "\t"
            else column + (2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)
        )
    return column


def test_each_caret_stands_under_its_own_word_past_a_masked_secret_a_tab_or_wide_characters(
    tmp_path: Path,
) -> None:
    from evidence_kit.redact.rules import fill

    token, _ = fill("{alnum:40}", "check/caret-past-secret")
    root = tmp_path / "svc"
    root.mkdir()
    source = (
        f'API_TOKEN = "{token}"  # websocket websocket\n'
        'a = 1\t# websocket\nNAME = "日本語日本語"  # websocket\n'
    )
    (root / "worker.py").write_text(source)
    findings = _ek101(root)
    assert len(findings) == 4
    text = render(
        "text", Report((Outcome("EK101", "forbidden-vocabulary", "error", "failed", tuple(findings)),))
    )
    lines = text.splitlines()
    columns = []
    for found in findings:
        at = next(i for i, line in enumerate(lines) if f":{found.line}:{found.col}:" in line)
        shown, caret = lines[at + 1], lines[at + 2]
        assert token not in shown
        word = shown.index("websocket", len(shown) - len(shown.lstrip()) + (found.snippet_col or 0) - 1)
        assert _terminal_column(caret[: caret.index("^")]) == _terminal_column(shown[:word]), (shown, caret)
        columns.append(_terminal_column(caret[: caret.index("^")]))
    # NOTE: the two hits of the first line stand under two words.
    assert columns[0] != columns[1]


def test_a_value_named_on_a_line_above_is_masked_in_a_findings_snippet(tmp_path: Path) -> None:
    """`SECRET_KEY = (`, then the string: the line shown is masked as in its file (and a YAML block's)."""
    from evidence_kit.redact.rules import fill

    value, _ = fill("{alnum:16}websocket{alnum:16}", "check/value-below-name")
    root = tmp_path / "svc"
    root.mkdir()
    (root / "settings.py").write_text(
        f'SECRET_KEY = (\n    "{value}"\n)\nLABEL = (\n    "websocket-{value[:4]}"\n)\n'
    )
    (root / "deploy.yaml").write_text(f"auth:\n  api_token: >-\n    {value}\n  mode: websocket\n")
    # NOTE: in triple quotes, and under a bare key.
    (root / "keys.py").write_text(f'SIGNING_KEY = """\n{value}\n"""\n')
    (root / "worker.yaml").write_text(f"queue:\n  api_token:\n    {value}\n")
    findings = {(f.path, f.line): f for f in _ek101_substring(root)}
    assert set(findings) == {
        ("settings.py", 2),
        ("settings.py", 5),
        ("deploy.yaml", 3),
        ("deploy.yaml", 4),
        ("keys.py", 2),
        ("worker.yaml", 3),
    }
    for found in findings.values():
        for part in (value[:16], value[-16:]):
            assert not any(part[i : i + 8] in found.snippet for i in range(9)), found.snippet
    # NOTE: innocent lines keep their text and their caret.
    assert findings["settings.py", 5].snippet == f'"websocket-{value[:4]}"'
    assert findings["settings.py", 5].snippet_col == 2
    assert findings["deploy.yaml", 4].snippet == "mode: websocket"
