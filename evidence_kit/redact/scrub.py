"""Mask what evidence-kit prints or writes outside a bundle: the one call every renderer ends with.

Check, diff, report, docs and attest output, error messages and the files the CLI writes all pass through
`scrub` (text) or `scrub_data` (the strings inside JSON-like data, masked before they are escaped). It
uses the built-in rules and the secret values of the current environment, like a collect does.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from evidence_kit.redact.redactor import Redactor, secret_pairs

T = TypeVar("T")
_cached: tuple[frozenset[tuple[str, str]], Redactor] | None = None
_configured: list[Redactor] = []


def use_configs(configs: Iterable[Any]) -> None:
    """Also mask what the service's `evidence.yaml` files name: `redact.env`, `redact.patterns`, the
    secret values of their commands' `env:` (a command that loads a config calls this first)."""
    _configured[:] = [Redactor.for_config(config, os.environ) for config in configs]


def redactor() -> Redactor:
    """The redactor for output: built-in rules and this process's secret environment values."""
    global _cached
    key = frozenset(secret_pairs(os.environ))
    if _cached is None or _cached[0] != key:
        _cached = (key, Redactor.from_pairs(key))
    return _cached[1]


def _mask(text: str, redactors: Iterable[Redactor] | None = None) -> str:
    for one in redactors if redactors is not None else (redactor(), *_configured):
        text = one.mask_text(text)[0]
    return text


def scrub(text: str) -> str:
    """`text` with every secret masked."""
    return _mask(text) if text else text


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
            found[node] = node
        elif isinstance(node, Mapping):
            for k, v in node.items():
                gather(k)
                gather(v)
        elif isinstance(node, list | tuple):
            for v in node:
                gather(v)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                if f.init:
                    gather(getattr(node, f.name))

    gather(value)
    texts = [t for t in found if t]
    for one in (redactor(), *_configured):
        texts = one.mask_texts(texts)
    masked_texts = dict(zip((t for t in found if t), texts, strict=True))
    if all(a == b for a, b in masked_texts.items()):
        return value

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return node if not node else type(node)(masked_texts[node])
        if isinstance(node, Mapping):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, tuple):
            return tuple(walk(v) for v in node)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            changes = {f.name: walk(getattr(node, f.name)) for f in dataclasses.fields(node) if f.init}
            return dataclasses.replace(node, **changes)
        return node

    masked: T = walk(value)
    return masked
