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
    An f-string is one string token, replacement fields included, read as Python 3.12 reads it (PEP 701:
    a field may hold strings in the f-string's own quotes). Limit: files whose lines end in a lone
    ``\\r`` are one line.
Hits
    ``line`` and ``col`` are 1-based, ``col`` in characters of the decoded line; ``matched_text`` is the
    span as written (``WEB_SOCKET``); ``term`` is the term as written in the list. Undecodable bytes show
    as U+FFFD.

Speed
=====
Each file is read once, into one reused buffer (binary files, with a NUL byte in their first 8 KiB, are
dropped there). A prefilter then finds the candidate lines: with ``google-re2`` installed, one RE2
regular expression over the whole file, built from every term as a trie of keys that already encodes the
case and separator rules above, so that ``assert`` is no candidate for ``sse`` and ``WEB_SOCKET`` is one
for ``websocket``; without it, a literal search for the keys in the file lowercased with ``_ - .``
removed, then a per-line check of the same boundary pattern with ``re``. Non-ASCII characters whose case
folding yields ASCII letters (sharp s, long s, the Kelvin sign, ligatures) and, for non-ASCII terms, any
non-ASCII byte make their line a candidate, so the prefilter never drops a match. Files without a
candidate line cost nothing more (and are not copied). In an ASCII candidate line only the words around
the prefilter's matches go to the exact matcher, every word of other lines (words' results are cached).
Python files with a match are then lexed, but not with ``tokenize``: strings spanning lines can only
start at a triple quote or hold a backslash-newline, so only the lines holding one of those (found with
one regular expression) above the last candidate line are lexed to index them, and then each hit's own
line, only as far as its last hit (a line with no quote or ``#`` before it is code).

Files are scanned by ``jobs`` processes where the OS forks (a pool of spawned ones elsewhere), taking
chunks of consecutive files from a queue; each sorts its hits. In :func:`scan_tree` the first worker
runs the listing while this process scans ahead the files a walk finds first.

Walking
=======
:func:`scan_tree` scans, inside a git work tree, exactly the files git would track: those ``git ls-files
--cached --others --exclude-standard`` lists (tracked files, and untracked ones that no ``.gitignore`` at
any depth, ``.git/info/exclude`` or the global excludes file ignores). Outside a work tree (or without
git) it scans what :func:`walk` finds. In both cases ``.git``, ``node_modules``, ``.venv``, ``venv``,
``site-packages``, ``vendor`` and ``__pycache__`` folders and symbolic links are skipped.

:func:`walk` (today's rules outside a repository) skips those folders and links, and whatever the root's
``.gitignore`` ignores. Only that one file is read: nested ``.gitignore`` files, ``.git/info/exclude`` and
the global excludes file are not, and a file inside an ignored folder cannot be re-included (as in git).
Binary files (a NUL byte in the first 8 KiB) are skipped when scanned.
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, NoReturn, TypeVar, cast

if TYPE_CHECKING:
    from pathlib import Path  # NOTE: imported where used: a scan never needs it (nor urllib, ipaddress)

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
_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_O_NO_LINK = getattr(os, "O_NOFOLLOW", 0) and os.O_NOFOLLOW | os.O_NONBLOCK
_WORD_CACHE_SIZE = 1 << 16
_FEW_KEYS = 16
_PYTHON_KINDS = frozenset({"identifier", "string", "docstring", "comment"})
# NOTE: the only non-ASCII characters whose casefold() holds ASCII letters (Unicode 14/15); a test checks it.
FOLDS_TO_ASCII = (
    "\u00df\u0130\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
    "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"
)

_TEXT_WORD = re.compile(r"[\w.\-]+")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# NOTE: an ASCII line with each character of a word (`[\w.-]`) made `a` and every other one a space.
_WORD_MASK = bytes(b"a"[0] if i in _WORD_BYTES else b" "[0] for i in range(256))
_ASCII_SUBTOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
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


class _Word(NamedTuple):
    """A word's key, the key offsets where sub-tokens start and end, and where each key character came from.

    `origin` maps a key offset to a word offset; for ASCII words it is None and offsets are found from the
    sub-token `starts` (an ASCII sub-token folds to the same length).
    """

    key: str
    bounds: list[int]
    starts: list[int]
    origin: tuple[int, ...] | None

    def at(self, i: int) -> int:
        if self.origin is not None:
            return self.origin[i]
        t = bisect.bisect_right(self.bounds, i) - 1
        return self.starts[t] + i - self.bounds[t]


def _analyze(word: str) -> _Word:
    if word.isascii():
        spans = [m.span() for m in _ASCII_SUBTOKEN.finditer(word)]
        bounds = [0]
        for a, b in spans:
            bounds.append(bounds[-1] + b - a)
        key = (
            word if len(spans) == 1 and spans[0] == (0, len(word)) else "".join([word[a:b] for a, b in spans])
        )
        return _Word(key.lower(), bounds, [a for a, _ in spans], None)
    parts: list[str] = []
    origin: list[int] = []
    bounds = [0]
    for a, b in _subtoken_spans(word):
        for i in range(a, b):
            folded = word[i].casefold()
            parts.append(folded)
            origin.extend([i] * len(folded))
        bounds.append(len(origin))
    return _Word("".join(parts), bounds, [], tuple(origin))


# ---------------------------------------------------------------- prefilter patterns


def _letter(ch: str) -> str:
    return f"[{ch}{ch.upper()}]" if ch.isalpha() else re.escape(ch)


_SEP = r"[_.\-]*"


def _start(ch: str, lines: bool) -> str:
    """A key's first character where a sub-token starts: after a non-letter (for a digit, a non-digit) or at
    the start (of a line, or with `lines` False of the text), or a capital after any letter."""
    if not ch.isalpha():
        return rf"(?:(?:^|[^0-9\n]){ch})" if lines else rf"(?:(?:\A|[^0-9]){ch})"
    before = r"(?:^|[^A-Za-z\n])" if lines else r"(?:\A|[^A-Za-z])"
    return rf"(?:{before}{_letter(ch)}|[A-Za-z]{ch.upper()})"


def _end(ch: str, lines: bool) -> str:
    """A key's last character where a sub-token ends: before a non-letter (for a digit, a non-digit) or the
    end (of a line, or of the text), or a lowercase letter before a capital, or a capital before one that
    starts a word."""
    if not ch.isalpha():
        return rf"(?:{ch}(?:$|[^0-9\n]))" if lines else rf"(?:{ch}(?:[^0-9]|\z))"
    after = r"(?:$|[^A-Za-z\n])" if lines else r"(?:[^A-Za-z]|\z)"
    return rf"(?:{_letter(ch)}{after}|{ch}[A-Z]|{ch.upper()}[A-Z][a-z])"


def _boundary_pattern(key: str, mode: MatchMode) -> str:
    """A bytes regex (ASCII key, multi-line mode) that finds at least every `mode` match of the key in a
    line, separators included."""
    if mode == "substring":
        return _SEP.join(_letter(ch) for ch in key)
    start, end = _start(key[0], True), _end(key[-1], True)
    if len(key) == 1:
        # NOTE: start and end would both claim the single character; the start alone is a superset.
        return start if mode in ("token", "prefix") else end
    middle = "".join(_SEP + _letter(ch) for ch in key[1:-1]) + _SEP
    if mode == "token":
        return start + middle + end
    if mode == "prefix":
        return start + middle + _letter(key[-1])
    return _letter(key[0]) + middle + end


def _prefilter_pattern(forms: Iterable[tuple[str, MatchMode]]) -> str:
    """One bytes regex for many (ASCII key, mode) pairs, for RE2 over whole files: the union of the
    :func:`_boundary_pattern` of each, with the start and end of the text for those of a line (a newline
    is one more character around a key), factored into a trie.

    RE2 builds its automaton as it reads, and a state costs in proportion to the instructions a match may
    start with: one alternative per key starts with hundreds, the trie with a few. Only where matches start
    matters (see _candidates_re2): a key that ends without a boundary test hides the longer ones.
    """
    bounded: dict[str, Any] = {}  # NOTE: token and prefix, which start on a boundary
    free: dict[str, Any] = {}
    for key, mode in forms:
        node = bounded if mode in ("token", "prefix") else free
        for ch in key:
            node = node.setdefault(ch, {})
        node.setdefault("", set()).add(mode in ("token", "suffix"))
    return "|".join(_trie_pattern(trie, bounded=trie is bounded) for trie in (bounded, free) if trie)


def _trie_pattern(node: dict[str, Any], bounded: bool, depth: int = 0) -> str:
    """The alternatives below a trie node; a terminal holds whether the key's match must end on a boundary."""
    alts: list[str] = []
    for ch, child in sorted((c, n) for c, n in node.items() if c):
        ends: set[bool] = child.get("", set())
        head = _start(ch, False) if bounded and depth == 0 else _letter(ch)
        if False in ends or (ends and bounded and depth == 0):
            alts.append(head)  # NOTE: as in _boundary_pattern, a key's first character alone is a superset
            continue
        if ends:
            alts.append(_end(ch, False))
        if any(child):
            alts.append(head + _SEP + _trie_pattern(child, bounded, depth + 1))
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


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


class _Candidate(NamedTuple):
    """A line the prefilter picked: 0-based number, byte offsets, and the byte spans of the only words that
    may hold a match (ASCII lines, with RE2), else None: look at every word."""

    lineno: int
    start: int
    end: int
    words: list[tuple[int, int]] | None


class _Found(NamedTuple):
    """A forbidden match in a line, before its kind is known."""

    start: int
    end: int
    term: Term
    code_ok: bool  # NOTE: False when the span crosses `.`/`-` or sits in a number: not within one NAME
    exempt_text: bool
    exempt_code: bool


_Placed = tuple[int, int, _Found]  # NOTE: a match's start and end in its line, and the match in its word


def _placed_key(placed: _Placed) -> tuple[int, int, str]:
    return placed[0], placed[1], placed[2].term.text


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
        self._word_cache: dict[str, tuple[_Found, ...]] = {}
        self._allowed_keys = tuple(dict.fromkeys(k for k in map(normalize, allowed) if k))
        variants: dict[str, list[tuple[Term, MatchMode]]] = {}
        for term in terms:
            key = term.key
            for form in (key, key + "s", key + "es") if term.plurals else (key,):
                variants.setdefault(form, []).append((term, term.match))
        self._variants = variants
        keys = sorted(variants, key=lambda k: (-len(k), k))
        self._key_finder = re.compile("(?=(" + _trie_regex(keys) + "))") if keys else None
        self._key_probe = re.compile(_trie_regex(keys)).search if keys else None
        self._contains = {k: tuple(o for o in keys if o in k) for k in keys}
        self._needs_nonascii = any(not k.isascii() for k in keys)
        self._specials = _special_bytes(keys)
        if engine is None:
            engine = "re2" if _re2 is not None else "re"
        if engine not in ("re2", "re") or (engine == "re2" and _re2 is None):
            raise ValueError(f"prefilter engine {engine!r} is not available")
        self.engine = engine
        ascii_forms = [
            (k, mode)
            for k, forms in variants.items()
            if k.isascii()
            for mode in dict.fromkeys(m for _, m in forms)
        ]
        extra = [re.escape(b).decode("latin-1") for b in self._specials]
        if self._needs_nonascii:
            extra.append(r"[\x80-\xff]")
        self._prefilter: Any = None
        self._checks: dict[bytes, list[re.Pattern[bytes]]] = {}
        self._literal: re.Pattern[bytes] | None = None
        self._literal_odd: re.Pattern[bytes] | None = None
        self._byte_finder: re.Pattern[bytes] | None = None
        self._byte_contains: dict[bytes, tuple[bytes, ...]] = {}
        if engine == "re2" and _re2 is not None and (ascii_forms or extra):
            options = _re2.Options()
            options.encoding = _re2.Options.Encoding.LATIN1
            options.max_mem = 256 << 20
            alternatives = "|".join(([_prefilter_pattern(ascii_forms)] if ascii_forms else []) + extra)
            self._prefilter = _re2.compile(alternatives.encode("latin-1"), options)
            self._search = _re2_searcher(self._prefilter)
        elif ascii_forms or extra:
            ascii_keys = [k for k in keys if k.isascii()]
            for k in ascii_keys:
                modes = dict.fromkeys(m for _, m in variants[k])
                self._checks[k.encode()] = [re.compile(_boundary_pattern(k, m).encode(), re.M) for m in modes]
            trie = _trie_regex(ascii_keys) if ascii_keys else ""
            if trie:
                self._literal = re.compile(trie.encode())
                self._byte_finder = re.compile(b"(?=(" + trie.encode() + b"))")
                self._byte_contains = {
                    k.encode(): tuple(o.encode() for o in self._contains[k]) for k in ascii_keys
                }
            self._literal_odd = re.compile("|".join(([trie] if trie else []) + extra).encode("latin-1"))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_matcher, (self.forbidden, self.allowed, self.engine))

    # ------------------------------------------------------------ prefilter

    def first_candidate(self, data: bytes | memoryview) -> int:
        """Where the search for candidate lines may start in `data`; -1 when it holds none."""
        if self._prefilter is not None:
            return self._search(data, 0, len(data))
        return 0 if self._literal_odd is not None else -1

    def candidate_lines(self, data: bytes, first: int = 0) -> list[_Candidate]:
        """Every line of `data` that may hold a match (a superset of the lines that do); `first` is what
        :meth:`first_candidate` said, when known."""
        if first < 0:
            return []
        if self._prefilter is not None:
            return self._candidates_re2(data, first)
        if self._literal_odd is not None:
            return self._candidates_re(data)
        return []

    def _candidates_re2(self, data: bytes, first: int) -> list[_Candidate]:
        # NOTE: a match is a key where the boundary patterns allow it (maybe after the newline before its
        # line), or a character that makes its line a candidate (non-ASCII). In an ASCII line the whole word
        # around the key is looked at, and the search resumes at its end; a line with non-ASCII text is
        # looked at whole.
        out: list[_Candidate] = []
        search = self._search
        size = len(data)
        pos = first
        lineno = counted = line_start = 0
        line_end = -1
        words: list[tuple[int, int]] | None = None
        mask = b""
        while pos < size:
            start = search(data, pos, size)
            if start < 0:
                break
            if data[start] == _NEWLINE:
                start += 1
            if start >= line_end:
                line_start = data.rfind(b"\n", 0, start) + 1
                line_end = data.find(b"\n", start)
                if line_end < 0:
                    line_end = size
                lineno += data.count(b"\n", counted, line_start)
                counted = line_start
                line = data[line_start:line_end]
                words = [] if line.isascii() else None
                mask = line.translate(_WORD_MASK) if words is not None else b""
                out.append(_Candidate(lineno, line_start, line_end, words))
            if words is None:
                pos = line_end
                continue
            # NOTE: the key starts at `start`, or after the character before it when that is no word's.
            at = start - line_start + (data[start] not in _WORD_BYTES)
            word_end = mask.find(b" ", at)
            word_end = line_end if word_end < 0 else line_start + word_end
            words.append((line_start + mask.rfind(b" ", 0, at) + 1, word_end))
            pos = word_end
        return out

    def _candidates_re(self, data: bytes) -> list[_Candidate]:
        # NOTE: the keys are searched in the file lowercased with `_ - .` removed (which keeps its lines),
        # one line at a time; each line found is then checked against the boundary patterns of the keys
        # it holds, on its original bytes.
        folded = data.translate(_LOWER_TABLE, b"_.-")
        odd = not data.isascii() and (self._needs_nonascii or any(s in data for s in self._specials))
        literal = self._literal_odd if odd else self._literal
        if literal is None or (
            not odd and len(self._checks) <= _FEW_KEYS and not any(k in folded for k in self._checks)
        ):
            # NOTE: for a few keys, `in` (a fast C search) rejects a file sooner than the alternation.
            return []
        lines: list[int] = []
        counted = lineno = 0
        m = literal.search(folded)
        while m is not None:
            lineno += folded.count(b"\n", counted, m.start())
            counted = m.start()
            lines.append(lineno)
            end = folded.find(b"\n", m.start())
            m = literal.search(folded, end + 1) if end >= 0 else None
        if not lines:
            return []
        parts = data.split(b"\n", lines[-1] + 1)
        offsets = [0, *itertools.accumulate(len(p) + 1 for p in parts)]
        return [
            _Candidate(n, offsets[n], offsets[n] + len(parts[n]), None)
            for n in lines
            if self._line_may_match(parts[n])
        ]

    def _line_may_match(self, line: bytes) -> bool:
        if not line.isascii() and (self._needs_nonascii or any(s in line for s in self._specials)):
            return True
        if self._byte_finder is None:
            return False
        keys: set[bytes] = set()
        for k in self._byte_finder.findall(line.translate(_LOWER_TABLE, b"_.-")):
            keys.update(self._byte_contains[k])
        return any(c.search(line) for k in keys for c in self._checks[k])

    # ------------------------------------------------------------ exact matching

    def _keys_in(self, flat: str) -> set[str]:
        present: set[str] = set()
        # NOTE: one plain search answers "none" for most words; only then look at every position.
        if self._key_finder is not None and self._key_probe is not None and self._key_probe(flat):
            for k in self._key_finder.findall(flat):
                present.update(self._contains[k])
        return present

    def find_in_line(self, line: str) -> list[_Placed]:
        """Every forbidden match in one line, read as text words, with its exemptions: (start, end, the match
        in its word), in order."""
        found: list[_Placed] = []
        cache = self._word_cache
        pos = 0
        for word in _TEXT_WORD.findall(line):
            pos = line.find(word, pos)
            cached = cache.get(word)
            if cached is None:
                cached = self._word_matches(word)
            for f in cached:
                found.append((f.start + pos, f.end + pos, f))
            pos += len(word)
        if len(found) > 1:
            found.sort(key=_placed_key)
        return found

    def find_in_words(self, data: bytes, words: Iterable[tuple[int, int]], line_start: int) -> list[_Placed]:
        """As :meth:`find_in_line` for an ASCII line, looking only at the words at these byte spans of
        `data` (those the prefilter found); offsets relative to `line_start`."""
        found: list[_Placed] = []
        cache = self._word_cache
        for start, end in words:
            word = data[start:end].decode("ascii")
            cached = cache.get(word)
            if cached is None:
                cached = self._word_matches(word)
            shift = start - line_start
            for f in cached:
                found.append((f.start + shift, f.end + shift, f))
        if len(found) > 1:
            found.sort(key=_placed_key)
        return found

    def _word_matches(self, word: str) -> tuple[_Found, ...]:
        """The matches in one word, offsets relative to it (remembered for the next time it is seen)."""
        flat = word.lower() if word.isascii() else word.casefold()
        keys = self._keys_in(flat.replace("_", "").replace(".", "").replace("-", ""))
        found = tuple(self._match_word(word, keys)) if keys else ()
        if len(self._word_cache) >= _WORD_CACHE_SIZE:
            self._word_cache.clear()
        self._word_cache[word] = found
        return found

    def _match_word(self, word: str, keys: Iterable[str]) -> list[_Found]:
        info = _analyze(word)
        key = info.key
        bounds = set(info.bounds)
        spans: dict[tuple[int, int], list[Term]] = {}
        for k in keys:
            for term, mode in self._variants[k]:
                i = key.find(k)
                while i >= 0:
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
                    i = key.find(k, i + 1)
        if not spans:
            return []
        allowed: list[tuple[int, int, bool]] = []
        for phrase in self._allowed_keys:
            i = key.find(phrase)
            while i >= 0:
                j = i + len(phrase)
                if i in bounds and j in bounds:
                    text = word[info.at(i) : info.at(j - 1) + 1]
                    allowed.append((i, j, "." in text or "-" in text))
                i = key.find(phrase, i + 1)
        out: list[_Found] = []
        for (i, j), terms in spans.items():
            start, end = info.at(i), info.at(j - 1) + 1
            text = word[start:end]
            exempt_text = exempt_code = False
            for a, b, joined in allowed:
                if a <= i and j <= b:
                    exempt_text = True
                    exempt_code = exempt_code or not joined
            code_ok = "." not in text and "-" not in text
            if code_ok:
                # NOTE: in code the NAME token ends at `.`/`-`; a token starting with a digit is a number.
                head = max(word.rfind(".", 0, start), word.rfind("-", 0, start)) + 1
                code_ok = not word[head].isdigit()
            for term in terms:
                out.append(_Found(start, end, term, code_ok, exempt_text, exempt_code))
        return out


def _re2_searcher(compiled: Any) -> Callable[[bytes | memoryview, int, int], int]:
    """A function giving the start of the first match in `data[pos:end]`, or -1."""
    low = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(getattr(_re2, "_re2", None), "RE2", None), "Anchor", None)
    if low is not None and hasattr(low, "Match") and anchor is not None:
        # NOTE: the binding's own search() costs a generator and a match object per call; its compiled
        # object answers the same question directly. Used only when present, else the public API.
        unanchored = anchor.UNANCHORED
        match = low.Match

        def search(data: bytes | memoryview, pos: int, end: int) -> int:
            start: int = match(unanchored, data, pos, end)[0][0]
            return start

        return search

    def public_search(data: bytes | memoryview, pos: int, end: int) -> int:
        m = compiled.search(data, pos, end)
        return -1 if m is None else int(m.start())

    return public_search


def _rebuild_matcher(forbidden: tuple[Term, ...], allowed: tuple[str, ...], engine: str) -> Matcher:
    return Matcher(forbidden, allowed, engine=engine)


# ---------------------------------------------------------------- Python lexing


def _possessive(pattern: bytes) -> bytes:
    """`pattern` as written on 3.11+; before, its possessive quantifiers made plain.

    NOTE: in these patterns possessive quantifiers only spare backtracking that could never find
    another match (what follows them cannot start with what they consume), so plain ones match the same.
    """
    return pattern if sys.version_info >= (3, 11) else pattern.replace(b"*+", b"*").replace(b"++", b"+")


# A comment or a string in single quotes, lexed from its first character (the tokenizer's rules: an
# unterminated string ends at the end of its line, a backslash-newline continues it).
_SHORT_TOKEN = re.compile(
    _possessive(
        rb"""#[^\r\n]*+"""
        rb"""|'(?:[^'\\\r\n]++|\\(?:\r\n|[\s\S]))*+'?"""
        rb"""|"(?:[^"\\\r\n]++|\\(?:\r\n|[\s\S]))*+"?"""
    )
)
# NOTE: where a string spanning lines may start: a triple quote, or a backslash-newline (in a string).
_EVENT = rb"'''|\"\"\"|\\\r?\n"
_BLANK = re.compile(_possessive(rb"[ \t\f\r]*+"))
_QUOTE_OR_HASH = re.compile(rb"['\"#]")
_STRING_OPEN = re.compile(rb"([A-Za-z]{0,2})['\"]")
_BRACKET_OR_COLON = re.compile(rb"[()\[\]{}:]")
_HEADER = re.compile(_possessive(rb"[ \t\f]*+(?:async[ \t\f]++)?(?:def|class)(?!\w)"))
_PREFIX_RUN = re.compile(rb"\w{1,3}\Z")
_STRING_PREFIXES = frozenset({b"", b"r", b"u", b"b", b"f", b"br", b"rb", b"fr", b"rf"})
_OPEN_PAREN, _CLOSE_PAREN, _COLON, _SEMICOLON, _HASH, _BACKSLASH = 0x28, 0x29, 0x3A, 0x3B, 0x23, 0x5C
_NEWLINE, _CR = 0x0A, 0x0D
_F_OR_R = frozenset(b"fFrR")
# NOTE: what may stand just before a docstring on its line: another string, `(`, `:`, a byte order mark.
_BEFORE_DOCSTRING = frozenset(b"'\"(:" + bytes(range(0x80, 0x100)))


def _event_finder() -> Callable[[bytes, int], int]:
    """A function giving the offset of the first triple quote or backslash-newline in `data[pos:]`, or -1:
    one pass of RE2 when installed (quicker than a search for each), else of `re`."""
    if _re2 is not None:
        options = _re2.Options()
        options.encoding = _re2.Options.Encoding.LATIN1
        search = _re2_searcher(_re2.compile(_EVENT, options))
        return lambda data, pos: search(data, pos, len(data))
    pattern = re.compile(_EVENT)

    def find(data: bytes, pos: int) -> int:
        m = pattern.search(data, pos)
        return -1 if m is None else m.start()

    return find


_find_event = _event_finder()


def _is_fstring(data: bytes, start: int) -> bool:
    """Whether the string whose quote is at `start` has an f prefix (`f`, `rf`, `fr`, any case)."""
    j = start
    while j > 0 and start - j < 3 and (0x41 <= (data[j - 1] | 0x20) - 0x20 <= 0x5A):
        j -= 1
    if j > 0 and (data[j - 1] == 0x5F or chr(data[j - 1]).isalnum()):
        return False
    return data[j:start].lower() in (b"f", b"fr", b"rf")


def _fstring_end(data: bytes, start: int) -> int:
    """End offset of an f-string, read as Python 3.12 reads it (PEP 701): a replacement field may hold
    strings in the f-string's own quotes. Older code never does, so it reads the same as before."""
    n = 3 if data[start : start + 3] in (b"'''", b'"""') else 1
    closing = data[start : start + n]
    i, size = start + n, len(data)
    # NOTE: one entry per open replacement field: its bracket depth, or -1 once in its format spec.
    fields: list[int] = []
    while i < size:
        c = data[i]
        if not fields or fields[-1] < 0:
            if c == _BACKSLASH:
                i += 2
                continue
            if n == 1 and c in (_NEWLINE, _CR):
                return i
            if not fields and data.startswith(closing, i):
                return i + n
            if c == 0x7B:
                if not fields and data[i + 1 : i + 2] == b"{":
                    i += 2
                    continue
                fields.append(0)
            elif c == 0x7D and fields:
                fields.pop()
            i += 1
            continue
        if c in (0x22, 0x27):
            i = _token_end(data, i)
            continue
        if n == 1 and c in (_NEWLINE, _CR):
            return i
        if c in (0x28, 0x5B, 0x7B):
            fields[-1] += 1
        elif c in (0x29, 0x5D):
            fields[-1] -= 1
        elif c == 0x7D:
            if fields[-1] == 0:
                fields.pop()
            else:
                fields[-1] -= 1
        elif c == _COLON and fields[-1] == 0:
            fields[-1] = -1
        i += 1
    return size


def _token_end(data: bytes, start: int) -> int:
    """End offset of the string or comment token that starts at `start` (a quote or `#` in code)."""
    quote = data[start : start + 3]
    # NOTE: an f-string's prefix ends with f or r; most strings have no prefix.
    fstring = data[start] != _HASH and data[start - 1] in _F_OR_R and _is_fstring(data, start)
    if quote != b"'''" and quote != b'"""':
        m = _SHORT_TOKEN.match(data, start)
        end = start + 1 if m is None else max(m.end(), start + 1)
        # NOTE: only an f-string with a replacement field can hold a nested string (3.12).
        return _fstring_end(data, start) if fstring and data.find(b"{", start, end) >= 0 else end
    if fstring:
        return _fstring_end(data, start)
    # NOTE: a triple-quoted string ends at the first unescaped triple quote; find() is far quicker than
    # the regex over long docstrings.
    pos = start + 3
    while True:
        end = data.find(quote, pos)
        if end < 0:
            return len(data)
        k = end
        while k > pos and data[k - 1] == _BACKSLASH:
            k -= 1
        if (end - k) % 2 == 0:
            return end + 3
        pos = end + 1


class _Token(NamedTuple):
    """A string or comment token: byte offsets and which of the two it is."""

    start: int
    end: int
    comment: bool


class _Line:
    """A line's string and comment tokens, in order (they do not overlap), lexed from its start only as far
    as asked: up to `pos`, a position in code where lexing resumes."""

    __slots__ = ("data", "end", "pos", "starts", "tokens")

    def __init__(self, data: bytes, start: int, end: int, covering: _Token | None) -> None:
        """The line `data[start:end]`; `covering`: the string spanning lines that covers its start, if any."""
        self.data = data
        self.end = end
        self.pos = start if covering is None else covering.end
        self.tokens: list[_Token] = [] if covering is None else [covering]
        self.starts: list[int] = [] if covering is None else [covering.start]

    def lex(self, upto: int) -> list[_Token]:
        """The tokens, lexed at least as far as every one that starts at or before `upto`."""
        stop = min(upto, self.end - 1)
        pos = self.pos
        if pos <= stop:
            data, end, tokens, starts = self.data, self.end, self.tokens, self.starts
            while pos <= stop:
                m = _QUOTE_OR_HASH.search(data, pos, end)
                if m is None:
                    pos = end
                    break
                start = m.start()
                if start > stop:
                    pos = start
                    break
                pos = _token_end(data, start)
                tokens.append(_Token(start, pos, data[start] == _HASH))
                starts.append(start)
            self.pos = pos
        return self.tokens

    def token_at(self, offset: int) -> _Token | None:
        """The token covering `offset`; None in code."""
        tokens = self.lex(offset)
        i = bisect.bisect_right(self.starts, offset) - 1
        return tokens[i] if i >= 0 and offset < tokens[i].end else None

    def ended_by(self, pos: int) -> int:
        """How many tokens end at or before `pos`: those that start before it, but one that covers it."""
        tokens = self.lex(pos)
        n = bisect.bisect_left(self.starts, pos)
        return n - 1 if n and tokens[n - 1].end > pos else n


class _PythonSource:
    """Lexical context of a Python file: what is code, string or comment, and which strings are docstrings.

    Strings that span lines are indexed once, from the top of the file down to the last line asked about;
    each line asked about is then lexed on its own, from code or from the end of the string it starts in.
    """

    def __init__(self, data: bytes, index_to: int = 0) -> None:
        """The source `data`, its strings spanning lines indexed at once as far as `index_to`."""
        self.data = data
        self._multi_starts: list[int] = []
        self._multi_ends: list[int] = []
        self._multi_pos = 0
        self._indexed = 0
        self._event = -1  # NOTE: the last triple quote or backslash-newline found; none from there to it
        self._lines: dict[int, _Line] = {}
        self._docstrings: dict[int, bool] = {}
        self._index_to(index_to)

    def _next_event(self, pos: int, limit: int) -> int:
        """Offset of the next triple quote or backslash-newline starting in `data[pos:limit + 1]`, or -1."""
        if self._event < pos:
            self._event = _find_event(self.data, pos)
            if self._event < 0:
                self._event = sys.maxsize  # NOTE: none left
        return self._event if self._event <= limit else -1

    def _index_to(self, offset: int) -> None:
        """Index the strings that span lines and start before `offset`.

        Every line starts in code unless a string spanning lines covers its start, and such a string opens
        with a triple quote or holds a backslash-newline; so only lines holding one of those are lexed, from
        their start (or from where the previous such string ended).
        """
        if offset < self._indexed:
            return
        data = self.data
        pos = self._multi_pos  # NOTE: always a position in code, where lexing may resume
        while True:
            event = self._next_event(pos, offset)
            if event < 0:
                break
            scan = max(pos, data.rfind(b"\n", 0, event) + 1)
            pos = event + 1
            while True:
                m = _QUOTE_OR_HASH.search(data, scan, event + 1)
                if m is None:
                    break  # NOTE: the event is in code: a line continuation
                end = _token_end(data, m.start())
                if end > event:
                    if data.find(b"\n", m.start(), end) >= 0:
                        self._multi_starts.append(m.start())
                        self._multi_ends.append(end)
                    pos = max(pos, end)
                    break
                scan = end
        self._multi_pos = pos
        self._indexed = offset + 1

    def kinds(self, line_start: int, offsets: Sequence[int], strings: bool) -> list[str | None]:
        """The kind of the text at each of these offsets (ascending) of the line starting at `line_start`:
        "identifier" in code, "comment", "docstring" or "string" (None for a string when not `strings`)."""
        covering = self._covering(line_start)
        if covering is None and _QUOTE_OR_HASH.search(self.data, line_start, offsets[-1]) is None:
            return ["identifier"] * len(offsets)  # NOTE: all code: no token starts before the last offset
        line = self.line(line_start)
        out: list[str | None] = []
        for offset in offsets:
            token = line.token_at(offset)
            if token is None:
                out.append("identifier")
            elif token.comment:
                out.append("comment")
            elif strings:
                out.append("docstring" if self.is_docstring(token) else "string")
            else:
                out.append(None)
        return out

    def _covering(self, line_start: int) -> _Token | None:
        """The string spanning lines that covers the start of the line at `line_start`, if any."""
        if line_start >= self._indexed:
            self._index_to(line_start)
        i = bisect.bisect_left(self._multi_starts, line_start) - 1
        if i >= 0 and self._multi_ends[i] > line_start:
            return _Token(self._multi_starts[i], self._multi_ends[i], False)
        return None

    def line(self, line_start: int) -> _Line:
        """The line starting at `line_start`, with the string spanning lines that covers its start if any."""
        line = self._lines.get(line_start)
        if line is None:
            line_end = self.data.find(b"\n", line_start)
            end = len(self.data) if line_end < 0 else line_end
            line = self._lines[line_start] = _Line(self.data, line_start, end, self._covering(line_start))
        return line

    def token_at(self, offset: int) -> _Token | None:
        """The string or comment token covering `offset`; None in code."""
        return self.line(self.data.rfind(b"\n", 0, offset) + 1).token_at(offset)

    def prefix(self, token: _Token) -> tuple[int, bytes]:
        """Offset where a string token starts, prefix letters included, and the lowercased prefix."""
        start = token.start
        m = _PREFIX_RUN.search(self.data, max(0, start - 3), start)
        if m is not None and m.end() - m.start() < 3 and m.group().lower() in _STRING_PREFIXES:
            return m.start(), m.group().lower()
        return start, b""

    def _escaped_newline(self, newline: int) -> bool:
        """True when the newline at offset `newline` follows a backslash in code (a line continuation)."""
        pos = newline - 1 if newline > 0 and self.data[newline - 1] == _CR else newline
        return pos > 0 and self.data[pos - 1] == _BACKSLASH and self.token_at(pos - 1) is None

    def previous(self, pos: int) -> tuple[str, int, _Token | None, bool]:
        """What precedes `pos` past blanks and comments ("bof", "char" or "string"), its offset, its token,
        and whether a newline ending a logical line lies between."""
        data = self.data
        crossed = False
        while True:
            line_start = data.rfind(b"\n", 0, pos) + 1
            line = self.line(line_start)
            n = line.ended_by(pos)
            tokens = line.tokens
            end = pos
            while True:
                lo = max(tokens[n - 1].end, line_start) if n else line_start
                kept = len(data[lo:end].rstrip(b" \t\f\r"))
                if kept and not (lo == 0 and data[:kept] == _BOM):
                    return "char", lo + kept - 1, None, crossed
                if not n:
                    break
                n -= 1
                token = tokens[n]
                if not token.comment:
                    return "string", token.start, token, crossed
                end = token.start
            if line_start == 0:
                return "bof", -1, None, crossed
            pos = line_start - 1
            if self._escaped_newline(pos):
                pos = data.rfind(b"\\", 0, pos)
            else:
                crossed = True

    def following(self, pos: int) -> tuple[str, int, _Token | None, bool]:
        """What follows `pos` (in code) past blanks and comments, as :meth:`previous` tells what precedes."""
        data, size = self.data, len(self.data)
        crossed = False
        while True:
            blank = _BLANK.match(data, pos)
            assert blank is not None
            pos = blank.end()
            if pos >= size:
                return "eof", -1, None, crossed
            ch = data[pos]
            if ch == _NEWLINE:
                crossed = True
                pos += 1
            elif ch == _BACKSLASH and data[pos + 1 : pos + 2] in (b"\n", b"\r"):
                pos = data.find(b"\n", pos) + 1 or size
            elif ch == _HASH:
                pos = data.find(b"\n", pos)
                if pos < 0:
                    return "eof", -1, None, crossed
            else:
                m = _STRING_OPEN.match(data, pos)
                if m is not None and m.group(1).lower() in _STRING_PREFIXES:
                    token = self.token_at(m.end() - 1)
                    if token is not None and token.start == m.end() - 1:
                        return "string", token.start, token, crossed
                return "char", pos, None, crossed

    def _header_colon(self, colon: int) -> bool:
        """True when the `:` at offset `colon` ends a `def` or `class` header."""
        data = self.data
        depth = 0
        pos = colon
        while True:
            line_start = data.rfind(b"\n", 0, pos) + 1
            tokens = self.line(line_start).lex(pos)
            spans: list[tuple[int, int]] = []
            cur = line_start
            for t in tokens:
                if t.start >= pos:
                    break
                if t.start > cur:
                    spans.append((cur, t.start))
                cur = max(cur, t.end)
            if cur < pos:
                spans.append((cur, pos))
            for lo, hi in reversed(spans):
                for m in reversed(list(_BRACKET_OR_COLON.finditer(data, lo, hi))):
                    ch = data[m.start()]
                    if ch in b")]}":
                        depth += 1
                    elif ch in b"([{":
                        depth -= 1
                        if depth < 0:
                            return False
                    elif depth == 0:
                        return False  # NOTE: an earlier `:` of the same logical line ends the header
            if tokens and tokens[0].start < line_start:
                pos = tokens[0].start
                continue
            if line_start == 0:
                return _HEADER.match(data, len(_BOM) if data.startswith(_BOM) else 0) is not None
            if depth == 0 and not self._escaped_newline(line_start - 1):
                return _HEADER.match(data, line_start) is not None
            pos = line_start - 1

    def is_docstring(self, token: _Token) -> bool:
        """True when a string token is (part of) the docstring of a module, class or function."""
        cached = self._docstrings.get(token.start)
        if cached is not None:
            return cached
        start = self.prefix(token)[0]
        code = self.data[self.data.rfind(b"\n", 0, start) + 1 : start].rstrip(b" \t\f\r")
        if code and code[-1] not in _BEFORE_DOCSTRING:
            # NOTE: code just before it on its line (what previous() finds first): no docstring.
            self._docstrings[token.start] = False
            return False
        run = [token]
        crossings: list[bool] = []
        while True:
            what, where, before, crossed = self.previous(self.prefix(run[0])[0])
            if before is None:
                break
            run.insert(0, before)
            crossings.insert(0, crossed)
        opened = 0
        while what == "char" and self.data[where] == _OPEN_PAREN:
            opened += 1
            what, where, _, _ = self.previous(where)
        if opened == 0 and any(crossings):
            # NOTE: outside brackets a newline between two strings ends the first one's statement.
            cut = crossings.index(True) + 1
            for t in run[cut:]:
                self._docstrings[t.start] = False
            run = run[:cut]
            if token not in run:
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
            self._docstrings[t.start] = result
        return result

    def _statement_ends(self, run: list[_Token], opened: int) -> bool:
        """True when the strings of `run`, extended forward, are a whole statement of plain str literals."""
        what, where, after, crossed = self.following(run[-1].end)
        while after is not None and (opened > 0 or not crossed):
            run.append(after)
            what, where, after, crossed = self.following(after.end)
        if any(b"f" in p or b"b" in p for p in (self.prefix(t)[1] for t in run)):
            return False
        while opened > 0:
            if what != "char" or self.data[where] != _CLOSE_PAREN:
                return False
            opened -= 1
            what, where, _, crossed = self.following(where + 1)
        return what == "eof" or crossed or (what == "char" and self.data[where] == _SEMICOLON)


# ---------------------------------------------------------------- scanning


def _python_encoding(data: bytes) -> str:
    if data.startswith(_BOM) or data.find(b"coding", 0, 4096) < 0:
        return "utf-8"
    head = b"\n".join(data[:4096].split(b"\n", 2)[:2])
    m = _CODING.search(head)
    if m is not None:
        import tokenize

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


_Row = tuple[str, int, int, str, str, str, str]
_T = TypeVar("_T")


def _scan_data(
    data: bytes, matcher: Matcher, path: str, mode: str, kinds: frozenset[str], first: int = 0
) -> list[_Row]:
    """Hits in the bytes of one file, as the fields of a :class:`Hit`; `mode` is "python" or a kind; `first`
    as :meth:`Matcher.candidate_lines` takes it."""
    candidates = matcher.candidate_lines(data, first)
    if not candidates:
        return []
    python = mode == "python"
    encoding = _python_encoding(data) if python else "utf-8"
    source: _PythonSource | None = None
    strings = "docstring" in kinds or "string" in kinds
    hits: list[_Row] = []
    for cand in candidates:
        start = cand.start
        raw = data[start : cand.end]
        if start == 0 and raw.startswith(_BOM):
            raw, start = raw[len(_BOM) :], len(_BOM)
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if cand.words is not None and encoding == "utf-8":
            found = matcher.find_in_words(data, cand.words, start)
        else:
            found = matcher.find_in_line(raw.decode(encoding, "surrogateescape"))
        if not found:
            continue
        line = raw.decode(encoding, "surrogateescape")
        found_kinds: list[str | None] = [mode] * len(found)
        if python:
            if source is None:
                source = _PythonSource(data, candidates[-1].start)
            if raw.isascii():
                offsets = [start + f_start for f_start, _, _ in found]
            else:
                offsets = [
                    start + len(line[:f_start].encode(encoding, "surrogateescape")) for f_start, _, _ in found
                ]
            found_kinds = source.kinds(cand.start, offsets, strings)
        shown: str | None = None
        for (f_start, f_end, f), kind in zip(found, found_kinds, strict=True):
            if kind is None:
                continue
            exempt = f.exempt_code or not f.code_ok if kind == "identifier" else f.exempt_text
            if exempt or kind not in kinds:
                continue
            if shown is None:
                shown = _printable(line)
            matched = _printable(line[f_start:f_end])
            hits.append((path, cand.lineno + 1, f_start + 1, f.term.text, matched, kind, shown))
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
    rows = _scan_data(text.encode("utf-8", "surrogateescape"), matcher, path, kind, _kinds(kinds))
    return [Hit(*row) for row in rows]  # type: ignore[arg-type]


def is_binary(data: bytes) -> bool:
    """True when the first 8 KiB hold a NUL byte."""
    return b"\0" in data[:BINARY_SNIFF]


def scan_file(
    path: str | os.PathLike[str], matcher: Matcher, kinds: Iterable[str] | None = None
) -> list[Hit]:
    """Hits in one file: Python files by token kind, others as text; binary files give none."""
    scan = _Scan(matcher, _kinds(kinds), regular_only=False)
    return [_hit(row) for row in scan.path(os.fspath(path))]


class _Scan:
    """What to look for and where, and a buffer reused for every file read (no allocation per file)."""

    def __init__(self, matcher: Matcher, kinds: frozenset[str], *, regular_only: bool) -> None:
        self.matcher = matcher
        self.kinds = kinds
        self.regular_only = regular_only  # NOTE: skip symbolic links and anything but regular files
        self._python = bool(kinds & _PYTHON_KINDS)
        self._text = "text" in kinds
        self._buffer = bytearray(1 << 16)
        self._view = memoryview(self._buffer)
        self.early: dict[str, list[_Row]] = {}  # NOTE: rows of files scanned ahead (see _scan_listed)

    def chunk(self, names: Iterable[str]) -> list[_Row]:
        """Hits in these files, sorted by path, line, column and term; a file that vanished or cannot be
        read has nothing to report."""
        rows: list[_Row] = []
        early = self.early
        for name in names:
            if name in early:
                rows.extend(early[name])
                continue
            try:
                rows.extend(self.path(name))
            except OSError:
                continue
        rows.sort(key=_row_key)
        return rows

    def hits(self, names: list[str]) -> list[Hit]:
        """As :meth:`chunk`, as hits."""
        return [_hit(row) for row in self.chunk(names)]

    def path(self, name: str) -> list[_Row]:
        """Hits in one file."""
        python = os.path.splitext(name)[1].lower() in PYTHON_SUFFIXES
        if not (self._python if python else self._text):
            return []
        view = self._read(name)
        if view is None or self._buffer.find(b"\0", 0, min(len(view), BINARY_SNIFF)) >= 0:
            return []  # NOTE: no regular file, or binary (is_binary, without a copy)
        first = self.matcher.first_candidate(view)
        if first < 0:
            return []
        return _scan_data(bytes(view), self.matcher, name, "python" if python else "text", self.kinds, first)

    def _read(self, name: str) -> memoryview | None:
        """The whole file in the reused buffer, valid until the next read; None when `regular_only` skips it.

        A link is refused by the open itself where the OS can (O_NOFOLLOW: one look-up of the path instead of
        an lstat and an open), and anything but a regular file after, before a byte is read (O_NONBLOCK: a
        FIFO does not wait for a writer).
        """
        if self.regular_only and not _O_NO_LINK:
            st = os.lstat(name)  # pragma: no cover - Windows
            if not stat.S_ISREG(st.st_mode):  # pragma: no cover
                return None
        fd = os.open(name, _O_READ | _O_NO_LINK if self.regular_only else _O_READ)
        try:
            st = os.fstat(fd)
            if self.regular_only and not stat.S_ISREG(st.st_mode):
                return None
            size = st.st_size
            if len(self._buffer) <= size:
                self._grow(size + 1)
            got = _read_into(fd, self._view[: size + 1]) if size else 0
            while got > size or not size:
                # NOTE: the file grew, or reports no size (procfs-like): read it to the end.
                if got == len(self._buffer):
                    self._grow(got + 1)
                more = _read_into(fd, self._view[got:])
                if not more:
                    break
                got += more
            return self._view[:got]
        finally:
            os.close(fd)

    def _grow(self, size: int) -> None:
        """A buffer of at least `size` bytes (and twice as large as before), keeping what it holds."""
        self._buffer = self._buffer + bytearray(max(size, 2 * len(self._buffer)) - len(self._buffer))
        self._view = memoryview(self._buffer)


_READV: Callable[[int, Sequence[memoryview]], int] | None = getattr(os, "readv", None)


def _read_into(fd: int, view: memoryview) -> int:
    """Read from `fd` into `view`; how many bytes came (0 at the end of the file)."""
    if _READV is not None:
        return _READV(fd, (view,))
    data = os.read(fd, len(view))  # pragma: no cover - Windows
    view[: len(data)] = data
    return len(data)


# ---------------------------------------------------------------- parallel scanning

_MIN_FILES_PER_JOB = 64
_MIN_CHUNK_FILES = 32
_MAX_CHUNKS = 256  # NOTE: one byte per chunk number in the work queue


def _row_key(row: _Row) -> tuple[str, int, int, str]:
    return row[0], row[1], row[2], row[3]


def _hit_key(hit: Hit) -> tuple[str, int, int, str]:
    return hit.path, hit.line, hit.col, hit.term


def _chunked(names: list[str], jobs: int) -> list[list[str]]:
    """Consecutive chunks of `names` for `jobs` processes to share; one when there are too few files."""
    if jobs == 1 or len(names) < jobs * _MIN_FILES_PER_JOB:
        return [names]
    size = max(_MIN_CHUNK_FILES, -(-len(names) // _MAX_CHUNKS))
    return [names[i : i + size] for i in range(0, len(names), size)]


class _Workers:
    """Forked processes that scan the chunks put in a queue, and send their rows back.

    The queue is a pipe holding one byte per chunk number, all written at once: a one-byte read is atomic,
    so each chunk goes to exactly one process. Each child sends its rows back pickled through a pipe of its
    own, after its last chunk. This process takes chunks too, and makes its hits while the children work.
    """

    def __init__(self, scan: _Scan) -> None:
        self.scan = scan
        self.queue, self.feed = os.pipe()
        self.children: list[tuple[int, int]] = []  # NOTE: (pid, read end of its pipe) until its rows are read
        self.pids: list[int] = []

    def start(self, prepare: Callable[[], list[list[str]]]) -> None:
        """Fork a child that scans the chunks `prepare` gives it (called in the child) from the queue."""
        back, out = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            os.close(back)
            if self.feed >= 0:
                os.close(self.feed)  # NOTE: or the queue would never end
            _child(self.queue, out, prepare, self.scan)
        os.close(out)
        self.children.append((pid, back))
        self.pids.append(pid)

    def deal(self, numbers: Iterable[int]) -> None:
        """Put these chunk numbers in the queue, and no more."""
        os.write(self.feed, bytes(numbers))
        os.close(self.feed)
        self.feed = -1

    def scan_chunks(self, chunks: list[list[str]], own: Iterable[int] = ()) -> list[list[Hit]]:
        """The hits of every chunk, in order: `own` chunks scanned here, the queue's by whoever takes them."""
        import pickle

        parts = {number: self.scan.hits(chunks[number]) for number in own}
        _take_chunks(self.queue, chunks, self.scan.hits, parts)
        while self.children:
            pid, back = self.children.pop(0)
            with os.fdopen(back, "rb") as fh:
                try:
                    ok, payload = pickle.load(fh)
                except (EOFError, pickle.UnpicklingError):
                    ok, payload = False, RuntimeError(f"the scanning process {pid} failed")
            if not ok:
                raise payload
            parts.update((number, [_hit(row) for row in rows]) for number, rows in payload.items())
        return [parts[i] for i in range(len(chunks))]

    def close(self) -> None:
        """Close the queue, stop the children whose rows were not read (after an error), wait for all."""
        import signal

        for fd in (self.queue, self.feed):
            if fd >= 0:
                os.close(fd)
        for pid, back in self.children:
            os.close(back)
            os.kill(pid, signal.SIGKILL)
        for pid in self.pids:
            os.waitpid(pid, 0)


def _scan_names(names: list[str], scan: _Scan, jobs: int) -> list[list[Hit]]:
    """The hits in consecutive chunks of `names`, in order, each sorted by path, line, column and term;
    scanned by `jobs` processes: this one and forked ones where the OS forks."""
    chunks = _chunked(names, jobs)
    if len(chunks) == 1:
        return [scan.hits(names)]
    if not hasattr(os, "fork"):
        return _pooled(chunks, scan, jobs)  # pragma: no cover - Windows
    workers = _Workers(scan)
    try:
        workers.deal(range(len(chunks)))
        for _ in range(jobs - 1):
            workers.start(lambda: chunks)
        return workers.scan_chunks(chunks)
    finally:
        workers.close()


def _scan_listed(
    listing: Callable[[], list[str]], base: str, scan: _Scan, jobs: int
) -> tuple[list[str], list[list[Hit]]]:
    """The files `listing` gives (on the first child's side), and their hits as :func:`_scan_names` gives
    them, scanned by `jobs` processes (`jobs` > 1, the OS forks).

    The listing (`git ls-files`) takes a while, mostly in git; meanwhile this process scans the files a
    walk of `base` finds first, and later scans the chunks that hold them itself.
    """
    workers = _Workers(scan)
    ready, sent = os.pipe()
    try:
        workers.start(lambda: _send_listing(listing, sent, jobs))
        os.close(sent)
        names = _scan_ahead(base, scan, ready)
        if names is None:
            names = listing()  # NOTE: the child could not list (it sent nothing): raise its error here
        chunks = _chunked(names, jobs)
        own = [
            i for i, chunk in enumerate(chunks) if len(chunks) == 1 or not scan.early.keys().isdisjoint(chunk)
        ]
        workers.deal(i for i in range(len(chunks)) if i not in own)
        for _ in range(jobs - 2 if len(chunks) > 1 else 0):
            workers.start(lambda: chunks)
        return names, workers.scan_chunks(chunks, own)
    finally:
        workers.close()


def _send_listing(
    listing: Callable[[], list[str]], sent: int, jobs: int
) -> list[list[str]]:  # pragma: no cover
    """In the first child: list the files, send the list to the parent, and scan its share of them (none
    when the listing failed: the parent lists again, and raises its error)."""
    import pickle

    with os.fdopen(sent, "wb") as fh:
        try:
            names = listing()
        except BaseException:
            pickle.dump(None, fh)
            return []
        pickle.dump(names, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return _chunked(names, jobs)


def _scan_ahead(base: str, scan: _Scan, ready: int) -> list[str] | None:
    """Scan the files a walk of `base` finds (into `scan.early`) until something comes on `ready`: then
    what came there, unpickled."""
    import pickle
    import select

    for _, path in _walk(base, (), (), gitignore=True):
        if select.select([ready], [], [], 0)[0]:
            break
        try:
            scan.early[path] = scan.path(path)
        except OSError:
            scan.early[path] = []
    with os.fdopen(ready, "rb") as fh:
        try:
            names: list[str] | None = pickle.load(fh)
        except (EOFError, pickle.UnpicklingError):
            names = None  # NOTE: the child died before it could say
    return names


def _take_chunks(
    queue: int, chunks: list[list[str]], scan: Callable[[list[str]], _T], into: dict[int, _T]
) -> dict[int, _T]:
    """What `scan` makes of each chunk this process takes from the queue until it is empty, by number, put
    `into` a dict."""
    while number := os.read(queue, 1):
        into[number[0]] = scan(chunks[number[0]])
    return into


def _child(
    queue: int, out: int, prepare: Callable[[], list[list[str]]], scan: _Scan
) -> NoReturn:  # pragma: no cover
    """A forked process's life: take chunks, send the rows (or the error) back, exit without cleanup."""
    import pickle

    status = 1
    try:
        with os.fdopen(out, "wb") as fh:
            try:
                payload: tuple[bool, Any] = (True, _take_chunks(queue, prepare(), scan.chunk, {}))
            except BaseException as exc:  # NOTE: handed to the parent, which raises it
                payload = (False, exc)
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    finally:
        os._exit(status)


_worker_scan: _Scan | None = None


def _init_worker(scan: _Scan) -> None:  # pragma: no cover - Windows
    global _worker_scan
    _worker_scan = scan


def _pooled_chunk(names: list[str]) -> list[_Row]:  # pragma: no cover - Windows
    assert _worker_scan is not None
    return _worker_scan.chunk(names)


def _pooled(chunks: list[list[str]], scan: _Scan, jobs: int) -> list[list[Hit]]:  # pragma: no cover
    """Scan `chunks` in a pool of `jobs` spawned processes (where the OS cannot fork)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(scan,)) as pool:
        return [[_hit(row) for row in rows] for rows in pool.map(_pooled_chunk, chunks)]


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    matcher: Matcher,
    kinds: Iterable[str] | None = None,
    jobs: int | None = None,
) -> list[Hit]:
    """Hits in many files, sorted by path, line and column, scanned by `jobs` processes (default: CPUs)."""
    scan = _Scan(matcher, _kinds(kinds), regular_only=False)
    return _hits([os.fspath(p) for p in paths], scan, jobs)


def _jobs(jobs: int | None) -> int:
    return max(1, os.cpu_count() or 1) if jobs is None else max(1, jobs)


def _hits(names: list[str], scan: _Scan, jobs: int | None) -> list[Hit]:
    """Hits in these files, sorted by path, line, column and term."""
    return _merged(names, _scan_names(names, scan, _jobs(jobs)))


def _merged(names: list[str], parts: list[list[Hit]]) -> list[Hit]:
    """The hits of consecutive chunks of `names` as one list sorted by path, line, column and term."""
    if len(parts) > 1 and any(a >= b for a, b in itertools.pairwise(names)):
        # NOTE: chunks of paths in order (a git listing) give hits in order; other lists are sorted.
        return sorted(itertools.chain.from_iterable(parts), key=_hit_key)
    return [hit for part in parts for hit in part]


def _hit_maker() -> Callable[[_Row], Hit]:
    """`Hit(*row)` at half the cost: the frozen dataclass's __init__ sets each field through a check, this
    sets the slots directly."""
    path, line, col, term, matched, kind, text = (getattr(Hit, f).__set__ for f in Hit.__slots__)
    new = object.__new__

    def hit(row: _Row) -> Hit:
        h: Hit = new(Hit)
        path(h, row[0])
        line(h, row[1])
        col(h, row[2])
        term(h, row[3])
        matched(h, row[4])
        kind(h, row[5])
        text(h, row[6])
        return h

    return hit


_hit = _hit_maker()


def scan_tree(
    root: str | os.PathLike[str],
    matcher: Matcher,
    include_globs: Sequence[str] = (),
    exclude_globs: Sequence[str] = (),
    kinds: Iterable[str] | None = None,
    jobs: int | None = None,
) -> list[Hit]:
    """Hits in the files under `root`: git's files inside a work tree, else :func:`walk`'s; symbolic links
    and anything but regular files are skipped."""
    scan = _Scan(matcher, _kinds(kinds), regular_only=True)
    base = os.fspath(root)

    def listing() -> list[str]:
        return [path for _, path in _listed(base, include_globs, exclude_globs)]

    jobs = _jobs(jobs)
    if jobs == 1 or not hasattr(os, "fork"):
        return _hits(listing(), scan, jobs)
    names, parts = _scan_listed(listing, base, scan, jobs)
    return _merged(names, parts)


def _listed(
    base: str, include_globs: Sequence[str], exclude_globs: Sequence[str]
) -> Iterator[tuple[str, str]]:
    """(path relative to `base`, path) of every file in scope: what git would track, else the walk's (links
    and other non-regular files among git's are left to the scan to skip)."""
    from pathlib import Path

    from evidence_kit.support.tree import git_files

    names = git_files(Path(base))
    if names is None:
        yield from _walk(base, include_globs, exclude_globs, gitignore=True)
        return
    includes = [glob_regex(g) for g in include_globs]
    excludes = [glob_regex(g) for g in exclude_globs]
    prefix = os.path.join(base, "")
    for rel in names:
        folders = rel.split("/")[:-1]
        if not SKIP_DIRS.isdisjoint(folders):
            continue
        if includes and not any(x.fullmatch(rel) for x in includes):
            continue
        if excludes:
            above = ["/".join(folders[: i + 1]) for i in range(len(folders))]
            if any(x.fullmatch(rel) for x in excludes) or any(
                x.fullmatch(d) or x.fullmatch(d + "/") for d in above for x in excludes
            ):
                continue
        yield rel, prefix + rel  # NOTE: os.path.join(base, rel), for a relative path


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
    from pathlib import Path

    return [Path(p) for p in walk_names(root, include_globs, exclude_globs, gitignore=gitignore)]


def walk_names(
    root: str | os.PathLike[str],
    include_globs: Sequence[str] = (),
    exclude_globs: Sequence[str] = (),
    *,
    gitignore: bool = True,
) -> list[str]:
    """As :func:`walk`, as strings (cheaper for large trees), sorted by path relative to `root`."""
    return [
        path for _, path in sorted(_walk(os.fspath(root), include_globs, exclude_globs, gitignore=gitignore))
    ]


def _walk(
    base: str, include_globs: Sequence[str], exclude_globs: Sequence[str], *, gitignore: bool
) -> Iterator[tuple[str, str]]:
    """(path relative to `base`, path) of every file in scope, folder by folder."""
    includes = [glob_regex(g) for g in include_globs]
    excludes = [glob_regex(g) for g in exclude_globs]
    ignore = GitIgnore.load(os.path.join(base, ".gitignore")) if gitignore else GitIgnore(())
    pending: list[tuple[str, str]] = [("", base)]
    while pending:
        rel_dir, abs_dir = pending.pop()
        try:
            with os.scandir(abs_dir) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            rel = rel_dir + entry.name
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name in SKIP_DIRS or (ignore.rules and ignore.ignored(rel, True)):
                    continue
                if any(x.fullmatch(rel) or x.fullmatch(rel + "/") for x in excludes):
                    continue
                pending.append((rel + "/", entry.path))
            elif entry.is_file():
                if ignore.rules and ignore.ignored(rel, False):
                    continue
                if includes and not any(x.fullmatch(rel) for x in includes):
                    continue
                if any(x.fullmatch(rel) for x in excludes):
                    continue
                yield rel, entry.path
