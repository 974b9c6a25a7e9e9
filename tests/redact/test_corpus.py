"""Recall and precision on the corpora, through a real collect: no secret kept, no innocent byte changed."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from evidence_kit.commands.collect import collect
from evidence_kit.config import load
from evidence_kit.redact import prefilter, redactor
from evidence_kit.redact.redactor import Redactor
from tests.redact import corpus

CONTEXTS = {
    "service.log": "log line",
    "events.jsonl": "JSON",
    "config.yaml": "YAML",
    "settings.toml": "TOML",
    "app.ini": "INI",
    ".env": ".env",
    "deploy.sh": "shell",
    "requests.http": "HTTP headers",
    "settings.py": "Python",
    "schema.sql": "SQL",
    "traceback.txt": "traceback",
}


def collect_tree(root: Path, contents: dict[str, str], extra: str = "") -> Path:
    """Write the files, then collect them (files collector, and `cat` of each through the command one)."""
    corpus.write(root, contents)
    globs = ", ".join(f'"{name}"' for name in sorted(contents))
    commands = "".join(
        f"      - {{name: cat-{i}, run: [cat, {name!r}]}}\n" for i, name in enumerate(sorted(contents))
    )
    (root / "evidence.yaml").write_text(
        "service: corpus\n"
        "collectors:\n"
        "  files:\n"
        f"    sets: [{{name: tree, glob: [{globs}]}}]\n"
        "  command:\n"
        "    commands:\n" + commands + extra
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root)}
    return collect(load(root / "evidence.yaml"), out=root / "out", env=env).bundle


def test_the_secret_corpus_is_broad() -> None:
    planted = corpus.planted()
    assert len(corpus.shapes()) >= 80
    assert {p.file for p in planted} >= set(CONTEXTS) | {"keys.pem"}
    assert len(planted) >= 250


def test_recall_no_secret_byte_reaches_the_bundle(tmp_path: Path) -> None:
    planted = corpus.planted()
    bundle = collect_tree(tmp_path, corpus.files((p.file, p.text) for p in planted))
    blobs = corpus.tree_bytes(bundle)
    leaked = corpus.leaks(planted, blobs.values())
    assert not leaked, "\n".join(leaked)
    # NOTE: the test means something only if the secrets went in: every file was collected twice.
    copied = [p for p in blobs if p.startswith("data/files/tree/")]
    assert len(copied) == len({p.file for p in planted})


def test_precision_every_lookalike_comes_out_byte_identical(tmp_path: Path) -> None:
    contents = corpus.files(corpus.lookalikes())
    bundle = collect_tree(tmp_path, contents)
    import json

    manifest = json.loads((bundle / "manifest.json").read_text())
    for name, text in contents.items():
        copied = (bundle / "data" / "files" / "tree" / name).read_text("utf-8")
        changed = [(a, b) for a, b in zip(text.splitlines(), copied.splitlines(), strict=True) if a != b]
        assert not changed, f"{name}: {changed}"
        assert copied == text
    assert manifest["redactions"] == 0, manifest["redactions_by_rule"]


def test_lookalike_corpus_is_broad() -> None:
    lines = corpus.lookalikes()
    assert len(lines) >= 80
    assert {f for f, _ in lines} >= {"settings.py", ".env", "config.yaml", "service.log", "requests.http"}


def test_source_code_of_this_project_and_its_example_keeps_its_bytes() -> None:
    """Code that reads secrets is not a secret: every Python file shipped here passes through unchanged.

    Except the redactor's own modules, whose docstrings show what a secret looks like, on purpose.
    """
    repo = Path(__file__).resolve().parents[2]
    red = Redactor.from_env({})
    sources = [
        p
        for p in sorted((repo / "evidence_kit").rglob("*.py")) + sorted((repo / "examples").rglob("*.py"))
        if "redact" not in p.relative_to(repo).parts
    ]
    assert len(sources) > 50
    changed = []
    for path in sources:
        data = path.read_bytes()
        masked, count = red.mask(data)
        if count:
            lines = [a for a, b in zip(data.splitlines(), masked.splitlines(), strict=True) if a != b]
            changed.append(f"{path.relative_to(repo)}: {lines[:3]}")
    assert not changed, "\n".join(changed)


def everything() -> bytes:
    planted = corpus.files((p.file, p.text) for p in corpus.planted())
    innocent = corpus.files(corpus.lookalikes())
    return "".join(planted.values()).encode() + "".join(innocent.values()).encode()


@pytest.mark.skipif(prefilter.available() != "re2", reason="google-re2 is not installed")
def test_both_prefilter_engines_give_the_same_masks() -> None:
    data = everything()
    with_re2 = Redactor.from_env({}, engine="re2").mask(data)
    with_re = Redactor.from_env({}, engine="re").mask(data)
    assert with_re2 == with_re
    assert with_re2[1] > 250


@pytest.mark.parametrize("chunk", [4096, 65536])
def test_streaming_in_small_blocks_gives_the_same_masks(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = everything()
    red = Redactor.from_env({})
    whole = red.mask(data)
    monkeypatch.setattr(redactor, "CHUNK", chunk)
    monkeypatch.setattr(redactor, "_CARRY_LIMIT", chunk * 4)
    out: list[bytes] = []
    count, truncated = red.stream(io.BytesIO(data), lambda b: out.append(bytes(b)))
    assert (b"".join(out), count) == whole and not truncated


def test_a_long_line_without_newline_is_cut_at_a_blank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redactor, "CHUNK", 1024)
    monkeypatch.setattr(redactor, "MAX_LINE", 4096)
    secret = "ghp_" + "k3Jq9Lm2Zx" * 4
    data = (("word " * 2000) + f"token {secret} " + ("word " * 2000)).encode()
    out: list[bytes] = []
    Redactor.from_env({}).stream(io.BytesIO(data), lambda b: out.append(bytes(b)))
    assert b"".join(out).count(b"[REDACTED]") == 1 and secret.encode() not in b"".join(out)


def test_the_example_service_ci_workflow_keeps_its_bytes() -> None:
    """`POSTGRES_PASSWORD: postgres` is a well-known default, not a secret: the copy matches git."""
    repo = Path(__file__).resolve().parents[2]
    workflow = repo / "examples" / "jobs_service" / ".github" / "workflows" / "evidence.yml"
    data = workflow.read_bytes()
    assert Redactor.from_env({}).mask(data) == (data, 0)


def test_python_running_this_test_is_not_a_secret() -> None:
    assert Redactor.from_env({}).mask_text(sys.executable) == (sys.executable, 0)
