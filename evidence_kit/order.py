"""The order in which collectors run: the default stages, and each collector's `after:` option.

Collectors that read state another collector changes must not run beside it. The commands (proofs and
worker runs) change the database and write logs, so they go first; the collectors that read what they
left come next; then the app, served (`http`) or imported (`openapi`), since an app may migrate or seed
the database as it starts (a factory that upgrades); the test suite may migrate and write the database,
so it runs last, alone with the collectors that read neither. Those (`ANYTIME`) start at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

STAGES: tuple[tuple[str, ...], ...] = (
    ("command",),
    ("alembic", "schema", "sql", "queue", "files"),
    ("http", "openapi"),
    ("tests",),
)
ANYTIME: tuple[str, ...] = ("git", "ci", "codefacts", "environment")


def _reaches(edges: Mapping[str, Iterable[str]], start: str, goal: str) -> bool:
    """Whether `start` waits, directly or not, for `goal`."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo.extend(edges.get(name, ()))
    return False


def _walk(after: Mapping[str, Sequence[str]], name: str, path: list[str]) -> list[str] | None:
    if name in path:
        return path[path.index(name) :]
    path.append(name)
    for nxt in after.get(name, ()):
        found = _walk(after, nxt, path)
        if found:
            return found
    path.pop()
    return None


def cycle(after: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle among `after:` options (`[a, b]` when a waits for b and b for a), or None."""
    for start in sorted(after):
        found = _walk(after, start, [])
        if found:
            return found
    return None


def order(names: Sequence[str], after: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """What each of `names` waits for: its `after:` entries, then every default the entries do not contradict.

    A default that would close a cycle with the `after:` options (say `files: {after: [tests]}`, where
    by default the tests wait for `files`) gives way. Names outside `names` (not selected) are ignored.
    """
    selected = set(names)
    edges: dict[str, list[str]] = {
        n: [d for d in after.get(n, ()) if d in selected and d != n] for n in names
    }
    stage = {n: i for i, group in enumerate(STAGES) for n in group}
    # NOTE: a collector whose `after:` names one of a later stage moves to that stage (`files: {after:
    # [tests]}` is the tests', and the app's stage no longer waits for it): the defaults follow the stages
    # as moved; a chain inside one stage (`sql: {after: [schema]}`) moves nothing.
    moved: dict[str, int] = {}

    def effective(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in moved:
            waited = [effective(d, seen | {name}) for d in edges[name] if d not in seen | {name}]
            moved[name] = max([stage.get(name, -1), *waited])
        return moved[name]

    for name in names:
        effective(name)
    for name in names:
        for earlier in names:
            default = (
                name in stage
                and earlier in stage
                and stage[earlier] < stage[name]
                and moved[earlier] < moved[name]
            )
            if default and earlier not in edges[name] and not _reaches(edges, earlier, name):
                edges[name].append(earlier)
    return {n: tuple(sorted(set(edges[n]), key=list(names).index)) for n in names}


def closure(waits: Mapping[str, Sequence[str]], name: str) -> set[str]:
    """Every collector `name` waits for, directly or through others."""
    found: set[str] = set()
    todo = list(waits.get(name, ()))
    while todo:
        dep = todo.pop()
        if dep not in found:
            found.add(dep)
            todo.extend(waits.get(dep, ()))
    return found


def stages(waits: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The collectors by wave: the first starts at once, each later one once what it waits for is done."""
    level: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in level:
            level[name] = 1 + max((depth(d) for d in waits[name]), default=-1)
        return level[name]

    waves: dict[int, list[str]] = {}
    for name in waits:
        waves.setdefault(depth(name), []).append(name)
    return [waves[i] for i in sorted(waves)]
