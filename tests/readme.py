"""The generated parts of README.md; `python -m tests.readme` refreshes them on purpose."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from evidence_kit.cli import app
from evidence_kit.support.reference import markdown, redaction_markdown, rules_markdown, secret_names_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
COMMANDS = [
    "--help",
    "collect --help",
    "verify --help",
    "pack --help",
    "check --help",
    "diff --help",
    "report --help",
    "docs --help",
    "merge --help",
    "attest --help",
    "init --help",
    "push --help",
    "pull --help",
    "list --help",
    "cache --help",
]
_BLOCK = re.compile(r"(<!-- BEGIN (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END (?P=name) -->)", re.S)


def help_text(command: str) -> str:
    """The real output of `evidence <command>` at a fixed width."""
    res = CliRunner().invoke(app, command.split(), env={"COLUMNS": "100", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    return f"```console\n$ evidence {command}\n{res.stdout.rstrip()}\n```\n"


def blocks() -> dict[str, str]:
    """Every generated block, by marker name."""
    made = {
        "config-reference": markdown(),
        "rules": rules_markdown(),
        "redaction-rules": redaction_markdown(),
        "secret-names": secret_names_markdown(),
    }
    for command in COMMANDS:
        name = "help-" + (command.split()[0] if command != "--help" else "main")
        made[name] = help_text(command)
    return made


def refresh(text: str) -> str:
    """README text with every marked block replaced by its generated content."""
    made = blocks()
    return _BLOCK.sub(lambda m: m.group(1) + made.get(m["name"], m["body"]) + m.group(4), text)


if __name__ == "__main__":
    README.write_text(refresh(README.read_text()))
    sys.stdout.write("README.md refreshed\n")
