"""Database URLs: tell PostgreSQL from SQLite, open read-only connections, hide passwords."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from evidence_kit.errors import CollectorError, EvidenceError

if TYPE_CHECKING:
    import sqlite3

    import psycopg

    from evidence_kit.model import Context

_DRIVER = re.compile(r"^(postgres(?:ql)?)(\+[a-z0-9_]+)?://", re.I)
# NOTE: `${VAR}`, or `${VAR:-default}`: the default where VAR is not set or empty (as a shell reads it).
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}/@:]*))?\}")
LIBPQ = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")


@dataclass(frozen=True)
class Database:
    """The target database: its URL, where the URL came from, and the values to mask wherever they appear."""

    url: str
    source: str
    secrets: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """The URL with its password masked."""
        return safe(self.url)


def secrets_of(url: str) -> tuple[str, ...]:
    """The password of a URL, as written and decoded."""
    raw = urlsplit(url).netloc.rpartition("@")[0].partition(":")[2]
    if not raw:
        return ()
    from urllib.parse import unquote

    return tuple(dict.fromkeys((raw, unquote(raw))))


def from_template(template: str, env: Mapping[str, str]) -> Database:
    """A URL from a template with `${VAR}` references (`${VAR:-default}`: a default, without `/`, `@` or
    `:`, where VAR is not set or empty); a variable that is not set, with no default, is an error naming it.

    Values put in the user or password part are percent-encoded (a password may hold `@` or `/`); a
    variable that is the whole user part (`${DATABASE_CREDENTIALS}@host`) may hold `user:password`,
    each side encoded. The password, and the value of any referenced variable whose name looks secret,
    are secrets; host, port, user and database names are not.
    """
    refs = list(_REF.finditer(template))
    names = list(dict.fromkeys(m.group(1) for m in refs))
    missing = list(dict.fromkeys(m.group(1) for m in refs if _value(m, env) is None))
    if missing:
        listed = ", ".join(missing)
        raise EvidenceError(
            f"database.url needs the environment variable{'s' if len(missing) > 1 else ''} {listed}, "
            f"which {'are' if len(missing) > 1 else 'is'} not set",
            hint=f"export {missing[0]} before collecting (the service's own settings name it): the "
            "`database.url` template in evidence.yaml reads it (`${NAME:-default}` gives it a default)",
        )
    scheme, sep, rest = template.partition("://")
    authority, slash, tail = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")

    def fill(text: str, encode: bool) -> str:
        def one(m: re.Match[str]) -> str:
            value = _value(m, env) or ""
            return quote(value, safe="") if encode else value

        return _REF.sub(one, text)

    def fill_userinfo(text: str) -> str:
        user, password = _userinfo_parts(text)
        if password is not None:
            return fill(user, True) + ":" + fill(password, True)
        user, colon, filled = fill(text, False).partition(":")
        return quote(user, safe="") + colon + quote(filled, safe="")

    url = (
        fill(scheme, False)
        + sep
        + fill_userinfo(userinfo)
        + at
        + fill(hostport, False)
        + slash
        + fill(tail, False)
    )
    if "${" in url:
        raise EvidenceError(
            f"database.url holds a reference it cannot read: {template}",
            hint="write each as `${NAME}` or `${NAME:-default}` (a default without `/`, `@` or `:`)",
        )
    values = [*template_secrets(template, env), *secrets_of(url)]
    # NOTE: a variable the default stood in for is no source of the URL: its default is.
    with_default = {m.group(1) for m in refs if m.group(2) is not None}
    defaulted = [n for n in names if n in with_default and not env.get(n)]
    given = [n for n in names if n not in defaulted]
    source = "database.url in the config"
    if given:
        source += f", from {', '.join(given)}"
    if defaulted:
        plural = "s" if len(defaulted) > 1 else ""
        source += f"{' and' if given else ','} the default{plural} of {', '.join(defaulted)}"
    return Database(url, source, tuple(dict.fromkeys(v for v in values if v)))


def template_secrets(template: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The values, where set, of the template's variables in the password part or with a secret-looking
    name: masked wherever they appear, even when another variable the template needs is missing."""
    from evidence_kit.redact.redactor import SECRET_NAME

    userinfo = template.partition("://")[2].partition("/")[0].rpartition("@")[0]
    password_refs = {m.group(1) for m in _REF.finditer(_userinfo_parts(userinfo)[1] or "")}
    names = dict.fromkeys(m.group(1) for m in _REF.finditer(template))
    return tuple(
        env[n] for n in names if n in env and env[n] and (n in password_refs or SECRET_NAME.search(n))
    )


def _userinfo_parts(userinfo: str) -> tuple[str, str | None]:
    """A template's user part and password part (None without one): split at the `:` that is not a
    reference's `:-`."""
    at = _REF.sub(lambda m: "_" * len(m.group()), userinfo).find(":")
    return (userinfo, None) if at < 0 else (userinfo[:at], userinfo[at + 1 :])


def _value(ref: re.Match[str], env: Mapping[str, str]) -> str | None:
    """What a `${VAR}` reference stands for in `env`; None when VAR is not set and it gives no default."""
    name, default = ref.group(1), ref.group(2)
    if default is not None and not env.get(name):
        return default
    return env.get(name)


def from_libpq(env: Mapping[str, str]) -> Database | None:
    """A URL from the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE.

    None when none of them names a target (PGPASSWORD alone does not).
    """
    if not any(env.get(k) for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE")):
        return None
    host, port = env.get("PGHOST", ""), env.get("PGPORT", "")
    user, password = env.get("PGUSER", ""), env.get("PGPASSWORD", "")
    userinfo = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    query = []
    if host.startswith("/"):
        # NOTE: a socket folder cannot stand in the host part of a URL; libpq takes it as a parameter.
        query.append(f"host={quote(host, safe='/')}")
        netloc = ""
        if port:
            query.append(f"port={port}")
    else:
        netloc = host + (f":{port}" if port else "")
    name = quote(env.get("PGDATABASE", ""), safe="")
    url = f"postgresql://{userinfo + '@' if userinfo else ''}{netloc}/{name}"
    url += "?" + "&".join(query) if query else ""
    used = ", ".join(k for k in LIBPQ if env.get(k))
    return Database(
        url,
        f"libpq variables {used}",
        tuple(dict.fromkeys(v for v in (password, quote(password, safe="")) if v)),
    )


def require_url(ctx: Context, collector: str) -> str:
    """The database URL, or a CollectorError saying why there is none and how to give one."""
    url = ctx.database_url
    if not url and ctx.database_problem:
        raise CollectorError(
            f"the database URL cannot be built: {ctx.database_problem}",
            hint=f"export the variable named above before collecting, or disable the {collector} collector",
        )
    if not url:
        raise CollectorError(
            "no database configured",
            hint="set `database.url_env` (and the variable it names), `database.url` or `database.default` "
            "in evidence.yaml, or the PG* variables, "
            f"or disable the {collector} collector",
        )
    if not (is_postgres(url) or is_sqlite(url)):
        raise CollectorError(
            f"unsupported database URL {safe(url)}",
            hint=f"the {collector} collector reads PostgreSQL (postgresql://...) and SQLite (sqlite:///...) "
            "databases",
        )
    return url


def is_postgres(url: str) -> bool:
    """True for postgresql://, postgres:// and SQLAlchemy's postgresql+driver:// URLs."""
    return bool(_DRIVER.match(url))


def is_sqlite(url: str) -> bool:
    """True for SQLAlchemy-style sqlite:/// URLs."""
    return url.lower().startswith("sqlite")


def libpq_url(url: str) -> str:
    """A URL libpq accepts: SQLAlchemy's `+driver` suffix removed."""
    return _DRIVER.sub("postgresql://", url, count=1)


def sqlite_path(url: str, root: Path) -> Path:
    """The file of a sqlite:///relative or sqlite:////absolute URL, relative paths from `root`."""
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    if not rest or rest == ":memory:":
        raise CollectorError(f"unsupported SQLite URL {url!r}", hint="use sqlite:///path/to/file.db")
    path = Path(rest.split("?", 1)[0])
    return path if path.is_absolute() else root / path


def safe(url: str) -> str:
    """The URL with any password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def connect_pg(
    url: str, *, source: str | None = None, timeout_s: int = 10, statement_timeout_ms: int = 60_000
) -> psycopg.Connection[Any]:
    """A read-only PostgreSQL connection with a statement timeout; clear error when down, naming where the
    URL came from (`source`, as :attr:`Database.source` says it) when known."""
    import psycopg

    try:
        conn = psycopg.connect(
            libpq_url(url),
            connect_timeout=timeout_s,
            options=f"-c default_transaction_read_only=on -c statement_timeout={statement_timeout_ms}",
            application_name="evidence-kit",
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = (
            f"it came from the {source}"
            if source
            else "the variable `database.url_env` names, or the `database.url` template, in evidence.yaml"
        )
        raise CollectorError(
            f"cannot connect to the database at {safe(url)}: {first}",
            hint=f"start the database, or fix its URL: {where}",
        ) from exc
    conn.read_only = True
    return conn


def connect_sqlite(url: str, root: Path) -> sqlite3.Connection:
    """A read-only SQLite connection; a missing file is an error, never created."""
    import sqlite3

    path = sqlite_path(url, root)
    if not path.exists():
        raise CollectorError(
            f"SQLite database {path} does not exist",
            hint="run the migrations first (`alembic upgrade head`) or fix the database URL",
        )
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
