"""evidence.yaml: valid configs load; broken ones report every problem with its path and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_kit.config import load
from evidence_kit.errors import EvidenceError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evidence.yaml"
    path.write_text(text)
    return path


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, "service: jobs\nphase: 3.6\ncollectors:\n  git: true\n  files: false\n"))
    assert cfg.service == "jobs" and cfg.phase == "3.6"
    assert dict(cfg.collectors) == {"git": {}}
    assert cfg.output == tmp_path.resolve() / ".evidence"


def test_database_url_comes_from_the_environment_else_the_default(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, "service: s\ndatabase:\n  url_env: JOBS_DB\n  default: sqlite:///jobs.db\n"))
    assert cfg.database_url({}) == "sqlite:///jobs.db"
    assert cfg.database_url({"JOBS_DB": "postgresql://u@h/d"}) == "postgresql://u@h/d"


def test_url_env_may_list_the_names_the_service_reads_its_url_by_and_the_first_set_wins(
    tmp_path: Path,
) -> None:
    cfg = load(write(tmp_path, "service: s\ndatabase:\n  url_env: [SVC_SERVER_DB_URL, SVC_API_DB_URL]\n"))
    assert cfg.database_envs == ("SVC_SERVER_DB_URL", "SVC_API_DB_URL")
    assert cfg.database_env == "SVC_SERVER_DB_URL"
    target = cfg.database({"SVC_API_DB_URL": "postgresql://u@h/api"})
    assert target is not None and (target.url, target.source) == (
        "postgresql://u@h/api",
        "environment variable SVC_API_DB_URL",
    )
    both = {"SVC_API_DB_URL": "postgresql://u@h/api", "SVC_SERVER_DB_URL": "postgresql://u@h/server"}
    assert cfg.database_url(both) == "postgresql://u@h/server"
    assert cfg.database({}) is None
    assert cfg.url_hint({"SVC_SERVER_DB_URL": ""}) == (
        "none of the environment variables SVC_SERVER_DB_URL, SVC_API_DB_URL "
        "(evidence.yaml's `database.url_env`) is set"
    )
    one = load(write(tmp_path, "service: s\ndatabase:\n  url_env: SVC_DB\n"))
    assert (
        one.url_hint({}) == "the environment variable SVC_DB (evidence.yaml's `database.url_env`) is not set"
    )
    for bad in ("[]", "[A, A]", "[A, 1B]"):
        with pytest.raises(EvidenceError) as err:
            load(write(tmp_path, f"service: s\ndatabase:\n  url_env: {bad}\n"))
        assert any(
            line.startswith(f"{tmp_path / 'evidence.yaml'}: database.url_env") for line in err.value.details
        )


def test_every_problem_is_reported_at_once_with_path_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
phase: [1]
outptu: x
database:
  default: postgresql://app:hunter2@db/jobs
collectors:
  git:
    log: ten
  nosuch: true
  command:
    commands:
      - name: proof
""",
    )
    with pytest.raises(EvidenceError) as err:
        load(path)
    details = "\n".join(err.value.details)
    assert len(err.value.details) >= 6, details
    assert f"{path}: (top level): 'service' is a required property — fix: add `service:`" in details
    assert "(top level): Additional properties are not allowed ('outptu' was unexpected)" in details
    assert "phase:" in details
    assert "database.default:" in details and "without a password" in details
    assert "collectors.git.log: 'ten' is not of type 'integer'" in details
    assert "collectors: Additional properties are not allowed ('nosuch' was unexpected)" in details
    assert "collectors.command.commands.0: 'run' is a required property — fix: add `run:`" in details
    assert "hunter2" not in str(err.value).replace("postgresql://app:hunter2@db/jobs", "")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "service: jobs\ncollectors:\n  git: {log: 3\n")
    with pytest.raises(EvidenceError, match=r"not valid YAML at line \d+, column \d+"):
        load(path)


def test_missing_config_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError) as err:
        load(tmp_path / "nope.yaml")
    assert "nope.yaml not found" in err.value.message and "--config" in err.value.hint


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="must be a mapping"):
        load(write(tmp_path, "- a\n- b\n"))


def test_database_url_template_and_libpq_variables(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path,
            "service: s\ndatabase:\n  url_env: JOBS_DB\n"
            "  url: postgresql://${PGUSER_X}:${PW_X}@${HOST_X}/jobs\n  default: sqlite:///jobs.db\n",
        )
    )
    pw = "pass" + "word-1"
    assert cfg.database_url({"JOBS_DB": "postgresql://u@h/d"}) == "postgresql://u@h/d"
    target = cfg.database({"PGUSER_X": "app", "PW_X": pw, "HOST_X": "db"})
    assert target is not None and target.url == f"postgresql://app:{pw}@db/jobs" and target.secrets == (pw,)
    with pytest.raises(EvidenceError, match="PW_X"):
        cfg.database({"PGUSER_X": "app", "HOST_X": "db"})
    plain = load(write(tmp_path, "service: s\n"))
    assert plain.database({}) is None
    libpq = plain.database({"PGHOST": "h", "PGDATABASE": "d"})
    assert libpq is not None and libpq.url == "postgresql://h/d"


def test_a_literal_password_in_the_url_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError) as exc:
        load(write(tmp_path, "service: s\ndatabase:\n  url: postgresql://app:" + "hunter" + "22@db/jobs\n"))
    assert len(exc.value.details) == 1
    assert "database.url: " in exc.value.details[0]
    assert "fix: write the password as a `${VAR}` reference" in exc.value.details[0]


def test_a_url_template_may_give_defaults_but_never_to_the_password(tmp_path: Path) -> None:
    given = "postgresql://${U:-app}:${PW}@${H:-localhost}:${P:-5432}/${D:-jobs}"
    assert load(write(tmp_path, f"service: s\ndatabase:\n  url: '{given}'\n")).database_template == given
    # NOTE: a long user part of references is read at once (the pattern never backtracks over `$`).
    many = "postgresql://" + "${A}" * 30 + ":x@h/d"
    with pytest.raises(EvidenceError):
        load(write(tmp_path, f"service: s\ndatabase:\n  url: '{many}'\n"))
    literal = "postgresql://${U}:${PW:-" + "hunter" + "22}@h/d"
    with pytest.raises(EvidenceError) as exc:
        load(write(tmp_path, f"service: s\ndatabase:\n  url: '{literal}'\n"))
    assert "fix: write the password as a `${VAR}` reference" in exc.value.details[0]


def test_an_option_of_several_shapes_names_them_in_its_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path, "service: s\ncollectors:\n  openapi: {app: 'svc.main:app', served_at: true}\n  git: 3\n"
    )
    with pytest.raises(EvidenceError) as err:
        load(path)
    details = "\n".join(err.value.details)
    assert "collectors.openapi.served_at: true is none of the forms this key takes" in details
    assert "fix: use a string matching ^/ or `false`" in details
    assert (
        "collectors.git: 3 is none of the forms this key takes"
        " — fix: use `true`, `false` or a mapping" in details
    )
