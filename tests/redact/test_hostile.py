"""Hostile or just large logs: the work a rule does grows with the size of the text, never faster.

Nothing here is timed: the tests count the lines the block rules read and check the shape of the
patterns, so they fail the same way on a loaded machine and a quiet one.
"""

from __future__ import annotations

from collections.abc import Callable
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest

from evidence_kit.redact import redactor
from evidence_kit.redact.redactor import Redactor
from evidence_kit.redact.rules import builtin

LINES = 2000
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _nested_unbounded(items: Any) -> list[str]:
    """The unbounded repeats in a parsed pattern whose item may itself be of any width: `(?:[ \\t]+\\S+)*`,
    which a failing match retries in every split of the text it covers, from every place it starts."""
    found: list[str] = []
    for op, av in items:
        if op in _REPEATS:
            _, most, sub = av
            if most == sre_constants.MAXREPEAT and sub.getwidth()[1] >= sre_constants.MAXREPEAT:
                found.append(str(sub)[:60])
            found += _nested_unbounded(sub)
        elif op == sre_constants.SUBPATTERN:
            found += _nested_unbounded(av[3])
        elif op == sre_constants.ATOMIC_GROUP:
            found += _nested_unbounded(av)
        elif op == sre_constants.BRANCH:
            for branch in av[1]:
                found += _nested_unbounded(branch)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found += _nested_unbounded(av[1])
    return found


COMMAND_LINE_RULES = [r for r in builtin().rules if r.family == "command lines"]


@pytest.mark.parametrize("rule", COMMAND_LINE_RULES, ids=[r.name for r in COMMAND_LINE_RULES])
def test_command_line_patterns_repeat_no_unbounded_run_of_words(rule: Any) -> None:
    """A tool's arguments are read as at most a bounded number of words (`{0,32}`), each taken whole: a
    line of `mysql mysql mysql …` or `htpasswd -b …` without an end cannot make each start read on to
    the end of the line, nor retry every split of it."""
    parsed = sre_parse.parse(rule.pattern.pattern.decode("latin-1"))
    assert _nested_unbounded(parsed) == []


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls = [0]
    original: Callable[..., Any] = getattr(redactor, name)

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(redactor, name, counted)
    return calls


def test_a_mapping_with_many_kind_secret_lines_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tenth line `kind: Secret` in one long mapping: its lines are walked once, not once per line."""
    text = "".join("kind: Secret\n" if i % 10 == 0 else f"key_{i}: value {i}\n" for i in range(LINES))
    calls = _counting(monkeypatch, "_ends_mapping")
    Redactor().mask_text(text)
    assert calls[0] <= 2 * LINES


def test_loguru_mark_lines_are_walked_back_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(f"  │ └ 'value {i}'\n" for i in range(LINES))
    calls = _counting(monkeypatch, "_line_at")
    Redactor().mask_text(text)
    assert calls[0] <= 3 * LINES


def test_sql_echo_of_statements_naming_no_secret_reads_no_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's echo log (statements without a secret-named column) costs what any log costs."""
    prefix = "INFO sqlalchemy.engine.Engine "
    text = "".join(
        f"{prefix}UPDATE jobs SET state=?, locked_by=? WHERE jobs.id = ?\n"
        f"{prefix}[cached since {i}.1s ago] ('running', 'worker-{i}', {i})\n"
        for i in range(LINES // 2)
    )
    calls = _counting(monkeypatch, "_statement_before")
    assert Redactor().mask_text(text) == (text, 0)
    assert calls[0] == 0


def test_long_runs_of_blanks_around_a_line_that_names_a_value_do_not_hang() -> None:
    """Blanks where a naming line's optional parts meet (`api_key:` then 150,000 blanks, a string then as
    many): a pattern that could split them two ways retried every split, minutes for one line. Run apart,
    so that a regression stops at a deadline instead of hanging the suite; not a measure of speed."""
    import subprocess
    import sys

    script = (
        "from evidence_kit.redact.redactor import Redactor, may_go_on\n"
        "r = Redactor.from_env({})\n"
        "blanks = b' \\t' * 75000\n"
        "for data in (b'api_key:' + blanks + b'x\\n', b'note:' + blanks + b'x'):\n"
        "    r.mask(data)\n"
        "r.mask(b'SECRET = (\\n\"a\"' + blanks + b'x\\n)')\n"
        "assert not may_go_on('\"a\"' + ' ' * 150000 + 'x')\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "done", done.stderr[-2000:]


def test_a_long_call_line_with_many_arguments_does_not_hang() -> None:
    """A secret-named setting's call with thousands of arguments and no string (`Field(x, x, …`, a
    `token_ids = bytes([0, 1, …])` of 14 KB): a pattern that could split the arguments two ways retried
    every split, minutes for one line. Run apart, with a deadline; not a measure of speed."""
    import subprocess
    import sys

    script = (
        "from evidence_kit.redact.redactor import Redactor\n"
        "r = Redactor.from_env({})\n"
        "r.mask(b'secret_key: str = Field(' + b'x, ' * 40000 + b'\\n')\n"
        "r.mask(b'token_ids = bytes([' + b', '.join(str(i).encode() for i in range(20000)) + b'])\\n')\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "done", done.stderr[-2000:]
