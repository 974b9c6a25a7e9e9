"""Secret values the service's own source gives as defaults, for the redactor to mask wherever they appear.

A setting with a hard-coded default (`webhook_secret: str = "…"`, `SECRET_KEY = os.getenv("SECRET_KEY",
"…")`) is masked where the source is shown (a diff, a migration) by the rules that read assignments; but a
service that runs with the default prints the value bare (a log line, a proof script's output), where no
name stands beside it. The redactor learns the values of the environment and of `env_file`s the same way.

Read: the service's settings modules (what git would track, else a walk; vendored folders skipped): a
Python file named for settings (`settings.py`, `config.py`, `app_conf.py`, `constants.py`, `secrets.py`,
...) or in a `settings/`, `config/` or `conf/` package; not its tests (a fixture's value is no service's
secret). Kept: a string literal assigned to a secret name (an assignment, an annotated field, a call's
`default=` or first argument after it, an environment look-up's default, a dict entry), when the value is
one word of 16 characters or more, letters and digits, mixed enough for a token (values.py's
`is_machine_made`): a word, a name or a version (`postgres15`, `session-token`, a class's name) would mask
innocent text everywhere. A token of letters alone, or a shorter one, is not learned.
"""

from __future__ import annotations

import re
from pathlib import Path

from evidence_kit.redact.rules import builtin
from evidence_kit.support.tree import find

# NOTE: the names of the rules' keywords (values.py judges the name after), a string of one line.
_NAME = rb"(?P<name>\w{0,64}(?i:pass|pw|secret|token|key|cred|salt|dsn|auth)\w{0,64})"
_VALUE = rb"[rRuU]?(?P<q>['\"])(?P<value>[^'\"\\\r\n\s]{8,256})(?P=q)"
# NOTE: what follows a look-up's name before its default: `, `, `, default=`, `, cast=str, default=`, `) or `
_AFTER_LOOKUP = (
    rb"(?:,(?:[ \t]*\w{1,32}[ \t]*=[ \t]*[\w.]{1,64}[ \t]*,){0,4}[ \t]*(?:default[ \t]*=[ \t]*)?"
    rb"|\)[ \t]*or[ \t]+)"
)
_DEFAULTS = re.compile(
    # NOTE: `NAME = "v"`, `name: str = "v"`, `name: str = Field("v")`, `Field(default="v")`
    rb"(?m)^[ \t]*(?:self\.)?" + _NAME + rb"[ \t]*(?::[^=\r\n]{1,80})?=[ \t]*"
    rb"(?:[A-Za-z_][\w.]*\([ \t]*(?:default[ \t]*=[ \t]*)?)?"
    + _VALUE
    # NOTE: not a look-up's name (`os.getenv("SECRET_KEY", "v")`: the next alternative reads it)
    + rb"(?![ \t]*"
    + _AFTER_LOOKUP
    + rb"[rRuU]?['\"])"
    # NOTE: `os.getenv("NAME", "v")`, `config("NAME", default="v")`, `config("NAME", cast=str, default="v")`,
    # `os.environ.get("NAME") or "v"`, `{"name": "v"}`
    + rb"|['\"]"
    + _NAME.replace(b"<name>", b"<lookup>")
    + rb"['\"][ \t]*(?:"
    + _AFTER_LOOKUP
    + rb"|:[ \t]*)"
    + _VALUE.replace(b"<q>", b"<q2>").replace(b"<value>", b"<value2>").replace(b"(?P=q)", b"(?P=q2)")
)
_TEST_PARTS = frozenset({"tests", "test", "testing", "fixtures"})
# NOTE: the modules settings live in (`settings.py`, `core/config.py`, `conf/base.py`, `constants.py`): read
# by every command that loads evidence.yaml, the whole tree would cost seconds on a large service.
_SETTINGS = re.compile(
    r"(?:^|/)(?:[\w-]*(?:settings|config|conf|configuration|constants|defaults|env|environment|secrets?|"
    r"credentials)[\w-]*\.py|(?:settings|config|conf)/[\w-]+\.py)$"
)
MAX_FILE = 1024 * 1024


def _is_test(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (
        any(p in _TEST_PARTS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("conftest.py", "tests.py", "test.py", "factories.py")
    )


def source_defaults(root: Path) -> list[tuple[str, str]]:
    """(name, value) of the secret defaults in the service's source below `root` (see the module's text)."""
    base = root.resolve()
    found: dict[tuple[str, str], None] = {}
    for rel in find(base, lambda rel: _SETTINGS.search(rel) is not None and not _is_test(rel)):
        try:
            path = base / rel
            if path.stat().st_size > MAX_FILE:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        for m in _DEFAULTS.finditer(data):
            name = m.group("name") or m.group("lookup")
            value = m.group("value") or m.group("value2")
            pair = (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            if _secret(*pair):
                found[pair] = None
    return list(found)


def _secret(name: str, value: str) -> bool:
    ruleset = builtin()
    judge = ruleset.judge
    if not ruleset.names.secret(name) or ruleset.names.named_by(value, name):
        return False
    if judge.is_placeholder(value) or judge.is_variable_name(value) or judge.is_plain(value):
        return False
    if judge.is_regex(value) or judge.is_code(value) or not _TOKEN.fullmatch(value):
        return False
    return judge.is_machine_made(value.encode("utf-8", "surrogateescape"))


# NOTE: 16 characters or more, letters and digits both (a generated token nearly always has a digit; a name,
# a word joined to words by `-` or a type's name has none; a version or an image tag, `postgres15`, is short),
# and neither `:` nor `?` (a host and port, a URL's query, a template).
_TOKEN = re.compile(r"(?=[^:?]*\d)(?=[^:?]*[A-Za-z])[^:?]{16,}")
