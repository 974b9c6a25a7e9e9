"""EK101 forbidden-vocabulary: the phase's forbidden words do not appear in code, migrations or workers.

Words are matched on identifier sub-tokens, case-insensitively: `websocket` is found in
`WebSocketRoute`, `handle_websocket()` and `WEB_SOCKET`, but `sse` is not found in
`assessment`. Allowed phrases exempt what they cover (`job_queue` while `queue` is forbidden),
and `where` limits the kinds of text that count (identifiers, strings, docstrings, comments,
other text), so a policy can forbid identifiers but allow a word in a comment.

Bad:
    class WebSocketRoute: ...            # forbidden: [websocket]

Good:
    class PollingRoute: ...              # allowed: [polling]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.model import Finding, fingerprint
from evidence_kit.redact.scrub import Scrubbed, scrub_lines

if TYPE_CHECKING:
    from evidence_kit.policy import vocab
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK101"
NAME = "forbidden-vocabulary"
TARGET = "source"
DEFAULT_SEVERITY = "error"
KINDS = ["identifier", "string", "docstring", "comment", "text"]
_TERM = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["term"],
            "properties": {
                "term": {"type": "string", "minLength": 1},
                "match": {"enum": ["token", "prefix", "suffix", "substring"]},
                "plurals": {"type": "boolean"},
            },
        },
    ]
}
_WORDS: dict[str, Any] = {
    "forbidden": {
        "type": "array",
        "items": _TERM,
        "description": "Forbidden terms (or {term, match, plurals}).",
    },
    "allowed": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Phrases that exempt what they cover.",
    },
    "plurals": {"type": "boolean", "description": "Also match each term + s / es."},
    "where": {
        "type": "array",
        "items": {"enum": KINDS},
        "description": "Kinds of text that count (default all).",
    },
}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        **_WORDS,
        "targets": {
            "type": "array",
            "description": "Separate scopes (app, migrations, workers, docs), each with its own words.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "include"],
                "properties": {
                    "name": {"type": "string"},
                    "include": {"type": "array", "items": {"type": "string"}},
                    "exclude": {"type": "array", "items": {"type": "string"}},
                    **_WORDS,
                },
            },
        },
        "jobs": {"type": "integer", "minimum": 1, "description": "Processes to scan with (default: CPUs)."},
    },
}


def _targets(rule: Rule) -> list[dict[str, Any]]:
    """The scopes to scan: the `targets` list, else one scope from the rule's include/exclude."""
    options: Mapping[str, Any] = rule.options
    base = {k: options[k] for k in ("forbidden", "allowed", "plurals", "where") if k in options}
    targets = options.get("targets")
    if not targets:
        return [{"name": "", "include": list(rule.include), "exclude": list(rule.exclude), **base}]
    return [{**base, **t, "exclude": [*rule.exclude, *t.get("exclude", [])]} for t in targets]


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Scan each scope and report every forbidden term with where it stands."""
    from evidence_kit.policy import vocab

    assert target.root is not None
    root = target.root
    for scope in _targets(rule):
        terms = vocab.parse_terms(scope.get("forbidden", []), plurals=bool(scope.get("plurals", False)))
        if not terms:
            continue
        matcher = vocab.Matcher(terms, scope.get("allowed", []))
        hits = vocab.scan_tree(
            root,
            matcher,
            scope.get("include", []),
            scope.get("exclude", []),
            kinds=scope.get("where") or KINDS,
            jobs=rule.options.get("jobs"),
        )
        label = f" ({scope['name']})" if scope.get("name") else ""
        rels: dict[str, str] = {}
        # NOTE: a finding's fingerprint is its whole line's (as were it shown whole), once for each line.
        prints: dict[tuple[str, int], str] = {}
        masked = _masked(hits)
        for hit in hits:
            rel = rels.get(hit.path)
            if rel is None:
                rel = rels[hit.path] = Path(hit.path).resolve().relative_to(root).as_posix()
            line = masked.get((hit.path, hit.line))
            snippet, mark = _snippet(hit, masked[hit.line_text] if line is None else line)
            stamp = prints.get((rel, hit.line))
            if stamp is None:
                whole = Finding(ID, "", path=rel, snippet=hit.line_text.strip())
                stamp = prints[rel, hit.line] = fingerprint(whole)
            yield Finding(
                ID,
                f"forbidden term {hit.term!r} in {hit.kind} `{hit.matched_text}`{label}",
                path=rel,
                line=hit.line,
                col=hit.col,
                snippet=snippet,
                kind=hit.kind,
                fingerprint=stamp,
                snippet_col=mark,
            )


def _masked(hits: list[vocab.Hit]) -> dict[Any, Scrubbed]:
    """Each hit's line as masked, by its text; a line that may hold a part of a value named above it
    (`SECRET_KEY = (`, then the string) by its path and line number, masked with the lines above it.

    Each line is masked whole before a part of it is cut out to show: cut first, the part could hold a
    secret without the name or the prefix that shows it is one."""
    from evidence_kit.redact.redactor import CONTINUED_LINES, may_go_on

    files: dict[str, list[bytes]] = {}
    lines: dict[Any, tuple[list[str], str, bool]] = {}
    alone: set[tuple[str, bool]] = set()  # NOTE: lines (and kinds of file) that hold no part of a value
    for hit in hits:
        blocks = hit.kind == "text"
        if (hit.line_text, blocks) in alone or (hit.path, hit.line) in lines:
            continue
        if not may_go_on(hit.line_text, blocks=blocks):
            alone.add((hit.line_text, blocks))
            lines.setdefault(hit.line_text, ([], hit.line_text, False))
            continue
        whole = files.get(hit.path)
        if whole is None:
            files.clear()  # NOTE: hits come file by file: one file's lines at a time
            try:
                whole = files[hit.path] = Path(hit.path).read_bytes().split(b"\n")
            except OSError:
                whole = files[hit.path] = []
        above = whole[max(0, hit.line - 1 - CONTINUED_LINES) : max(0, hit.line - 1)]
        text = [line.decode("utf-8", "replace").removesuffix("\r") for line in above]
        lines[hit.path, hit.line] = (text, hit.line_text, blocks)
    return dict(zip(lines, scrub_lines(list(lines.values())), strict=True))


SHOWN = 200  # NOTE: a longer line is shown around its match, the cut ends marked with `…`
AROUND = 80


def _snippet(hit: vocab.Hit, masked: Scrubbed) -> tuple[str, int | None]:
    """The hit's line as masked, stripped (of a long line, the part around the match), and the match's
    1-based column in it; None when the match itself was masked."""
    word = hit.matched_text
    at = hit.col - 1
    start: int | None = at
    if masked[at : at + len(word)] != word:
        # NOTE: a masked secret before it moved the match (or undecodable bytes shown as U+FFFD did): it is
        # the same occurrence of its word as in the line, unless masking took some; then the nearest.
        places = [m.start() for m in re.finditer(re.escape(word), masked)]
        before = [m.start() for m in re.finditer(re.escape(word), hit.line_text)]
        if len(places) == len(before) and at in before:
            start = places[before.index(at)]
        else:
            start = min(places, key=lambda p: abs(p - at)) if places else None
    first = len(masked) - len(masked.lstrip())
    last = len(masked.rstrip())
    lo, hi = first, last
    if last - first > SHOWN:
        lo = first if start is None else max(first, start - AROUND)
        hi = min(last, (lo + SHOWN) if start is None else max(start + len(word), lo) + AROUND)
    piece = masked.part(lo, hi)
    if start is None:
        return piece, None
    return piece, start - lo + 1 + bool(masked[:lo].strip())
