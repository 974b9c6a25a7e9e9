"""Mask what evidence-kit prints or writes outside a bundle: the one call every renderer ends with.

Check, diff, report, docs and attest output, error messages and the files the CLI writes all pass through
`scrub` (text) or `scrub_data` (the strings inside JSON-like data, masked before they are escaped). It
uses the built-in rules and the secret values of the current environment, like a collect does.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from evidence_kit.redact.redactor import Redactor, named_above, secret_pairs

T = TypeVar("T")
_cached: tuple[frozenset[tuple[str, str]], Redactor] | None = None
_configured: list[Redactor] = []
_generation = 0  # NOTE: counts the changes of the redactors above: text scrubbed before one is masked again


def use_configs(configs: Iterable[Any]) -> None:
    """Also mask what the service's `evidence.yaml` files name: `redact.env`, `redact.patterns`, the
    secret values of their commands' `env:` (a command that loads a config calls this first)."""
    global _generation
    _configured[:] = [Redactor.for_config(config, os.environ) for config in configs]
    _generation += 1


def redactor() -> Redactor:
    """The redactor for output: built-in rules and this process's secret environment values."""
    global _cached, _generation
    key = frozenset(secret_pairs(os.environ))
    if _cached is None or _cached[0] != key:
        _cached = (key, Redactor.from_pairs(key))
        _generation += 1
    return _cached[1]


def _mask(text: str, redactors: Iterable[Redactor] | None = None) -> str:
    for one in redactors if redactors is not None else (redactor(), *_configured):
        text = one.mask_text(text)[0]
    return text


class Scrubbed(str):
    """Text `scrub` gave, and by which redactors: what writes it out (a report written to a file) need not
    mask it again while they are the same."""

    generation = -1

    def part(self, start: int, end: int) -> Scrubbed:
        """The text from `start` to `end`, an end that cuts more than blanks marked `…`: still masked (a
        piece of masked text)."""
        lead = "…" if self[:start].strip() else ""
        tail = "…" if self[end:].strip() else ""
        return _scrubbed(lead + self[start:end] + tail, self.generation)


def _scrubbed(text: str, generation: int) -> Scrubbed:
    out = Scrubbed(text)
    out.generation = generation
    return out


def _current(text: object) -> bool:
    """Whether `text` was scrubbed by the redactors of now."""
    return type(text) is Scrubbed and text.generation == _generation


def scrub(text: str) -> str:
    """`text` with every secret masked (once: text it gave before, the redactors unchanged since, comes
    back as it is)."""
    if not text:
        return text
    redactors = (redactor(), *_configured)
    if _current(text):
        return text
    return _scrubbed(_mask(text, redactors), _generation)


def scrub_texts(texts: Sequence[str]) -> list[Scrubbed]:
    """`scrub` of each of `texts`, masked together (one prefilter pass over all of them)."""
    redactors = (redactor(), *_configured)
    out = list(texts)
    for one in redactors:
        out = one.mask_texts(out)
    return [_scrubbed(text, _generation) for text in out]


def scrub_lines(lines: Sequence[tuple[Sequence[str], str, bool]]) -> list[Scrubbed]:
    """`scrub_texts` of lines cut out of their files, each given with the lines above it (and whether its file
    may hold YAML blocks: `blocks` of :func:`named_above`): a line that holds a part of a value named on a
    line above (`SECRET_KEY = (`, then the string) is masked with the lines back to that one, as in its
    file."""
    texts = []
    for above, line, blocks in lines:
        n = named_above(above, line, blocks=blocks)
        texts.append("\n".join([*above[len(above) - n :], line]) if n else line)
    out = scrub_texts(texts)
    return [
        _scrubbed(text.rsplit("\n", 1)[-1], text.generation) if "\n" in text and "\n" not in line else text
        for text, (_, line, _) in zip(out, lines, strict=True)
    ]


def scrub_data(value: T) -> T:
    """`value` (mappings, lists, tuples, dataclasses, strings) with the secrets in its strings masked.

    A str subclass keeps its class (a `Markup` stays safe markup); a dataclass is copied with `replace`.
    When nothing in it is secret, `value` itself.
    """

    # NOTE: the environment is read once per value, not once per string (thousands in a diff's JSON), and
    # the distinct strings are masked together (one prefilter pass over all of them).
    found: dict[str, str] = {}

    def gather(node: Any) -> None:
        if isinstance(node, str):
            if not _current(node):
                found[node] = node
        elif isinstance(node, Mapping):
            for k, v in node.items():
                gather(k)
                gather(v)
        elif isinstance(node, list | tuple):
            for v in node:
                gather(v)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for name in _init_fields(type(node)):
                gather(getattr(node, name))

    gather(value)
    texts = [t for t in found if t]
    for one in (redactor(), *_configured):
        texts = one.mask_texts(texts)
    changed = {a: b for a, b in zip((t for t in found if t), texts, strict=True) if a != b}
    if not changed:
        return value

    # NOTE: what holds no masked string is kept as it is (not copied): most of a large report.
    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return type(node)(changed[node]) if node in changed and not _current(node) else node
        if isinstance(node, Mapping):
            items = [(walk(k), walk(v)) for k, v in node.items()]
            same = all(a is k and b is v for (a, b), (k, v) in zip(items, node.items(), strict=True))
            return node if same else dict(items)
        if isinstance(node, list | tuple):
            values = [walk(v) for v in node]
            if all(a is b for a, b in zip(values, node, strict=True)):
                return node
            return values if isinstance(node, list) else tuple(values)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            changes = {}
            for name in _init_fields(type(node)):
                old = getattr(node, name)
                new = walk(old)
                if new is not old:
                    changes[name] = new
            return dataclasses.replace(node, **changes) if changes else node
        return node

    masked: T = walk(value)
    return masked


@functools.cache
def _init_fields(cls: type) -> tuple[str, ...]:
    """The names of a dataclass's fields that its __init__ takes."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)
