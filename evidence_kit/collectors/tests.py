"""Run the test suite (or ingest a JUnit XML report made elsewhere) and record every test's outcome.

Artifacts: `stdout.txt` and `stderr.txt` (the run's output, streamed to disk), `junit.xml` (the raw
report), `tests.json` (the normalized report of `evidence_kit.support.junit`, sorted so that two bundles
diff cleanly), `summary.txt` (`42 passed, 1 failed in 12.30s` and one line per failing test) and
`junit.error.txt` when the report is missing or cannot be read. Where the run printed pytest's closing
line, its time is the run's (`duration_s`), its `xpassed` count moves those tests out of `passed`, and
`summary.txt` starts with it as pytest printed it (its warnings too), then, when pytest stopped before
running any test (`Interrupted: 7 errors during collection`), that.
`database-changed.txt` says, as a warning, which tables of the PostgreSQL database the collect reads the
tests dropped, created or altered (a suite that resets its tables there): the next collect would read
what they left.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from evidence_kit.collectors.command import CWD_OPTION, ENV_OPTION, child_env
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output, PlannedRun, Status
from evidence_kit.support import interpreter, junit, paths, proc

NAME = "tests"

DEFAULT_RUN = ("python", "-m", "pytest")
DEFAULT_TIMEOUT = 1800
# NOTE: how long an interrupted suite gets to write its report before it is stopped.
INTERRUPT_GRACE = 30.0
SCRATCH = "<scratch>"

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "run": {
            "description": (
                "The test command: a shell string, or an argv list run without a shell "
                f"(default `{' '.join(DEFAULT_RUN)}`). For pytest, `--junitxml` is added (and its cache "
                "is kept out of the service's tree); "
                "any other runner needs `junit_out`."
            ),
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ],
        },
        "args": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Extra arguments appended to `run`, e.g. `[-k, test_api]`.",
        },
        "cwd": CWD_OPTION,
        "env": ENV_OPTION,
        "python": interpreter.OPTION,
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": f"Seconds before the run is killed (default {DEFAULT_TIMEOUT}).",
        },
        "junit": {
            "type": "string",
            "minLength": 1,
            "description": (
                "A JUnit XML report made elsewhere (e.g. by CI), relative to evidence.yaml: "
                "ingest it instead of running tests. Not combined with `run`, `args` or `junit_out`."
            ),
        },
        "junit_out": {
            "type": "string",
            "minLength": 1,
            "description": (
                "Where a runner other than pytest writes its JUnit XML, relative to `cwd`; "
                "it must be (re)written by the run."
            ),
        },
        "expect_pass": {
            "type": "boolean",
            "description": "A run with failing tests or a non-zero exit code is `failed` (default true).",
        },
        "max_bytes": {
            "type": "integer",
            "minimum": 1,
            "description": "Cap on each output stream and on the JUnit report, in bytes.",
        },
    },
}

_CAUSE = re.compile(
    r"No module named|ModuleNotFoundError|ImportError|SyntaxError|Error:|ERROR:|error:|"
    r"not found|command not found|Permission denied|usage:",
)
_CAUSE_CAP = 300
_REPORT_HINT = "make the test command write JUnit XML (pytest: it is added; others: set `junit_out`)"
_SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", ">", ">>", "<", "<<", "|&"}


def _tokens(run: str | Sequence[str]) -> list[str]:
    if not isinstance(run, str):
        return list(run)
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return []


def is_pytest(run: str | Sequence[str]) -> bool:
    """Whether `run` starts pytest so that an appended `--junitxml` reaches it."""
    tokens = _tokens(run)
    for i, token in enumerate(tokens):
        named = Path(token).name in ("pytest", "py.test")
        module = token in ("-mpytest", "-mpy.test") or (
            token == "-m" and i + 1 < len(tokens) and tokens[i + 1] in ("pytest", "py.test")
        )
        if named or module:
            # NOTE: in a shell string `pytest -q | tee log`, an appended flag would go to `tee`.
            return not (isinstance(run, str) and _SHELL_OPERATORS.intersection(tokens[i:]))
    return False


def _command(run: str | Sequence[str], extra: Sequence[str]) -> str | list[str]:
    if isinstance(run, str):
        return " ".join([run, *(shlex.quote(a) for a in extra)])
    return [*run, *extra]


def cause(run: proc.Run) -> str | None:
    """Why a run ended before any test ran, in its own words: the last error-like line of its output."""
    for stream in ("stderr", "stdout"):
        try:
            lines = [line.strip() for line in run.text(stream).splitlines() if line.strip()]
        except OSError:
            continue
        if not lines:
            continue
        found = next((line for line in reversed(lines) if _CAUSE.search(line)), lines[-1])
        return found if len(found) <= _CAUSE_CAP else found[: _CAUSE_CAP - 3] + "..."
    return None


# NOTE: pytest's closing line, `==== 5 passed, 1 xpassed in 0.12s (0:00:00) ====` (with -q, without the `=`).
_CLOSING = re.compile(
    rb"^[= ]*(?P<counts>(?:\d+ \w+, )*\d+ \w+|no tests ran) in (?P<seconds>\d+(?:\.\d+)?)s\b[^\n]*$", re.M
)
_XPASSED = re.compile(rb"\b(\d+) xpassed\b")
# NOTE: `!!!! Interrupted: 7 errors during collection !!!!`: pytest ran no test.
_INTERRUPTED = re.compile(rb"^!+ (?P<why>Interrupted: [^\r\n!]*[^\r\n! ]) !+\r?$", re.M)
# NOTE: the colours of `--color=yes` (or PY_COLORS=1) around the closing line's words.
_ANSI = re.compile(rb"\x1b\[[0-9;]*m")


class _Closing(NamedTuple):
    """What pytest's closing line says that JUnit does not: the unexpected passes, pytest's own time, the
    line itself (its warnings counted too) and, when pytest stopped before running the tests, why."""

    xpassed: int = 0
    seconds: float | None = None
    line: str | None = None
    interrupted: str | None = None


_NO_CLOSING = _Closing()


def _closing(run: proc.Run) -> _Closing:
    """pytest's closing line in the run's output; nothing when it printed none or it cannot be read."""
    try:
        with open(run.stdout, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            tail = f.read()
    except (OSError, TypeError):
        return _NO_CLOSING
    plain = _ANSI.sub(b"", tail)
    found = list(_CLOSING.finditer(plain))
    if not found:
        return _NO_CLOSING
    last = found[-1]
    xpassed = _XPASSED.search(last.group("counts"))
    stopped = [m for m in _INTERRUPTED.finditer(plain, 0, last.start())]
    return _Closing(
        int(xpassed.group(1)) if xpassed else 0,
        float(last.group("seconds")),
        last.group(0).strip(b"= \r").decode("utf-8", "replace"),
        stopped[-1].group("why").decode("utf-8", "replace") if stopped else None,
    )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _snapshot(src: Path, dest: Path, cap: int) -> bool:
    """Copy at most `cap` bytes of `src` to `dest`; True when `src` was longer."""
    with src.open("rb") as r, dest.open("wb") as w:
        remaining = cap
        while remaining > 0 and (chunk := r.read(min(1024 * 1024, remaining))):
            w.write(chunk)
            remaining -= len(chunk)
        return bool(r.read(1))


def _error(message: str, hint: str, common: Mapping[str, Any]) -> Output:
    text = f"{message}\nTip: {hint}\n" if hint else f"{message}\n"
    return Output(
        "junit.error.txt",
        "Why the JUnit report could not be read",
        data=text.encode(),
        **{**common, "status": "error", "message": message},
    )


def _report_outputs(
    raw: Path | None,
    cap: int,
    expect_pass: bool,
    *,
    missing: str,
    hint: str = _REPORT_HINT,
    common: dict[str, Any],
    timed_out: bool = False,
    tail: str = "",
    folders: Sequence[Path] = (),
    closing: _Closing = _NO_CLOSING,
) -> tuple[Status, list[Output]]:
    """Parse the report at `raw` and describe it, with pytest node ids for the tests whose files are in
    `folders`; returns the status of the whole run and outputs."""
    base: Status = "timeout" if timed_out else "ok"
    exit_code = common.get("exit_code")
    if expect_pass and not timed_out and exit_code not in (None, 0):
        base = "failed"
    outputs: list[Output] = []
    report: dict[str, Any] | None = None
    if raw is None:
        if not timed_out:
            outputs.append(_error(missing, hint, common))
        headline = f"no test results: {missing}"
    else:
        try:
            report = junit.parse_file(raw, cap)
            junit.add_nodes(report, folders)
            totals = report["totals"]
            xpassed = closing.xpassed
            if xpassed and not totals["xpassed"] and totals["passed"] >= xpassed:
                # NOTE: JUnit has no xpass (pytest writes one as a pass); its closing line counts them.
                totals["xpassed"], totals["passed"] = xpassed, totals["passed"] - xpassed
            if closing.seconds is not None:
                # NOTE: pytest's own time; the report's ends earlier, before the session's last teardowns.
                totals["duration_s"] = closing.seconds
        except junit.JUnitError as exc:
            outputs.append(_error(f"junit.xml: {exc.message}", exc.hint, common))
            outputs.append(
                Output(
                    "junit.xml",
                    "JUnit XML report (raw, unreadable)",
                    media_type="application/xml",
                    source=raw,
                    limit=cap,
                    **{**common, "status": "error", "message": exc.message},
                )
            )
            headline = f"no test results: the JUnit report cannot be read: {exc.message}"
        else:
            outputs.append(
                Output(
                    "junit.xml",
                    "JUnit XML report (raw)",
                    media_type="application/xml",
                    source=raw,
                    limit=cap,
                    **common,
                )
            )
            headline = junit.summary(report).rstrip("\n")
            if closing.line:
                # NOTE: pytest's own words (its warnings too), and why it ran no test when it stopped first.
                rest = headline.partition("\n")[2]
                headline = "\n".join(
                    x
                    for x in (
                        closing.line,
                        closing.interrupted and f"{closing.interrupted}: no test ran",
                        rest,
                    )
                    if x
                )
    status = base
    message: str | None = None
    if report is not None and expect_pass and not timed_out and junit.failure_count(report):
        status = "failed"
        totals = report["totals"]
        counts = [
            (totals["failed"], "failed"),
            (totals["errors"], "error" if totals["errors"] == 1 else "errors"),
        ]
        message = ", ".join(f"{n} {word}" for n, word in counts if n)
        if closing.interrupted:
            message += f" ({closing.interrupted}: no test ran)"
    elif status == "failed":
        message = f"exit code {exit_code}, expected 0"
    final = {**common, "status": status, "message": message or common.get("message")}
    if report is not None:
        outputs.append(
            Output(
                "tests.json",
                "Test outcomes, normalized and sorted",
                media_type="application/json",
                data=junit.to_json(report),
                **final,
            )
        )
    text = headline + "\n" + (tail + "\n" if tail else "")
    outputs.append(Output("summary.txt", "Test summary", data=text.encode(), **final))
    return status, outputs


def _ingest(ctx: Context, options: Mapping[str, Any], cap: int, expect_pass: bool) -> list[Output]:
    clash = sorted({"run", "args", "junit_out"} & set(options))
    if clash:
        raise CollectorError(
            f"`junit` ingests a report instead of running tests; it cannot go with {', '.join(clash)}",
            hint="remove `junit` to run the tests, or the run options to ingest the report",
        )
    src = paths.inside(ctx.root, options["junit"], "tests: junit")
    if not src.is_file():
        raise CollectorError(
            f"the JUnit report {src} does not exist", hint="fix `junit` in evidence.yaml, or produce it first"
        )
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    copy = ctx.scratch / "junit.xml"
    try:
        _snapshot(src, copy, cap + 1)
    except OSError as exc:
        raise CollectorError(f"cannot read the JUnit report {src}: {exc.strerror or exc}") from exc
    _, outputs = _report_outputs(
        copy,
        cap,
        expect_pass,
        missing="",
        common={"message": None},
        tail=f"report: {options['junit']}",
        folders=(ctx.root,),
    )
    return outputs


def _run(ctx: Context, options: Mapping[str, Any], cap: int, expect_pass: bool) -> list[Output]:
    cwd = paths.inside(ctx.root, options.get("cwd", "."), "tests: cwd")
    if not cwd.is_dir():
        raise CollectorError(f"tests: cwd {cwd} does not exist", hint="fix `cwd` in evidence.yaml")
    run: str | list[str] = options.get("run", list(DEFAULT_RUN))
    args = [str(a) for a in options.get("args", [])]
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    junit_out = options.get("junit_out")
    before: tuple[int, int, int] | None = None
    if junit_out:
        report = cwd / junit_out
        before = _stamp(report)
        extra: list[str] = []
    elif is_pytest(run):
        report = ctx.scratch / "junit.xml"
        report.unlink(missing_ok=True)
        extra = _pytest_flags(str(ctx.scratch), report, [*_tokens(run), *map(str, options.get("args", []))])
    else:
        program = (_tokens(run) or [str(run)])[0]
        raise CollectorError(
            f"cannot tell where {program!r} writes its JUnit XML: it does not look like pytest",
            hint="set `junit_out` to the report the command writes, or ingest a report with `junit`",
        )
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    env = child_env(ctx, options.get("env"), options.get("python"))
    # NOTE: a collect changes nothing in the service's tree: no bytecode beside its modules.
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    tables_before = _tables(ctx)
    result = proc.run(
        _command(run, [*extra, *args]),
        scratch=ctx.scratch,
        label="tests",
        cwd=cwd,
        env=env,
        timeout=timeout,
        cap=cap,
        # NOTE: a suite still running at its timeout is interrupted as Ctrl-C would: pytest then writes the
        # report of the tests it ran, which the bundle keeps (status timeout).
        interrupt=True,
        grace=INTERRUPT_GRACE,
    )
    forms = _scratch_forms(ctx.scratch, cwd)
    for stream in (result.stdout, result.stderr):
        _unscratch(stream, forms)
    common: dict[str, Any] = {
        "argv": tuple(os.fsdecode(forms.sub(SCRATCH.encode(), os.fsencode(a))) for a in result.argv),
        "exit_code": result.exit_code,
        "started": result.started,
        "finished": result.finished,
        "duration_s": result.duration_s,
        "message": None,
    }
    if result.timed_out:
        common["message"] = (
            f"timed out after {options.get('timeout', DEFAULT_TIMEOUT)} s; "
            f"its process tree was stopped: {result.ending.note()}"
        )
    raw: Path | None = report if report.is_file() else None
    missing = f"the test command wrote no JUnit report (exit code {result.exit_code})"
    why = cause(result) if not result.timed_out and result.exit_code not in (None, 0) else None
    if raw is not None and junit_out:
        if _stamp(raw) == before:
            raw = None
            missing = f"the test command did not write {junit_out}; the file there is from an earlier run"
        else:
            copy = ctx.scratch / "junit.xml"
            try:
                _snapshot(raw, copy, cap + 1)
                raw = copy
            except OSError as exc:
                raw = None
                missing = f"cannot read {junit_out}: {exc.strerror or exc}"
    elif junit_out:
        missing = f"the test command wrote no JUnit report at {junit_out} (exit code {result.exit_code})"
    if raw is None and why:
        missing += f": {why}"
    hint = _REPORT_HINT
    if raw is None and why and "No module named" in why:
        # NOTE: the test runner or the service's packages are missing from the interpreter that ran.
        chosen = interpreter.of(ctx, options)
        ran_in = chosen.source if chosen else "`python` from PATH, as no `python:` is set in evidence.yaml"
        hint = (
            f"the tests ran with {ran_in}: set `python:` (or EVIDENCE_PYTHON) to the service's interpreter, "
            "with its test dependencies installed"
        )
    tail = common["message"] if result.timed_out else f"exit code {result.exit_code}"
    status, outputs = _report_outputs(
        raw,
        cap,
        expect_pass,
        missing=missing,
        hint=hint,
        common=common,
        timed_out=result.timed_out,
        tail=tail,
        folders=(cwd, ctx.root),
        closing=_closing(result),
    )
    streams = {**common, "status": status, "process": result.ending.as_json()}
    if status == "failed":
        streams["message"] = next((o.message for o in outputs if o.name == "summary.txt"), None)
    changed = _changed(tables_before, _tables(ctx)) if tables_before is not None else None
    if changed:
        outputs.append(
            Output(
                DATABASE_CHANGED,
                "What the tests changed in the database the collect reads",
                data=(changed + "\n").encode(),
                **{**common, "status": "ok", "message": changed},
            )
        )
    return [
        Output(
            "stdout.txt",
            "Test run (stdout)",
            source=result.stdout,
            truncated=result.stdout_truncated,
            **streams,
        ),
        Output(
            "stderr.txt",
            "Test run (stderr)",
            source=result.stderr,
            truncated=result.stderr_truncated,
            **streams,
        ),
        *outputs,
    ]


DATABASE_CHANGED = "database-changed.txt"
# NOTE: each table of the database (not the catalogs): its oid (a table dropped and created again has a new
# one) and its columns with their types.
_TABLES = """
SELECT n.nspname || '.' || c.relname, c.oid::bigint,
       coalesce(
         string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum), ''
       )
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
GROUP BY 1, 2
"""


def _tables(ctx: Context) -> dict[str, tuple[int, str]] | None:
    """The tables of the PostgreSQL database the collect reads (name: oid, columns); None without one, or
    when it cannot be read (the other collectors say why)."""
    import psycopg

    from evidence_kit.support import db

    url = ctx.database_url
    if not url or not db.is_postgres(url):
        return None
    try:
        with db.connect_pg(url, source=ctx.database_source, timeout_s=5) as conn:
            rows = conn.execute(_TABLES).fetchall()
    except (CollectorError, psycopg.Error):  # NOTE: the database's own collectors say what is wrong
        return None
    return {str(name): (int(oid), str(columns)) for name, oid, columns in rows}


def _changed(
    before: Mapping[str, tuple[int, str]], after: Mapping[str, tuple[int, str]] | None
) -> str | None:
    """What the tests did to the tables of the database the collect reads, as a warning; None for nothing.
    A suite that drops and creates its tables there (`drop_all()`, `create_all()` in a set-up) leaves the
    next collect reading the models' schema, with the revision the migrations left: evidence that lies."""
    if after is None:
        return None
    dropped = sorted(set(before) - set(after))
    created = sorted(set(after) - set(before))
    kept = sorted(set(before) & set(after))
    again = [t for t in kept if before[t][0] != after[t][0]]
    altered = [t for t in kept if before[t][0] == after[t][0] and before[t][1] != after[t][1]]
    counts = [
        (len(dropped), "dropped"),
        (len(created), "created"),
        (len(again), "dropped and created again"),
        (len(altered), "altered"),
    ]
    said = [f"{n} table{'' if n == 1 else 's'} {what}" for n, what in counts if n]
    if not said:
        return None
    examples = ", ".join([*again, *dropped, *created, *altered][:3])
    return (
        f"warning: the tests changed the database the collect reads ({'; '.join(said)}: {examples}): this "
        "bundle recorded it before they ran, the next collect reads what they left; point the tests at a "
        "database of their own (`collectors.tests.env` in evidence.yaml)"
    )


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Run the tests (or ingest `junit`) and describe every test's outcome."""
    cap = int(options.get("max_bytes", proc.DEFAULT_CAP))
    expect_pass = bool(options.get("expect_pass", True))
    if "junit" in options:
        return _ingest(ctx, options, cap, expect_pass)
    return _run(ctx, options, cap, expect_pass)


def _scratch_forms(scratch: Path, cwd: Path) -> re.Pattern[bytes]:
    """The ways a run may print the scratch folder: absolute, resolved, and relative to a folder above its
    working directory (pytest shows its cache folder relative to its rootdir)."""
    forms = set()
    for path in (scratch.absolute(), Path(os.path.realpath(scratch))):
        forms.add(str(path))
        for base in (cwd.absolute(), Path(os.path.realpath(cwd))):
            for above in (base, *base.parents):
                if above in path.parents:
                    forms.add(str(path.relative_to(above)))
    # NOTE: every form ends in the bundle's partial folder name, so none matches anything else.
    ordered = sorted(forms, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(os.fsencode(form)) for form in ordered))


def _unscratch(path: Path, forms: re.Pattern[bytes]) -> None:
    """Rewrite a captured stream with the scratch folder shown as `<scratch>`: its name holds the
    collect's process id, a random part and the host, which no artifact may hold."""
    spare = path.with_name(path.name + ".unscratched")
    with path.open("rb") as src, spare.open("wb") as dest:
        for line in src:
            dest.write(forms.sub(SCRATCH.encode(), line))
    os.replace(spare, path)


def _pytest_flags(scratch: str, report: Path | str, words: Sequence[str]) -> list[str]:
    """What a pytest run gets added: its cache kept in the scratch folder, not in the service's tree
    (`.pytest_cache`), and the JUnit report written there. A run without the cache plugin
    (`-p no:cacheprovider`) knows no `cache_dir`: pytest would warn of it (fail, with `--strict-config`)."""
    cacheless = any(w.replace(" ", "") in ("no:cacheprovider", "-pno:cacheprovider") for w in words)
    cache = [] if cacheless else ["-o", f"cache_dir={scratch}/pytest-cache"]
    return [*cache, f"--junitxml={report}"]


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the test command and its folder, or the JUnit report ingested."""
    if "junit" in options:
        return Intent(reads=(f"the JUnit report {options['junit']}",))
    from evidence_kit.collectors.command import line

    run: str | list[str] = options.get("run", list(DEFAULT_RUN))
    extra = (
        []
        if options.get("junit_out") or not is_pytest(run)
        else _pytest_flags(
            SCRATCH, f"{SCRATCH}/junit.xml", [*_tokens(run), *map(str, options.get("args", []))]
        )
    )
    command = _command(run, [*extra, *(str(a) for a in options.get("args", []))])
    timeout = f"timeout {options.get('timeout', DEFAULT_TIMEOUT):g} s"
    return Intent(runs=(PlannedRun(f"tests ({timeout})", line(command), root / options.get("cwd", ".")),))
