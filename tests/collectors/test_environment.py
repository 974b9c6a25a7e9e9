"""The environment collector: interpreter, packages, tools, database server, CI, environment names."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evidence_kit.collectors import environment
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output


def ctx(tmp_path: Path, env: dict[str, str] | None = None, database_url: str | None = None) -> Context:
    return Context(
        root=tmp_path,
        scratch=tmp_path / "scratch",
        env=dict(os.environ) if env is None else env,
        database_url=database_url,
    )


def by_name(outputs: list[Output]) -> dict[str, Output]:
    return {o.name: o for o in outputs}


def data(outputs: list[Output], name: str) -> Any:
    raw = by_name(outputs)[name].data or b""
    return json.loads(raw) if name.endswith(".json") else raw.decode()


def test_our_interpreter_s_packages_are_not_given_as_a_service_s_it_is_not(tmp_path: Path) -> None:
    """No `python:` set and evidence-kit's own virtualenv outside the service's repository: its packages
    are none of the service's, so none are listed, and the artifact says why."""
    elsewhere = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    plain = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    outs = by_name(environment.collect(ctx(tmp_path, {**plain, "PATH": elsewhere}), {}))
    assert outs["packages.txt"].status == "skipped" and outs["packages.txt"].data == b""
    assert (outs["packages.txt"].message or "").startswith("not the service's: no `python:` is set")
    env = json.loads(outs["environment.json"].data or b"")
    assert env["packages"]["count"] is None and "set `python:`" in env["packages"]["skipped"]
    assert "not the service's" in env["python"]["not_the_service"]
    # NOTE: the active virtualenv is the service's.
    active = {**os.environ, "PATH": elsewhere, "VIRTUAL_ENV": sys.prefix}
    assert by_name(environment.collect(ctx(tmp_path, active), {}))["packages.txt"].status == "ok"
    # NOTE: when it is the `python` first on PATH, the service's commands and tests run with it: listed.
    first = f"{Path(sys.executable).parent}{os.pathsep}{elsewhere}"
    outs = by_name(environment.collect(ctx(tmp_path, {**os.environ, "PATH": first}), {}))
    assert outs["packages.txt"].status == "ok" and b"evidence-kit==" in (outs["packages.txt"].data or b"")


def test_outputs_and_packages_of_our_interpreter(tmp_path: Path) -> None:
    """evidence-kit installed in the service's own virtualenv (inside its repository): its packages are the
    service's."""
    service = Context(
        root=Path(sys.prefix).resolve().parent, scratch=tmp_path / "scratch", env=dict(os.environ)
    )
    outs = environment.collect(service, {})
    assert [o.name for o in outs] == ["environment.json", "packages.txt", "tools.json"]
    assert all(o.status == "ok" for o in outs)
    lines = data(outs, "packages.txt").splitlines()
    names = {line.split("==")[0].lower() for line in lines}
    assert {"evidence-kit", "pytest"} <= names
    keys = [re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in lines]
    assert keys == sorted(keys) and len(set(lines)) == len(lines)
    env = data(outs, "environment.json")
    assert env["python"]["executable"] == sys.executable
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["packages"]["count"] == len(lines)
    assert env["os"]["system"] and env["os"]["platform"]


def test_another_interpreter_is_asked_in_a_subprocess(tmp_path: Path) -> None:
    outs = environment.collect(ctx(tmp_path), {"python": sys.executable})
    names = {line.split("==")[0].lower() for line in data(outs, "packages.txt").splitlines()}
    assert {"evidence-kit", "pytest"} <= names
    assert data(outs, "environment.json")["python"]["executable"] == sys.executable


def test_a_missing_interpreter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="cannot run the interpreter"):
        environment.collect(ctx(tmp_path), {"python": "/nonexistent/python3"})


def test_package_lines_are_sorted_case_insensitively_and_deduplicated() -> None:
    lines = environment.package_lines(
        [
            ("PyYAML", "6.0"),
            ("alembic", "1.13"),
            ("pyyaml", "6.0"),
            ("typing_extensions", "4"),
            ("Typing-Extensions", "4"),
        ]
    )
    assert lines == ["alembic==1.13", "PyYAML==6.0", "typing_extensions==4"]


def test_tools_found_missing_and_failing_are_recorded(tmp_path: Path) -> None:
    outs = environment.collect(
        ctx(tmp_path),
        {
            "tools": [
                "definitely-not-a-tool-4711",
                {"name": "sh", "args": ["-c", "echo 'fake 1.2.3'"]},
                {"name": "false", "args": []},
            ]
        },
    )
    tools = data(outs, "tools.json")
    assert set(tools) >= {"git", "pg_dump", "psql", "alembic", "sh", "false", "definitely-not-a-tool-4711"}
    assert tools["git"]["version"].startswith("git version")
    assert tools["pg_dump"]["status"] == "ok" and tools["pg_dump"]["version"][0].isdigit()
    assert tools["alembic"]["version"].startswith("alembic ")
    assert tools["definitely-not-a-tool-4711"] == {
        "path": None,
        "status": "not found",
        "version": "not found",
    }
    assert tools["sh"]["version"] == "fake 1.2.3"
    assert tools["false"]["status"] == "error" and tools["false"]["error"] == "exit code 1"
    assert data(outs, "environment.json")["tools"]["definitely-not-a-tool-4711"] == "not found"
    # NOTE: a tool not found or failing is recorded, not a failed artifact (the packages are skipped: see
    # the test of our interpreter's packages).
    assert {o.name: o.status for o in outs if o.name != "packages.txt"} == {
        "environment.json": "ok",
        "tools.json": "ok",
    }


def test_env_names_listed_secret_values_never_recorded(tmp_path: Path) -> None:
    secrets = {"EK_API_TOKEN": "tok-live-abcdef123456", "DEPLOY_PASSWORD": "hunter2-deploy-pass"}
    env = {
        "PATH": os.environ["PATH"],
        "EK_PLAIN": "visible-value",
        "EK_HIDDEN": "not-listed-value",
        **secrets,
    }
    outs = environment.collect(
        ctx(tmp_path, env),
        {"env_values": ["EK_PLAIN", "EK_API_TOKEN", "DEPLOY_PASSWORD", "EK_UNSET"]},
    )
    listing = data(outs, "environment.json")["env"]
    assert listing["names"] == sorted(env)
    assert listing["values"] == {
        "DEPLOY_PASSWORD": "<secret>",
        "EK_API_TOKEN": "<secret>",
        "EK_PLAIN": "visible-value",
        "EK_UNSET": None,
    }
    blob = b"".join(o.data or b"" for o in outs)
    for value in (*secrets.values(), "not-listed-value"):
        assert value.encode() not in blob


def test_ci_context(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42", "GITHUB_SHA": "abc"}
    ci = data(environment.collect(ctx(tmp_path, env), {}), "environment.json")["ci"]
    assert ci["provider"] == "github-actions" and ci["run_id"] == "42" and ci["sha"] == "abc"
    plain = data(environment.collect(ctx(tmp_path, {"PATH": os.environ["PATH"]}), {}), "environment.json")
    assert plain["ci"] is None


def test_postgres_server_version(tmp_path: Path, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None
    outs = environment.collect(ctx(tmp_path, database_url=pg_url), {})
    assert data(outs, "environment.json")["database"] == {"kind": "postgresql", "server_version": row[0]}
    assert by_name(outs)["environment.json"].message is None


def test_database_down_is_recorded_not_fatal(tmp_path: Path) -> None:
    url = "postgresql://postgres:Down-Passw0rd-99@127.0.0.1:1/nothing"
    outs = environment.collect(ctx(tmp_path, database_url=url), {})
    record = by_name(outs)["environment.json"]
    database = data(outs, "environment.json")["database"]
    assert record.status == "ok"
    assert database["server_version"] is None and "cannot connect" in database["error"]
    assert "server version unknown" in (record.message or "")
    assert b"Down-Passw0rd-99" not in b"".join(o.data or b"" for o in outs)
    assert b"Down-Passw0rd-99" not in (record.message or "").encode()


def test_sqlite_library_version(tmp_path: Path) -> None:
    import sqlite3

    outs = environment.collect(ctx(tmp_path, database_url="sqlite:///app.db"), {})
    assert data(outs, "environment.json")["database"] == {
        "kind": "sqlite",
        "library_version": sqlite3.sqlite_version,
    }


def test_same_machine_same_bytes(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": "/home/x"}
    first = environment.collect(ctx(tmp_path, env), {"env_values": ["HOME"]})
    second = environment.collect(ctx(tmp_path, env), {"env_values": ["HOME"]})
    assert [o.data for o in first] == [o.data for o in second]


def _fake_install(site: Path, name: str, url: str) -> None:
    """An editable install as pip records it: a .dist-info folder with the folder it points to."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "direct_url.json").write_text(json.dumps({"url": url, "dir_info": {"editable": True}}))


def test_the_service_s_own_code_installed_from_another_checkout_fails_the_collector(tmp_path: Path) -> None:
    """A virtualenv shared with another clone imports that clone's code in the tests and the app."""
    import subprocess

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    service, other = tmp_path / "checkout", tmp_path / "other-checkout"
    (service / "backend").mkdir(parents=True)
    (service / "backend" / "pyproject.toml").write_text('[project]\nname = "Jobs_Service"\n')
    _fake_install(site, "jobs-service", (other / "backend").as_uri())
    _fake_install(site, "shared-lib", (tmp_path / "shared-lib").as_uri())
    outs = by_name(environment.collect(ctx(service), {"python": str(python)}))
    env = outs["environment.json"]
    assert env.status == "failed"
    assert f"jobs-service from {other / 'backend'}" in (env.message or "")
    assert "shared-lib" not in (env.message or "") and "pip install -e ." in (env.message or "")
    editable = json.loads(env.data or b"")["python"]["editable"]
    assert [name for name, _ in editable] == ["jobs-service", "shared-lib"]
    # NOTE: installed from this checkout (its `backend/`), it is fine.
    (site / "jobs-service-1.0.dist-info" / "direct_url.json").write_text(
        json.dumps({"url": (service / "backend").as_uri(), "dir_info": {"editable": True}})
    )
    assert (
        by_name(environment.collect(ctx(service), {"python": str(python)}))["environment.json"].status == "ok"
    )
