"""pytest plugin: `pytest --evidence-out DIR` records the test session straight into an evidence bundle.

pytest loads this module in every run (the `pytest11` entry point), so it only declares options,
hooks and the `evidence` fixture; evidence-kit's modules are imported once `--evidence-out` is used.
Without that option nothing is recorded and the `evidence` fixture's `attach()` does nothing.

The bundle (service `--evidence-service`, default the rootdir's name; phase `--evidence-phase`)
holds, under collector `pytest`: `tests.json` (the normalized report of `evidence_kit.support.junit`, each
entry with its pytest `nodeid` too; outcomes include `xfailed` and `xpassed`), `session.json`
(times, exit status, command line, counts, Python and pytest versions, plugins) and `summary.txt`.
Artifacts attached by tests through the fixture go under `pytest-attachments/<nodeid>/<name>`.

With pytest-xdist only the controller writes the bundle (workers have `config.workerinput` and record
nothing); the controller receives every worker's test reports, but attachments made in workers are
not recorded and `collected` counts only what the controller itself collected.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from evidence_kit.bundle.writer import BundleWriter

COLLECTOR = "pytest"
ATTACHMENTS = "pytest-attachments"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare `--evidence-out`, `--evidence-service` and `--evidence-phase`."""
    group = parser.getgroup("evidence", "evidence bundles (evidence-kit)")
    group.addoption(
        "--evidence-out",
        dest="evidence_out",
        metavar="DIR",
        default=None,
        help="record this test session as an evidence bundle in DIR",
    )
    group.addoption(
        "--evidence-service",
        dest="evidence_service",
        metavar="NAME",
        default=None,
        help="service name of the bundle (default: the rootdir's name)",
    )
    group.addoption(
        "--evidence-phase",
        dest="evidence_phase",
        metavar="LABEL",
        default="",
        help="phase label of the bundle (default: empty)",
    )


_RECORDER = pytest.StashKey["Recorder"]()


def pytest_configure(config: pytest.Config) -> None:
    """Start recording when `--evidence-out` is given (on the xdist controller only)."""
    out = config.getoption("evidence_out", None)
    if not out or hasattr(config, "workerinput"):
        return
    path = (config.invocation_params.dir / out).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(
            f"--evidence-out {out}: cannot create the folder: {exc.strerror or exc}"
        ) from exc
    if not os.access(path, os.W_OK):
        raise pytest.UsageError(f"--evidence-out {out}: the folder is not writable")
    recorder = Recorder(config, path)
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "evidence-recorder")


def junit_id(nodeid: str) -> str:
    """The `classname::name` id pytest's JUnit writer would give `nodeid` (see evidence_kit.support.junit)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".").removesuffix(".py")
    names[-1] += bracket + params
    classname, name = ".".join(names[:-1]), names[-1]
    return f"{classname}::{name}" if classname else name


def _crash(report: pytest.TestReport | pytest.CollectReport) -> str:
    reprcrash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(reprcrash, "message", None)
    return message if isinstance(message, str) else str(report.longrepr)


class Recorder:
    """Collects the session's reports and writes the bundle at the end of the session."""

    def __init__(self, config: pytest.Config, out: Path) -> None:
        self.config = config
        self.out = out
        # NOTE: taken now, before tests can change os.environ, for the redactor and the CI facts.
        self.env = dict(os.environ)
        self.writer: BundleWriter | None = None
        self.entries: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, list[dict[str, Any]]] = {}
        self.collected = 0
        self.deselected = 0
        self.started = ""
        self.t0 = 0.0
        self.attached = 0
        self.bundle: Path | None = None
        self.failure: str | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Open the bundle being built and note the start time."""
        from evidence_kit.bundle.writer import BundleWriter
        from evidence_kit.redact.redactor import Redactor
        from evidence_kit.support.proc import utcnow

        self.writer = BundleWriter(self.out, Redactor.from_env(self.env))
        self.started, self.t0 = utcnow(), time.monotonic()

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count the tests deselected by `-k`, `-m` and the like."""
        self.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Note how many tests were collected."""
        self.collected = len(session.items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Record a module that failed to collect (an error) or was skipped whole."""
        from evidence_kit.support.junit import join_message

        if report.failed:
            outcome, message = "error", join_message("collection failure", report.longreprtext)
        elif report.skipped:
            outcome, message = "skipped", join_message("collection skipped", report.longreprtext)
        else:
            return
        self.entries[report.nodeid] = self._entry(report.nodeid, outcome, 0.0, message)

    @staticmethod
    def _entry(nodeid: str, outcome: str, duration: float, message: str | None) -> dict[str, Any]:
        return {
            "id": junit_id(nodeid),
            "nodeid": nodeid,
            "outcome": outcome,
            "duration_s": duration,
            "message": message,
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold the setup, call and teardown reports of a test into its entry."""
        from evidence_kit.support.junit import join_message

        nodeid = report.nodeid
        entry = self.entries.get(nodeid)
        if report.when == "setup" or entry is None:
            # NOTE: a new setup starts the test afresh (a rerun replaces the earlier attempt).
            entry = self.entries[nodeid] = self._entry(nodeid, "passed", 0.0, None)
            self.extra.pop(nodeid, None)
        wasxfail = getattr(report, "wasxfail", None)
        if report.passed and report.when == "call" and wasxfail is not None:
            entry["outcome"], entry["message"] = "xpassed", wasxfail.removeprefix("reason: ") or None
        elif report.failed and report.when == "call":
            entry["outcome"] = "failed"
            entry["message"] = join_message(_crash(report), report.longreprtext)
        elif report.failed:
            message = join_message(f'failed on {report.when} with "{_crash(report)}"', report.longreprtext)
            if report.when == "teardown":
                # NOTE: as pytest counts it, a teardown error is one more error beside the test's own
                # outcome (`1 passed, 1 error`): a second entry of the same id.
                second = self._entry(nodeid, "error", round(report.duration, 6), message)
                self.extra.setdefault(nodeid, []).append(second)
                return
            entry["outcome"], entry["message"] = "error", message
        elif report.skipped and wasxfail is not None:
            entry["outcome"], entry["message"] = "xfailed", wasxfail.removeprefix("reason: ") or None
        elif report.skipped:
            entry["outcome"] = "skipped"
            if isinstance(report.longrepr, tuple):
                filename, lineno, reason = report.longrepr
                reason = reason.removeprefix("Skipped: ")
                entry["message"] = join_message(reason, f"{filename}:{lineno}: {reason}")
            else:
                entry["message"] = join_message(report.longreprtext, None)
        entry["duration_s"] = round(entry["duration_s"] + report.duration, 6)

    def attach(self, nodeid: str, name: str, data: bytes, title: str, media_type: str) -> str | None:
        """Write one attachment into the bundle; returns its path there."""
        from evidence_kit.model import Output

        if self.writer is None or self.bundle is not None:
            return None
        record = self.writer.add(
            ATTACHMENTS, Output(f"{nodeid}/{name}", title, media_type=media_type, data=data)
        )
        self.attached += 1
        return str(record["path"])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write the artifacts and publish the bundle; a failure to do so fails the run."""
        # NOTE: trylast, and the status read from the session, so that other plugins' changes to
        # the exit status (e.g. a coverage threshold) are what gets recorded.
        writer = self.writer
        if writer is None:
            return
        try:
            self.bundle = self._finish(session, writer)
        except Exception as exc:
            # NOTE: whatever broke, the half-built bundle goes and a green run must not hide the loss.
            writer.abort()
            self.writer = None
            self.failure = f"{type(exc).__name__}: {exc}"
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _finish(self, session: pytest.Session, writer: BundleWriter) -> Path:
        import dataclasses
        import platform

        from evidence_kit.bundle.writer import dumps
        from evidence_kit.collectors.git import head_sha
        from evidence_kit.model import CollectorResult, Output, Status
        from evidence_kit.support import junit
        from evidence_kit.support.host import ci_context, host_facts
        from evidence_kit.support.proc import utcnow

        finished, duration = utcnow(), round(time.monotonic() - self.t0, 3)
        code = int(session.exitstatus)
        try:
            code_name = pytest.ExitCode(code).name
        except ValueError:
            code_name = "UNKNOWN"
        status: Status = "ok" if code == 0 else "failed"
        message = None if code == 0 else f"exit status {code} ({code_name})"
        entries = [*self.entries.values(), *(e for extra in self.extra.values() for e in extra)]
        report = junit.normalize(entries, duration)
        plugins = sorted(
            {
                f"{dist.project_name}-{dist.version}"
                for _, dist in self.config.pluginmanager.list_plugin_distinfo()
            }
        )
        params = self.config.invocation_params
        service = self.config.getoption("evidence_service") or self.config.rootpath.name
        phase = str(self.config.getoption("evidence_phase") or "")
        # NOTE: times, folders and the platform string vary from run to run; they go in the manifest.
        # An argv is masked as one: written one item a line, an option and its value would be masked apart.
        mask_argv = writer.redactor.mask_argv
        facts = {
            "exit_status": code,
            "exit_status_name": code_name,
            "args": mask_argv([str(a) for a in params.args]),
            "argv": mask_argv(list(sys.argv)),
            "collected": self.collected,
            "deselected": self.deselected,
            "counts": report["totals"],
            "service": service,
            "phase": phase,
            "environment": {
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "pytest": pytest.__version__,
                "plugins": plugins,
            },
        }
        common: dict[str, Any] = {
            "status": status,
            "exit_code": code,
            "started": self.started,
            "finished": finished,
            "duration_s": duration,
            "message": message,
        }
        summary = junit.summary(report) + f"exit status {code} ({code_name})\n"
        outputs = [
            Output(
                "tests.json",
                "Test outcomes, normalized and sorted",
                "application/json",
                junit.to_json(report),
            ),
            Output("session.json", "The pytest session", "application/json", dumps(facts)),
            Output("summary.txt", "Test summary", data=summary.encode()),
        ]
        for output in outputs:
            writer.add(COLLECTOR, dataclasses.replace(output, **common))
        results = [CollectorResult(COLLECTOR, status, duration_s=duration)]
        if self.attached:
            results.append(CollectorResult(ATTACHMENTS, "ok"))
        return writer.finish(
            service=service,
            phase=phase,
            git_sha=head_sha(self.config.rootpath),
            results=results,
            host=host_facts(),
            ci=ci_context(self.env),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say where the bundle is, or why it was not written."""
        if self.bundle is not None:
            terminalreporter.write_line(f"evidence bundle: {self.bundle}")
        elif self.failure is not None:
            terminalreporter.write_line(f"evidence bundle NOT written: {self.failure}", red=True, bold=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Remove a half-built bundle when the session never finished."""
        if self.writer is not None and self.bundle is None:
            self.writer.abort()


class Evidence:
    """What the `evidence` fixture gives a test: `attach()` stores an artifact in the bundle."""

    def __init__(self, recorder: Recorder | None, nodeid: str) -> None:
        self._recorder = recorder
        self._nodeid = nodeid

    @property
    def enabled(self) -> bool:
        """Whether this session is being recorded (`--evidence-out` was given)."""
        return self._recorder is not None

    def attach(
        self, name: str, data: bytes | str, *, title: str | None = None, media_type: str | None = None
    ) -> str | None:
        """Store `data` as `<nodeid>/<name>` under `pytest-attachments`; its bundle path, or None."""
        if self._recorder is None:
            return None
        if media_type is None:
            import mimetypes

            guessed = mimetypes.guess_type(name)[0]
            media_type = guessed or ("text/plain" if isinstance(data, str) else "application/octet-stream")
        raw = data.encode() if isinstance(data, str) else bytes(data)
        label = title or f"{name} (attached by {self._nodeid})"
        return self._recorder.attach(self._nodeid, name, raw, label, media_type)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Attach artifacts to the session's evidence bundle: `evidence.attach(name, data, title=...)`."""
    return Evidence(request.config.stash.get(_RECORDER, None), request.node.nodeid)
