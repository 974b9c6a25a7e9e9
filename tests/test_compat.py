"""Bundles of earlier releases (tests/fixtures/bundles-v1) still verify, read, report, diff and check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evidence_kit.bundle.verify import verify
from evidence_kit.commands.docs import render_docs
from evidence_kit.diff import diff
from evidence_kit.diff.render import as_json
from evidence_kit.evidence import alembic, command, openapi, tests
from evidence_kit.evidence.view import BundleView
from evidence_kit.policy import loader
from evidence_kit.policy.engine import run
from evidence_kit.policy.target import Target
from evidence_kit.report.render import render

V1 = Path(__file__).parent / "fixtures" / "bundles-v1"
BUNDLES = sorted(p.name for p in V1.iterdir() if p.is_dir())


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    """The fixtures copied, so that nothing a test does can touch the committed files."""
    shutil.copytree(V1, tmp_path / "v1")
    return tmp_path / "v1"


def test_there_are_fixtures_of_each_shape() -> None:
    assert BUNDLES == ["jobs-service", "jobs-service-merged", "tenants"]


@pytest.mark.parametrize("name", BUNDLES)
def test_every_v1_bundle_verifies_and_declares_its_layout(name: str) -> None:
    verdict = verify(V1 / name)
    assert verdict.ok, verdict.problems
    assert BundleView.open(V1 / name).layout == "1"


@pytest.mark.parametrize("name", BUNDLES)
def test_every_v1_bundle_renders_a_report_and_the_phase_documents(
    name: str, copy: Path, tmp_path: Path
) -> None:
    md, html = render(copy / name, tmp_path / "report")
    assert name in md.read_text() or "jobs-service" in md.read_text()
    assert html.read_text().startswith("<!DOCTYPE html>")
    docs = {p.name: p.read_text() for p in render_docs(copy / name, tmp_path / "docs")}
    assert len(docs) == 6


def test_the_readers_see_every_configuration_and_the_webhook() -> None:
    view = BundleView.open(V1 / "tenants")
    configs = {c.name: c for c in alembic.read(view).configs}
    assert sorted(configs) == ["core", "tenant"]
    assert configs["core"].up_to_date is True and configs["tenant"].up_to_date is False
    assert [r.revision for r in configs["core"].revisions if r.is_merge] == ["c3m"]
    found = openapi.read(view)
    assert [r.line for r in found.routes] == ["GET /runs", "POST webhook runFinished"]


def test_the_readers_read_the_example_bundle_and_the_merged_parts() -> None:
    view = BundleView.open(V1 / "jobs-service")
    assert [c.name for c in alembic.read(view).configs] == ["alembic"]
    runs = command.read(view).runs
    assert [r.name for r in runs] == ["lifecycle-proof"] and runs[0].exit_code == 0 and runs[0].ok
    assert tests.read(view).first is not None
    merged = BundleView.open(V1 / "jobs-service-merged")
    assert [label for label, _ in merged.parts()] == ["py311", "py312"]
    assert tests.read(merged).runs[-1].source == "merged/tests.json"
    for _, part in merged.parts():
        assert [c.name for c in alembic.read(part).configs] == ["alembic"]


def test_v1_bundles_diff_against_each_other() -> None:
    report = as_json(diff(V1 / "jobs-service", V1 / "tenants"))
    kinds = {s["kind"] for s in report["sections"]}
    assert {"migrations", "routes"} <= kinds
    routes = next(s for s in report["sections"] if s["kind"] == "routes")
    assert any("webhook:runFinished added" in c["what"] for c in routes["changes"])


def test_the_default_gates_judge_v1_bundles_by_configuration(copy: Path) -> None:
    policy = loader.load(["default"])
    bundle = copy / "tenants"
    manifest = BundleView.open(bundle).manifest
    report = run(policy, Target(bundle=bundle, manifest=dict(manifest)))
    outcomes = {o.check: o for o in report.outcomes}
    assert outcomes["EK304"].status == "passed"
    assert outcomes["EK302"].status == "failed"
    assert [f.message for f in outcomes["EK302"].findings] == [
        "Alembic configuration tenant, schema tenant: database is at t1, heads are t2 "
        "(1 revision not applied)"
    ]
