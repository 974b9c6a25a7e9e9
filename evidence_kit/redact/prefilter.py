"""The one pass over the data: which lines hold any rule's keyword. Only those lines are matched exactly.

Every keyword (ASCII case-insensitive unless marked case-sensitive) goes into one regular expression, an
alternation of literals. With ``google-re2`` installed it is compiled by RE2 (Latin-1 mode, a linear-time
DFA), else by Python's ``re``. One search over a block finds the first line holding a keyword, or tells
that there is none (most blocks of a log hold none, and cost nothing more); the search then resumes after
that line, so each candidate line is found once. Which keywords a candidate line holds is then decided on
the line alone (``in``, after an ASCII lowercase for the case-insensitive ones), so both engines name
exactly the same lines with the same keywords, and so give the same masks.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

_re2: Any
try:
    _re2 = importlib.import_module("re2")
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

ENGINES = ("re2", "re")
Candidate = tuple[int, int, frozenset[int]]  # line start, line end (before its newline), keyword ids
Buffer = bytes | bytearray | memoryview


def available() -> str:
    """The engine used by default: `re2` when google-re2 is installed, else `re`."""
    return "re2" if _re2 is not None else "re"


class Prefilter:
    """Finds the lines of a block that hold any of the keywords (`case_sensitive` per keyword)."""

    def __init__(self, keywords: Sequence[tuple[bytes, bool]], engine: str | None = None) -> None:
        self.keywords = tuple(keywords)
        self.engine = engine or available()
        if self.engine not in ENGINES or (self.engine == "re2" and _re2 is None):
            raise ValueError(f"unknown or missing prefilter engine {self.engine!r}")
        self._insensitive = tuple(
            (kid, kw) for kid, (kw, sensitive) in enumerate(self.keywords) if not sensitive
        )
        self._sensitive = tuple((kid, kw) for kid, (kw, sensitive) in enumerate(self.keywords) if sensitive)
        # NOTE: longest first, so an alternation that stops at the first alternative still finds the line.
        ordered = sorted(self.keywords, key=lambda k: -len(k[0]))
        pieces = [re.escape(kw) if sensitive else b"(?i:" + re.escape(kw) + b")" for kw, sensitive in ordered]
        self._any: Any = None
        if not pieces:
            return
        pattern = b"|".join(pieces)
        if self.engine == "re2":
            options = _re2.Options()
            options.encoding = _re2.Options.Encoding.LATIN1
            options.max_mem = 64 << 20
            self._any = _re2.compile(pattern, options)
        else:
            self._any = re.compile(pattern)

    def first(self, block: Buffer, pos: int = 0) -> int:
        """Where the first keyword at or after `pos` starts, or -1."""
        if self._any is None:
            return -1
        found = self._any.search(block, pos)
        return -1 if found is None else int(found.start())

    def candidates(self, block: bytes, first: int | None = None) -> list[Candidate]:
        """Every line of `block` holding a keyword, with the keywords it holds (`first`: the first hit)."""
        out: list[Candidate] = []
        pos = self.first(block) if first is None else first
        while pos != -1:
            begin = block.rfind(b"\n", 0, pos) + 1
            end = block.find(b"\n", pos)
            if end == -1:
                end = len(block)
            line = block[begin:end]
            lowered = line.lower()
            kids = [kid for kid, kw in self._insensitive if kw in lowered]
            kids += [kid for kid, kw in self._sensitive if kw in line]
            if kids:
                out.append((begin, end, frozenset(kids)))
            pos = self.first(block, end + 1) if end < len(block) else -1
        return out
