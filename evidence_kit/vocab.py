"""Find forbidden vocabulary in source trees: identifier-aware, case-insensitive, prefiltered and parallel.

Semantics
=========
Words
    Text is split into words, runs of word characters (Unicode ``\\w``). In Python code a word is a NAME
    token (``\\w+``; runs that start with a digit are numbers and never match). Everywhere else (strings,
    docstrings, comments, other text files) ``.`` and ``-`` join words too, so ``web-socket`` and
    ``real.time`` are one word each. A match never crosses a word boundary: ``real time`` (with a space) is
    two words.
Sub-tokens
    A word is split into sub-tokens at ``_``, ``-`` and ``.``; where letters meet digits (a run of digits is
    a sub-token of its own: ``http2`` is ``http`` + ``2``); where a lowercase letter meets an uppercase one
    (``webSocket``); and before the last capital of a run of capitals followed by a lowercase letter
    (``HTTPServer`` is ``HTTP`` + ``Server``, ``WEB_SOCKET`` is ``WEB`` + ``SOCKET``). Letters without case
    (CJK and the like) count as lowercase. ``URLs`` splits as ``UR`` + ``Ls``; it still matches the term
    ``urls`` (see matching), not ``url``.
Case folding
    Every sub-token is folded with ``str.casefold()``; lines that are pure ASCII take a ``str.lower()`` fast
    path, which is the same thing for ASCII. ``Straße`` folds to ``strasse``, the Kelvin sign to ``k``.
Terms
    A term's key is the concatenation of its own folded sub-tokens, separators and spaces dropped:
    ``websocket``, ``WebSocket``, ``web_socket`` and ``Web Socket`` are all the key ``websocket``;
    ``real_time`` is ``realtime``.
Matching
    A word's key is the concatenation of its folded sub-tokens. A term matches where its key occurs in a
    word's key and, by the term's ``match`` mode: ``token`` (the default) starts and ends on sub-token
    boundaries, that is the match is a contiguous run of whole sub-tokens (``websocket`` is found in
    ``WebSocketRoute``, ``handle_websocket``, ``WEB_SOCKET``; ``sse`` is not found in ``assessment``);
    ``prefix`` starts on a boundary (``stream`` finds ``streaming``); ``suffix`` ends on one (``upstream``);
    ``substring`` matches anywhere inside the word.
Plurals
    A term with ``plurals=True`` also matches its key followed by ``s`` and by ``es``, in the same mode;
    every other form (``-ing``, irregular plurals) is a term of its own.
Allowed phrases
    An allowed phrase has a key like a term and matches in ``token`` mode. A forbidden match is exempt when
    its span lies inside a match of an allowed phrase in the same word: with ``queue`` forbidden and
    ``job_queue`` allowed, ``job_queue`` and ``JobQueue`` pass and ``queue`` does not.
Kinds
    Hits in ``.py``, ``.pyi`` and ``.pyw`` files are ``identifier`` (NAME tokens), ``string`` (string
    literals, f-strings included, that are not docstrings), ``docstring`` (the string statement that opens
    a module, class or function body, as ``ast.get_docstring`` sees it) or ``comment``; hits in any other
    file are ``text``. Python files are read as UTF-8 unless they declare another encoding (PEP 263).
    Limits: Python 3.12's f-strings that reuse their own quote inside a replacement field are read as the
    3.11 tokenizer reads them; files whose lines end in a lone ``\\r`` are one line.

Speed
=====
Each file is read once. A prefilter scans the whole file for every term: with ``google-re2`` installed, one
regular expression that already knows the case and separator rules above (so ``assert`` is no candidate
for ``sse``); without it, a literal search for the keys in the file lowercased with the separators
removed, then a per-line check of the boundaries. Files without a candidate line cost nothing more; only
candidate lines reach the exact matcher, and only Python files with an exact match are lexed (by a regular
expression, not ``tokenize``) to learn the kind of each hit. Non-ASCII characters whose case folding
yields ASCII letters (sharp s, long s, the Kelvin sign, ligatures) and, for non-ASCII terms, any non-ASCII
byte make their line a candidate, so the prefilter never drops a match. Files are scanned by ``jobs``
processes in chunks.

Walking
=======
:func:`walk` skips ``.git``, ``node_modules``, ``.venv``, ``venv``, ``site-packages``, ``vendor`` and
``__pycache__`` folders, symbolic links, and whatever the root's ``.gitignore`` ignores. Only that one file
is read: nested ``.gitignore`` files, ``.git/info/exclude`` and the global excludes file are not, and a
file inside an ignored folder cannot be re-included (as in git). Binary files (a NUL byte in the first
8 KiB) are skipped when scanned.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import multiprocessing
import os
import re
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

_re2: Any
try:
    _re2 = importlib.import_module("re2")
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

Kind = Literal["identifier", "string", "docstring", "comment", "text"]
MatchMode = Literal["token", "prefix", "suffix", "substring"]
KINDS: tuple[Kind, ...] = ("identifier", "string", "docstring", "comment", "text")
MATCH_MODES: tuple[MatchMode, ...] = ("token", "prefix", "suffix", "substring")
PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "site-packages", "vendor", "__pycache__"})
BINARY_SNIFF = 8192
_PYTHON_KINDS = frozenset({"identifier", "string", "docstring", "comment"})
# NOTE: the only non-ASCII characters whose casefold() holds ASCII letters (Unicode 14/15); a test checks it.
FOLDS_TO_ASCII = (
    "\u00df\u0130\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
    "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"
)

_TEXT_WORD = re.compile(r"[\w.\-]+")
_ASCII_SUBTOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_LOWER_TABLE = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.M)
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Term:
    """A forbidden term as written, with its match mode and whether plurals count."""

    text: str
    match: MatchMode = "token"
    plurals: bool = False

    def __post_init__(self) -> None:
        if self.match not in MATCH_MODES:
            raise ValueError(f"term {self.text!r}: match must be one of {', '.join(MATCH_MODES)}")
        if not normalize(self.text):
            raise ValueError(f"term {self.text!r} has no letters or digits")

    @property
    def key(self) -> str:
        return normalize(self.text)


@dataclass(frozen=True, slots=True)
class Hit:
    """One forbidden term found at a 1-based line and column of a file."""

    path: str
    line: int
    col: int
    term: str
    matched_text: str
    kind: Kind
    line_text: str


def parse_terms(entries: Iterable[str | Mapping[str, Any]], *, plurals: bool = False) -> list[Term]:
    """Terms from config entries: plain strings or mappings with `term` and optional `match`, `plurals`."""
    terms: list[Term] = []
    for entry in entries:
        if isinstance(entry, str):
            terms.append(Term(entry, plurals=plurals))
            continue
        unknown = set(entry) - {"term", "match", "plurals"}
        if unknown or not isinstance(entry.get("term"), str):
            raise ValueError(f"bad term entry {dict(entry)!r}: expected keys term, match, plurals")
        mode = entry.get("match", "token")
        if mode not in MATCH_MODES:
            raise ValueError(f"term {entry['term']!r}: match must be one of {', '.join(MATCH_MODES)}")
        terms.append(Term(entry["term"], cast(MatchMode, mode), bool(entry.get("plurals", plurals))))
    return terms


# ---------------------------------------------------------------- sub-tokens


def _char_class(ch: str) -> str:
    if ch.isnumeric():
        return "d"
    if ch.isupper():
        return "u"
    if ch.isalpha():
        return "l"
    return ""


def _subtoken_spans(word: str) -> list[tuple[int, int]]:
    """Spans of the sub-tokens of a word (any script)."""
    if word.isascii():
        return [m.span() for m in _ASCII_SUBTOKEN.finditer(word)]
    classes = [_char_class(ch) for ch in word]
    spans: list[tuple[int, int]] = []
    start = -1
    for i, cls in enumerate(classes):
        if not cls:
            if start >= 0:
                spans.append((start, i))
                start = -1
            continue
        if start < 0:
            start = i
            continue
        prev = classes[i - 1]
        if (
            (prev != cls and "d" in (prev, cls))
            or (prev == "l" and cls == "u")
            or (prev == "u" and cls == "u" and i + 1 < len(classes) and classes[i + 1] == "l")
        ):
            spans.append((start, i))
            start = i
    if start >= 0:
        spans.append((start, len(word)))
    return spans


def subtokens(word: str) -> list[str]:
    """The folded sub-tokens of a word: `WebSocketRoute` -> web, socket, route."""
    return [word[a:b].casefold() for a, b in _subtoken_spans(word)]


def normalize(text: str) -> str:
    """A term's or phrase's key: the concatenation of the folded sub-tokens of all its words."""
    return "".join("".join(subtokens(m.group())) for m in _TEXT_WORD.finditer(text))


@dataclass(frozen=True, slots=True)
class _Word:
    """A word's key with, per key character, the word index it came from, and the sub-token boundaries."""

    key: str
    origin: tuple[int, ...]
    bounds: frozenset[int]


def _analyze(word: str) -> _Word:
    parts: list[str] = []
    origin: list[int] = []
    bounds = {0}
    size = 0
    for a, b in _subtoken_spans(word):
        piece = word[a:b]
        if piece.isascii():
            folded = piece.lower()
            origin.extend(range(a, b))
        else:
            folded = ""
            for i in range(a, b):
                f = word[i].casefold()
                folded += f
                origin.extend([i] * len(f))
        parts.append(folded)
        size += len(folded)
        bounds.add(size)
    return _Word("".join(parts), tuple(origin), frozenset(bounds))


def _occurrences(key: str, needle: str) -> Iterator[int]:
    i = key.find(needle)
    while i >= 0:
        yield i
        i = key.find(needle, i + 1)


# ---------------------------------------------------------------- prefilter patterns


def _letter(ch: str) -> str:
    return f"[{ch}{ch.upper()}]" if ch.isalpha() else re.escape(ch)


def _boundary_pattern(key: str, mode: MatchMode) -> str:
    """A bytes regex (ASCII key) that finds at least every `mode` match of the key, separators included."""
    sep = r"[_.\-]*"
    if mode == "substring":
        return sep.join(_letter(ch) for ch in key)
    first, last = key[0], key[-1]
    if first.isalpha():
        start = rf"(?:(?:^|[^A-Za-z\n]){_letter(first)}|[A-Za-z]{first.upper()})"
    else:
        start = rf"(?:(?:^|[^0-9\n]){first})"
    if last.isalpha():
        end = rf"(?:{_letter(last)}(?:$|[^A-Za-z\n])|{last}[A-Z]|{last.upper()}[A-Z][a-z])"
    else:
        end = rf"(?:{last}(?:$|[^0-9\n]))"
    if len(key) == 1:
        # NOTE: start and end would both claim the single character; the start alone is a superset.
        return start if mode in ("token", "prefix") else end
    middle = "".join(sep + _letter(ch) for ch in key[1:-1]) + sep
    if mode == "token":
        return start + middle + end
    if mode == "prefix":
        return start + middle + _letter(last)
    return _letter(first) + middle + end


def _special_bytes(keys: Iterable[str]) -> list[bytes]:
    letters = set("".join(keys))
    return [ch.encode() for ch in FOLDS_TO_ASCII if set(ch.casefold()) & letters]


def _trie_regex(words: Iterable[str]) -> str:
    """One regex alternation for a set of literal words, factored by common prefixes."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        optional = "" in node
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and not optional else "(?:" + "|".join(alts) + ")"
        if optional:
            body = ("(?:" + "|".join(alts) + ")") + "?"
        return body

    return render(trie)


# ---------------------------------------------------------------- matcher


@dataclass(frozen=True, slots=True)
class _Found:
    """A forbidden match in a line, before its kind is known."""

    start: int
    end: int
    term: Term
    code_ok: bool  # NOTE: False when the span crosses `.`/`-` or sits in a number: not within one NAME
    exempt_text: bool
    exempt_code: bool


class Matcher:
    """Forbidden terms and allowed phrases compiled for the prefilter and the exact per-line matcher."""

    def __init__(
        self, forbidden: Sequence[Term | str], allowed: Sequence[str] = (), *, engine: str | None = None
    ) -> None:
        terms: list[Term] = []
        seen: set[tuple[str, str, bool]] = set()
        for item in forbidden:
            term = Term(item) if isinstance(item, str) else item
            ident = (term.key, term.match, term.plurals)
            if ident not in seen:
                seen.add(ident)
                terms.append(term)
        self.forbidden: tuple[Term, ...] = tuple(terms)
        self.allowed: tuple[str, ...] = tuple(allowed)
        self._allowed_keys = tuple(dict.fromkeys(k for k in map(normalize, allowed) if k))
        variants: dict[str, list[tuple[Term, MatchMode]]] = {}
        for term in terms:
            key = term.key
            for form in (key, key + "s", key + "es") if term.plurals else (key,):
                variants.setdefault(form, []).append((term, term.match))
        self._variants = variants
        keys = sorted(variants, key=lambda k: (-len(k), k))
        self._key_finder = re.compile("(?=(" + "|".join(map(re.escape, keys)) + "))") if keys else None
        self._contains = {k: tuple(o for o in keys if o in k) for k in keys}
        self._needs_nonascii = any(not k.isascii() for k in keys)
        self._specials = _special_bytes(keys)
        if engine is None:
            engine = "re2" if _re2 is not None else "re"
        if engine not in ("re2", "re") or (engine == "re2" and _re2 is None):
            raise ValueError(f"prefilter engine {engine!r} is not available")
        self.engine = engine
        pieces = [
            _boundary_pattern(k, mode)
            for k, forms in variants.items()
            if k.isascii()
            for mode in dict.fromkeys(m for _, m in forms)
        ]
        extra = [re.escape(b).decode("latin-1") for b in self._specials]
        if self._needs_nonascii:
            extra.append(r"[\x80-\xff]")
        self._prefilter: Any = None
        self._literal: re.Pattern[bytes] | None = None
        self._checks: dict[bytes, list[re.Pattern[bytes]]] = {}
        if engine == "re2" and _re2 is not None and (pieces or extra):
            options = _re2.Options()
            options.encoding = _re2.Options.Encoding.LATIN1
            options.max_mem = 256 << 20
            self._prefilter = _re2.compile(("(?m)" + "|".join(pieces + extra)).encode("latin-1"), options)
        elif pieces or extra:
            ascii_keys = [k for k in keys if k.isascii()]
            alternatives = [_trie_regex(ascii_keys)] if ascii_keys else []
            self._literal = re.compile(("|".join(alternatives + extra)).encode("latin-1"))
            for k, forms in variants.items():
                if k.isascii():
                    modes = dict.fromkeys(m for _, m in forms)
                    self._checks[k.encode()] = [
                        re.compile(_boundary_pattern(k, m).encode(), re.M) for m in modes
                    ]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_matcher, (self.forbidden, self.allowed, self.engine))

    # ------------------------------------------------------------ prefilter

    def candidate_lines(self, data: bytes) -> list[tuple[int, int, int]]:
        """(0-based line number, start offset, end offset) of every line of `data` that may hold a match."""
        if self._prefilter is not None:
            return self._candidates_re2(data)
        if self._literal is not None:
            return self._candidates_re(data)
        return []

    def _candidates_re2(self, data: bytes) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        search = self._prefilter.search
        size = len(data)
        lineno = 0
        counted = 0
        m = search(data)
        while m is not None:
            start = data.rfind(b"\n", 0, m.start()) + 1
            end = data.find(b"\n", m.start())
            if end < 0:
                end = size
            lineno += data.count(b"\n", counted, start)
            counted = start
            out.append((lineno, start, end))
            if end >= size:
                break
            m = search(data, end + 1)
        return out

    def _candidates_re(self, data: bytes) -> list[tuple[int, int, int]]:
        assert self._literal is not None
        folded = data.translate(_LOWER_TABLE, b"_.-")
        lines: list[int] = []
        counted = 0
        lineno = 0
        literal = self._literal
        m = literal.search(folded)
        while m is not None:
            lineno += folded.count(b"\n", counted, m.start())
            counted = m.start()
            lines.append(lineno)
            nl = folded.find(b"\n", m.start())
            if nl < 0:
                break
            m = literal.search(folded, nl + 1)
        if not lines:
            return []
        parts = data.split(b"\n", lines[-1] + 1)
        offsets = [0, *itertools.accumulate(len(p) + 1 for p in parts)]
        out: list[tuple[int, int, int]] = []
        for n in lines:
            if self._line_may_match(parts[n]):
                out.append((n, offsets[n], offsets[n] + len(parts[n])))
        return out

    def _line_may_match(self, line: bytes) -> bool:
        if not line.isascii() and (self._needs_nonascii or any(s in line for s in self._specials)):
            return True
        folded = line.translate(_LOWER_TABLE, b"_.-")
        return any(k in folded and any(c.search(line) for c in checks) for k, checks in self._checks.items())

    # ------------------------------------------------------------ exact matching

    def find_in_line(self, line: str) -> list[_Found]:
        """Every forbidden match in one line, read as text words, with its exemptions."""
        finder = self._key_finder
        if finder is None:
            return []
        ascii_line = line.isascii()
        folded = line.lower() if ascii_line else line.casefold()
        flat = folded.replace("_", "").replace(".", "").replace("-", "")
        present: set[str] = set()
        for k in finder.findall(flat):
            present.update(self._contains[k])
        if not present:
            return []
        found: list[_Found] = []
        for m in _TEXT_WORD.finditer(line):
            word = m.group()
            wflat = word.lower() if ascii_line else word.casefold()
            wflat = wflat.replace("_", "").replace(".", "").replace("-", "")
            here = [k for k in present if k in wflat]
            if here:
                found.extend(self._match_word(word, m.start(), here))
        found.sort(key=lambda f: (f.start, f.end, f.term.text))
        return found

    def _match_word(self, word: str, offset: int, keys: list[str]) -> list[_Found]:
        info = _analyze(word)
        key, origin, bounds = info.key, info.origin, info.bounds
        spans: dict[tuple[int, int], list[Term]] = {}
        for k in keys:
            for term, mode in self._variants[k]:
                for i in _occurrences(key, k):
                    j = i + len(k)
                    if mode == "token":
                        ok = i in bounds and j in bounds
                    elif mode == "prefix":
                        ok = i in bounds
                    elif mode == "suffix":
                        ok = j in bounds
                    else:
                        ok = True
                    if ok:
                        terms = spans.setdefault((i, j), [])
                        if term not in terms:
                            terms.append(term)
        if not spans:
            return []
        allowed: list[tuple[int, int, bool]] = []
        for a in self._allowed_keys:
            if a in key:
                for i in _occurrences(key, a):
                    j = i + len(a)
                    if i in bounds and j in bounds:
                        text = word[origin[i] : origin[j - 1] + 1]
                        allowed.append((i, j, "." in text or "-" in text))
        out: list[_Found] = []
        for (i, j), terms in spans.items():
            start, end = origin[i], origin[j - 1] + 1
            text = word[start:end]
            exempt_text = any(a <= i and j <= b for a, b, _ in allowed)
            exempt_code = any(a <= i and j <= b for a, b, joined in allowed if not joined)
            code_ok = "." not in text and "-" not in text
            if code_ok:
                # NOTE: in code the NAME token ends at `.`/`-`; a token starting with a digit is a number.
                head = max(word.rfind(".", 0, start), word.rfind("-", 0, start)) + 1
                code_ok = not word[head].isdigit()
            for term in terms:
                out.append(_Found(offset + start, offset + end, term, code_ok, exempt_text, exempt_code))
        return out


def _rebuild_matcher(forbidden: tuple[Term, ...], allowed: tuple[str, ...], engine: str) -> Matcher:
    return Matcher(forbidden, allowed, engine=engine)


# ---------------------------------------------------------------- Python lexing

_PY_TOKEN = re.compile(
    rb"""#[^\r\n]*+"""
    rb"""|'''(?:[^'\\]++|\\(?:\r\n|[\s\S])|'(?!''))*+(?:'''|\Z)"""
    rb'''|"""(?:[^"\\]++|\\(?:\r\n|[\s\S])|"(?!""))*+(?:"""|\Z)'''
    rb"""|'(?:[^'\\\r\n]++|\\(?:\r\n|[\s\S]))*+'?"""
    rb"""|"(?:[^"\\\r\n]++|\\(?:\r\n|[\s\S]))*+"?"""
)
_TRIVIA = re.compile(rb"(?:[ \t\f\r\n]++|\\\r?\n)*+")
_BRACKET_COLON_NEWLINE = re.compile(rb"[()\[\]{}:\n]")
_HEADER = re.compile(rb"[ \t\f]*+(?:async[ \t\f]++)?(?:def|class)(?!\w)")
_PREFIX_RUN = re.compile(rb"\w{1,3}\Z")
_STRING_PREFIXES = frozenset({b"", b"r", b"u", b"b", b"f", b"br", b"rb", b"fr", b"rf"})
_WHITESPACE = b" \t\f\r\n"
_OPEN_PAREN, _CLOSE_PAREN, _COLON, _SEMICOLON, _HASH, _BACKSLASH = 0x28, 0x29, 0x3A, 0x3B, 0x23, 0x5C


class _PythonSource:
    """The string and comment tokens of a Python file, lexed lazily, and which strings are docstrings."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.comment: list[bool] = []
        self._tokens = _PY_TOKEN.finditer(data)
        self._done = False
        self._docstrings: dict[int, bool] = {}

    def _lex_to(self, offset: int) -> None:
        while not self._done and (not self.starts or self.starts[-1] <= offset):
            m = next(self._tokens, None)
            if m is None:
                self._done = True
                return
            self.starts.append(m.start())
            self.ends.append(m.end())
            self.comment.append(self.data[m.start()] == _HASH)

    def token_at(self, offset: int) -> int:
        """Index of the string or comment token covering `offset`, or -1 in code."""
        self._lex_to(offset)
        i = bisect.bisect_right(self.starts, offset) - 1
        return i if i >= 0 and offset < self.ends[i] else -1

    def prefix(self, i: int) -> tuple[int, bytes]:
        """Offset where string token `i` starts, its prefix letters included, and the lowercased prefix."""
        start = self.starts[i]
        m = _PREFIX_RUN.search(self.data, max(0, start - 3), start)
        if m is not None and m.group().lower() in _STRING_PREFIXES and (m.end() - m.start() < 3):
            return m.start(), m.group().lower()
        return start, b""

    def _previous(self, pos: int) -> tuple[str, int, bool]:
        """What precedes `pos` past blanks and comments: ("bof"|"char"|"string", where, newline crossed)."""
        data = self.data
        self._lex_to(pos)
        ti = bisect.bisect_left(self.starts, pos) - 1
        crossed = False
        while True:
            lo = self.ends[ti] if ti >= 0 else 0
            end = pos
            while True:
                kept = lo + len(data[lo:end].rstrip(_WHITESPACE))
                trail = data[kept:end]
                if kept > lo and data[kept - 1] == _BACKSLASH and trail[:1] in (b"\n", b"\r"):
                    # NOTE: a backslash before a newline continues the logical line.
                    crossed = crossed or trail.count(b"\n") > 1
                    end = kept - 1
                    continue
                crossed = crossed or b"\n" in trail
                break
            if kept > lo:
                if ti < 0 and kept <= len(_BOM) and data.startswith(_BOM):
                    return "bof", -1, crossed
                return "char", kept - 1, crossed
            if ti < 0:
                return "bof", -1, crossed
            if not self.comment[ti]:
                return "string", ti, crossed
            pos = self.starts[ti]
            ti -= 1

    def _next(self, pos: int) -> tuple[str, int, bool]:
        """What follows `pos` past blanks and comments: ("eof"|"char"|"string", where, newline crossed)."""
        data = self.data
        crossed = False
        while True:
            m = _TRIVIA.match(data, pos)
            assert m is not None
            blank = m.group()
            if b"\n" in blank:
                crossed = crossed or b"\n" in blank.replace(b"\\\r\n", b"").replace(b"\\\n", b"")
            pos = m.end()
            if pos >= len(data):
                return "eof", -1, crossed
            self._lex_to(pos + 3)
            ti = bisect.bisect_left(self.starts, pos)
            if ti < len(self.starts) and self.prefix(ti)[0] == pos:
                if self.comment[ti]:
                    pos = self.ends[ti]
                    continue
                return "string", ti, crossed
            return "char", pos, crossed

    def _header_colon(self, colon: int) -> bool:
        """True when the `:` at offset `colon` ends a `def` or `class` header."""
        data = self.data
        depth = 0
        pos = colon
        self._lex_to(pos)
        ti = bisect.bisect_left(self.starts, pos) - 1
        while True:
            lo = self.ends[ti] if ti >= 0 else 0
            for m in reversed(list(_BRACKET_COLON_NEWLINE.finditer(data, lo, pos))):
                ch = data[m.start()]
                if ch in b")]}":
                    depth += 1
                elif ch in b"([{":
                    depth -= 1
                    if depth < 0:
                        return False
                elif depth > 0:
                    continue
                elif ch == _COLON:
                    return False
                elif not data[max(0, m.start() - 2) : m.start()].rstrip(b"\r").endswith(b"\\"):
                    return _HEADER.match(data, m.end()) is not None
            if ti < 0:
                return _HEADER.match(data, len(_BOM) if data.startswith(_BOM) else 0) is not None
            pos = self.starts[ti]
            ti -= 1

    def is_docstring(self, i: int) -> bool:
        """True when string token `i` is (part of) the docstring of a module, class or function."""
        cached = self._docstrings.get(i)
        if cached is not None:
            return cached
        run = [i]
        crossings: list[bool] = []
        while True:
            what, where, crossed = self._previous(self.prefix(run[0])[0])
            if what != "string":
                break
            run.insert(0, where)
            crossings.insert(0, crossed)
        opened = 0
        while what == "char" and self.data[where] == _OPEN_PAREN:
            opened += 1
            what, where, _ = self._previous(where)
        if opened == 0 and any(crossings):
            # NOTE: outside brackets a newline between two strings ends the first one's statement.
            cut = crossings.index(True) + 1
            for t in run[cut:]:
                self._docstrings[t] = False
            run = run[:cut]
            if i not in run:
                return False
        if what == "bof":
            result = True
        elif what == "char" and self.data[where] == _COLON:
            result = self._header_colon(where)
        else:
            result = False
        if result:
            result = self._statement_ends(run, opened)
        for t in run:
            self._docstrings[t] = result
        return result

    def _statement_ends(self, run: list[int], opened: int) -> bool:
        """True when the strings of `run`, extended forward, form a whole statement of plain str literals."""
        what, where, crossed = self._next(self.ends[run[-1]])
        while what == "string" and (opened > 0 or not crossed):
            run.append(where)
            what, where, crossed = self._next(self.ends[where])
        if any(b"f" in p or b"b" in p for p in (self.prefix(t)[1] for t in run)):
            return False
        while opened > 0:
            if what != "char" or self.data[where] != _CLOSE_PAREN:
                return False
            opened -= 1
            what, where, crossed = self._next(where + 1)
        return what == "eof" or crossed or (what == "char" and self.data[where] == _SEMICOLON)


# ---------------------------------------------------------------- scanning


def _python_encoding(data: bytes) -> str:
    if data.startswith(_BOM):
        return "utf-8"
    head = b"\n".join(data.split(b"\n", 2)[:2])
    m = _CODING.search(head)
    if m is not None:
        try:
            return tokenize.detect_encoding(iter(head.splitlines(keepends=True)).__next__)[0]
        except SyntaxError:
            return "utf-8"
    return "utf-8"


def _printable(text: str) -> str:
    """`text` with lone surrogates (undecodable bytes) shown as U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _scan_data(data: bytes, matcher: Matcher, path: str, mode: str, kinds: frozenset[str]) -> list[Hit]:
    """Hits in the bytes of one file; `mode` is "python" or the kind of every word."""
    candidates = matcher.candidate_lines(data)
    if not candidates:
        return []
    encoding = _python_encoding(data) if mode == "python" else "utf-8"
    source: _PythonSource | None = None
    hits: list[Hit] = []
    for lineno, start, end in candidates:
        raw = data[start:end]
        if start == 0 and raw.startswith(_BOM):
            raw, start = raw[len(_BOM) :], len(_BOM)
        line = raw.decode(encoding, "surrogateescape")
        if line.endswith("\r"):
            line = line[:-1]
        found = matcher.find_in_line(line)
        if not found:
            continue
        shown: str | None = None
        for f in found:
            kind: str
            if mode != "python":
                kind = mode
            else:
                offset = start + (
                    f.start if raw.isascii() else len(line[: f.start].encode(encoding, "surrogateescape"))
                )
                if source is None:
                    source = _PythonSource(data)
                token = source.token_at(offset)
                if token < 0:
                    kind = "identifier"
                elif source.comment[token]:
                    kind = "comment"
                elif "docstring" in kinds or "string" in kinds:
                    kind = "docstring" if source.is_docstring(token) else "string"
                else:
                    continue
            if kind not in kinds:
                continue
            if kind == "identifier":
                if not f.code_ok or f.exempt_code:
                    continue
            elif f.exempt_text:
                continue
            if shown is None:
                shown = _printable(line)
            hits.append(
                Hit(
                    path,
                    lineno + 1,
                    f.start + 1,
                    f.term.text,
                    _printable(line[f.start : f.end]),
                    cast(Kind, kind),
                    shown,
                )
            )
    return hits


def _kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    chosen = frozenset(KINDS if kinds is None else kinds)
    unknown = chosen - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds: {', '.join(sorted(unknown))}")
    return chosen


def scan_text(
    text: str,
    matcher: Matcher,
    kind: str = "text",
    *,
    path: str = "<text>",
    kinds: Iterable[str] | None = None,
) -> list[Hit]:
    """Hits in `text`, every word of kind `kind`, or lexed as Python source when `kind` is "python"."""
    if kind != "python" and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return _scan_data(text.encode("utf-8", "surrogateescape"), matcher, path, kind, _kinds(kinds))


def is_binary(data: bytes) -> bool:
    """True when the first 8 KiB hold a NUL byte."""
    return b"\0" in data[:BINARY_SNIFF]


def scan_file(
    path: str | os.PathLike[str], matcher: Matcher, kinds: Iterable[str] | None = None
) -> list[Hit]:
    """Hits in one file: Python files by token kind, others as text; binary files give none."""
    chosen = _kinds(kinds)
    name = os.fspath(path)
    python = os.path.splitext(name)[1].lower() in PYTHON_SUFFIXES
    if not (chosen & _PYTHON_KINDS if python else "text" in chosen):
        return []
    with open(name, "rb") as fh:
        data = fh.read()
    if is_binary(data):
        return []
    return _scan_data(data, matcher, name, "python" if python else "text", chosen)


# ---------------------------------------------------------------- parallel scanning

_worker_state: tuple[Matcher, frozenset[str]] | None = None
_MIN_FILES_PER_JOB = 64
_CHUNKS_PER_JOB = 16


def _init_worker(matcher: Matcher, kinds: frozenset[str]) -> None:
    global _worker_state
    _worker_state = (matcher, kinds)


def _scan_chunk(paths: list[str]) -> list[Hit]:
    assert _worker_state is not None
    matcher, kinds = _worker_state
    hits: list[Hit] = []
    for p in paths:
        try:
            hits.extend(scan_file(p, matcher, kinds))
        except OSError:
            continue  # NOTE: a file that vanished or cannot be read has nothing to report
    return hits


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    matcher: Matcher,
    kinds: Iterable[str] | None = None,
    jobs: int | None = None,
) -> list[Hit]:
    """Hits in many files, sorted by path, line and column, scanned by `jobs` processes (default: CPUs)."""
    chosen = _kinds(kinds)
    names = [os.fspath(p) for p in paths]
    jobs = max(1, os.cpu_count() or 1) if jobs is None else max(1, jobs)
    jobs = min(jobs, max(1, len(names) // _MIN_FILES_PER_JOB))
    if jobs == 1:
        _init_worker(matcher, chosen)
        hits = _scan_chunk(names)
    else:
        count = jobs * _CHUNKS_PER_JOB
        # NOTE: dealing files round-robin spreads big folders over all chunks, which keeps workers even.
        chunks = [names[k::count] for k in range(count)]
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        hits = []
        with ProcessPoolExecutor(jobs, context, initializer=_init_worker, initargs=(matcher, chosen)) as pool:
            for part in pool.map(_scan_chunk, chunks):
                hits.extend(part)
    hits.sort(key=lambda h: (h.path, h.line, h.col, h.term))
    return hits


def scan_tree(
    root: str | os.PathLike[str],
    matcher: Matcher,
    include_globs: Sequence[str] = (),
    exclude_globs: Sequence[str] = (),
    kinds: Iterable[str] | None = None,
    jobs: int | None = None,
) -> list[Hit]:
    """Hits in the files :func:`walk` finds under `root`."""
    return scan_paths(walk(root, include_globs, exclude_globs), matcher, kinds, jobs)


# ---------------------------------------------------------------- walking


def _glob_body(pattern: str) -> str:
    """Regex for a glob: `**` spans folders, `*` and `?` stay within one, `[...]` is a class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[" and "]" in pattern[i + 2 :]:
            close = pattern.index("]", i + 2)
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        elif ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob relative to the root; without a `/` it matches a name at any depth (`*.py`)."""
    pattern = pattern.removeprefix("./")
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/") if anchored else pattern.rstrip("/")
    return re.compile(("" if anchored else "(?:.*/)?") + _glob_body(pattern))


@dataclass(frozen=True)
class _IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


class GitIgnore:
    """The patterns of one `.gitignore` file, matched against paths relative to its folder."""

    def __init__(self, lines: Iterable[str]) -> None:
        rules: list[_IgnoreRule] = []
        for raw in lines:
            line = raw.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            stripped = line.rstrip(" ")
            if stripped.endswith("\\") and len(stripped) < len(line):
                stripped += " "
            line = stripped
            negated = line.startswith("!")
            if negated or line.startswith("\\!") or line.startswith("\\#"):
                line = line[1:]
            dir_only = line.endswith("/")
            if not line.strip("/"):
                continue
            rules.append(_IgnoreRule(glob_regex(line), negated, dir_only))
        self.rules = tuple(rules)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GitIgnore:
        """Rules of the file at `path`; none when it does not exist."""
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return cls(fh.read().splitlines())
        except OSError:
            return cls(())

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """True when the last rule matching `rel` (a posix path relative to the root) ignores it."""
        result = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.fullmatch(rel):
                result = not rule.negated
        return result


def walk(
    root: str | os.PathLike[str],
    include_globs: Sequence[str] = (),
    exclude_globs: Sequence[str] = (),
    *,
    gitignore: bool = True,
) -> list[Path]:
    """Files under `root` in scope: included by a glob (all when none), excluded by none, not ignored."""
    base = Path(root)
    includes = [glob_regex(g) for g in include_globs]
    excludes = [glob_regex(g) for g in exclude_globs]
    ignore = GitIgnore.load(base / ".gitignore") if gitignore else GitIgnore(())
    found: list[Path] = []
    pending: list[tuple[str, str]] = [("", os.fspath(base))]
    while pending:
        rel_dir, abs_dir = pending.pop()
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = rel_dir + entry.name
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name in SKIP_DIRS or ignore.ignored(rel, True):
                    continue
                if any(x.fullmatch(rel) or x.fullmatch(rel + "/") for x in excludes):
                    continue
                pending.append((rel + "/", entry.path))
            elif entry.is_file():
                if ignore.ignored(rel, False):
                    continue
                if includes and not any(x.fullmatch(rel) for x in includes):
                    continue
                if any(x.fullmatch(rel) for x in excludes):
                    continue
                found.append(Path(entry.path))
    found.sort()
    return found
