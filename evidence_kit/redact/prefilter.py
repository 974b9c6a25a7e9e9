"""The one pass over the data: which lines hold any rule's keyword. Only those lines are matched exactly.

Every keyword (ASCII case-insensitive unless marked case-sensitive) goes into one regular expression, an
alternation of literals, compiled by RE2 when ``google-re2`` is installed (Latin-1 mode, a linear-time
DFA). Without it, Python's ``re`` searches the ASCII-lowercased block for the case-insensitive keywords
and the block itself for the others, each with an alternation whose shared prefixes are factored out
(a trie). One search over a block finds the first line holding a keyword, or tells that there is none
(most blocks of a log hold none, and cost nothing more); the search then resumes after that line, so
each candidate line is found once. Which keywords a candidate line holds is then decided on
the line alone: each keyword is looked for in it (``in``, after an ASCII lowercase for the
case-insensitive ones); or, with RE2 and a line of at most 4 KiB, the alternation (longest keyword first)
is searched at every place a keyword starts in the line, and what it matched there names the keywords it
begins with (by the same ``startswith`` rule). Both ways, and both engines, name exactly the same lines
with the same keywords, and so give the same masks.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

_re2: Any
try:
    _re2 = importlib.import_module("re2")
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

ENGINES = ("re2", "re")
# NOTE: the texts a keyword search matched, remembered with the keywords each begins with (bounded).
_KNOWN_MATCHES = 4096
# NOTE: in a longer line (minified JSON), one search per place a keyword starts costs more than looking
# for each keyword in the whole line.
_LONG_LINE = 4096
Candidate = tuple[int, int, frozenset[int]]  # line start, line end (before its newline), keyword ids
Buffer = bytes | bytearray | memoryview


def available() -> str:
    """The engine used by default: `re2` when google-re2 is installed, else `re`."""
    return "re2" if _re2 is not None else "re"


def _trie(words: Sequence[bytes]) -> re.Pattern[bytes]:
    """One Python regular expression matching any of `words`, shared prefixes factored out."""
    root: dict[int | None, Any] = {}
    for word in words:
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def emit(node: dict[int | None, Any]) -> bytes:
        if None in node:
            return b""
        alternatives = [
            re.escape(bytes([b])) + emit(child) for b, child in sorted(node.items()) if b is not None
        ]
        return alternatives[0] if len(alternatives) == 1 else b"(?:" + b"|".join(alternatives) + b")"

    return re.compile(emit(root))


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
        self._any: Any = None
        self._prefixes: dict[bytes, frozenset[int]] = {}
        self._lower: re.Pattern[bytes] | None = None
        self._exact: re.Pattern[bytes] | None = None
        if not self.keywords:
            return
        if self.engine == "re2":
            # NOTE: longest first, so an alternation that stops at the first alternative still finds the line.
            ordered = sorted(self.keywords, key=lambda k: -len(k[0]))
            pieces = [re.escape(kw) if sens else b"(?i:" + re.escape(kw) + b")" for kw, sens in ordered]
            options = _re2.Options()
            options.encoding = _re2.Options.Encoding.LATIN1
            options.max_mem = 64 << 20
            self._any = _re2.compile(b"|".join(pieces), options)
        else:
            # NOTE: `re` is slow on case-insensitive alternations: search the lowercased block with a trie.
            if self._insensitive:
                self._lower = _trie([kw.lower() for _, kw in self._insensitive])
            if self._sensitive:
                self._exact = _trie([kw for _, kw in self._sensitive])

    def first(self, block: Buffer, pos: int = 0) -> int:
        """Where the first keyword at or after `pos` starts, or -1."""
        return self._scanner(block)(pos)

    def _scanner(self, block: Buffer) -> Callable[[int], int]:
        """A function giving the position of the first keyword at or after a position, or -1."""
        if self._any is not None:
            search = self._any.search

            def any_keyword(pos: int) -> int:
                found = search(block, pos)
                return -1 if found is None else int(found.start())

            return any_keyword
        searches: list[tuple[re.Pattern[bytes], Buffer]] = []
        if self._lower is not None:
            searches.append((self._lower, bytes(block).lower()))
        if self._exact is not None:
            searches.append((self._exact, block))
        hits: list[int] = [-2] * len(searches)

        def either(pos: int) -> int:
            best = -1
            for i, (pattern, haystack) in enumerate(searches):
                if hits[i] == -2 or (hits[i] != -1 and hits[i] < pos):
                    found = pattern.search(haystack, pos)
                    hits[i] = -1 if found is None else found.start()
                if hits[i] != -1 and (best == -1 or hits[i] < best):
                    best = hits[i]
            return best

        return either

    def _held(self, block: bytes, begin: int, end: int) -> frozenset[int]:
        """The keywords the line `block[begin:end]` holds (ASCII case-insensitive unless marked)."""
        if self._any is None or end - begin > _LONG_LINE:
            line = block[begin:end]
            lowered = line.lower()
            kids = [kid for kid, kw in self._insensitive if kw in lowered]
            kids += [kid for kid, kw in self._sensitive if kw in line]
            return frozenset(kids)
        # NOTE: where keywords start, the alternation (longest first) matches the longest one there; the
        # others starting there are its prefixes. So every start, and the prefixes of what matched there.
        search, known = self._any.search, self._prefixes
        held: set[int] = set()
        pos = begin
        while (found := search(block, pos, end)) is not None:
            text = found.group()
            starting = known.get(text)
            if starting is None:
                lowered = text.lower()
                starting = frozenset(
                    [kid for kid, kw in self._insensitive if lowered.startswith(kw)]
                    + [kid for kid, kw in self._sensitive if text.startswith(kw)]
                )
                if len(known) < _KNOWN_MATCHES:
                    known[text] = starting
            held |= starting
            pos = found.start() + 1
        return frozenset(held)

    def candidates(self, block: bytes, first: int | None = None) -> list[Candidate]:
        """Every line of `block` holding a keyword, with the keywords it holds (`first`: the first hit)."""
        out: list[Candidate] = []
        scan = self._scanner(block)
        pos = scan(0) if first is None else first
        while pos != -1:
            begin = block.rfind(b"\n", 0, pos) + 1
            end = block.find(b"\n", pos)
            if end == -1:
                end = len(block)
            kids = self._held(block, begin, end)
            if kids:
                out.append((begin, end, kids))
            pos = scan(end + 1) if end < len(block) else -1
        return out
