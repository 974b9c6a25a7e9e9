"""`.env` files as the service's settings read them, and `env_file:` filling in what the environment lacks."""

from __future__ import annotations

import secrets
from pathlib import Path

from evidence_kit import config
from evidence_kit.support import dotenv


def test_values_are_read_as_settings_read_them(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# the service's settings\n"
        "APP_HOST=127.0.0.1  # a comment after the value\n"
        "export APP_PORT=5433\n"
        "APP_NAME='single ${NOT_FILLED}'\n"
        'APP_GREETING="two\\nlines with a # inside"\n'
        "APP_URL=postgresql://${APP_USER:-app}@${APP_HOST}:${APP_PORT}/db\n"
        'APP_PEM="-----BEGIN KEY-----\nabc\n-----END KEY-----"\n'
        "not a line\n"
        "APP_EMPTY=\n",
        encoding="utf-8",
    )
    assert dotenv.read(path, {"APP_PORT": "6000"}) == {
        "APP_HOST": "127.0.0.1",
        "APP_PORT": "5433",
        "APP_NAME": "single ${NOT_FILLED}",
        "APP_GREETING": "two\nlines with a # inside",
        # NOTE: the file's own earlier line, as the service's settings see it.
        "APP_URL": "postgresql://app@127.0.0.1:5433/db",
        "APP_PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----",
        "APP_EMPTY": "",
    }
    assert dotenv.read(tmp_path / "missing.env", {}) == {}


def test_env_files_fill_in_what_the_environment_does_not_set(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(16)
    (tmp_path / ".env").write_text(
        f"DB_USER=svc\nDB_PASSWORD={password}\nDB_HOST=db.internal\nDB_NAME=svc\n", encoding="utf-8"
    )
    (tmp_path / ".env.local").write_text("DB_HOST=127.0.0.1\nDB_NAME=other\n", encoding="utf-8")
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\nenv_file: [.env.local, .env, .env.missing]\n"
        "database:\n  url: postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}/${DB_NAME}\n"
        "collectors:\n  git: true\n",
        encoding="utf-8",
    )
    loaded = config.load(tmp_path / "evidence.yaml")
    env = loaded.with_env_files({"DB_NAME": "from-the-environment", "PATH": "/bin"})
    assert (env["DB_HOST"], env["DB_NAME"], env["DB_PASSWORD"]) == (
        "127.0.0.1",
        "from-the-environment",
        password,
    )
    target = loaded.database(env)
    assert target is not None
    assert target.url == f"postgresql://svc:{password}@127.0.0.1/from-the-environment"
    assert password in target.secrets


def test_a_secret_an_env_file_holds_is_masked_in_what_a_collect_writes(tmp_path: Path) -> None:
    from evidence_kit.commands.collect import collect

    token = secrets.token_urlsafe(24)
    (tmp_path / ".env").write_text(f"SVC_SIGNING_SECRET={token}\nSVC_MODE=dev\n", encoding="utf-8")
    # NOTE: the service prints what it read itself (its settings); the children never get the file's
    # variables from evidence-kit: the service reads its files as it chooses (a test run reads its own).
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\nenv_file: .env\ncollectors:\n  command:\n    commands:\n"
        "      - {name: settings, run: 'grep SIGNING .env'}\n"
        "      - {name: mode, run: 'echo \"[$SVC_MODE]\"'}\n",
        encoding="utf-8",
    )
    summary = collect(
        config.load(tmp_path / "evidence.yaml"), out=tmp_path / "out", env={"PATH": "/usr/bin:/bin"}
    )
    written = (summary.bundle / "data" / "command" / "settings.stdout.txt").read_text("utf-8")
    assert written.startswith("SVC_SIGNING_SECRET=") and token not in written
    assert not [p for p in summary.bundle.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert (summary.bundle / "data" / "command" / "mode.stdout.txt").read_text("utf-8") == "[]\n"
