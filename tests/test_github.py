"""GitHub Actions helpers, the composite action's metadata and scripts, and the workflows under actionlint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.commands import init
from evidence_kit.errors import EvidenceError
from evidence_kit.support import github

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / ".github" / "actions" / "evidence-kit" / "action.yml"
EXAMPLE_WORKFLOW = ROOT / "examples" / "jobs_service" / ".github" / "workflows" / "evidence.yml"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _read_outputs(text: str) -> dict[str, str]:
    """Parse a `$GITHUB_OUTPUT` file the way the runner does."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
    return out


def test_outputs_are_appended_as_name_value_lines(tmp_path: Path) -> None:
    target = tmp_path / "output"
    target.write_text("earlier=1\n", encoding="utf-8")
    env = {"GITHUB_OUTPUT": str(target)}

    assert github.write_outputs({"bundle": "/w/.evidence/b", "digest": "ab=cd"}, env=env)
    assert github.write_outputs({"check-result": "pass"}, env=env)
    assert target.read_text("utf-8") == "earlier=1\nbundle=/w/.evidence/b\ndigest=ab=cd\ncheck-result=pass\n"


def test_multiline_outputs_use_a_delimiter_absent_from_the_value(tmp_path: Path) -> None:
    target = tmp_path / "output"
    value = "line one\nEOF\r\nline = three\n"
    assert github.write_outputs({"report": value, "after": "x"}, env={"GITHUB_OUTPUT": str(target)})

    text = target.read_bytes().decode("utf-8")
    first = text.split("\n", 1)[0]
    assert re.fullmatch(r"report<<EOF_[0-9a-f]{32}", first)
    assert first.split("<<")[1] not in value
    assert _read_outputs(text) == {"report": value, "after": "x"}


def test_outputs_refuse_a_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="output name"):
        github.write_outputs({"a=b": "x"}, env={"GITHUB_OUTPUT": str(tmp_path / "o")})


@pytest.mark.parametrize("env", [{}, {"GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""}])
def test_unset_variables_make_both_helpers_no_ops(
    env: dict[str, str], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert github.write_outputs({"a": "b"}, env=env) is False
    assert github.append_summary("# hello", env=env) is False
    assert list(tmp_path.iterdir()) == []


def test_default_env_is_the_process_environment(tmp_path: Path, monkeypatch: Any) -> None:
    target = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    assert github.write_outputs({"a": "b"})
    assert target.read_text("utf-8") == "a=b\n"


def test_summary_is_appended(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(target)}

    assert github.append_summary("## collect\nok", env=env)
    assert github.append_summary("## check\n", env=env)
    assert target.read_text("utf-8") == "## collect\nok\n## check\n"


@pytest.mark.parametrize("already", [0, github.SUMMARY_LIMIT - 5_000])
def test_summary_is_cut_under_the_limit_with_a_note(tmp_path: Path, already: int) -> None:
    target = tmp_path / "summary.md"
    target.write_bytes(b"x" * already)
    row = "| ✅ | EK304 | `data/queue/jobs.json` | a finding with multi-byte text: é ü 漢字 |\n"
    markdown = "## evidence check\n" + row * (github.SUMMARY_LIMIT // len(row.encode()) + 10)

    assert github.append_summary(markdown, env={"GITHUB_STEP_SUMMARY": str(target)})
    data = target.read_bytes()
    assert len(data) < github.SUMMARY_LIMIT
    text = data.decode("utf-8")
    assert "cut to stay under GitHub's 1 MiB step-summary limit" in text
    kept = text[already:].split("\n> **Note:**")[0]
    assert kept.startswith("## evidence check\n") and kept.endswith("|\n")
    counts = re.search(r"; (\d+) of (\d+) bytes were left out", text)
    assert counts is not None
    assert int(counts.group(1)) == len(markdown.encode()) - len(kept.encode())
    assert int(counts.group(2)) == len(markdown.encode())


def test_summary_under_the_limit_is_kept_whole(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    markdown = "a" * 1000 + "\n"
    assert github.append_summary(markdown, env={"GITHUB_STEP_SUMMARY": str(target)})
    assert target.read_text("utf-8") == markdown


def test_an_unwritable_target_is_an_evidence_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="cannot append to \\$GITHUB_OUTPUT"):
        github.write_outputs({"a": "b"}, env={"GITHUB_OUTPUT": str(tmp_path / "missing" / "out")})


# --- the composite action ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text("utf-8"))
    return data


def _steps(action: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    return steps


def test_action_is_composite_with_the_documented_inputs_and_outputs(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    defaults = {name: spec.get("default") for name, spec in action["inputs"].items()}
    assert defaults == {
        "config": "evidence.yaml",
        "rules": "",
        "phase": "",
        "fail-on": "error",
        "retention-days": "30",
        "artifact-name": "evidence-bundle",
        "upload-sarif": "false",
        "collect-args": "",
        "working-directory": ".",
        "python-version": "3.12",
        "push": "",
        "registry-token": "${{ github.token }}",
    }
    assert all(spec.get("description") for spec in action["inputs"].values())
    assert {"bundle", "digest", "check-result"} <= set(action["outputs"])
    ids = {step.get("id") for step in _steps(action)}
    for spec in action["outputs"].values():
        (expr,) = EXPRESSION.findall(spec["value"])
        assert expr.split(".")[0] == "steps" and expr.split(".")[1] in ids


def test_no_input_or_expression_is_spliced_into_a_script(action: dict[str, Any]) -> None:
    scripts = [step["run"] for step in _steps(action) if "run" in step]
    assert scripts
    for script in scripts:
        assert "${{" not in script, script
        assert not re.search(r"\$\{\{\s*inputs\.", script)


def test_every_run_step_names_its_shell_and_every_input_is_used(action: dict[str, Any]) -> None:
    used: set[str] = set()
    for step in _steps(action):
        if "run" in step:
            assert step.get("shell") == "bash"
        for expr in [*EXPRESSION.findall(yaml.safe_dump(step)), str(step.get("if", ""))]:
            used.update(re.findall(r"inputs\.([A-Za-z0-9_-]+)", expr))
    assert used == set(action["inputs"])


def test_every_action_used_is_pinned_by_a_full_commit_sha(action: dict[str, Any]) -> None:
    uses = [step["uses"] for step in _steps(action) if "uses" in step]
    assert {u.split("@")[0] for u in uses} == {
        "actions/setup-python",
        "actions/upload-artifact",
        "github/codeql-action/upload-sarif",
    }
    for ref in uses:
        assert PINNED.match(ref), ref
    text = ACTION.read_text("utf-8")
    for ref in uses:
        assert re.search(re.escape(ref) + r" # v\d+\.\d+\.\d+$", text, re.MULTILINE), ref


def _run_step(
    step: dict[str, Any], inputs: dict[str, str], steps: dict[str, str], tmp_path: Path
) -> list[str]:
    """Run one `run:` step with a fake `evidence` on PATH; return the argv it was called with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "argv"
    fake = bin_dir / "evidence"
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {log}\n', encoding="utf-8")
    fake.chmod(0o755)

    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        return steps[expr]

    env = {k: EXPRESSION.sub(value, str(v)) for k, v in (step.get("env") or {}).items()}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RUNNER_TEMP="/runner/temp", HOME=str(tmp_path)
    )
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text("utf-8").splitlines()


INPUTS = {
    "config": "conf/evidence $(touch pwned).yaml",
    "rules": "default  phase16 evidence-rules.yaml",
    "phase": "3.6 beta",
    "fail-on": "warning",
    "collect-args": "--strict --skip http",
}


def test_collect_step_passes_inputs_as_separate_arguments(action: dict[str, Any], tmp_path: Path) -> None:
    step = next(s for s in _steps(action) if s.get("id") == "collect")
    argv = _run_step(step, INPUTS, {}, tmp_path)

    assert argv == [
        "collect",
        "--config",
        "conf/evidence $(touch pwned).yaml",
        "--archive",
        "--github",
        "--phase",
        "3.6 beta",
        "--strict",
        "--skip",
        "http",
    ]
    assert not (tmp_path / "pwned").exists()


def test_collect_step_without_phase_or_extra_arguments(action: dict[str, Any], tmp_path: Path) -> None:
    step = next(s for s in _steps(action) if s.get("id") == "collect")
    argv = _run_step(step, {**INPUTS, "phase": "", "collect-args": ""}, {}, tmp_path)
    assert argv == ["collect", "--config", "conf/evidence $(touch pwned).yaml", "--archive", "--github"]


def test_check_step_repeats_rules_and_asks_for_github_output(action: dict[str, Any], tmp_path: Path) -> None:
    step = next(s for s in _steps(action) if s.get("id") == "check")
    archive = "/w/.evidence/svc-1-abc.tar.gz"
    argv = _run_step(step, INPUTS, {"steps.collect.outputs.archive": archive}, tmp_path)

    assert argv == [
        "check",
        ".",
        "--config",
        "conf/evidence $(touch pwned).yaml",
        "--bundle",
        archive,
        "--fail-on",
        "warning",
        "--rules",
        "default",
        "--rules",
        "phase16",
        "--rules",
        "evidence-rules.yaml",
        "--format",
        "github",
        "--sarif",
        "/runner/temp/evidence-kit.sarif",
        "--github-summary",
    ]
    argv = _run_step(step, {**INPUTS, "rules": ""}, {"steps.collect.outputs.archive": archive}, tmp_path)
    assert "--rules" not in argv


def test_push_step_pushes_the_archive_only_when_asked(action: dict[str, Any], tmp_path: Path) -> None:
    step = next(s for s in _steps(action) if s.get("id") == "push")
    assert step["if"] == "inputs.push != ''"
    archive = "/w/.evidence/svc-1-abc.tar.gz"
    pushed = "oci://ghcr.io/acme/jobs/evidence:$(touch pwned)"
    inputs = {**INPUTS, "push": pushed, "registry-token": "t"}
    argv = _run_step(step, inputs, {"steps.collect.outputs.archive": archive}, tmp_path)
    assert argv == ["push", archive, pushed, "--github"]
    assert not (tmp_path / "pwned").exists()
    assert step["env"]["GITHUB_TOKEN"] == "${{ inputs.registry-token }}"
    assert action["outputs"]["reference"]["value"] == "${{ steps.push.outputs.reference }}"


# --- actionlint ---------------------------------------------------------------------------------------


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.is_file() else shutil.which("actionlint")


needs_actionlint = pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed")


def _lint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_actionlint()), "-no-color", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_actionlint
def test_actionlint_passes_the_project_and_example_workflows() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    done = _lint(*workflows, EXAMPLE_WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_actionlint
def test_actionlint_passes_the_workflow_init_writes(example_copy: Path) -> None:
    (example_copy / init.WORKFLOW_FILE).unlink()
    init.write(example_copy, init.detect(example_copy))
    done = _lint(example_copy / init.WORKFLOW_FILE, cwd=example_copy)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_actionlint
def test_actionlint_accepts_a_workflow_using_the_action_with_every_input(
    action: dict[str, Any], tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    local = tmp_path / ".github" / "actions" / "evidence-kit"
    local.mkdir(parents=True)
    shutil.copy(ACTION, local / "action.yml")
    inputs = {name: "x" for name in action["inputs"]}
    outputs = {f"OUT_{i}": f"${{{{ steps.ek.outputs.{name} }}}}" for i, name in enumerate(action["outputs"])}
    workflow: dict[str, Any] = {
        "name": "uses-the-action",
        "on": "pull_request",
        "permissions": {},
        "jobs": {
            "evidence": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"},
                    {"id": "ek", "uses": "./.github/actions/evidence-kit", "with": inputs},
                    {"run": "true", "env": outputs},
                ],
            }
        },
    }
    path = tmp_path / ".github" / "workflows" / "uses.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    assert _lint(path, cwd=tmp_path).returncode == 0

    workflow["jobs"]["evidence"]["steps"][1]["with"] = {**inputs, "no-such-input": "x"}
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    done = _lint(path, cwd=tmp_path)
    assert done.returncode == 1 and "no-such-input" in done.stdout
