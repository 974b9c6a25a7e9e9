"""The commands as plain functions: called with a recording printer, no typer or rich in between."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from evidence_kit.commands import Style, exiting, show_error
from evidence_kit.commands import check as check_command
from evidence_kit.commands import collect as collect_command
from evidence_kit.commands import diff as diff_command
from evidence_kit.commands import pack as pack_command
from evidence_kit.commands import verify as verify_command
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, EvidenceError


class Recorder:
    """A Printer that keeps what a command printed, and the status lines it showed."""

    def __init__(self, terminal: bool = False) -> None:
        self.is_terminal = terminal
        self.stdout = ""
        self.stderr = ""
        self.styled: list[tuple[str, Style]] = []
        self.statuses: list[str] = []

    def out(self, text: str, style: Style | None = None, end: str = "\n") -> None:
        self.stdout += text + end
        if style:
            self.styled.append((text, style))

    def err(self, text: str, style: Style | None = None, end: str = "\n") -> None:
        self.stderr += text + end
        if style:
            self.styled.append((text, style))

    @contextmanager
    def status(self, text: str) -> Iterator[Recorder]:
        self.statuses.append(text)
        yield self

    def update(self, text: str, /) -> None:
        self.statuses.append(text)


def config(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "worker.log").write_text("claimed job 1\n")
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: demo\nphase: '1'\noutput: out\ncollectors:\n"
        "  command:\n    commands:\n      - {name: proof, run: 'echo ok'}\n"
        "  files:\n    sets:\n      - {name: logs, glob: logs/*.log}\n"
    )
    return cfg


def collected(tmp_path: Path) -> Path:
    printer = Recorder()
    assert collect_command.run(printer, config(tmp_path), as_json=True) == EXIT_OK
    assert printer.stderr == "" and printer.statuses == []
    return Path(json.loads(printer.stdout)["bundle"])


def test_collect_verify_and_pack_return_their_exit_codes(tmp_path: Path) -> None:
    bundle = collected(tmp_path)
    printer = Recorder()
    assert verify_command.run(printer, bundle) == EXIT_OK
    assert printer.stdout.startswith(f"verified {bundle.name}: 3 artifacts, ")
    assert printer.styled == [("verified", "ok")]

    (bundle / "data" / "files" / "logs" / "logs" / "worker.log").write_text("edited\n")
    printer = Recorder()
    assert verify_command.run(printer, bundle) == EXIT_FAIL
    assert printer.styled == [("NOT verified", "error")]
    assert "  modified: data/files/logs/logs/worker.log: " in printer.stdout
    with pytest.raises(EvidenceError, match="refusing to pack") as refused:
        pack_command.run(Recorder(), bundle)
    assert refused.value.exit_code == EXIT_FAIL


def test_verify_json_reports_an_unreadable_bundle_as_a_verdict(tmp_path: Path) -> None:
    printer = Recorder()
    assert verify_command.run(printer, tmp_path / "missing", as_json=True) == EXIT_FAIL
    verdict = json.loads(printer.stdout)
    assert verdict["ok"] is False and "does not exist" in verdict["error"]
    with pytest.raises(EvidenceError, match="does not exist") as raised:
        verify_command.run(Recorder(), tmp_path / "missing")
    assert raised.value.exit_code == EXIT_FAIL


def test_collect_on_a_terminal_shows_a_spinner_and_coloured_lines(tmp_path: Path) -> None:
    printer = Recorder(terminal=True)
    assert collect_command.run(printer, config(tmp_path)) == EXIT_OK
    assert printer.statuses[0] == "collecting" and printer.statuses[-1] == "writing the bundle"
    assert any(s.startswith("collecting: ") for s in printer.statuses[1:-1])
    assert "start " not in printer.stderr
    assert {style for text, style in printer.styled if "artifacts" in text} == {"ok"}
    assert printer.stdout.startswith("bundle  ")


def test_collect_in_a_log_prints_plain_lines(tmp_path: Path) -> None:
    printer = Recorder(terminal=False)
    assert collect_command.run(printer, config(tmp_path)) == EXIT_OK
    assert printer.statuses == [] and printer.styled == []
    assert "start command\n" in printer.stderr and "start files\n" in printer.stderr
    assert "0 of 2 collectors not ok" in printer.stdout


def test_usage_errors_leave_the_exit_code_to_the_cli(tmp_path: Path) -> None:
    bundle = collected(tmp_path)
    with pytest.raises(EvidenceError, match="unknown format 'yaml'") as raised:
        diff_command.run(Recorder(), bundle, bundle, fmt="yaml")
    assert raised.value.exit_code is None
    with pytest.raises(EvidenceError, match="unknown --fail-on level 'bogus'") as raised:
        check_command.run(Recorder(), tmp_path, fail_on="bogus")
    assert raised.value.exit_code is None
    with pytest.raises(EvidenceError, match="does not exist") as raised:
        diff_command.run(Recorder(), bundle, tmp_path / "missing")
    assert raised.value.exit_code == EXIT_FAIL


def test_check_writes_its_report_exactly(tmp_path: Path) -> None:
    printer = Recorder()
    code = check_command.run(printer, tmp_path, rules=["default"], fmt="json")
    assert code == EXIT_OK
    assert printer.stdout.endswith("}\n") and json.loads(printer.stdout)["summary"]["failed"] == 0


def test_exiting_gives_a_code_only_to_errors_without_one() -> None:
    with pytest.raises(EvidenceError) as plain, exiting(EXIT_FAIL):
        raise EvidenceError("x")
    assert plain.value.exit_code == EXIT_FAIL
    with pytest.raises(EvidenceError) as own, exiting(EXIT_FAIL):
        raise EvidenceError("x", exit_code=EXIT_USAGE)
    assert own.value.exit_code == EXIT_USAGE


def test_show_error_prints_message_details_and_tip() -> None:
    printer = Recorder()
    show_error(printer, EvidenceError("broken [x]", hint="fix it", details=["a", "b"]))
    assert printer.stderr == "error: broken [x]\n  - a\n  - b\nTip: fix it\n"
    assert printer.styled == [("error:", "error"), ("Tip:", "strong")]


def test_a_message_several_artifacts_share_is_said_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A failed test run marks its log, report and summary `1 failed`: one failure, not three."""
    from types import SimpleNamespace

    from evidence_kit.commands.collect import _run_collector
    from evidence_kit.model import Context, Output

    outputs = [
        Output("stdout.txt", "t", status="failed", message="1 failed"),
        Output("tests.json", "t", status="failed", message="1 failed"),
        Output("junit.xml", "t"),
        Output("summary.txt", "t", status="failed", message="1 failed"),
        Output("stderr.txt", "t", status="error", message="pytest printed a warning"),
    ]
    fake = SimpleNamespace(collect=lambda ctx, options: outputs)
    monkeypatch.setitem(collect_command.COLLECTORS, "tests", fake)
    result = _run_collector("tests", Context(tmp_path, tmp_path / "s"), {})
    assert (
        result.error == "stdout.txt, tests.json, summary.txt: 1 failed; stderr.txt: pytest printed a warning"
    )
