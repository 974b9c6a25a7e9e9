"""Secret values from the environment, the config's `env:` and `redact.allow`, through a real collect."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.commands.collect import collect
from evidence_kit.config import load
from evidence_kit.errors import EvidenceError
from evidence_kit.redact.redactor import Redactor, Tally, secret_pairs, secret_values
from evidence_kit.redact.rules import fill
from tests.redact.corpus import tree_bytes

SECRET, _ = fill("Pg{alnum:14}", "env-secret")
OTHER, _ = fill("Zq{alnum:16}", "env-other")


def run(root: Path, config: str, env: dict[str, str] | None = None) -> tuple[Path, dict[str, Any]]:
    (root / "evidence.yaml").write_text(config)
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(root)}
    summary = collect(load(root / "evidence.yaml"), out=root / "out", env={**base, **(env or {})})
    return summary.bundle, summary.manifest


def everything(bundle: Path) -> bytes:
    return b"\n".join(tree_bytes(bundle).values())


def test_the_issue_cases_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "service.log").write_text(
        f"pg_dump --host=127.0.0.1 --port 5432 jobs\n"
        f"ui at http://localhost:8080\n"
        f"connected with {SECRET}\n"
        "SMTP_PASSWORD=\n"
        "EMAILS_FROM_EMAIL=info@example.com\n"
    )
    env = {
        "APP_POSTGRES_PWD": SECRET,
        "SESSION_COOKIE_DOMAIN": "127.0.0.1",
        "APP_UI_URL": "http://localhost:8080",
        "SORT_KEY": "created_at_desc",
    }
    bundle, manifest = run(
        tmp_path,
        "service: envs\ncollectors:\n  files:\n    sets: [{name: logs, glob: service.log}]\n",
        env,
    )
    copied = (bundle / "data" / "files" / "logs" / "service.log").read_text()
    assert SECRET not in copied
    assert "--host=127.0.0.1" in copied and "http://localhost:8080" in copied
    assert "SMTP_PASSWORD=\nEMAILS_FROM_EMAIL=info@example.com\n" in copied
    assert manifest["redactions"] == 1 and manifest["redactions_by_rule"] == {"secret-value": 1}


def test_a_secret_named_variable_of_a_command_env_is_masked_everywhere(tmp_path: Path) -> None:
    (tmp_path / "worker.log").write_text(f"retrying with {SECRET} and {OTHER}\n")
    config = (
        "service: envs\n"
        "collectors:\n"
        "  files:\n"
        "    sets: [{name: logs, glob: worker.log}]\n"
        "  command:\n"
        "    commands:\n"
        "      - name: proof\n"
        "        run: 'echo deploying as $DEPLOY_PASSWORD; echo $UPSTREAM_API_TOKEN >&2'\n"
        f"        env: {{DEPLOY_PASSWORD: {SECRET}, UPSTREAM_API_TOKEN: '${{UPSTREAM_VALUE}}'}}\n"
    )
    bundle, _ = run(tmp_path, config, {"UPSTREAM_VALUE": OTHER})
    data = everything(bundle)
    assert SECRET.encode() not in data and OTHER.encode() not in data
    assert (bundle / "data/command/proof.stdout.txt").read_text() == "deploying as [REDACTED]\n"
    assert (bundle / "data/command/proof.stderr.txt").read_text() == "[REDACTED]\n"


def test_multi_word_values_are_masked_whole_in_argv_too(tmp_path: Path) -> None:
    config = (
        "service: envs\n"
        "collectors:\n"
        "  command:\n"
        "    commands:\n"
        "      - {name: proof, run: [env, 'MY_APP_PASSWORD=horse battery staple', 'true']}\n"
    )
    _, manifest = run(tmp_path, config)
    argv = next(a["argv"] for a in manifest["artifacts"] if a["path"].endswith("stdout.txt"))
    assert argv == ["env", "MY_APP_PASSWORD=[REDACTED]", "true"]


def test_the_value_of_a_secret_named_option_is_masked_in_argv(tmp_path: Path) -> None:
    """An option and its value are two items of an argv: each masked alone, the value would be kept."""
    config = (
        "service: envs\n"
        "collectors:\n"
        "  command:\n"
        "    commands:\n"
        f"      - {{name: proof, run: [echo, --db-password, {SECRET}, --region, eu-west-1]}}\n"
    )
    bundle, manifest = run(tmp_path, config)
    argv = next(a["argv"] for a in manifest["artifacts"] if a["path"].endswith("stdout.txt"))
    assert argv == ["echo", "--db-password", "[REDACTED]", "--region", "eu-west-1"]
    assert SECRET.encode() not in everything(bundle)


@pytest.mark.parametrize(
    ("argv", "masked"),
    [
        (["deploy", "--api-key", OTHER], ["deploy", "--api-key", "[REDACTED]"]),
        (["deploy", f"--api-key={OTHER}", "-v"], ["deploy", "--api-key=[REDACTED]", "-v"]),
        (["mysql", "--password", "jobs"], ["mysql", "--password", "jobs"]),
        (["deploy", "--token", "TOKEN", "--password", "changeme"], None),
        (["deploy", "--token-file", "/run/secrets/token", "--password", "-v"], None),
        (["deploy", "--sort-key", OTHER, "--token", "short"], None),
    ],
)
def test_mask_argv(argv: list[str], masked: list[str] | None) -> None:
    expected = masked or argv
    tally = Tally()
    assert Redactor.from_env({}).mask_argv(argv, tally) == expected
    assert tally.total == sum("[REDACTED]" in arg for arg in expected)


def test_the_allow_list_lets_through_and_counts_never_shows(tmp_path: Path) -> None:
    fixture, _ = fill("fixture-{alnum:12}", "allowed-value")
    (tmp_path / "app.log").write_text(
        "CSRF_TOKEN=abc123def456ghi789\n"
        f"DB_PASSWORD={fixture}\n"
        "API_TOKEN=test-12345678\n"
        f"OTHER_TOKEN={OTHER}\n"
        f"the fixture password {fixture} appears bare too\n"
    )
    config = (
        "service: allow\n"
        "redact:\n"
        "  allow:\n"
        "    names: [csrf_token]\n"
        f"    values: ['{fixture}']\n"
        "    patterns: ['test-[0-9]+']\n"
        "collectors:\n"
        "  files:\n"
        "    sets: [{name: logs, glob: app.log}]\n"
    )
    bundle, manifest = run(tmp_path, config, {"FIXTURE_PASSWORD": fixture})
    copied = (bundle / "data/files/logs/app.log").read_text()
    assert copied.splitlines() == [
        "CSRF_TOKEN=abc123def456ghi789",
        f"DB_PASSWORD={fixture}",
        "API_TOKEN=test-12345678",
        "OTHER_TOKEN=[REDACTED]",
        f"the fixture password {fixture} appears bare too",
    ]
    record = next(a for a in manifest["artifacts"] if a["path"].endswith("app.log"))
    assert record["redacted"] == {"secret-assignment": 1}
    assert record["allowed"] == {"name:csrf_token": 1, "pattern:test-[0-9]+": 1, "value:#1": 2}
    assert manifest["allowed"] == record["allowed"]
    assert fixture not in (bundle / "manifest.json").read_text()


@pytest.mark.parametrize(
    ("redact", "where"),
    [
        ("{allow: {patterns: ['(unclosed']}}", "redact.allow.patterns.0"),
        ("{allow: {names: CSRF_TOKEN}}", "redact.allow.names"),
        ("{allow: {keys: [x]}}", "redact.allow"),
    ],
)
def test_a_bad_allow_list_is_a_clear_error(tmp_path: Path, redact: str, where: str) -> None:
    (tmp_path / "evidence.yaml").write_text(f"service: x\nredact: {redact}\ncollectors: {{git: true}}\n")
    with pytest.raises(EvidenceError) as caught:
        load(tmp_path / "evidence.yaml")
    assert any(f": {where}: " in d and "fix:" in d for d in caught.value.details), caught.value.details


def test_secret_values_learned_from_the_environment() -> None:
    first, second = fill("MIIE{b64:40}", "pem-1")[0], fill("BKcw{b64:30}", "pem-2")[0]
    marker = "PRIVATE " + "KEY-----"
    key = f"-----BEGIN {marker}\n{first}\n{second}\n-----END {marker}"
    env = {
        "DATABASE_URL": f"postgresql://app:{SECRET}%21@db/jobs",
        "TLS_PRIVATE_KEY": key,
        "DB_PASSWORD": "changeme",
        "API_TOKEN_TTL": "3600",
        "SESSION_SECRET": "/run/secrets/session",
        "LISTED": OTHER,
    }
    values = set(secret_values(env, extra_names=["LISTED"]))
    assert values == {
        f"{SECRET}%21",
        f"{SECRET}!",
        first,
        second,
        OTHER,
    }
    assert ("TLS_PRIVATE_KEY", second) in secret_pairs(env)


def test_a_url_password_holding_a_slash_is_learned_from_the_environment() -> None:
    """SQLAlchemy reads `app:abc/def@db` as the password `abc/def`; urlsplit finds none."""
    password = f"{SECRET[:6]}/{OTHER[:10]}+{SECRET[6:12]}"
    env = {"DATABASE_URL": f"postgresql+psycopg://app:{password}@db.internal:5432/jobs"}
    assert secret_values(env) == [password]
    masked, count = Redactor.from_env(env).mask_text(f"login as app with {password} failed")
    assert masked == "login as app with [REDACTED] failed" and count == 1


def test_literal_values_are_found_url_encoded_and_json_escaped() -> None:
    value = 'pa ss"w/rd&42'
    red = Redactor([value])
    text = f'raw {value} url pa%20ss%22w%2Frd%2642 json "pa ss\\"w/rd&42"'
    masked, count = red.mask_text(text)
    assert masked == 'raw [REDACTED] url [REDACTED] json "[REDACTED]"' and count == 3


def test_a_secret_shortened_around_an_ellipsis_is_masked_with_its_ends() -> None:
    value, _ = fill("{alnum:32}", "env-shortened")
    red = Redactor([value])
    # NOTE: how pytest shows a long string in a failed assertion: its start, `...`, its end.
    line = f"E       AssertionError: assert '{value[:12]}...{value[-13:]}' == 'expected-something-else'"
    masked, count = red.mask_text(line)
    assert masked == "E       AssertionError: assert '[REDACTED]' == 'expected-something-else'" and count == 1
    for shown in (f"{value[:8]}…{value[-4:]}", f"token {value[:20]}... (cut)", f"{value}"):
        assert value[:8] not in red.mask_text(shown)[0], shown
    # NOTE: cut within its first 8 characters, its end alone gives it away (from 8 characters on).
    masked, count = red.mask_text(f"assert '{value[:3]}...{value[-27:]}' == 'x'")
    assert masked == f"assert '{value[:3]}[REDACTED]' == 'x'" and count == 1
    # NOTE: what follows the ellipsis is masked only as far as it ends the value.
    assert red.mask_text(f"{value[:10]}...{value[-3:]}) done")[0] == "[REDACTED]) done"
    # NOTE: what only starts like it, or shows fewer than 8 of its first characters, is not the secret.
    innocent = [
        f"{value[:10]}X...",
        f"{value[:12]} ...",
        "Loading...",
        f"{value[:7]}...{value[-7:]}",
        f"wait... {value[-8:]}",
    ]
    for text in innocent:
        assert red.mask_text(text) == (text, 0), text
    # NOTE: an ellipsis as JSON escapes it or HTML writes it is one too; a head may hold punctuation.
    for shown in (json.dumps(f"rejected {value[:12]}\u2026{value[-12:]}"), f"{value[:10]}&hellip;"):
        assert value[:8] not in red.mask_text(shown)[0] and value[-8:] not in red.mask_text(shown)[0], shown
    punctuated, _ = fill("{alnum:2}$K{alnum:2}!{alnum:2}#{alnum:12}", "env-shortened-punctuated")
    assert Redactor([punctuated]).mask_text(f"'{punctuated[:12]}...'")[0] == "'[REDACTED]'"
    # NOTE: a secret that is a URL has no head to look for: its scheme is no part of a secret.
    dsn, _ = fill("https://{alnum:24}@o1.ingest.example.com/4", "env-shortened-url")
    for text in ("See https://... for details", "Loading https://...done 12 files"):
        assert Redactor([dsn]).mask_text(text) == (text, 0), text


def test_an_allowed_value_shortened_around_an_ellipsis_is_kept() -> None:
    from evidence_kit.redact.redactor import Allow

    value, _ = fill("{alnum:24}", "env-allowed-shortened")
    red = Redactor.from_pairs([("DEMO_TOKEN", value)], allow=Allow(values=(value,)))
    text = f"token {value[:12]}...{value[-6:]}"
    assert red.mask_text(text) == (text, 0)


def test_manifest_json_stays_valid_when_masked(tmp_path: Path) -> None:
    (tmp_path / "payload.json").write_text(json.dumps({"password": SECRET, "note": 'say "hi"'}))
    bundle, _ = run(
        tmp_path, "service: j\ncollectors:\n  files:\n    sets: [{name: p, glob: payload.json}]\n"
    )
    assert json.loads((bundle / "data/files/p/payload.json").read_text()) == {
        "password": "[REDACTED]",
        "note": 'say "hi"',
    }
