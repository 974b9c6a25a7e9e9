"""EK307 gate-no-create-all: application code never builds the schema behind Alembic's back.

`metadata.create_all()` / `drop_all()` in application code makes tables that no migration
records; the database then differs from what `alembic history` claims. Tests and migrations may use
them. A `create_all`/`drop_all` the service defines itself (a method of its own class), called on an
object that is not visibly SQLAlchemy metadata, is not reported: the code facts show it is the
service's method, not SQLAlchemy's. Any other receiver (metadata, `MetaData()`, Flask-SQLAlchemy's
`db`, an unknown object) is reported.

Calls the option `allow` lists are not reported, each as `path::scope: code` (`app/db.py::init_db:
Base.metadata.create_all(engine)`, the function or class it sits in, `<module>` at the top): `evidence
init` lists there the calls that were already there when it ran (masked as the bundle's code facts
are: a password in the code never reaches the rules file), so a new call fails even in the same file or
function, and an allowed one that moves between lines still passes. Each entry allows one call: two
identical calls in one scope need the entry twice (as `init` writes it), so a copy of an allowed call
fails. Files the rule's
`exclude` globs match are left out whole.

Bad:
    # app/main.py
    Base.metadata.create_all(engine)

Good:
    # the schema comes from `alembic upgrade head`; create_all only in tests/conftest.py
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import codefacts
from evidence_kit.model import Finding
from evidence_kit.policy.target import _excluded, missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK307"
NAME = "gate-no-create-all"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "allow": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Calls not reported, each as `path::scope: code` (see the check's text).",
        }
    },
}
OWN_METHOD = "service method"


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report every create_all/drop_all of SQLAlchemy (or of an unknown object) in application code."""
    facts = codefacts.read(target.view).facts
    if facts is None:
        yield missing(ID, codefacts.path(codefacts.FACTS), "codefacts", target.manifest)
        return
    # NOTE: each entry allows one call: a second identical call in the same scope needs its own entry.
    allowed = Counter(str(entry) for entry in rule.options.get("allow") or ())
    listed = set(allowed)
    # NOTE: `init` writes fingerprints masked, and the code facts of a bundle were masked in their file,
    # where quotes are escaped: a fingerprint is also looked up as the redactor's own rules mask it.
    mask = _masker() if allowed else None
    calls = (facts.get("schema_calls") or {}).get("app", [])
    for call in sorted(calls, key=lambda c: (str(c.get("path", "")), c.get("line") or 0)):
        if call.get("receiver_kind") == OWN_METHOD or _excluded(str(call.get("path", "")), rule.exclude):
            continue
        again = ""
        if mask is not None:
            keys = (fingerprint(call), mask(fingerprint(call)))
            key = next((k for k in keys if allowed[k] > 0), None)
            if key is not None:
                allowed[key] -= 1
                continue
            if any(k in listed for k in keys):
                again = (
                    " (another identical call of this scope is allowed: `allow` lists one entry per call; "
                    "if both were there already, list the entry twice)"
                )
        where = f"{call.get('path')}:{call.get('line')}"
        yield Finding(
            ID,
            f"application code calls {call.get('method', 'create_all')} at {where}{again}",
            path=str(call.get("path", "")),
            line=call.get("line"),
            snippet=str(call.get("code", "")),
        )


def _masker() -> Callable[[str], str]:
    from evidence_kit.redact.redactor import Redactor

    redactor = Redactor()
    return lambda text: redactor.mask_text(text)[0]


def fingerprint(call: dict[str, Any]) -> str:
    """`path::scope: code` of a schema call of the code facts, as `allow` lists it (no scope in facts
    older than it: such a call matches no entry)."""
    return f"{call.get('path')}::{call.get('scope', '?')}: {call.get('code')}"
