"""Secret defaults in the service's source are learned, and masked where the service prints them bare."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from evidence_kit import config
from evidence_kit.redact import defaults


def _token() -> str:
    # NOTE: a digit for sure: a generated token without one is not learned (see defaults.py).
    return secrets.token_urlsafe(24) + "7"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_secret_defaults_of_the_services_source_are_learned_and_innocent_values_are_not(
    tmp_path: Path,
) -> None:
    tokens = [_token() for _ in range(7)]
    settings = (
        "import os\n\nfrom pydantic import Field\nfrom pydantic_settings import BaseSettings\n\n\n"
        "class Settings(BaseSettings):\n"
        f'    webhook_secret: str = "{tokens[0]}"\n'
        f'    signing_key: str = Field(default="{tokens[1]}")\n'
        '    token_type: str = "bearer"\n'
        '    password: str = "postgres"\n'
        '    api_key_env: str = "SVC_API_KEY"\n'
        '    next_token: str = "next-token"\n'
        '    session_token_header: str = "X-Session-Token-2"\n'
        '    auth_class: str = "svc.auth.TokenBackend"\n'
        '    db_password: str = "postgres15"\n'
        '    token_hash: str = "blake2b512"\n\n\n'
        f'SECRET_KEY = os.getenv("SECRET_KEY", "{tokens[2]}")\n'
        f'CLIENTS = {{"api_key": "{tokens[3]}", "region": "eu-west-1"}}\n'
        f'JWT_SECRET = os.environ.get("JWT_SECRET") or "{tokens[5]}"\n'
        f'GATEWAY_TOKEN = config("GATEWAY_TOKEN", cast=str, default="{tokens[6]}")\n'
        'TOKEN_HEADER = os.environ.get("TOKEN_HEADER") or "X-Gateway-Token"\n'
        'PASSWORD_FIELD = config("PASSWORD_FIELD", cast=str, default="password_hash")\n'
        'if SECRET_KEY == "x1":\n    pass\n'
    )
    _write(
        tmp_path,
        {
            "svc/settings.py": settings,
            # NOTE: a test's fixture value is no secret of the service.
            "tests/test_auth.py": f'API_TOKEN = "{tokens[4]}"\n',
            "svc/conftest.py": f'PASSWORD = "{tokens[4]}"\n',
            "svc/tests.py": f'ADMIN = create_user(password="{tokens[4]}")\nAPI_KEY = "{tokens[4]}"\n',
            # NOTE: settings modules only: a handler's literal is not read (every command reads them).
            "svc/handlers.py": f'API_TOKEN = "{tokens[4]}"\n',
        },
    )
    found = defaults.source_defaults(tmp_path)
    assert found == [
        ("webhook_secret", tokens[0]),
        ("signing_key", tokens[1]),
        ("SECRET_KEY", tokens[2]),
        ("api_key", tokens[3]),
        ("JWT_SECRET", tokens[5]),
        ("GATEWAY_TOKEN", tokens[6]),
    ]


def test_a_secret_default_the_service_prints_bare_is_masked_in_the_bundle_and_output(tmp_path: Path) -> None:
    from evidence_kit.commands.collect import collect
    from evidence_kit.redact.scrub import scrub, use_configs

    token = _token()
    root = tmp_path / "svc"
    _write(
        root,
        {
            "app/settings.py": f'WEBHOOK_SECRET = "{token}"\n',
            # NOTE: the service logs the value it runs with, with no name beside it.
            "app/send.py": "from settings import WEBHOOK_SECRET\n\nprint('signing with', WEBHOOK_SECRET)\n",
            "evidence.yaml": (
                "service: svc\ncollectors:\n  command:\n    commands:\n"
                f"      - {{name: send, run: '{sys.executable} app/send.py'}}\n"
            ),
        },
    )
    loaded = config.load(root / "evidence.yaml")
    summary = collect(loaded, out=tmp_path / "out", env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "app"})
    written = (summary.bundle / "data" / "command" / "send.stdout.txt").read_text("utf-8")
    assert written.startswith("signing with ") and token not in written
    assert not [p for p in summary.bundle.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    use_configs([loaded])
    try:
        assert token not in scrub(f"error: {token}")
    finally:
        use_configs([])
