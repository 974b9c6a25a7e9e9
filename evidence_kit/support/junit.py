"""Read JUnit XML reports (pytest's and other runners') into one normalized, diffable shape.

The normalized report is `{"totals": {...}, "tests": [...]}`:

- `totals`: `tests`, `passed`, `failed`, `errors`, `skipped`, `xfailed`, `xpassed` (counts of the
  entries below) and `duration_s` (the report's own total time when it states one, else the sum of
  the test times). The counts are pytest's own, as its closing line prints them: a test counts once
  by the outcome of its call (passed, failed, skipped, xfailed), and every error raised in a setup or
  a teardown counts once more as an error. So a test that passed and then errored at teardown is in
  both `passed` and `errors` (pytest's `1 passed, 1 error`), and `tests` counts entries, not test
  functions. JUnit has no xpass: pytest's JUnit writer reports an unexpected pass as passed, so
  `xpassed` is only non-zero in reports made by the pytest plugin, or when the tests collector moves
  the count pytest's closing line gives from `passed` (its entries stay passed); an expected failure
  is a `<skipped type="pytest.xfail">` and counts as xfailed.
- `tests`: one entry per outcome: `id`, `outcome` (`passed`, `failed`, `error`, `skipped`,
  `xfailed`), `duration_s` (None when the report has no time) and `message` (the failure, error or
  skip message and text, capped to `MESSAGE_LIMIT` characters; None for a pass). A test with a
  teardown error has two entries of the same id: its own outcome, and the error.

The `id` is `classname::name`, or just `name` when the test case has no classname. It is not a
pytest node id: a dotted classname cannot be mapped back to a file path by its text alone
(`tests.test_x.TestY` may be `tests/test_x.py::TestY` or `tests/test_x/TestY.py`), so the id is kept
as the report states it, and is what two reports are compared by. Where the files the tests ran from
are at hand, :func:`add_nodes` gives each entry a `nodeid` too, the pytest node id one can paste
(`tests/test_x.py::TestY::test_z[1]`), from the longest dotted prefix of the classname that names a
`.py` file there; None when none does. Entries are sorted by id (then outcome and message), so two
reports of the same suite diff line by line; only the durations change between runs.
"""

from __future__ import annotations

import codecs
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceError

MAX_BYTES = 64 * 1024 * 1024
MESSAGE_LIMIT = 4096
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
# NOTE: the marks pytest's JUnit writer leaves: the message of an error raised at teardown, and the
# type of the <skipped> of an expected failure.
TEARDOWN_ERROR = "failed on teardown with "
XFAIL_TYPE = "pytest.xfail"
_TOTAL_KEYS = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_UNMARKED = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_DECLARED = re.compile(
    rb"""\A\s*<\?xml\b[^>]{0,200}?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]{0,40})["']"""
)
_SPACE = re.compile(r"[ \t\r\n]*")
_HINT = "point the collector at the JUnit XML file the test runner wrote (e.g. pytest --junitxml=FILE)"


class JUnitError(EvidenceError):
    """A JUnit report that cannot be read: not XML, not JUnit, too large or with a DTD."""


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _decode(data: bytes) -> str:
    # NOTE: the bytes are decoded here and the parser only ever sees this text, so the DTD check
    # below looks at exactly what is parsed, whatever encoding the document declares.
    encoding, start = "utf-8", 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    else:
        for prefix, name in _UNMARKED:
            if data.startswith(prefix):
                encoding = name
                break
        else:
            declared = _DECLARED.match(data)
            if declared:
                encoding = declared.group(1).decode("ascii")
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise JUnitError(f"the report declares an unknown encoding {encoding!r}", hint=_HINT) from exc
    try:
        return data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise JUnitError(
            f"the report is not valid {encoding} text (byte {exc.start + start}: {exc.reason})", hint=_HINT
        ) from exc


def _check_prolog(text: str) -> None:
    # NOTE: a DTD (and so any entity declaration) can only come before the root element; looking
    # there, not at the whole text, keeps a `<!DOCTYPE html>` inside a CDATA test log acceptable.
    i = 0
    while True:
        match = _SPACE.match(text, i)
        i = match.end() if match else i
        if text.startswith("<?", i):
            close = "?>"
        elif text.startswith("<!--", i):
            close = "-->"
        elif text.startswith("<!", i):
            raise JUnitError(
                "the report contains a DOCTYPE or ENTITY declaration, which is refused",
                hint="JUnit reports need no DTD; remove it (entity expansion could exhaust memory)",
            )
        else:
            return
        end = text.find(close, i + 2)
        if end < 0:
            return
        i = end + len(close)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    # NOTE: some runners write `1,234.5` (grouping), others `0,5` (a decimal comma).
    text = text.replace(",", "") if "." in text else text.replace(",", ".")
    try:
        seconds = float(text)
    except ValueError:
        return None
    return round(seconds, 6) if math.isfinite(seconds) and seconds >= 0 else None


def cap_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to about `limit` characters, keeping its start and (most of) its end."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"


def join_message(message: str | None, text: str | None) -> str | None:
    """A message attribute and its element text as one capped message (None when both are empty)."""
    parts: list[str] = []
    for part in (message, text):
        part = (part or "").strip("\r\n").rstrip()
        if part.strip() and part not in parts:
            parts.append(part)
    return cap_message("\n\n".join(parts)) if parts else None


def _message(marks: list[ET.Element]) -> str | None:
    messages = [join_message(m.get("message"), "".join(m.itertext())) for m in marks]
    joined = "\n\n".join(m for m in messages if m)
    return cap_message(joined) if joined else None


def _testcase(el: ET.Element, seen: set[str]) -> list[dict[str, Any]]:
    """The entries of one `<testcase>`: its own outcome, and one error per failed teardown."""
    classname = (el.get("classname") or "").strip()
    name = (el.get("name") or "").strip() or "(unnamed)"
    test_id = f"{classname}::{name}" if classname else name
    found: dict[str, list[ET.Element]] = {"failure": [], "error": [], "skipped": []}
    for child in el:
        tag = _local(child.tag)
        if tag in found:
            found[tag].append(child)
    teardown = [e for e in found["error"] if (e.get("message") or "").startswith(TEARDOWN_ERROR)]
    errors = [e for e in found["error"] if e not in teardown]
    duration = _seconds(el.get("time"))
    # NOTE: a case with both a failure and an error counts as failed: the test itself failed.
    own: str | None
    if found["failure"]:
        own, marks = "failed", found["failure"] + errors
    elif errors:
        own, marks = "error", errors
    elif found["skipped"]:
        xfail = any(m.get("type") == XFAIL_TYPE for m in found["skipped"])
        own, marks = ("xfailed" if xfail else "skipped"), found["skipped"]
    elif teardown and test_id in seen:
        # NOTE: pytest writes a failed call and its teardown error as two cases of the same id; the
        # second holds only the error.
        own, marks = None, []
    else:
        own, marks = "passed", []
    entries = []
    if own is not None:
        entries.append({"id": test_id, "outcome": own, "duration_s": duration, "message": _message(marks)})
    for error in teardown:
        entries.append(
            {
                "id": test_id,
                "outcome": "error",
                "duration_s": duration if own is None else None,
                "message": _message([error]),
            }
        )
    seen.add(test_id)
    return entries


def _duration(root: ET.Element, tests: list[dict[str, Any]]) -> float:
    own = _seconds(root.get("time"))
    if own is None and _local(root.tag) == "testsuites":
        suites = [_seconds(s.get("time")) for s in root if _local(s.tag) == "testsuite"]
        if suites and all(s is not None for s in suites):
            own = sum(s for s in suites if s is not None)
    if own is None:
        own = sum(t["duration_s"] or 0.0 for t in tests)
    return round(own, 3)


def sort_key(test: Mapping[str, Any]) -> tuple[str, str, str]:
    """The order of entries in a normalized report: by id, then outcome and message."""
    return (str(test["id"]), str(test["outcome"]), str(test.get("message") or ""))


def normalize(tests: Iterable[Mapping[str, Any]], duration_s: float) -> dict[str, Any]:
    """A normalized report from test entries: sorted entries and their totals."""
    entries = sorted((dict(t) for t in tests), key=sort_key)
    totals: dict[str, Any] = {"tests": len(entries), **dict.fromkeys(_TOTAL_KEYS.values(), 0)}
    for entry in entries:
        totals[_TOTAL_KEYS[entry["outcome"]]] += 1
    totals["duration_s"] = round(duration_s, 3)
    return {"totals": totals, "tests": entries}


def parse(data: bytes) -> dict[str, Any]:
    """The normalized report of a JUnit XML document; JUnitError when it is not one."""
    if len(data) > MAX_BYTES:
        raise JUnitError(f"the report is larger than {MAX_BYTES} bytes", hint="split the test run")
    text = _decode(data)
    _check_prolog(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).rsplit(": line", 1)[0]
        raise JUnitError(
            f"the report is not XML: {reason} at line {line}, column {column + 1}", hint=_HINT
        ) from exc
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise JUnitError(
            f"the report is XML but not JUnit: its root element is <{_local(root.tag)}>, "
            "not <testsuites> or <testsuite>",
            hint=_HINT,
        )
    tests: list[dict[str, Any]] = []
    seen: set[str] = set()
    # NOTE: an explicit stack, so deeply nested suites cannot exhaust the recursion limit; cases are
    # visited in document order (the order pytest wrote them in).
    stack: list[Iterator[ET.Element]] = [iter(root)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = _local(child.tag)
        if tag == "testcase" and not (child.get("name") or child.get("classname")) and not len(child):
            # NOTE: a case that names nothing and says nothing (pytest's for the test a Ctrl-C stopped).
            continue
        if tag == "testcase":
            tests.extend(_testcase(child, seen))
        elif tag in ("testsuite", "testsuites"):
            stack.append(iter(child))
    return normalize(tests, _duration(root, tests))


def parse_file(path: Path, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The normalized report of a JUnit XML file, refusing files over `max_bytes`."""
    limit = min(max_bytes, MAX_BYTES)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise JUnitError(f"cannot read the report {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise JUnitError(
            f"the report {path.name} is larger than {limit} bytes; it was not parsed",
            hint="raise `max_bytes`, or split the test run",
        )
    return parse(data)


def _count(n: int, word: str) -> str:
    if word == "error":
        word = "error" if n == 1 else "errors"
    return f"{n} {word}"


def summary_line(report: Mapping[str, Any]) -> str:
    """One line in pytest's style, e.g. `42 passed, 1 failed, 3 skipped in 12.30s`."""
    totals = report["totals"]
    parts = [
        _count(totals[key], label)
        for key, label in (
            ("passed", "passed"),
            ("failed", "failed"),
            ("errors", "error"),
            ("skipped", "skipped"),
            ("xfailed", "xfailed"),
            ("xpassed", "xpassed"),
        )
        if totals.get(key)
    ]
    return f"{', '.join(parts) or 'no tests ran'} in {totals['duration_s']:.2f}s"


def summary(report: Mapping[str, Any]) -> str:
    """The summary line followed by one `FAILED <test>` or `ERROR <test>` line per failing test, by its
    node id where known, else its id."""
    lines = [summary_line(report)]
    for test in report["tests"]:
        if test["outcome"] in ("failed", "error"):
            lines.append(f"{'FAILED' if test['outcome'] == 'failed' else 'ERROR'} {shown(test)}")
    return "\n".join(lines) + "\n"


def shown(test: Mapping[str, Any]) -> str:
    """How a test is named to people: its pytest node id where known, else its id."""
    return str(test.get("nodeid") or test["id"])


def add_nodes(report: dict[str, Any], folders: Sequence[Path]) -> None:
    """Give each test entry of `report` its pytest node id (`nodeid`), found in the first of `folders`
    holding the file its classname names (see the module's text); None where none does."""
    found: dict[str, str | None] = {}
    below = _subfolders(folders[0]) if folders else []
    for test in report["tests"]:
        classname, sep, name = str(test["id"]).partition("::")
        if not sep:
            # NOTE: a module that failed to collect is named by its dotted path alone: its file is its node.
            where = _test_file(classname, folders, below)
            test["nodeid"] = where.split("\0")[0] if where is not None and where.endswith("\0") else None
            continue
        if classname not in found:
            found[classname] = _test_file(classname, folders, below)
        where = found[classname]
        if where is None:
            test["nodeid"] = None
            continue
        rel, rest = where.split("\0")
        test["nodeid"] = "::".join([rel, *filter(None, rest.split(".")), name])


def _test_file(classname: str, folders: Sequence[Path], below: Sequence[Path] = ()) -> str | None:
    """`path.py` NUL `Class.Nested` for the longest dotted prefix of `classname` that is a file in one
    of `folders`, else in exactly one of `below`, the folders just below the first (pytest names tests
    from its rootdir, which is `tests/` when its settings lie there: the path is then given from the first
    folder, as one pastes it there), else None."""
    parts = classname.split(".")
    if not all(parts):
        return None
    for k in range(len(parts), 0, -1):
        rel = "/".join(parts[:k]) + ".py"
        if any((folder / rel).is_file() for folder in folders):
            return rel + "\0" + ".".join(parts[k:])
    for k in range(len(parts), 0, -1):
        rel = "/".join(parts[:k]) + ".py"
        holding = [sub for sub in below if (sub / rel).is_file()]
        if len(holding) == 1:
            return f"{holding[0].name}/{rel}\0" + ".".join(parts[k:])
        if holding:
            return None  # NOTE: in several folders: which one ran is not known
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    except OSError:
        return []


def failure_count(report: Mapping[str, Any]) -> int:
    """How many entries failed or errored."""
    totals = report["totals"]
    return int(totals["failed"]) + int(totals["errors"])


def to_json(report: Mapping[str, Any]) -> bytes:
    """The report as canonical JSON (sorted keys, two-space indent), as written to `tests.json`."""
    from evidence_kit.bundle.writer import dumps

    return dumps(report)
