"""The service's interpreter: one resolution rule, its PATH, and the collectors that start Python with it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from evidence_kit.collectors import command, environment, openapi, tests
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context
from evidence_kit.support import interpreter
from tests import pythons

OTHER = pythons.other_than_tool("3.12", "3.10")
TOOL_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def service_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv of another Python than the tool's, without pip (fast to make)."""
    return pythons.venv(tmp_path_factory, OTHER, [], pip=False)


def ctx(root: Path, python: str | None = None, path: str = "/usr/bin:/bin") -> Context:
    env = {"PATH": path, "HOME": str(root)}
    return Context(root=root, scratch=root / "scratch", env=env, python=python)


def _stdout(outs: list, name: str) -> str:  # type: ignore[type-arg]
    out = next(o for o in outs if o.name == name)
    return str(out.source.read_text())


def test_commands_run_with_the_service_interpreter_first(tmp_path: Path, service_python: Path) -> None:
    venv = service_python.parent.parent
    outs = command.collect(
        ctx(tmp_path, python=str(service_python)),
        {
            "commands": [
                {"name": "which", "run": "python -c 'import sys; print(sys.prefix)'; echo \"$PATH\""},
                {"name": "argv", "run": ["python", "-c", "import sys; print(sys.version_info[:2])"]},
            ]
        },
    )
    prefix, path = _stdout(outs, "which.stdout.txt").splitlines()
    assert Path(prefix) == venv
    assert path.split(os.pathsep) == [str(venv / "bin"), "/usr/bin", "/bin"]
    major, minor = OTHER.split(".")
    assert _stdout(outs, "argv.stdout.txt").strip() == f"({major}, {minor})"


def test_the_tool_bin_folder_is_never_put_on_path(tmp_path: Path) -> None:
    outs = command.collect(ctx(tmp_path), {"commands": [{"name": "path", "run": 'echo "$PATH"'}]})
    assert _stdout(outs, "path.stdout.txt").strip() == "/usr/bin:/bin"
    assert TOOL_BIN not in _stdout(outs, "path.stdout.txt")


def test_a_collector_option_overrides_the_top_level(tmp_path: Path, service_python: Path) -> None:
    outs = command.collect(
        ctx(tmp_path, python="/nonexistent/python"),
        {
            "python": str(service_python),
            "commands": [{"name": "p", "run": "python -c 'import sys; print(sys.prefix)'"}],
        },
    )
    assert Path(_stdout(outs, "p.stdout.txt").strip()) == service_python.parent.parent


def test_evidence_python_names_this_machines_interpreter_over_the_top_level(
    tmp_path: Path, service_python: Path
) -> None:
    """A collector's option wins; else EVIDENCE_PYTHON; else the top-level `python:`."""
    env = {"PATH": "/usr/bin:/bin", interpreter.ENV_NAME: str(service_python)}
    found = interpreter.resolve(tmp_path, None, ".venv/bin/python", env)
    assert found is not None and found.path == str(service_python) and found.source == "EVIDENCE_PYTHON"
    assert interpreter.resolve(tmp_path, sys.executable, ".venv/bin/python", env).path == sys.executable  # type: ignore[union-attr]
    with pytest.raises(CollectorError, match=r"EVIDENCE_PYTHON: the interpreter .*missing does not exist"):
        interpreter.resolve(tmp_path, None, None, {**env, interpreter.ENV_NAME: str(tmp_path / "missing")})
    outs = command.collect(
        Context(tmp_path, tmp_path / "scratch", env=env, python=".venv/bin/python"),
        {"commands": [{"name": "p", "run": "python -c 'import sys; print(sys.prefix)'"}]},
    )
    assert Path(_stdout(outs, "p.stdout.txt").strip()) == service_python.parent.parent


def test_a_missing_interpreter_is_an_error_naming_the_path(tmp_path: Path) -> None:
    config = {"commands": [{"name": "p", "run": "true"}]}
    [error] = command.collect(ctx(tmp_path, python=".venv/bin/python"), config)
    assert error.status == "error"
    missing = tmp_path / ".venv" / "bin" / "python"
    assert error.message == f"`python:` in evidence.yaml: the interpreter {missing} does not exist"


def test_locate_accepts_paths_folders_and_names(tmp_path: Path, service_python: Path) -> None:
    venv = service_python.parent.parent
    link = tmp_path / "svc"
    link.symlink_to(venv)
    by_rel = interpreter.locate("svc/bin/python", tmp_path)
    assert by_rel.path == str(tmp_path / "svc" / "bin" / "python")
    assert by_rel.virtualenv == tmp_path / "svc"
    assert interpreter.locate("svc", tmp_path).path == str(tmp_path / "svc" / "bin" / "python")
    named = interpreter.locate("python", tmp_path, {"PATH": str(venv / "bin")})
    assert named.path == str(venv / "bin" / "python")
    with pytest.raises(CollectorError, match=r"no 'python9\.9' on PATH"):
        interpreter.locate("python9.9", tmp_path, {"PATH": str(venv / "bin")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectorError, match="folder without bin/python"):
        interpreter.locate("empty", tmp_path)
    assert interpreter.version(by_rel) == tuple(int(p) for p in OTHER.split("."))


def test_environment_lists_the_service_interpreter(tmp_path: Path, service_python: Path) -> None:
    outs = environment.collect(ctx(tmp_path, python=str(service_python)), {})
    facts = json.loads(next(o for o in outs if o.name == "environment.json").data)  # type: ignore[arg-type]
    assert facts["python"]["version"].startswith(OTHER + ".")
    assert facts["python"]["source"] == "`python:` in evidence.yaml"
    assert facts["python"]["virtualenv"] is True
    packages = next(o for o in outs if o.name == "packages.txt").data.decode()  # type: ignore[union-attr]
    assert "evidence-kit" not in packages


def test_environment_says_when_it_fell_back_to_its_own(tmp_path: Path) -> None:
    outs = environment.collect(ctx(tmp_path), {})
    facts = json.loads(next(o for o in outs if o.name == "environment.json").data)  # type: ignore[arg-type]
    assert facts["python"]["source"] == interpreter.own().source
    assert facts["python"]["executable"] == sys.executable


def test_openapi_imports_in_the_service_interpreter(tmp_path: Path, service_python: Path) -> None:
    (tmp_path / "fake.py").write_text(
        "import sys\n"
        "class App:\n"
        "    def openapi(self):\n"
        "        return {'openapi': '3.1.0', 'info': {'title': sys.prefix}, 'paths': {'/x': {'get': {}}}}\n"
        "app = App()\n"
    )
    outs = openapi.collect(ctx(tmp_path, python=str(service_python)), {"app": "fake:app"})
    doc = json.loads(next(o for o in outs if o.name == "openapi.json").data)  # type: ignore[arg-type]
    assert Path(doc["info"]["title"]) == service_python.parent.parent


def test_tests_collector_says_why_no_report_was_written(tmp_path: Path, service_python: Path) -> None:
    outs = tests.collect(ctx(tmp_path, python=str(service_python)), {})
    error = next(o for o in outs if o.name == "junit.error.txt")
    assert error.status == "error"
    assert error.message is not None
    assert "No module named pytest" in error.message


def test_the_migration_checks_read_newer_syntax_with_evidence_python_too(
    tmp_path: Path, service_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evidence.yaml names the workflow's `.venv`, missing on this machine: EVIDENCE_PYTHON stands in."""
    from evidence_kit.checks._migrations import _interpreter

    assert _interpreter(tmp_path, ".venv/bin/python") is None
    monkeypatch.setenv(interpreter.ENV_NAME, str(service_python))
    found = _interpreter(tmp_path, ".venv/bin/python")
    assert found is not None and found.path == str(service_python)
