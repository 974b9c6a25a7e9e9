"""Write a synthetic alembic project: alembic.ini, env.py, script.py.mako and N revision files."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = sqlite:///%(here)s/app.db
{extra}
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""Migration environment of the synthetic project (the history commands never run it)."""

from alembic import context
from sqlalchemy import create_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
'''

MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

_WORDS = (
    "add",
    "drop",
    "rename",
    "index",
    "jobs",
    "users",
    "tenants",
    "queue",
    "audit",
    "column",
    "table",
    "backfill",
    "constraint",
    "status",
    "priority",
    "retry",
    "owner",
    "archive",
    "report",
    "cleanup",
)


@dataclass
class Rev:
    """One generated revision, as it is written to its file."""

    revision: str
    down: str | tuple[str, ...] | None
    message: str
    labels: tuple[str, ...] = ()
    depends_on: str | None = None
    subdir: str = ""
    style: int = 0


@dataclass
class Project:
    """What `generate` wrote: the folder, the ini file and the revisions in creation order."""

    root: Path
    ini: Path
    versions: Path
    revisions: list[Rev] = field(default_factory=list)


class _Ids:
    """Unique 12-hex-digit revision ids from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def new(self) -> str:
        while True:
            rev = f"{self.rng.getrandbits(48):012x}"
            if rev not in self.used:
                self.used.add(rev)
                return rev


def _message(rng: random.Random, i: int) -> str:
    words = rng.sample(_WORDS, rng.randint(2, 5))
    return f"{' '.join(words)} {i}"


def plan(n: int, seed: int = 7) -> list[Rev]:
    """The revisions of a history with a trunk, side branches merged back, a labelled branch and deps.

    Shape: one trunk from a base; side branches forking from trunk revisions (branch points) and
    merged back (two- and three-way merge points); a second base carrying the branch label
    `reporting` that never merges (a second head); a lone base revision that another one depends on
    (an "effective head"); a short branch labelled `audit` merged into the trunk; a few `depends_on`
    by revision id and by branch label; one side branch left open at the end (a third head).
    """
    if n < 12:
        raise ValueError("need at least 12 revisions for every feature of the plan")
    rng = random.Random(seed)
    ids = _Ids(rng)
    revs: list[Rev] = []
    trunk: list[str] = []
    sides: list[str] = []
    reporting: str | None = None
    reporting_first: str | None = None

    def add(
        down: str | tuple[str, ...] | None,
        labels: tuple[str, ...] = (),
        depends_on: str | None = None,
        message: str | None = None,
    ) -> str:
        text = message or _message(rng, len(revs))
        revs.append(Rev(ids.new(), down, text, labels, depends_on, style=len(revs) % 4))
        return revs[-1].revision

    trunk.append(add(None))
    lone = add(None, message="lone base")
    audit_start = None
    while len(revs) < n - 2:
        left = n - 2 - len(revs)
        roll = rng.random()
        if reporting is None and len(revs) >= 4:
            reporting = reporting_first = add(None, labels=("reporting",))
        elif audit_start is None and len(revs) >= 8:
            audit_start = add(trunk[-2], labels=("audit",), message="audit trail \u2013 caf\u00e9")
            audit_tip = add(audit_start)
            trunk.append(add((trunk[-1], audit_tip)))
        elif roll < 0.07 and left > 3:
            sides.append(add(rng.choice(trunk[-6:])))
        elif roll < 0.14 and sides:
            take = rng.sample(sides, min(len(sides), rng.choice((1, 1, 2))))
            for tip in take:
                sides.remove(tip)
            parents = [trunk[-1], *take]
            rng.shuffle(parents)
            trunk.append(add(tuple(parents)))
        elif roll < 0.17 and reporting is not None:
            dep = rng.choice((trunk[-1], "reporting")) if len(revs) % 2 else trunk[-1]
            if dep == "reporting":
                trunk.append(add(trunk[-1], depends_on="reporting"))
            else:
                reporting = add(reporting, depends_on=dep)
        elif roll < 0.35 and reporting is not None:
            reporting = add(reporting)
        elif roll < 0.55 and sides:
            i = rng.randrange(len(sides))
            sides[i] = add(sides[i])
        else:
            trunk.append(add(trunk[-1]))
    assert reporting_first is not None
    # NOTE: the lone base stays a versioned head that a trunk revision depends on.
    trunk.append(add(trunk[-1], depends_on=lone))
    if sides:
        last = sides.pop()
        if sides:
            trunk.append(add(tuple([trunk[-1], *sides])))
        sides = [last]
    else:
        sides.append(add(trunk[-3]))
    while len(revs) < n:
        trunk.append(add(trunk[-1]))
    return revs[:n]


def _literal(value: str | tuple[str, ...] | None, style: int) -> str:
    if isinstance(value, tuple) and style == 1:
        return repr(list(value))
    if isinstance(value, str) and style == 3:
        return f'"{value}"'
    return repr(value)


def render(rev: Rev) -> str:
    """The text of one revision file, in one of four styles (annotated, lists, double quotes)."""
    down = rev.down
    revises = ", ".join(down) if isinstance(down, tuple) else (down or "")
    doc = rev.message
    if rev.style == 2:
        doc += "\nwith a second line in the first paragraph"
    head = (
        f'"""{doc}\n\nRevision ID: {rev.revision}\nRevises: {revises}\n'
        'Create Date: 2026-01-01 00:00:00\n\n"""\n'
    )
    labels = rev.labels[0] if len(rev.labels) == 1 else rev.labels or None
    if rev.style == 0:
        idents = (
            "from typing import Sequence, Union\n\n"
            "from alembic import op\nimport sqlalchemy as sa\n\n\n"
            "# revision identifiers, used by Alembic.\n"
            f"revision: str = {rev.revision!r}\n"
            f"down_revision: Union[str, Sequence[str], None] = {_literal(down, 0)}\n"
            f"branch_labels: Union[str, Sequence[str], None] = {labels!r}\n"
            f"depends_on: Union[str, Sequence[str], None] = {rev.depends_on!r}\n"
        )
    else:
        idents = (
            "from alembic import op\nimport sqlalchemy as sa\n\n"
            f"revision = {_literal(rev.revision, rev.style)}\n"
            f"down_revision = {_literal(down, rev.style)}\n"
            f"branch_labels = {labels!r}\n"
            f"depends_on = {_literal(rev.depends_on, rev.style)}\n"
        )
    table = f"t_{rev.revision}"
    body = (
        "\n\ndef upgrade() -> None:\n"
        f"    op.create_table(\n        {table!r},\n"
        "        sa.Column('id', sa.Integer(), primary_key=True),\n"
        "        sa.Column('name', sa.String(length=200), nullable=False),\n"
        "        sa.Column('created_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP')),\n"
        "    )\n"
        f"    op.create_index('ix_{table}_name', {table!r}, ['name'])\n"
        f'    op.execute(\n        """\nUPDATE {table} SET name = \'unnamed\'\n'
        'WHERE name IS NULL\n"""\n    )\n'
        "\n\ndef downgrade() -> None:\n"
        f"    op.drop_index('ix_{table}_name', table_name={table!r})\n"
        f"    op.drop_table({table!r})\n"
    )
    return head + idents + body


def _slug(message: str) -> str:
    return "_".join(message.split()[:4]).lower()


def generate(
    dest: Path,
    n: int = 1000,
    seed: int = 7,
    *,
    recursive: bool = False,
    extra_ini: str = "",
    revisions: list[Rev] | None = None,
) -> Project:
    """Write the project under `dest`; with `recursive`, every fifth revision goes in a subfolder."""
    revs = plan(n, seed) if revisions is None else revisions
    mig = dest / "migrations"
    versions = mig / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    extra = extra_ini
    if recursive:
        extra += "recursive_version_locations = true\n"
    ini = dest / "alembic.ini"
    ini.write_text(INI.format(extra="path_separator = os\n" + extra))
    (mig / "env.py").write_text(ENV_PY)
    (mig / "script.py.mako").write_text(MAKO)
    for i, rev in enumerate(revs):
        folder = versions
        if recursive and i % 5 == 4:
            rev.subdir = f"batch_{i % 3}"
            folder = versions / rev.subdir
            folder.mkdir(exist_ok=True)
        (folder / f"{rev.revision}_{_slug(rev.message)}.py").write_text(render(rev), encoding="utf-8")
    return Project(root=dest, ini=ini, versions=versions, revisions=revs)


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    print(generate(target, count).ini)
