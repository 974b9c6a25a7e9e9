"""Every check against its pass/fail cases in cases.yaml (one parametrized test)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit import config
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.checks import CHECKS
from evidence_kit.config import Config
from evidence_kit.model import CollectorResult, Output
from evidence_kit.policy.packs import Rule
from evidence_kit.policy.target import Skipped, Target
from evidence_kit.redact.redactor import Redactor

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text())
PARAMS = [
    pytest.param(check, case, id=f"{check}: {case['name']}")
    for check, cases in CASES.items()
    for case in cases
]


DEFAULT_BODY = "op.execute('SELECT 1')"


def migration(rev: str, spec: dict[str, Any]) -> str:
    down = spec.get("down")
    upgrade = spec.get("upgrade", DEFAULT_BODY)
    downgrade = spec.get("downgrade", DEFAULT_BODY)
    lines = [
        f'"""{spec.get("message", f"revision {rev}")}\n\nRevision ID: {rev}\n"""',
        "from alembic import op",
        "",
        f"revision = {rev!r}",
        f"down_revision = {down!r}",
        "branch_labels = None",
        "depends_on = None",
        "",
        "",
        "def upgrade():",
        f"    {upgrade}",
    ]
    if "downgrade" in spec or "upgrade" not in spec:
        lines += ["", "", "def downgrade():", f"    {downgrade}"]
    return "\n".join(lines) + "\n"


def source_tree(tmp_path: Path, case: dict[str, Any]) -> tuple[Path, tuple[Config, ...]]:
    """The source root of a case: its alembic.ini (at `ini`, text `ini_text`), migrations, files.

    The ini is written when the case has `migrations` or `ini_text`. A migration named `name.py` goes
    to `migrations/versions/` beside the ini; a name with a folder (`core/versions/a1.py`) goes there,
    beside the ini. `files` are written as they are, `git: true`
    makes the root a git repository with everything committed, and `evidence_yaml` (a path, text
    pair) is the configuration the check is told about; with `git`, `git_exclude` is written to
    `.git/info/exclude` before the commit and `untracked` files after it.
    """
    root = tmp_path / "src"
    root.mkdir()
    ini = root / case.get("ini", "alembic.ini")
    if "migrations" in case or "ini_text" in case:
        ini.parent.mkdir(parents=True, exist_ok=True)
        ini.write_text(case.get("ini_text", "[alembic]\nscript_location = %(here)s/migrations\n"))
    for name, spec in (case.get("migrations") or {}).items():
        rel = name if "/" in name else f"migrations/versions/{name}"
        path = ini.parent / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        rev = spec.get("rev", Path(name).name.removesuffix(".py"))
        path.write_text(migration(rev, spec))
    for rel, text in (case.get("files") or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    configs: tuple[Config, ...] = ()
    if "evidence_yaml" in case:
        rel, text = case["evidence_yaml"]
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        configs = (config.load(root / rel),)
    if case.get("git"):
        subprocess.run(["git", "-C", str(root), "init", "-q", "-b", "main"], check=True, capture_output=True)
        (root / ".git" / "info").mkdir(exist_ok=True)
        (root / ".git" / "info" / "exclude").write_text(case.get("git_exclude", ""))
        for argv in (["add", "-A"], ["commit", "-qm", "case"]):
            subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True)
        for rel, text in (case.get("untracked") or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    return root.resolve(), configs


def bundle(tmp_path: Path, case: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    writer = BundleWriter(tmp_path / "out", Redactor())
    for name, value in (case.get("artifacts") or {}).items():
        collector, _, rest = name.partition("/")
        data = value.encode() if isinstance(value, str) else json.dumps(value).encode()
        status = (case.get("statuses") or {}).get(name, "ok")
        message = (case.get("artifact_messages") or {}).get(name)
        message = message or ("exit code 1, expected 0" if status == "failed" else None)
        writer.add(collector, Output(rest, name, data=data, status=status, message=message))
    results = [
        CollectorResult(n, s, error="boom" if s == "error" else None)
        for n, s in (case.get("collectors") or {"git": "ok"}).items()
    ]
    path = writer.finish(
        service="s",
        phase="1",
        git_sha="aaaa",
        results=results,
        host={"name": "h", "platform": "p", "python": "3"},
        ci=None,
    )
    if case.get("tamper"):
        (path / "data" / case["tamper"]).write_text("edited")
    return path, json.loads((path / "manifest.json").read_text())


@pytest.mark.parametrize(("check", "case"), PARAMS)
def test_check_case(tmp_path: Path, check: str, case: dict[str, Any]) -> None:
    module = CHECKS[check]
    rule = Rule(check, "error", case.get("options", {}), exclude=tuple(case.get("exclude", ())))
    if module.TARGET == "source":
        root, configs = source_tree(tmp_path, case)
        target = Target(root=root, configs=configs)
    else:
        path, manifest = bundle(tmp_path, case)
        target = Target(bundle=path, manifest=manifest)
    if case["expect"] == "skipped":
        with pytest.raises(Skipped) as skipped:
            list(module.run(target, rule))
        assert case["reason"] in skipped.value.reason
        return
    findings = list(module.run(target, rule))
    assert len(findings) == case["expect"], [f.message for f in findings]
    for text in case.get("messages", []):
        assert any(text in f.message for f in findings), (text, [f.message for f in findings])
    for where in case.get("paths", []):
        assert any(f.path == where for f in findings), (where, [f.path for f in findings])
    assert all(f.check == check and f.message for f in findings)


def test_every_check_has_cases_and_documentation() -> None:
    assert set(CASES) == set(CHECKS)
    for check_id, module in CHECKS.items():
        assert check_id == module.ID
        doc = module.__doc__ or ""
        assert doc.startswith(f"{check_id} {module.NAME}:"), check_id
        assert "Bad:" in doc and "Good:" in doc, check_id
        outcomes = {c["expect"] > 0 for c in CASES[check_id] if c["expect"] != "skipped"}
        assert outcomes == {True, False}, f"{check_id} needs a passing and a failing case"
