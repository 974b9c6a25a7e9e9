"""`.env` files as the service's settings read them, and `env_file:` filling in what the environment lacks."""

from __future__ import annotations

import os
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
        "APP_EMPTY=\n"
        # NOTE: a quoted value with a comment after it ends at its quote; the lines after it are read.
        'APP_PASSWORD="q8 #vLp2" # local only\n'
        "APP_TOKEN='x y'  # note\n"
        'APP_ESCAPED="a\\"b"\n'
        # NOTE: a quote never closed is its line's text alone, not the rest of the file.
        'APP_OPEN="never closed\n'
        "APP_LAST=last\n",
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
        "APP_PASSWORD": "q8 #vLp2",
        "APP_TOKEN": "x y",
        "APP_ESCAPED": 'a"b',
        "APP_OPEN": "never closed",
        "APP_LAST": "last",
    }
    assert dotenv.read(tmp_path / "missing.env", {}) == {}
    # NOTE: a FIFO would block the read: it is no settings file, and neither is a huge file.
    os.mkfifo(tmp_path / "fifo.env")
    assert (dotenv.status(tmp_path / "fifo.env"), dotenv.read(tmp_path / "fifo.env", {})) == (
        "not a regular file",
        {},
    )
    (tmp_path / "huge.env").write_text("A=" + "x" * dotenv.MAX_BYTES + "\n", encoding="utf-8")
    assert (dotenv.status(tmp_path / "huge.env"), dotenv.read(tmp_path / "huge.env", {})) == ("too large", {})
    # NOTE: a long line of blanks is read in linear time.
    (tmp_path / "blank.env").write_text("A=" + " " * 200_000 + "x\n", encoding="utf-8")
    assert dotenv.read(tmp_path / "blank.env", {}) == {"A": "x"}


def test_env_files_fill_in_what_the_environment_does_not_set(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(16)
    (tmp_path / ".env").write_text(
        f"DB_USER=svc\nDB_PASSWORD={password}\nDB_HOST=db.internal\nDB_NAME=svc\n", encoding="utf-8"
    )
    (tmp_path / ".env.local").write_text("DB_HOST=127.0.0.1\nDB_NAME=other\n", encoding="utf-8")
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\nenv_file: [.env, .env.local, .env.missing, ../outside.env]\n"
        "database:\n  url: postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}/${DB_NAME}\n"
        "collectors:\n  git: true\n",
        encoding="utf-8",
    )
    # NOTE: a file outside the repository (here: the folder evidence.yaml is in) is never read.
    (tmp_path.parent / "outside.env").write_text("DB_HOST=elsewhere.example.com\n", encoding="utf-8")
    loaded = config.load(tmp_path / "evidence.yaml")
    assert loaded.env_file_status("../outside.env") == "outside the repository"
    # NOTE: the environment wins, then the last file that sets a variable (as pydantic-settings reads a list).
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
    (tmp_path.parent / "outside.env").unlink()


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


def test_a_secret_an_env_file_holds_is_masked_even_where_the_environment_overrides_it(tmp_path: Path) -> None:
    from evidence_kit.commands.collect import collect
    from evidence_kit.redact.scrub import scrub, use_configs

    in_file, in_local, in_env = (secrets.token_urlsafe(24) for _ in range(3))
    (tmp_path / ".env").write_text(f"SVC_DB_PASSWORD={in_file}\n", encoding="utf-8")
    (tmp_path / ".env.local").write_text(f"SVC_DB_PASSWORD={in_local}\n", encoding="utf-8")
    # NOTE: a log the service wrote while it still read the file's password (the environment now wins).
    (tmp_path / "app.log").write_text(f"fallback password {in_file}\nlocal password {in_local}\n")
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\nenv_file: [.env, .env.local]\n"
        "collectors:\n  files:\n    sets: [{name: logs, glob: ['*.log']}]\n",
        encoding="utf-8",
    )
    loaded = config.load(tmp_path / "evidence.yaml")
    env = {"PATH": "/usr/bin:/bin", "SVC_DB_PASSWORD": in_env}
    assert loaded.with_env_files(env)["SVC_DB_PASSWORD"] == in_env
    summary = collect(loaded, out=tmp_path / "out", env=env)
    written = [p.read_bytes() for p in summary.bundle.rglob("*") if p.is_file()]
    assert any(b"fallback password" in data for data in written)
    for value in (in_file, in_local):
        assert not [data for data in written if value.encode() in data]
    # NOTE: what the CLI prints or writes outside a bundle masks them too, once it has read the config.
    use_configs([loaded])
    try:
        assert in_file not in scrub(f"error: {in_file}") and in_local not in scrub(in_local)
    finally:
        use_configs([])
