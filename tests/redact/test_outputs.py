"""Every command's every output format, over a tree and bundles seeded with secrets, shows none of them.

The bundles are written unmasked (as an older evidence-kit or another tool might have), so what keeps
the secrets out is the masking at each renderer's output, not the writer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.cli import app
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.prefilter import Buffer
from evidence_kit.redact.redactor import Redactor, Tally
from evidence_kit.redact.rules import fill
from tests.redact.corpus import Planted, leaks, tree_bytes

TEMPLATES = {
    "github": "ghp_{alnum:36}",
    "stripe": "sk_live_{alnum:24}",
    "aws": "AKIA{updigit:16}",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJ{b64url:40}.{b64url:43}",
    "url": "{alnum:18}",
    "kv": "{alnum:20}",
    "env": "Ev{alnum:18}",
}
S = {name: fill(template, f"outputs/{name}")[0] for name, template in TEMPLATES.items()}
ENV = {"DEPLOY_SECRET": S["env"]}


class Leaky(Redactor):
    """A writer's redactor that masks nothing: bundles as an old or foreign tool leaves them."""

    def _mask(self, data: Buffer, tally: Tally | None) -> tuple[Buffer, int]:
        return data, 0


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def seeded_bundle(out: Path, new: bool) -> Path:
    """A bundle whose artifacts, argv, errors and CI facts hold every secret, unmasked."""
    url = f"postgresql://app:{S['url']}@db.internal/jobs"
    tests = [
        {"id": f"tests/test_auth.py::test_login[{S['github']}]", "outcome": "failed" if new else "passed"},
        {"id": "tests/test_jobs.py::test_submit", "outcome": "passed", "message": None},
    ]
    if new:
        tests[0]["message"] = f"AssertionError: DB_PASSWORD={S['kv']} rejected by {url}"
    routes = [{"path": "/jobs", "methods": ["GET"], "operation_ids": ["list_jobs"]}]
    if new:
        routes.append({"path": f"/hooks/{S['stripe']}", "methods": ["POST"], "operation_ids": ["hook"]})
    argv = ("sh", "-c", f"deploy --token {S['github']} --db {url}")
    outputs = {
        "command": [
            Output(
                "deploy.stdout.txt",
                "Deploy (stdout)",
                data=f"using {S['aws']} and {S['jwt']}\nAPI_TOKEN={S['stripe']}\n{S['env']}\n".encode(),
                argv=argv,
                exit_code=1,
                status="failed",
                message=f"exit code 1 with DB_PASSWORD={S['kv']}",
            ),
            Output("deploy.stderr.txt", "Deploy (stderr)", data=f"{url}\n".encode(), argv=argv, exit_code=1),
        ],
        "tests": [
            Output(
                "tests.json",
                "Tests",
                "application/json",
                data=_json(
                    {
                        "totals": {"tests": 2, "passed": 1 if new else 2, "failed": 1 if new else 0},
                        "tests": tests,
                    }
                ),
            )
        ],
        "openapi": [Output("routes.json", "Routes", "application/json", data=_json(routes))],
        "files": [Output(f"logs/{S['github']}.log", "log", data=f"token {S['jwt']}\n".encode())],
    }
    writer = BundleWriter(out, Leaky())
    for collector, items in outputs.items():
        for item in items:
            writer.add(collector, item)
    results = [CollectorResult(c, "ok", tuple(items)) for c, items in outputs.items()]
    results.append(CollectorResult("sql", "error", error=f"cannot connect to {url}", hint=f"try {S['env']}"))
    return writer.finish(
        service="jobs",
        phase="2" if new else "1",
        git_sha=("b" if new else "a") * 40,
        results=results,
        host={"name": "ci", "platform": "Linux", "python": "3.11"},
        ci={"provider": "github", "run_url": f"https://ci:{S['url']}@ci.example.com/run/7"},
    )


def seeded_tree(root: Path) -> Path:
    """A service tree whose forbidden-vocabulary hits sit on lines holding secrets."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "live.py").write_text(
        f'WEBSOCKET_TOKEN = "{S["github"]}"  # websocket auth\n'
        f'websocket_url = "postgresql://app:{S["url"]}@db.internal/jobs"\n'
        f"STREAMING_PASSWORD = '{S['kv']}'  # streaming\n"
        f'def websocket(): return "{S["env"]}"\n'
    )
    return root


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[dict[str, Path]]:
    old = seeded_bundle(tmp_path / "old", new=False)
    new = seeded_bundle(tmp_path / "new", new=True)
    yield {"tree": seeded_tree(tmp_path / "service"), "old": old, "new": new, "out": tmp_path / "outputs"}


def invoke(argv: list[str], shown: list[bytes]) -> None:
    result = CliRunner().invoke(app, argv, env={**ENV, "COLUMNS": "200"})
    shown += [result.stdout_bytes, result.stderr_bytes]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_no_output_of_any_command_shows_a_secret(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, old, new, out = world["tree"], world["old"], world["new"], world["out"]
    monkeypatch.chdir(tree)
    shown: list[bytes] = []
    for fmt in ("text", "json", "sarif", "junit", "github", "markdown"):
        invoke(["check", str(tree), "--bundle", str(new), "--rules", "phase16", "--format", fmt], shown)
        invoke(
            ["check", str(tree), "--rules", "phase16", "--format", fmt, "--output", str(out / f"c.{fmt}")],
            shown,
        )
    invoke(["check", str(tree), "--rules", "phase16", "--sarif", str(out / "also.sarif")], shown)
    for fmt in ("text", "markdown", "json"):
        invoke(["diff", str(old), str(new), "--format", fmt], shown)
        invoke(["diff", str(old), str(new), "--format", fmt, "--output", str(out / f"d.{fmt}")], shown)
    invoke(["report", str(new), "--out", str(out / "report")], shown)
    invoke(["report", "--diff", str(old), str(new), "--out", str(out / "diff-report")], shown)
    invoke(["docs", str(new), "--out", str(out / "docs")], shown)
    for extra in ([], ["--predicate-only"], ["--out", str(out / "statement.json")]):
        invoke(["attest", str(new), *extra], shown)
    invoke(["verify", str(new), "--json"], shown)
    written = [data for data in tree_bytes(out).values()]
    items = [Planted(name, "outputs", "", (value,)) for name, value in S.items()]
    # NOTE: the secrets did reach the renderers: the bundles and the tree hold every one of them in clear.
    seeded = b"\n".join(tree_bytes(new).values()) + (tree / "app" / "live.py").read_bytes()
    assert len(leaks(items, [seeded])) == len(items)
    leaked = leaks(items, shown + written)
    assert not leaked, leaked
    assert len(written) >= 12 and b"[REDACTED]" in b"".join(shown)


def test_errors_and_progress_lines_show_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://app:{S['url']}@db.internal/jobs"
    (tmp_path / "bad.yaml").write_text(
        f"service: x\ndatabase: {{default: '{url}'}}\ncollectors: {{git: true}}\n"
    )
    (tmp_path / "good.yaml").write_text(
        "service: x\n"
        "collectors:\n"
        "  command:\n"
        "    commands:\n"
        f"      - {{name: broken, run: 'true', cwd: 'missing-{S['github']}'}}\n"
        f"      - {{name: failing, run: 'echo {S['stripe']}; exit 3'}}\n"
    )
    shown: list[bytes] = []
    invoke(["collect", "-c", "bad.yaml"], shown)
    invoke(["collect", "-c", "good.yaml", "--out", "out"], shown)
    invoke(["collect", "-c", "good.yaml", "--out", "out", "--json"], shown)
    invoke(["verify", str(tmp_path / f"nothing-{S['aws']}")], shown)
    items = [Planted(name, "outputs", "", (value,)) for name, value in S.items()]
    leaked = leaks(items, shown)
    assert not leaked, leaked
    joined = b"".join(shown)
    assert b"[REDACTED]" in joined and b"does not exist" in joined and b"broken" in joined


def test_the_environment_secret_is_masked_in_output_only_while_it_is_set() -> None:
    from evidence_kit.redact.scrub import scrub

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPLOY_SECRET", S["env"])
        assert scrub(f"value {S['env']}") == "value [REDACTED]"
    if "DEPLOY_SECRET" not in os.environ:
        assert scrub(f"value {S['env']}") == f"value {S['env']}"
