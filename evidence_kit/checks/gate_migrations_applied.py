"""EK302 gate-migrations-applied: the database is at the migration heads.

`alembic current` must equal `alembic heads`: a database behind (or ahead of) the code
means the evidence shows a state that will not survive the next deploy.

Bad:
    current.txt: 5d8e2a91c4b6      heads.txt: c93d1a6e0f52 (head)

Good:
    current.txt: c93d1a6e0f52 (head)

A configuration whose migrations could not be read (0 revisions), or whose database version was not
read (`current.json` skipped, say without a database URL, or the database unreachable), is not blamed
on the database: the check is skipped, with the reason, when no configuration could be judged, and such
a configuration is named otherwise. An empty version table that several configurations may own (the same
table name, no `version_table_schema`) proves nothing: a configuration with no other table is not judged,
and one whose own tables are at the heads passes. Neither is a configuration whose env.py names its version
table at run time (`version_table=settings.table`) when no table of the default name is found, nor one
whose revisions a table of another name holds (a mistyped `version_table`): the finding names that table.
Messages name the version table when it is not `alembic_version` (`context.configure(version_table=...)`).
A configuration declared not applied to the database read (`database: false`: a tree for other tenants'
schemas or another database) is not judged; with no other, the check is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import alembic
from evidence_kit.model import Finding
from evidence_kit.policy.target import Skipped, missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK302"
NAME = "gate-migrations-applied"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def _words(versions: list[str] | None) -> str:
    return ", ".join(versions) if versions else "none"


def _read_nothing(config: alembic.AlembicConfig) -> bool:
    count = (config.summary or {}).get("count")
    return not config.heads and (count == 0 or (count is None and not config.revisions))


def _nothing(config: alembic.AlembicConfig) -> str:
    at = config.current_versions
    where = f" (at {_words(at)})" if at else ""
    return (
        f"Alembic configuration {config.name}: no migration was read (0 revisions), so whether the "
        f"database{where} is at the heads cannot be told"
    )


def _unjudged(config: alembic.AlembicConfig) -> tuple[str, str] | None:
    """(why, snippet) when the configuration's database cannot be judged against its heads, else None."""
    if config.summary is None:
        return None
    if _read_nothing(config):
        return _nothing(config), f"{config.name} no revisions"
    # NOTE: first what a read that did not find the table says (its artifact is skipped too), then why the
    # revision was not read at all.
    table_unknown = config.table_unknown
    if table_unknown is not None:
        why = (
            f"Alembic configuration {config.name}: {table_unknown}, so whether the database is at the heads "
            f"({_words(config.heads)}) cannot be told"
        )
        return why, f"{config.name} version table unknown"
    if config.unread is not None:
        why = (
            f"Alembic configuration {config.name}: the database revision was not read "
            f"(data/{config.unread}), so whether the database is at the heads ({_words(config.heads)}) "
            "cannot be told"
        )
        return why, f"{config.name} database not read"
    return None


def _no_table(config: alembic.AlembicConfig) -> str:
    """What a configuration with no version table of its own in the database shows."""
    current = config.current or {}
    if current.get("errors"):
        return "its version table could not be read"
    schema = current.get("version_table_schema")
    where = f" in the schema {schema}" if schema else ""
    table = config.version_table
    if config.not_counted and not schema:
        others = "; ".join(f"{s}: {state.get('reason')}" for s, state in sorted(config.not_counted.items()))
        return f"no {table} table holds one of its revisions (not counted: {others})"
    return f"no {table} table was found{where} (no migration applied)"


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail for each Alembic configuration whose database is not at its heads; skipped when no
    configuration could be judged (no revision read, or the database's version not read)."""
    found = alembic.read(target.view)
    if not found.present:
        yield missing(ID, alembic.prefix(None) + alembic.SUMMARY, "alembic", target.manifest)
        return
    # NOTE: a configuration declared not applied to this database (`database: false`) is not judged here.
    judged = [c for c in found.configs if c.not_applied is None]
    apart = [f"Alembic configuration {c.name}: {c.not_applied}" for c in found.configs if c.not_applied]
    unjudged = {c.label: said for c in judged if (said := _unjudged(c)) is not None}
    if len(unjudged) == len(judged):
        reasons = [*(why for why, _ in unjudged.values()), *apart]
        raise Skipped("; ".join(reasons) or "the bundle holds no Alembic configuration")
    for config in judged:
        where = alembic.prefix(config.label) + alembic.SUMMARY
        if config.summary is None:
            yield missing(ID, where, "alembic", target.manifest)
            continue
        if config.label in unjudged:
            # NOTE: with no revision or no database version read, the database cannot be blamed; the
            # evidence is what is missing.
            why, snippet = unjudged[config.label]
            yield Finding(ID, why, path=f"data/{where}", snippet=snippet)
            continue
        if config.up_to_date is True:
            continue
        heads = _words(config.heads)
        if not config.schemas:
            message = f"Alembic configuration {config.name}: {_no_table(config)}; heads are {heads}"
            yield Finding(ID, message, path=f"data/{where}", snippet=f"{config.name} not at heads")
            continue
        for schema, state in sorted(config.schemas.items()):
            if state.get("up_to_date") is True:
                continue
            current = [str(v) for v in state.get("versions") or []]
            pending = len(state.get("pending") or [])
            unknown = [str(v) for v in state.get("unknown") or []]
            detail = (
                f"{pending} revision{'' if pending == 1 else 's'} not applied"
                if pending
                else "not at the heads"
            )
            if unknown:
                detail += f"; unknown to the migrations: {', '.join(unknown)}"
            table = (
                "" if config.version_table == alembic.DEFAULT_VERSION_TABLE else f" ({config.version_table})"
            )
            yield Finding(
                ID,
                f"Alembic configuration {config.name}, schema {schema}{table}: database is at "
                f"{_words(current)}, heads are {heads} ({detail})",
                path=f"data/{where}",
                snippet=f"{config.name} {schema} not at heads",
            )
