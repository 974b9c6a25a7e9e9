"""Find secrets in text and bytes and replace them before anything reaches a bundle or a screen.

The built-in rules (rules.yaml, documented in the README's Redaction section) are matched one line at a
time, on the lines the prefilter names; configured patterns run over the whole text; the values of
secret-named environment variables (and of `redact.env`, and of the `env:` a config gives its commands)
are masked wherever they appear, also URL-encoded or JSON-escaped. An allow list (names, values,
patterns) lets through what a team knows is not secret, and every such pass is counted.
"""

from __future__ import annotations

import bisect
import functools
import io
import json
import os
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from evidence_kit.redact.prefilter import Buffer, Candidate, Prefilter
from evidence_kit.redact.rules import Rule, RuleSet, builtin
from evidence_kit.redact.values import EXTENTS, Judge, Span
from evidence_kit.redact.values import quoted as string_at

MASK = b"[REDACTED]"
CHUNK = 4 * 1024 * 1024
# NOTE: a private key block may straddle two chunks; hold back this much to find its end.
_CARRY_LIMIT = 1024 * 1024
# NOTE: how many lines a value may take below the line that names it (`SECRET_KEY = (`, then its strings):
# what a `next` block reads, and how far back a stream looks for such a line before it cuts.
CONTINUED_LINES = 16
# NOTE: a line of nothing but quoted strings (Python's, with their prefixes), maybe closing a bracket or
# going on with a backslash, maybe marked added or removed (`+`, `-`: a line of a diff); a string's content,
# in group 1 or 2.
_STRING_PART = rb"""[rRbBuUfF]{0,2}(?:"((?:[^"\\\r\n]|\\.)*)"|'((?:[^'\\\r\n]|\\.)*)')"""
_STRING = re.compile(_STRING_PART)
# NOTE: a line of one word that may be a part of a value (not a key, a list item, a comment or a quote).
_ONE_WORD = re.compile(rb"[^\s#:\-\[{&*!|>'\"][^\s]*(?<!:)")
_LIST_ITEM = re.compile(rb"- [\"']?(?i:name|key|parameterkey)\b")
# NOTE: the `value` key of a name/value object's mapping, its value quoted or plain (to a ` #` comment).
_PAIR_VALUE = re.compile(
    rb"""(?P<q>["']?)(?i:value|parametervalue)(?P=q)[ \t]*:[ \t]*"""
    rb"""(?:"(?P<double>(?:[^"\\\r\n]|\\.)*)"|'(?P<single>[^'\r\n]*)'|(?P<plain>[^\s"'#|>&*!\[{][^\r\n]*?))"""
    rb"""[ \t]*,?[ \t]*(?:[ \t]#[^\r\n]*)?"""
)
_STRINGS_LINE = re.compile(rb"[+-]?[ \t]*(?:" + _STRING_PART + rb"[ \t]*)+(?:[,)\\]+[ \t]*)?(?:#[^\r\n]*)?")
# NOTE: how far back a stream looks for a line that opens what a later line is read with (a rule's `opens`:
# a Secret's `data:`, an echoed statement); it never cuts after one within this.
_CONTEXT = 64 * 1024
# NOTE: a line longer than this (minified JSON, say) is cut at its last blank to keep memory flat.
MAX_LINE = 8 * 1024 * 1024
MIN_LITERAL = 6
# NOTE: how many masked strings `mask_texts` remembers (those holding a keyword, short ones), before it
# starts over.
_KNOWN_TEXTS = 4096
_KNOWN_LENGTH = 1024
LITERAL_RULE = "secret-value"
# NOTE: a secret shortened for display keeps its start and end around an ellipsis (pytest's assertion
# message: `'q8vLp2Xk0aBc...Zm1Tt7Qw9rS4e'`): from this many of its first or last bytes on, that is
# masked too.
_SHORTENED = 8
# NOTE: as text, as JSON escapes it, as HTML writes it.
_ELLIPSIS = (b"...", "\u2026".encode(), "\u22ef".encode(), rb"\u2026", rb"\u22ef", b"&hellip;", b"&#8230;")
# NOTE: a URL's scheme or a name with its colon (`https://`, `user:`) starts many a text, not only the secret.
_NO_HEAD = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*:")
_STRUCTURAL = frozenset(b"{,;([-*#|\"'`>:=")
_PLAIN_WORD = re.compile(rb"[A-Za-z][a-z]*")
_KEY_BEGIN = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[ \t]*\r?$", re.M)
_WORD = re.compile(rb"[\w-]+")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# NOTE: a call that names tables, columns and constraints (a `schema` check): Alembic's operations, right
# before the call's parenthesis...
_SCHEMA_CALL = re.compile(rb"\b(?:op|batch_op)\.(?:add|drop|alter|create|rename)_\w+[ \t]*\Z")
# NOTE: ... whose next argument names a column or constraint: lowercase words, each starting with a letter
# (`last_used_at`), never a token's run of letters and digits.
_NAME_ARGUMENT = re.compile(rb"""\\?["'][a-z]+(?:_[a-z][a-z0-9]*)*\\?["']""")
_DOC_FIELD = re.compile(rb"(?::param|:type|:ivar|:cvar|:arg|:keyword|@param)[ \t]+(?:[\w.\[\], |]+[ \t]+)?$")
_TYPE_WORD = re.compile(r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?")
# NOTE: a string that is only a piece of one: `" --username=" + auth`, `"PWD=%s" % pwd`.
_FRAGMENT = re.compile(rb"[ \t]*[+%][ \t]*[\w(\"']")
_APOSTROPHE = re.compile(rb"(?<=[A-Za-z])'(?=[A-Za-z])")
# NOTE: an option of an argv that takes the next item as its value (`--db-password`), and the rule whose
# masks of such a value are counted.
_OPTION = re.compile(r"--([A-Za-z][\w.-]*)")
_OPTION_RULE = "secret-option"
# NOTE: a count of secrets, then more words: `loaded secrets=12 from vault`.
_COUNT = re.compile(rb"(\d{1,9})[ \t]+\S")
# NOTE: the first word of a value of several: a token ends at a blank, a quote or what closes a list; a
# word in CamelCase is a name (`ExpiredSignatureError`), not a token.
_FIRST_WORD = re.compile(rb"[^\s,;'\"`)\]}]+")
_CAMEL_WORDS = re.compile(rb"(?:[A-Z][a-z]+){2,}")
# NOTE: a name written as code names are: words in CamelCase or lowerCamelCase, maybe a number at the end.
_CODE_NAME = re.compile(r"(?:[a-z]+|[A-Z][a-z]+)(?:[A-Z][a-z]+)*(?:[A-Z]?\d+)?")
# NOTE: a lone dash or bar between blanks: what separates a log line's fields (`… - message`, `… | INFO`).
_SEPARATED = re.compile(rb"[ \t]+(?:[-|]|\xe2\x80[\x93\x94])(?:[ \t]|$)")
# NOTE: `\n` or `\r` written as an escape in a string (a JSON log message, the repr of bytes) is a line end.
_ESCAPED_BREAK = re.compile(rb"(?<!\\)(?:\\\\)*\\[nr]")
# NOTE: a double quote, or an escape (whose next byte is never a quote that counts).
_QUOTE_OR_ESCAPE = re.compile(rb'\\.|"', re.S)
# NOTE: the word after an escaped line break, up to a blank, a quote or another escape.
_AFTER_ESCAPE = re.compile(rb"[^\s\"'\\]+")
# NOTE: a chosen secret of fewer characters protects nothing (`password="xe"` in a test, `pw=""`).
MIN_CHOSEN = 4


class _SecretNames:
    """`SECRET_NAME.search(name)`: true when a variable name names a secret (see names.py)."""

    def search(self, name: str) -> bool:
        return builtin().names.secret(name)


SECRET_NAME = _SecretNames()


@dataclass
class Tally:
    """What one masking pass did: masks by rule, and what the allow list let through, by entry."""

    masked: Counter[str] = field(default_factory=Counter)
    allowed: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.masked.values())


@dataclass(frozen=True)
class Allow:
    """`redact.allow`: names whose values are not secret, values that are not, patterns of values."""

    names: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def label(self, value: str, name: str | None = None) -> str | None:
        """The allow-list entry that lets `value` (of `name`) through, as reported: never the value."""
        if name is not None and name.casefold() in {n.casefold() for n in self.names}:
            return f"name:{next(n for n in self.names if n.casefold() == name.casefold())}"
        if value in self.values:
            return f"value:#{self.values.index(value) + 1}"
        for pattern in self.patterns:
            if re.fullmatch(pattern, value):
                return f"pattern:{pattern}"
        return None


def _plausible(value: str, listed: bool) -> bool:
    judge = builtin().judge
    if len(value) < MIN_LITERAL or judge.is_placeholder(value):
        return False
    return listed or not judge.is_plain(value)


def secret_pairs(env: Mapping[str, str], extra_names: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(name, value) of the variables whose values are secret: by name, listed, or a URL's password."""
    listed = set(extra_names)
    names = builtin().names
    found: list[tuple[str, str]] = []
    for name, value in env.items():
        if "://" in value and "@" in value:
            try:
                password = urlsplit(value.strip()).password
            except ValueError:
                password = None
            if not password:
                # NOTE: a password holding an unencoded `/`, as SQLAlchemy reads it (urlsplit stops at `/`).
                password = _url_password(value.strip())
            if password:
                found += [(name, p) for p in {password, unquote(password)} if _plausible(p, True)]
        if name in listed or names.secret(name):
            for line in value.splitlines():
                line = line.strip()
                if line.startswith("-----") or not _plausible(line, name in listed):
                    continue
                found.append((name, line))
    return found


def _url_password(url: str) -> str | None:
    """The password of a URL as the `url-password` rule finds it, else None."""
    rule = next(r for r in builtin().rules if r.name == "url-password")
    found = rule.pattern.match(url.encode("utf-8", "surrogateescape"))
    return found.group("secret").decode("utf-8", "surrogateescape") if found else None


def secret_values(env: Mapping[str, str], extra_names: Iterable[str] = ()) -> list[str]:
    """Values of environment variables whose names look secret (or are listed), long enough to mask."""
    return sorted({v for _, v in secret_pairs(env, extra_names)}, key=len, reverse=True)


@dataclass
class _Found:
    """What one pass over a block found: the spans to mask (start, end, rule), the spans the allow list
    lets through (start, end, entry), and what the block rules read already, so that each is read once: the
    mappings of `kind: Secret` lines by column, the SQL parameters lines, the source line of each loguru
    mark line (the mark line above it has the same)."""

    masked: list[tuple[int, int, int]] = field(default_factory=list)
    allowed: list[tuple[int, int, str]] = field(default_factory=list)
    mappings: dict[int, tuple[int, int]] = field(default_factory=dict)
    parameters: set[int] = field(default_factory=set)
    frames: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pattern:
    label: str
    pattern: re.Pattern[bytes]


class Redactor:
    """Masks the built-in rules, configured patterns and literal secret values; honours an allow list."""

    def __init__(
        self,
        literals: Iterable[str] = (),
        patterns: Iterable[str] = (),
        *,
        allow: Allow | None = None,
        literal_labels: Mapping[str, str] | None = None,
        engine: str | None = None,
        ruleset: RuleSet | None = None,
    ) -> None:
        self.ruleset = ruleset or builtin()
        self.allow = allow or Allow()
        rules: list[Rule] = list(self.ruleset.rules)
        # NOTE: a value is also looked for as it appears in URLs and JSON strings.
        values: dict[bytes, str] = {}
        for value in literals:
            if len(value) < MIN_LITERAL:
                continue
            label = (literal_labels or {}).get(value, "")
            for form in (value, quote(value, safe=""), json.dumps(value, ensure_ascii=False)[1:-1]):
                values.setdefault(form.encode("utf-8", "surrogateescape"), label)
        self.literal_labels = values
        self._shortenable = tuple(v for v, label in values.items() if len(v) >= 2 * _SHORTENED and not label)
        if values:
            ordered = sorted(values, key=len, reverse=True)
            heads = sorted({v[:_SHORTENED] for v in self._shortenable if not _NO_HEAD.match(v[:_SHORTENED])})
            ends = sorted({v[-_SHORTENED:] for v in self._shortenable})
            forms = [re.escape(v) for v in ordered]
            ellipsis = b"(?:" + b"|".join(map(re.escape, _ELLIPSIS)) + b")"
            # NOTE: which head goes with which end is told by _shortened, not here.
            if heads:
                forms.append(
                    b"(?:"
                    + b"|".join(map(re.escape, heads))
                    + rb")[^\s'\"]{0,256}?"
                    + ellipsis
                    + rb"[^\s'\"]{0,256}"
                )
            if ends:
                forms.append(ellipsis + rb"[^\s'\"]{%d,256}" % _SHORTENED)
            rules.append(
                Rule(
                    name=LITERAL_RULE,
                    family="values",
                    description="values of secret-named environment variables",
                    keywords=tuple(dict.fromkeys([*ordered, *heads, *ends])),
                    case_sensitive=True,
                    pattern=re.compile(b"|".join(forms)),
                    value="token",
                )
            )
        self.rules = tuple(rules)
        self.patterns = tuple(_compile_pattern(i, p) for i, p in enumerate(patterns, 1))
        keywords: dict[tuple[bytes, bool], int] = {}
        self._by_keyword: list[list[int]] = []
        for index, rule in enumerate(self.rules):
            for kw in rule.keywords:
                kid = keywords.setdefault((kw, rule.case_sensitive), len(keywords))
                if kid == len(self._by_keyword):
                    self._by_keyword.append([])
                if index not in self._by_keyword[kid]:
                    self._by_keyword[kid].append(index)
        self.prefilter = Prefilter(list(keywords), engine)
        # NOTE: lines a rule reads later lines with: the heading of a `previous` rule (the line just before),
        # a `next` block's line naming a secret (any of the lines before).
        self._hold = tuple(
            (r.previous, 1, False) if r.previous is not None else (r.pattern, CONTINUED_LINES, True)
            for r in self.rules
            if r.previous is not None or r.block == "next"
        )
        opens = sorted({o for r in self.rules for o in r.opens})
        # NOTE: one search finds the first of them; a `find` for each costs three times as much per block.
        self._opens = Prefilter([(o.lower(), False) for o in opens], engine) if opens else None
        self._known: dict[str, str] = {}
        self._kind = next((r.pattern for r in self.rules if r.block == "manifest"), None)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        extra_names: Iterable[str] = (),
        patterns: Iterable[str] = (),
        *,
        allow: Allow | None = None,
        engine: str | None = None,
    ) -> Redactor:
        """A redactor that also masks the values of secret-looking environment variables."""
        pairs = secret_pairs(os.environ if env is None else env, extra_names)
        return cls.from_pairs(pairs, patterns, allow=allow, engine=engine)

    @classmethod
    def from_pairs(
        cls,
        pairs: Iterable[tuple[str, str]],
        patterns: Iterable[str] = (),
        *,
        allow: Allow | None = None,
        engine: str | None = None,
    ) -> Redactor:
        """A redactor for these (name, value) secrets; values the allow list lets through are only counted."""
        allow = allow or Allow()
        pairs = list(pairs)
        labels = {value: label for name, value in pairs if (label := allow.label(value, name)) is not None}
        literals = sorted({v for _, v in pairs}, key=len, reverse=True)
        return cls(literals, patterns, allow=allow, literal_labels=labels, engine=engine)

    @classmethod
    def for_config(cls, config: Any, env: Mapping[str, str]) -> Redactor:
        """The redactor of a collect: the environment, the config's `env_file`s, `redact` and its commands'
        `env:`, and the secret defaults of the service's source (see defaults.py)."""
        own = [(name, _expand(value, env)) for name, value in _config_env(config.collectors)]
        pairs = secret_pairs(env, config.redact_env) + secret_pairs(dict(own), config.redact_env)
        for values in config.env_file_values(env):
            pairs += secret_pairs(values, config.redact_env)
        pairs += config.source_defaults()
        allow = Allow(config.redact_allow_names, config.redact_allow_values, config.redact_allow_patterns)
        return cls.from_pairs(pairs, config.redact_patterns, allow=allow)

    # -----------------------------------------------------------------------------------------------------

    def mask(self, data: bytes, tally: Tally | None = None) -> tuple[bytes, int]:
        """Masked data and the number of secrets masked (added by rule to `tally` when given)."""
        masked, count = self._mask(data, tally)
        return bytes(masked) if not isinstance(masked, bytes) else masked, count

    def mask_text(self, text: str, tally: Tally | None = None) -> tuple[str, int]:
        """Masked text and the number of secrets masked."""
        data, count = self.mask(text.encode("utf-8", errors="surrogateescape"), tally)
        return data.decode("utf-8", errors="surrogateescape"), count

    def mask_argv(self, argv: Sequence[str], tally: Tally | None = None) -> list[str]:
        """`mask_text` of each argument, and the argument after a secret-named option masked whole: in an
        argv an option and its value are two items (`["deploy", "--db-password", "…"]`)."""
        out: list[str] = []
        for i, arg in enumerate(argv):
            name = self._option_value(argv, i)
            if name is None:
                out.append(self.mask_text(arg, tally)[0])
                continue
            label = self.allow.label(arg, name)
            if label is None:
                out.append(MASK.decode())
            else:
                out.append(arg)
            if tally is not None:
                if label is None:
                    tally.masked[_OPTION_RULE] += 1
                else:
                    tally.allowed[label] += 1
        return out

    def _option_value(self, argv: Sequence[str], i: int) -> str | None:
        """The name of the secret-named option whose value `argv[i]` is, judged as `secret-option` judges
        `--name value` in a line; else None."""
        option = _OPTION.fullmatch(argv[i - 1]) if i else None
        value = argv[i]
        if option is None or not value or value.startswith("-"):
            return None
        name = option.group(1)
        ruleset = self.ruleset
        if not ruleset.names.secret(name):
            return None
        if _is_flag(" ".join(argv).encode("utf-8", "surrogateescape"), name, ruleset.flag_options):
            return None
        judge = ruleset.judge
        data = value.encode("utf-8", "surrogateescape")
        if judge.is_placeholder(value) or len(value.strip()) < MIN_CHOSEN or judge.is_variable_name(value):
            return None
        if not ruleset.names.chosen(name) and not judge.is_machine_made(data):
            return None
        return None if judge.is_plain(value) else name

    def mask_texts(self, texts: Sequence[str]) -> list[str]:
        """`mask_text` of each of `texts`, with one prefilter pass over all of them.

        The texts are searched joined by newlines. A rule only matches on a line that holds one of
        its keywords, and the prefilter names every such line whatever comes before it, so a text none
        of whose lines it names comes out unchanged; the others are masked one by one, as alone.
        Configured patterns match anywhere: with any, every text is masked on its own.
        """
        if self.patterns:
            return [self.mask_text(t)[0] for t in texts]
        out = list(texts)
        if not texts or not self.prefilter.keywords:
            return out
        blob = "\n".join(texts).encode("utf-8", errors="surrogateescape")
        # NOTE: where each text starts in the blob; a character takes one byte unless one is wider.
        wide = len(blob) != sum(map(len, texts)) + len(texts) - 1
        starts: list[int] = []
        at = 0
        for text in texts:
            starts.append(at)
            at += (len(text.encode("utf-8", errors="surrogateescape")) if wide else len(text)) + 1
        done = -1
        for begin, _end, _kids in self.prefilter.candidates(blob):
            index = bisect_right(starts, begin) - 1
            if index != done:
                out[index] = self._masked_text(texts[index])
                done = index
        return out

    def _masked_text(self, text: str) -> str:
        """`mask_text(text)`, remembered: the same strings come again (a report rendered three ways)."""
        masked = self._known.get(text)
        if masked is None:
            masked = self.mask_text(text)[0]
            if len(text) <= _KNOWN_LENGTH:
                if len(self._known) >= _KNOWN_TEXTS:
                    self._known.clear()
                self._known[text] = masked
        return masked

    def stream(
        self,
        src: io.BufferedIOBase | io.RawIOBase,
        sink: Callable[[Buffer], None],
        limit: int | None = None,
        tally: Tally | None = None,
    ) -> tuple[int, bool]:
        """Copy `src` to `sink` masked, in line-aligned blocks; returns (count, truncated).

        `sink` gets bytes-like blocks that are only valid during the call (one buffer is reused).
        """
        count, remaining = 0, limit
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        held = 0
        while True:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            if held + want > len(buf):
                grown = bytearray(held + want)
                grown[:held] = view[:held]
                view.release()
                buf, view = grown, memoryview(grown)
            n = src.readinto(view[held : held + want]) if want > 0 else 0
            if remaining is not None:
                remaining -= n
            if not n:
                break
            size = held + n
            cut = _cut(buf, size, self._holds if self._hold else None, self._opens)
            if cut and self._kind is not None:
                cut = _secret_kept(buf, cut, size, self._kind)
            if cut:
                masked, k = self._mask(view[:cut], tally)
                count += k
                sink(masked)
            held = size - cut
            if held and cut:
                buf[:held] = bytes(view[cut:size])
        if held:
            masked, k = self._mask(view[:held], tally)
            count += k
            sink(masked)
        view.release()
        truncated = remaining is not None and remaining <= 0 and bool(src.read(1))
        return count, truncated

    def _holds(self, text: bytes, n: int) -> bool:
        """Whether a line `n` lines before a cut goes with the lines after it (see `_hold`)."""
        for pattern, lines, named in self._hold:
            if n <= lines and (m := pattern.fullmatch(text)) is not None:
                name = m.group("name") if named else None
                if name is None or self.ruleset.names.secret(name.decode("utf-8", "surrogateescape")):
                    return True
        return False

    def _mask(self, data: Buffer, tally: Tally | None) -> tuple[Buffer, int]:
        first = self.prefilter.first(data)
        if first == -1 and not self.patterns:
            return data, 0
        block = bytes(data)
        out = _Found()
        if first != -1:
            self._lines(block, self.prefilter.candidates(block, first), out)
        for i, pat in enumerate(self.patterns):
            for m in pat.pattern.finditer(block):
                start, end = m.span("secret")
                if end > start:
                    self._keep(block[start:end], None, start, end, len(self.rules) + i, out)
        if not out.masked and not out.allowed:
            return data, 0
        return self._apply(block, out, tally)

    # -----------------------------------------------------------------------------------------------------

    def _lines(
        self,
        data: bytes,
        candidates: Sequence[Candidate],
        out: _Found,
    ) -> None:
        for start, end, kids in candidates:
            indexes = sorted({i for kid in kids for i in self._by_keyword[kid]})
            line = data[start:end]
            for index in indexes:
                rule = self.rules[index]
                if rule.block == "pem":
                    self._block(data, start, end, line, index, out)
                    continue
                if rule.block == "statement":
                    self._parameters(data, start, line, index, out)
                    continue
                if rule.block == "frame":
                    self._frame(data, start, line, index, out)
                    continue
                if rule.block == "manifest":
                    self._manifest(data, start, end, index, out)
                    continue
                if rule.block == "next":
                    self._continued(data, end, line, index, out)
                    continue
                heading = None
                if rule.previous is not None:
                    found = rule.previous.fullmatch(_line_before(data, start))
                    if found is None:
                        continue
                    heading = found.group("name") if "name" in rule.previous.groupindex else None
                pos = 0
                while pos <= len(line) and (m := rule.pattern.search(line, pos)):
                    # NOTE: a key rejected by name may hide the real one (`Error: DB_PASSWORD=…`): look again.
                    used = self._match(rule, index, line, m, start, out, heading)
                    pos = m.end() if used and m.end() > m.start() else m.start() + 1

    def _block(self, data: bytes, start: int, end: int, line: bytes, index: int, out: _Found) -> None:
        """A private key block: from its BEGIN marker to the end of its END marker (or of the data)."""
        begin = self.rules[index].pattern.search(line)
        if not begin:
            return
        finish = data.find(b"-----END", end)
        closing = -1 if finish == -1 else data.find(b"-----", finish + 8)
        stop = len(data) if closing == -1 or data.find(b"\n", finish, closing) != -1 else closing + 5
        out.masked.append((start + begin.start(), stop, index))

    def _parameters(
        self,
        data: bytes,
        start: int,
        line: bytes,
        index: int,
        out: _Found,
    ) -> None:
        """SQL parameters after `[generated in …]` (in SQLAlchemy 1.3, after the logger's name): each value
        whose placeholder in the statement above (the lines back to its first) stands for a secret-named
        column. Read from a line of the statement that holds a part of a secret name: its parameters are on
        the first such line after it."""
        pattern = self.rules[index].pattern
        found = pattern.search(line)
        if found is None:
            if not any(hint in line for hint in _SQL_HINTS):
                return
            start = _parameters_after(data, start + len(line), pattern)
            if start == -1:
                return
            line = _line_at(data, start)
            found = pattern.search(line)
        if found is None or start in out.parameters:
            return
        out.parameters.add(start)
        statement = _statement_before(data, start)
        secret = self.ruleset.names.secret
        named = [n.decode("utf-8", "surrogateescape") for n in _IDENTIFIER.findall(statement)]
        column = next((n for n in named if secret(n)), None)
        if column is None:
            return
        names = _placeholder_names(statement)
        for row in _rows(line, found.end()):
            for position, (begin, finish, quoted) in enumerate(row):
                # NOTE: a parameter whose placeholder stands for no known column, in a statement that names a
                # secret one, may be its value: masked (leak-safe), as every string of a list (`= ANY(?)`).
                name = names.get(position) or column
                if not secret(name):
                    continue
                if quoted:
                    self._value(line[begin:finish], name, start + begin, start + finish, index, out)
                elif line[begin : begin + 1] in (b"[", b"("):
                    for a, b, inner in _rows(b"(" + line[begin + 1 : finish], 0)[0]:
                        if inner:
                            self._value(
                                line[begin + a : begin + b],
                                name,
                                start + begin + a,
                                start + begin + b,
                                index,
                                out,
                            )

    def _frame(
        self,
        data: bytes,
        start: int,
        line: bytes,
        index: int,
        out: _Found,
    ) -> None:
        """A variable's value that loguru's `diagnose` (better-exceptions) prints under a line of source,
        `└ '…'` below the variable's first character: masked when that variable is secret-named."""
        found = self.rules[index].pattern.search(line)
        if found is None:
            return
        source = out.frames[start] = _frame_source(data, start, out.frames)
        if source == -1:
            return
        value = string_at(line, found.end())
        a, b = (value[0], value[1]) if value else (found.end(), len(line.rstrip(b" \t\r")))
        text = _line_at(data, source).decode("utf-8", "surrogateescape")
        column = len(line[: found.start("mark")].decode("utf-8", "surrogateescape"))
        name = _FRAME_NAME.match(text, column)
        if name is None or (column and (text[column - 1].isalnum() or text[column - 1] == "_")):
            return
        if not self.ruleset.names.secret(name.group()):
            return
        self._value(line[a:b], name.group(), start + a, start + b, index, out)

    def _continued(self, data: bytes, end: int, line: bytes, index: int, out: _Found) -> None:
        """A value on the lines after the one that names it (the rule's pattern, matched whole): after a
        bracket or a backslash that goes on (`SECRET_KEY = (`, `"api_key": \\`), the strings of the lines
        that hold nothing else, to the one that closes; after triple quotes, each line of one word to the
        closing quotes; after a YAML block scalar's `|` or `>`, each line of one word indented deeper than
        the key; after a bare `=` or `:`, the strings of the next line, or the lines of one word indented
        deeper (a YAML plain scalar, an ini continuation)."""
        rule = self.rules[index]
        m = rule.pattern.fullmatch(line.removesuffix(b"\r"))
        if m is None:
            return
        name = m.group("name").decode("utf-8", "surrogateescape")
        if not self.ruleset.names.secret(name, rule.profile):
            return
        if "pair" in rule.pattern.groupindex:
            self._paired(data, end, line, m.start("pair"), name, index, out)
            return
        opener = (m.group("open") or b"").split()
        kind = opener[-1][:1] if opener else b""  # NOTE: a block's `|` or `>` comes after its tag or anchor
        # NOTE: triple quotes, maybe with a backslash that joins the next line (`SECRET_KEY = """\\`).
        quotes = opener[-1].rstrip(b"\\")[-3:] if kind not in (b"", b"(", b"\\", b"|", b">") else b""
        block = kind in (b"|", b">")
        diff = _in_diff(data, line, end)
        indent = _marked_indent(line, diff)
        plain = False  # NOTE: after a bare key, the lines of one word indented deeper
        pieces: list[tuple[bytes, int]] = []  # NOTE: the lines of a triple-quoted string, to its end
        for n, (pos, text, mark) in enumerate(_lines_after(data, end, diff)):
            body = text[mark:].strip(b" \t")
            if quotes:
                closing = body.find(quotes)
                word = body if closing < 0 else body[:closing].rstrip(b" \t")
                if any(c in word for c in b" \t"):
                    return  # NOTE: prose or markup, not a value: a string of one word a line is masked whole
                if word:
                    pieces.append((word, pos + mark + text[mark:].index(word)))
                if closing >= 0:
                    for word, at in pieces:
                        self._continued_value(word, name, at, index, out, quoted=False)
                    return
            elif block or plain or (not kind and not n and _STRINGS_LINE.fullmatch(text) is None):
                lead = _marked_indent(text, diff)
                if body and lead <= indent:
                    return
                # NOTE: one word a line, as a token or a key's lines are; a script or prose is no secret.
                if body and not any(c in body for c in b" \t") and (block or _ONE_WORD.fullmatch(body)):
                    # NOTE: under a bare key, a token (`secrets:` then `inherit` is a workflow's word).
                    if block or self.ruleset.judge.is_machine_made(body):
                        self._continued_value(body, name, pos + mark + lead, index, out, quoted=False)
                elif not block:
                    return  # NOTE: after a bare key, a mapping or a list under it (`  host: db`, `  - a`)
                plain = not block
            elif not body or body.startswith(b"#"):
                if kind != b"(":
                    return  # NOTE: inside brackets a blank or comment line goes on to the next string
            else:
                if _STRINGS_LINE.fullmatch(text) is None:
                    return
                for s in _STRING.finditer(text):
                    group = 1 if s.group(1) is not None else 2
                    self._continued_value(s.group(group), name, pos + s.start(group), index, out, quoted=True)
                closed = body.split(b"#", 1)[0].rstrip(b" \t")
                if closed.endswith(b")") if kind == b"(" else not closed.endswith(b"\\"):
                    return
        # NOTE: triple quotes not closed in what is at hand (a finding's lines, the part of a stream read).
        for word, at in pieces:
            self._continued_value(word, name, at, index, out, quoted=False)

    def _paired(
        self, data: bytes, end: int, line: bytes, column: int, name: str, index: int, out: _Found
    ) -> None:
        """The value of a name/value object over several lines (`- name: DB_PASSWORD` then `value: …`, a
        pretty-printed `"name": "DB_PASSWORD",` then `"value": "…"`): the `value` key of the same mapping,
        its keys being the lines indented as far as the name's key, to the first line indented less. In a
        diff, every such value: a changed one is there removed and added."""
        # NOTE: a YAML list item at the line start (`- name: …`) is no removed line of a diff (`-  - name`).
        diff = _LIST_ITEM.match(line) is None and _in_diff(data, line, end)
        column -= 1 if diff and line[:1] in (b"+", b"-", b" ") else 0
        for pos, text, mark in _lines_after(data, end, diff):
            lead = _marked_indent(text, diff)
            body = text[mark + lead :]
            if body.strip() and lead < column:
                return
            found = _PAIR_VALUE.fullmatch(body) if lead == column else None
            if found is not None:
                group = next(g for g in ("double", "single", "plain") if found.group(g) is not None)
                value = found.group(group)
                at = pos + mark + lead + found.start(group)
                if value:
                    self._continued_value(value, name, at, index, out, quoted=group != "plain")
                if not diff:
                    return

    def _continued_value(
        self, value: bytes, name: str, start: int, index: int, out: _Found, *, quoted: bool
    ) -> None:
        """One piece of a value read by :meth:`_continued`, judged as a value on the naming line would be."""
        judge = self.ruleset.judge
        text = value.decode("utf-8", "surrogateescape")
        if self.ruleset.names.named_by(text, name) or judge.is_regex(text) or judge.is_plain(text):
            return
        if not quoted and (judge.is_prose(text) or judge.is_sentence(text) or judge.is_code(text)):
            return
        if not self.ruleset.names.chosen(name) and not judge.is_machine_made(value):
            return
        self._value(value, name, start, start + len(value), index, out)

    def _manifest(
        self,
        data: bytes,
        start: int,
        end: int,
        index: int,
        out: _Found,
    ) -> None:
        """A Kubernetes Secret: every value under its `data:` and `stringData:` keys, in the YAML or
        pretty-printed JSON mapping that holds `kind: Secret` (whatever the order of its keys), or in a
        one-line JSON object (`last-applied-configuration`)."""
        line = data[start:end]
        kind = self.rules[index].pattern.match(line)
        if kind is None:
            for section in _JSON_SECTION.finditer(line):
                close = line.find(b"}", section.end())
                for pair in _JSON_PAIR.finditer(line, section.end(), len(line) if close == -1 else close):
                    self._secret_value(line, pair.span("value"), pair.group("key"), start, index, out)
            return
        column = len(kind.group("indent"))
        read = out.mappings.get(column)
        if read is not None and read[0] <= start < read[1]:
            return
        span = out.mappings[column] = _mapping(data, start, column)
        for key_start, key_end in _sections(data, span, column):
            for a, b, key in _children(data, key_start, key_end):
                self._secret_value(data, (a, b), key, 0, index, out)
        for a, b, key in _flow_children(data, span, column):
            self._secret_value(data, (a, b), key, 0, index, out)

    def _secret_value(
        self,
        data: bytes,
        span: tuple[int, int],
        key: bytes,
        offset: int,
        index: int,
        out: _Found,
    ) -> None:
        """A value of a Kubernetes Secret: any non-empty one, templates left (`{{ .Values.password }}`)."""
        a, b = span
        value = data[a:b]
        text = value.decode("utf-8", "surrogateescape")
        if not text.strip() or self.ruleset.judge.is_placeholder(text):
            return
        name = key.decode("utf-8", "surrogateescape")
        self._keep(value, name, offset + a, offset + b, index, out)

    def _columns(
        self,
        rule: Rule,
        index: int,
        line: bytes,
        m: re.Match[bytes],
        offset: int,
        out: _Found,
    ) -> None:
        """A list of columns and a list of their values (`Key (a, b)=(1, …)`): the secret-named columns'
        values by position, or all of them when the values hold more separators than the columns."""
        names = [_unquote(c) for c in _split_top(m.group("columns"))]
        secret = [self.ruleset.names.secret(n, rule.profile) for n in names]
        if not any(secret):
            return
        begin, finish = m.span("secret")
        pieces = _separated(line, begin, finish)
        if len(pieces) != len(names):
            pieces, names = [(begin, finish)], [next(n for n, s in zip(names, secret, strict=True) if s)]
            secret = [True]
        for (a, b), name, is_secret in zip(pieces, names, secret, strict=True):
            if is_secret:
                self._value(line[a:b], name, offset + a, offset + b, index, out)

    def _value(
        self,
        value: bytes,
        name: str,
        start: int,
        end: int,
        index: int,
        out: _Found,
    ) -> None:
        """A value a secret-named column holds, kept unless a placeholder or too short to protect anything."""
        text = value.decode("utf-8", "surrogateescape")
        judge = self.ruleset.judge
        if judge.is_placeholder(text) or len(text.strip()) < MIN_CHOSEN or judge.is_variable_name(text):
            return
        self._keep(value, name, start, end, index, out)

    def _match(
        self,
        rule: Rule,
        index: int,
        line: bytes,
        m: re.Match[bytes],
        offset: int,
        out: _Found,
        heading: bytes | None = None,
    ) -> bool:
        """Record what one match masks or allows; False when its key is not one (look again past it).
        `heading`: the name the line before gives (a rule's `previous`)."""
        ruleset = self.ruleset
        if rule.value == "columns":
            self._columns(rule, index, line, m, offset, out)
            return True
        name: str | None = None
        loose = False
        if heading is not None:
            name = heading.decode("utf-8", "surrogateescape")
            if "name" in rule.checks and not ruleset.names.secret(name, rule.profile):
                return False
        elif "name" in rule.pattern.groupindex and m.group("name") is not None:
            if (
                "schema" in rule.checks
                and _SCHEMA_CALL.search(line, 0, m.start())
                and _NAME_ARGUMENT.match(line, m.end())
            ):
                return False
            name = m.group("name").decode("utf-8", "surrogateescape")
            if "name" in rule.checks and not ruleset.names.secret(name, rule.profile):
                return False
            # NOTE: a key inside prose (`login password: …`) counts only for a value that is a token.
            loose = "prose" in rule.checks and not _structural(line, m.start("name"), m.group("name"))
            # NOTE: `--password=value` gives a value even to the tools whose bare `--password` prompts.
            attached = line[m.end() - 1 : m.end()] == b"="
            if "flags" in rule.checks and not attached and _is_flag(line, name, ruleset.flag_options):
                return True
            if "prose" in rule.checks and _DOC_FIELD.search(line, 0, m.start("name")):
                return True
        if rule.value == "token":
            groups = [g for g in rule.secret_groups() if m.group(g) is not None]
            spans = (
                [(m.start(groups[0]), m.end(groups[0]), False)] if groups else [(m.start(), m.end(), False)]
            )
        else:
            spans = EXTENTS[rule.value](line, m.end())
            if _after_break(line, m.start()):
                spans = _before_break(line, m.end(), spans)
            elif _in_escaped_lines(line, m.start()) and not _token_goes_on(line, m.end()):
                # NOTE: a string of several lines written with `\n` escapes (a JSON description): an unquoted
                # value ends with its own line there (unless what follows the escape is itself token-like);
                # a quoted one (a PEM key) is whole.
                whole = [s for s in spans if s[2]]
                spans = _before_break(line, m.end(), [s for s in spans if not s[2]]) + whole
            if name is not None and rule.value == "rest" and ruleset.names.plural(name):
                spans = [_count(line, span) for span in spans]
        judge = ruleset.judge
        # NOTE: a machine-made secret (token, key, salt) is one word, and long or mixed enough.
        machine = name is not None and "name" in rule.checks and not ruleset.names.chosen(name)
        spaced = "sep" in rule.pattern.groupindex and bool(m.group("sep")) and m.group("sep") != b"="
        kept = 0
        for start, end, quoted in spans:
            value = line[start:end]
            if not value.strip():
                continue
            if quoted and rule.value != "token" and _closes_a_string(line, start):
                continue
            if quoted and rule.value != "token" and _FRAGMENT.match(line, end + 1):
                continue
            if rule.name == LITERAL_RULE:
                if value not in self.literal_labels:
                    shown = self._shortened(value)
                    if not shown:
                        return False
                    end = start + shown
                    value = line[start:end]
                label = self.literal_labels.get(value) or None
                self._record(offset + start, offset + end, index, label, out)
                continue
            rest = not quoted and rule.value == "rest"
            word = _token_first(line, start, end, judge) if loose or rest else None
            if rest and word is not None and _SEPARATED.match(line, word.end(), end):
                # NOTE: a token, then a log format's separator (`password=<token> - {}`): the token is the
                # value, not the words after it.
                end = word.end()
                value = line[start:end]
            # NOTE: a key inside prose counts for a quoted token too (`new password: '<token>' set`).
            entire = not loose or (quoted and word is not None)
            if entire and self._kept(rule, name, line, m, (start, end, quoted), machine, spaced):
                self._keep(value, name, offset + start, offset + end, index, out)
                kept += 1
            elif (
                # NOTE: a value of several words that is none as a whole (code, prose, no token) may still
                # start with one: a log's `password=<token> - {}`, `login password: <token>`.
                not quoted
                and word is not None
                and (loose or word.end() < end)
                and self._kept(rule, name, line, m, (start, word.end(), False), machine, spaced, prose=loose)
            ):
                self._keep(word.group(), name, offset + start, offset + word.end(), index, out)
                kept += 1
        return bool(kept) or not loose

    def _kept(
        self,
        rule: Rule,
        name: str | None,
        line: bytes,
        m: re.Match[bytes],
        span: Span,
        machine: bool,
        spaced: bool,
        *,
        prose: bool = False,
    ) -> bool:
        """Whether a value the rule found is one to mask, by its checks (see values.py); `prose` for a token
        after a key inside prose, where no code is around it (`login password: <token>, retrying`)."""
        ruleset = self.ruleset
        judge = ruleset.judge
        start, end, quoted = span
        value = line[start:end]
        text = value.decode("utf-8", "surrogateescape")
        if judge.is_placeholder(text) or len(text.strip()) < MIN_CHOSEN or judge.is_variable_name(text):
            return False
        if name is not None and ruleset.names.named_by(text, name):
            return False
        if (
            quoted
            and text in ruleset.sql_constants
            and "name" in m.re.groupindex
            and _sql_condition(line, m.start("name"))
        ):
            return False
        if rule.value != "token" and (
            judge.is_regex(text) or (not quoted and (judge.is_prose(text) or judge.is_sentence(text)))
        ):
            return False
        if not quoted and "code" in rule.checks and judge.is_code(text):
            return False
        # NOTE: after a key inside prose, only a word written as code names are (`reset_token_v2`, `ApiKeyV2`)
        # may be code: a token of random case (`fnMGcbxXYZUk…`) is a value.
        named = prose and (judge.is_snake(text) or bool(_CODE_NAME.fullmatch(text)))
        if (
            not quoted
            and (named or not prose)
            and "code" in rule.checks
            and _code_in_context(judge, text, line, m, end, spaced, named=named)
        ):
            return False
        if machine and not judge.is_machine_made(value):
            return False
        if "plain" in rule.checks and judge.is_plain(text):
            return False
        if "tokenish" in rule.checks and not judge.is_tokenish(value):
            return False
        return quoted or "metavar" not in rule.checks or not judge.is_metavar(text)

    def _keep(
        self,
        value: bytes,
        name: str | None,
        start: int,
        end: int,
        index: int,
        out: _Found,
    ) -> None:
        label = self.allow.label(value.decode("utf-8", "surrogateescape"), name)
        self._record(start, end, index, label, out)

    def _shortened(self, text: bytes) -> int:
        """How much of `text` (an ellipsis found with what stands before and after it) is a secret value
        shortened for display: its start (at least `_SHORTENED` bytes), the ellipsis, and as much of what
        follows as ends the same value; or, from the ellipsis, at least `_SHORTENED` bytes that end one.
        0 when it is none."""
        cut, mark = min(((text.find(e), e) for e in _ELLIPSIS if e in text), default=(-1, b""))
        if cut < 0:
            return 0
        head, tail = text[:cut], text[cut + len(mark) :]
        after = cut + len(mark)
        for value in self._shortenable:
            if head and (len(head) < _SHORTENED or not value.startswith(head)):
                continue
            kept = next((n for n in range(len(tail), 0, -1) if value.endswith(tail[:n])), 0)
            if head:
                return after + kept
            if kept >= _SHORTENED:
                return after + kept
        return 0

    @staticmethod
    def _record(
        start: int,
        end: int,
        index: int,
        label: str | None,
        out: _Found,
    ) -> None:
        if label is None:
            out.masked.append((start, end, index))
        else:
            out.allowed.append((start, end, label))

    def _apply(
        self,
        data: bytes,
        out: _Found,
        tally: Tally | None,
    ) -> tuple[bytes, int]:
        merged: list[list[int]] = []
        for start, end, index in sorted(out.masked):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end, index])
        if tally is not None:
            for _, _, index in merged:
                tally.masked[self._rule_name(index)] += 1
            seen: set[tuple[int, int]] = set()
            for start, end, label in sorted(out.allowed):
                if (start, end) in seen or any(s < end and start < e for s, e, _ in merged):
                    continue
                seen.add((start, end))
                tally.allowed[label] += 1
        if not merged:
            return data, 0
        pieces: list[bytes] = []
        pos = 0
        for start, end, _ in merged:
            pieces += (data[pos:start], MASK)
            pos = end
        pieces.append(data[pos:])
        return b"".join(pieces), len(merged)

    def _rule_name(self, index: int) -> str:
        if index < len(self.rules):
            return self.rules[index].name
        return self.patterns[index - len(self.rules)].label


# NOTE: the lines loguru draws under a line of source (`│` bars, a `└` and a value); the name a bar points at.
_FRAME_MARKS = re.compile("[ \t]*[│└]".encode())
_FRAME_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _frame_source(data: bytes, start: int, known: Mapping[int, int]) -> int:
    """Where the source line above the mark lines ending at the line at `start` begins, or -1: walked back
    to it, or to a mark line whose source is `known` (the one above: each line is walked over once)."""
    source = start
    while source:
        source = data.rfind(b"\n", 0, source - 1) + 1
        if source in known:
            return known[source]
        if not _FRAME_MARKS.match(_line_at(data, source)):
            return source
    return -1


# NOTE: a Kubernetes Secret's sections in one-line JSON (also escaped, inside a JSON string), their pairs.
_JSON_SECTION = re.compile(rb'\\?"(?:data|stringData)\\?"[ \t]*:[ \t]*\{')
_JSON_PAIR = re.compile(
    rb'\\?"(?P<key>[^"\\\r\n]*)\\?"[ \t]*:[ \t]*\\?"(?P<value>(?:[^"\\\r\n]|\\[^"])*)\\?"'
)
# NOTE: a key of a YAML or pretty-printed JSON mapping, after its indent (and a list item's `- `).
_MAPPING_KEY = re.compile(
    rb'[ \t]*(?:- )?(?:"[^"\r\n]*"|\'[^\'\r\n]*\'|[\w.$/-]+)[ \t]*:(?:[ \t]|\r?$)'
    rb"|[ \t]*[}\]],?[ \t]*\r?$|[ \t]*#"
)
_SECTION = re.compile(rb'[ \t]*(?:- )?"?(?:data|stringData)"?[ \t]*:[ \t]*(?:\{[ \t]*)?\r?$')
_FLOW_SECTION = re.compile(rb'[ \t]*(?:- )?"?(?:data|stringData)"?[ \t]*:[ \t]*\{')
_CHILD = re.compile(rb'[ \t]*(?P<key>"[^"\r\n]*"|\'[^\'\r\n]*\'|[^\s:#]+)[ \t]*:[ \t]*')
_DOCUMENT_END = re.compile(rb"(?:---|\.\.\.)(?:[ \t].*)?\r?$")


def _indent(line: bytes) -> int:
    """The column of a line's first character that is not a blank (of its key, after a list's `- `)."""
    stripped = line.lstrip(b" \t")
    column = len(line) - len(stripped)
    return column + 2 if stripped.startswith(b"- ") else column


def _line_at(data: bytes, start: int) -> bytes:
    end = data.find(b"\n", start)
    return data[start : len(data) if end == -1 else end]


def _mapping(data: bytes, start: int, column: int) -> tuple[int, int]:
    """The lines (start, end) of the mapping whose key at `column` is on the line at `start`: the lines
    around it indented as far or further, keys at `column` on a line of its own."""
    lo = start
    while lo:
        begin = data.rfind(b"\n", 0, lo - 1) + 1
        line = data[begin : lo - 1]
        if _ends_mapping(line, column):
            break
        lo = begin
        if line.lstrip(b" \t").startswith(b"- ") and _indent(line) == column:
            break
    hi = data.find(b"\n", start)
    while hi != -1 and hi + 1 < len(data):
        line = _line_at(data, hi + 1)
        if _ends_mapping(line, column):
            break
        if line.lstrip(b" \t").startswith(b"- ") and _indent(line) == column:
            break
        hi = data.find(b"\n", hi + 1)
    return lo, len(data) if hi == -1 else hi


def _ends_mapping(line: bytes, column: int) -> bool:
    """A line that is not blank, and neither deeper than `column` nor a key (a closing bracket, a comment)
    at `column`: a mapping whose keys are at `column` does not go on over it."""
    if not line.strip():
        return False
    indent = _indent(line)
    return (
        indent < column
        or bool(_DOCUMENT_END.match(line))
        or (indent == column and not _MAPPING_KEY.match(line))
    )


def _sections(data: bytes, span: tuple[int, int], column: int) -> list[tuple[int, int]]:
    """The `data:`/`stringData:` keys at `column` of the mapping in `span`: (start of the line after the
    key, end of its last child line)."""
    found: list[tuple[int, int]] = []
    pos, end = span
    while pos < end:
        stop = data.find(b"\n", pos, end)
        stop = end if stop == -1 else stop
        line = data[pos:stop]
        if _indent(line) == column and _SECTION.fullmatch(line):
            first = last = stop + 1
            while last < end:
                child_end = data.find(b"\n", last, end)
                child_end = end if child_end == -1 else child_end
                child = data[last:child_end]
                if child.strip() and _indent(child) <= column:
                    break
                last = child_end + 1
            found.append((first, min(last, end)))
            stop = min(last, end) - 1
        pos = stop + 1
    return found


def _flow_children(data: bytes, span: tuple[int, int], column: int) -> list[tuple[int, int, bytes]]:
    """The values of `data: {a: …, b: …}` (a YAML flow mapping on the key's line) at `column` of the mapping
    in `span`: (start, end, key)."""
    found: list[tuple[int, int, bytes]] = []
    pos, end = span
    while pos < end:
        stop = data.find(b"\n", pos, end)
        stop = end if stop == -1 else stop
        flow = _FLOW_SECTION.match(data, pos, stop)
        if flow is not None and _indent(data[pos:stop]) == column:
            for a, b in _separated(data, flow.end(), _closing_bracket(data, flow.end() - 1), top=True):
                child = _CHILD.match(data, a, b)
                if child is None:
                    continue
                value = string_at(data, child.end())
                a, b = (value[0], value[1]) if value and value[1] <= b else (child.end(), b)
                found.append((a, b, child.group("key").strip(b"\"'")))
        pos = stop + 1
    return found


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, bytes]]:
    """The values under a section (start, end, key): a `key: value` line's value, and every line more
    deeply indented than the keys (a block scalar) whole."""
    found: list[tuple[int, int, bytes]] = []
    column = -1
    key = b""
    pos = start
    while pos < end:
        stop = data.find(b"\n", pos, end)
        stop = end if stop == -1 else stop
        line = data[pos:stop]
        if line.strip():
            indent = _indent(line)
            column = indent if column == -1 else column
            child = _CHILD.match(line) if indent == column else None
            if child is not None:
                key = child.group("key").strip(b"\"'")
                value = string_at(line, child.end())
                if value is not None:
                    found.append((pos + value[0], pos + value[1], key))
                else:
                    rest = line[child.end() :].split(b" #", 1)[0].rstrip(b" \t\r,")
                    if rest and rest not in (b"|", b">", b"|-", b">-", b"|+", b">+", b"{", b"["):
                        found.append((pos + child.end(), pos + child.end() + len(rest), key))
            elif indent > column:
                text = line.strip(b" \t\r")
                begin = pos + line.index(text[:1])
                found.append((begin, begin + len(text), key))
        pos = stop + 1
    return found


# NOTE: where an echoed statement starts (after the logger's prefix), and its positional placeholders.
# NOTE: as written: SQLAlchemy echoes a `text()` statement in the case it was written in.
_STATEMENT = re.compile(rb"\b(?:INSERT[ \t]+INTO|UPDATE|SELECT|DELETE[ \t]+FROM|WITH)\b", re.I)
_PLACEHOLDER = re.compile(rb"\?|%s|\$(\d+)")
# NOTE: `a = ?`, `a IN (?, ?)`, `a = ANY(?)`; and a column list before `VALUES` on the same or the next line.
_COMPARED = re.compile(
    rb"([A-Za-z_][\w.\"]*)[ \t]*"
    rb"(?:=|!=|<>|<=|>=|<|>|\bI?LIKE|=[ \t]*ANY[ \t]*\("
    rb"|\bIN[ \t]*\((?:[ \t]*(?:\?|%s|\$\d+(?:::\w+)?)[ \t]*,)*)"
    rb"[ \t]*$",
    re.I,
)
_INSERT = re.compile(rb"\(([^()]*)\)\s*VALUES[ \t]*(?=\()", re.I)
_IDENTIFIER = re.compile(rb"[A-Za-z_]\w*")
# NOTE: the lines of one statement that SQLAlchemy's echo may print before its parameters.
_STATEMENT_LINES = 50


# NOTE: what a line of an echoed statement holds (a placeholder, a clause), looked for before the lines after
# it are read: most lines holding `key` or `token` are no SQL.
_SQL_HINTS = (
    b"?",
    b"%s",
    b"$",
    b"INSERT",
    b"UPDATE",
    b"SELECT",
    b"DELETE",
    b"WITH",
    b"SET",
    b"WHERE",
    b"FROM",
)


def _parameters_after(data: bytes, end: int, pattern: re.Pattern[bytes]) -> int:
    """Where the first line after the one ending at `end` that `pattern` (parameters) matches starts,
    within `_STATEMENT_LINES` lines; else -1."""
    for _ in range(_STATEMENT_LINES):
        if end >= len(data):
            return -1
        start = end + 1
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        # NOTE: SQLAlchemy 1.4+ prints `[generated in …]` first, 1.3 its logger's name (`base.Engine`).
        marked = data.find(b"[", start, end) != -1 or data.find(b"base.Engine", start, end) != -1
        if marked and pattern.search(data, start, end):
            return start
    return -1


def _statement_before(data: bytes, start: int) -> bytes:
    """The statement echoed on the lines before `start`, from the last one holding its first word; or b""."""
    end = start
    for _ in range(_STATEMENT_LINES):
        if end == 0:
            return b""
        begin = data.rfind(b"\n", 0, end - 1) + 1
        starts = [m.start() for m in _STATEMENT.finditer(data, begin, end - 1)]
        if starts:
            # NOTE: the first: a later one is a subquery or an upsert's `DO UPDATE` within the statement.
            return data[starts[0] : start]
        end = begin
    return b""


def _placeholder_names(statement: bytes) -> dict[int, str | None]:
    """Position in the parameters -> the column a positional placeholder of `statement` stands for:
    the name compared with it (`SET a=?`, `WHERE t.b = $2`) or its place under `(cols) VALUES (…), (…)`."""
    insert = _INSERT.search(statement)
    columns = [_unquote(c) for c in _split_top(insert.group(1))] if insert else []
    slots: dict[int, int] = {}
    if insert is not None:
        pos = insert.end()
        while statement[pos : pos + 1] == b"(":
            close = _closing_bracket(statement, pos)
            for i, (a, b) in enumerate(_separated(statement, pos + 1, close, top=True)):
                for p in _PLACEHOLDER.finditer(statement, a, b):
                    slots[p.start()] = i
            pos = close + 1
            while statement[pos : pos + 1] in (b",", b" ", b"\t", b"\n", b"\r"):
                pos += 1
    names: dict[int, str | None] = {}
    for order, p in enumerate(_PLACEHOLDER.finditer(statement)):
        position = int(p.group(1)) - 1 if p.group(1) else order
        compared = _COMPARED.search(statement, max(0, p.start() - 200), p.start())
        if compared is not None:
            names[position] = _unquote(compared.group(1)).rpartition(".")[2]
        elif p.start() in slots and slots[p.start()] < len(columns):
            names[position] = columns[slots[p.start()]]
        else:
            names[position] = None
    return names


def _closing_bracket(text: bytes, pos: int) -> int:
    """Where the bracket opened at `pos` closes (quotes honoured), else the end of `text`."""
    depth, i = 0, pos
    while i < len(text):
        c = text[i : i + 1]
        if c in (b"'", b'"'):
            found = string_at(text, i)
            i = found[1] + 1 if found else i + 1
            continue
        if c in (b"(", b"[", b"{"):
            depth += 1
        elif c in (b")", b"]", b"}"):
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _separated(text: bytes, begin: int, end: int, top: bool = False) -> list[tuple[int, int]]:
    """The items of `text[begin:end]` between `, ` (with `top`: between commas outside quotes and
    brackets), blanks trimmed."""
    items: list[tuple[int, int]] = []
    i = a = begin
    while i < end:
        c = text[i : i + 1]
        if top and c in (b"'", b'"'):
            found = string_at(text, i)
            i = found[1] + 1 if found else i + 1
            continue
        if top and c in (b"(", b"[", b"{"):
            i = _closing_bracket(text, i) + 1
            continue
        if c == b"," and (top or text[i + 1 : i + 2] == b" "):
            items.append((a, i))
            a = i + 1
        i += 1
    items.append((a, end))
    return [_unblanked(text, a, b) for a, b in items]


def _unblanked(text: bytes, a: int, b: int) -> tuple[int, int]:
    """`text[a:b]` without the blanks and line ends around it."""
    while a < b and text[a] in b" \t\r\n":
        a += 1
    while b > a and text[b - 1] in b" \t\r\n":
        b -= 1
    return a, b


def _split_top(text: bytes) -> list[bytes]:
    """The items of a comma-separated list, commas inside brackets or quotes kept."""
    return [text[a:b] for a, b in _separated(text, 0, len(text), top=True)]


def _unquote(name: bytes) -> str:
    return name.strip().strip(b'"`[]').decode("utf-8", "surrogateescape")


def _rows(line: bytes, pos: int) -> list[list[Span]]:
    """The items of the parameter tuple at `pos`, or of each tuple of a list of them: (start, end,
    quoted), the content of a string without its quotes."""
    close = _closing_bracket(line, pos)
    if line[pos : pos + 1] == b"[":
        rows = []
        for a, _ in _separated(line, pos + 1, close, top=True):
            if line[a : a + 1] == b"(":
                rows += _rows(line, a)
        return rows
    row: list[Span] = []
    for a, b in _separated(line, pos + 1, close, top=True):
        found = string_at(line, a)
        row.append((found[0], found[1], True) if found and found[1] < b else (a, b, False))
    return [row]


def _compile_pattern(index: int, pattern: str) -> _Pattern:
    compiled = re.compile(pattern.encode())
    if "secret" not in compiled.groupindex:
        compiled = re.compile(b"(?P<secret>" + pattern.encode() + b")")
    return _Pattern(f"pattern-{index}", compiled)


# NOTE: a comparison in a SQL condition, not an assignment: `WHERE password = 'LDAP'`, `AND auth = 'OIDC'`.
_SQL_CONDITION = re.compile(rb"(?:^|[\s(])(?:WHERE|AND|OR|WHEN|ON|HAVING|NOT)[ \t]+$", re.I)


def _sql_condition(line: bytes, name_start: int) -> bool:
    """True when the name at `name_start` is compared in a SQL condition (`WHERE name = …`); with one of
    the rules' `sql_constants` on the other side, that is a method or a state, not a secret."""
    return bool(_SQL_CONDITION.search(line, 0, name_start))


def _code_in_context(
    judge: Any, text: str, line: bytes, m: re.Match[bytes], end: int, spaced: bool, *, named: bool = False
) -> bool:
    """Identifiers that the text around them makes code: `x = Name`, `f(password=pw,`, `(key: Type,`;
    `named` for a word written as code names are, after a key inside prose (`secret: ApiKeyV2, …`)."""
    after = line[end : end + 1]
    if judge.is_names(text) and (spaced or after in (b",", b")")):
        return True
    if judge.is_snake(text) and after in (b",", b")", b"}", b"]"):
        return True
    if "name" not in m.re.groupindex or m.group("name") is None:
        return False
    # NOTE: a parameter's type in a signature: `(self, private_key: Ed25519PrivateKey, …)`.
    before = line[: m.start("name")].rstrip(b" \t")[-1:]
    separator = line[m.end("name") : m.end()].strip(b" \t\"'`")
    if not separator.startswith(b":") or after not in (b",", b")", b"=", b""):
        return False
    in_signature = before in (b"(", b",") and bool(_TYPE_WORD.fullmatch(text))
    # NOTE: a type where a key starts a line or an entry, not after a word (`login password: <token>, …`).
    keyed = named or before in (b"", b"(", b",", b"{", b'"', b"'")
    return in_signature or (keyed and after in (b",", b")") and judge.is_camel_type(text))


def _closes_a_string(line: bytes, start: int) -> bool:
    """The quote a value seems to open closes a string opened before it (`'Credential=' + key`)."""
    quote = line[start - 1 : start]
    if quote not in (b'"', b"'", b"`"):
        return False
    before = line[: start - 1]
    escaped = before.endswith(b"\\")
    count = before.count(quote)
    if quote == b"'":
        # NOTE: an apostrophe inside a word (`can't`, `user's`) opens no string.
        count -= len(_APOSTROPHE.findall(before))
    return not escaped and count % 2 == 1


def _structural(line: bytes, start: int, name: bytes) -> bool:
    """A key that is a bare English word counts only at the start of a line or after punctuation."""
    if not _PLAIN_WORD.fullmatch(name):
        return True
    before = line[:start].rstrip(b" \t")
    return not before or before[-1] in _STRUCTURAL or _after_break(before, len(before))


def _count(line: bytes, span: Span) -> Span:
    """A span of unquoted words cut after its first word when that is a count (`secrets=12 from vault`)."""
    start, end, quoted = span
    found = _COUNT.match(line, start, end)
    return (start, found.end(1), quoted) if found and not quoted else span


def _after_break(line: bytes, pos: int) -> bool:
    """`pos` follows a `\\n` or `\\r` escape: a line starts there, inside a string."""
    if line[pos - 1 : pos] not in (b"n", b"r"):
        return False
    k = pos - 2
    while k >= 0 and line[k] == 0x5C:
        k -= 1
    return (pos - 2 - k) % 2 == 1


def _in_escaped_lines(line: bytes, pos: int) -> bool:
    """`pos` lies in a double-quoted string that breaks its lines with `\n` or `\r` escapes before it."""
    if b"\\" not in line:
        return False
    quotes, opening = _quotes(line)
    k = bisect.bisect_left(quotes, pos) - 1
    return k >= 0 and opening[k] and _ESCAPED_BREAK.search(line, quotes[k], pos) is not None


@functools.lru_cache(maxsize=16)
def _quotes(line: bytes) -> tuple[list[int], list[bool]]:
    """The offsets of the unescaped double quotes of `line`, in order, and whether each opens a string.
    Once per line: every match on it asks."""
    quotes: list[int] = []
    opening: list[bool] = []
    for m in _QUOTE_OR_ESCAPE.finditer(line):
        if m.group() == b'"':
            opening.append(not opening[-1] if opening else True)
            quotes.append(m.start())
    return quotes, opening


def _token_goes_on(line: bytes, pos: int) -> bool:
    """What follows the first escaped line break after `pos` is token-like (`abc\rdef...`): one value
    written across the escape, masked whole."""
    found = _ESCAPED_BREAK.search(line, pos)
    if found is None:
        return False
    after = _AFTER_ESCAPE.match(line, found.end())
    return after is not None and Judge.is_tokenish(after.group())


def _before_break(line: bytes, pos: int, spans: list[Span]) -> list[Span]:
    """The spans cut at the first `\\n` or `\\r` escape after `pos`: the line inside a string ends there."""
    found = _ESCAPED_BREAK.search(line, pos)
    if found is None:
        return spans
    cut = found.end() - 2
    return [(start, min(end, cut), quoted) for start, end, quoted in spans if start < cut]


def _is_flag(line: bytes, name: str, flags: Mapping[str, tuple[bytes, ...]]) -> bool:
    tools = flags.get(name.lower(), ())
    return any(word in tools for word in _WORD.findall(line))


def _cut(
    buf: bytearray,
    size: int,
    hold: Callable[[bytes, int], bool] | None = None,
    opens: Prefilter | None = None,
) -> int:
    """Where the first `size` bytes of `buf` are cut: after the last newline, but before the first of the
    last `CONTINUED_LINES` lines that `hold` keeps with the lines after them (given a line and how many
    lines before the cut it is), an unfinished key, or the first line of the last `_CONTEXT` bytes holding
    one of `opens`; each looked for again before a cut another moved (a naming line just above it goes
    with its value too), a few times. Never nothing, once `MAX_LINE` bytes wait."""
    cut = buf.rfind(b"\n", 0, size) + 1
    if cut == 0:
        if size < MAX_LINE:
            return 0
        blank = max(buf.rfind(b" ", 0, size), buf.rfind(b"\t", 0, size)) + 1
        return blank or size
    first = cut
    for _ in range(_CUT_LOOKS):
        moved = _held(buf, cut, hold)
        begin = None
        if moved and buf.find(b"PRIVATE KEY", max(0, moved - _CARRY_LIMIT), moved) != -1:
            for m in _KEY_BEGIN.finditer(buf, max(0, moved - _CARRY_LIMIT), moved):
                begin = m.start()
        if begin is not None and buf.find(b"-----END", begin, moved) == -1 and size - begin < _CARRY_LIMIT:
            moved = buf.rfind(b"\n", 0, begin) + 1
        if opens is not None and moved:
            # NOTE: searched as a copy of the window: RE2 would copy the whole buffer first.
            low = max(0, moved - _CONTEXT)
            found = opens.first(bytes(buf[low:moved]))
            if found != -1:
                moved = buf.rfind(b"\n", 0, low + found) + 1
        if moved == cut:
            break
        cut = moved
    # NOTE: a buffer that is all one held block grows until it holds `MAX_LINE` bytes, then is cut anyway.
    return cut if cut or size < MAX_LINE else first


# NOTE: how many times a cut is looked at again after a rule moved it; how long a line that names a value
# below it may be.
_CUT_LOOKS = 4
_NAMING_LINE = 4096


def _held(buf: bytearray, cut: int, hold: Callable[[bytes, int], bool] | None) -> int:
    """`cut`, or the start of the first of the `CONTINUED_LINES` lines before it that `hold` keeps with the
    lines after them."""
    if hold is None or not cut:
        return cut
    end = cut - 1
    for n in range(1, CONTINUED_LINES + 1):
        last = buf.rfind(b"\n", 0, end) + 1
        # NOTE: a line that names a value is short; a long one is not copied to be looked at.
        if end - last <= _NAMING_LINE and hold(bytes(buf[last:end]).removesuffix(b"\r"), n):
            cut = last
        if not last:
            break
        end = last - 1
    return cut


# NOTE: how many `Secret` words a stream looks at, from the end of a block back, for the `kind: Secret` line
# of a mapping the block ends in.
_KIND_LOOKS = 64


def _secret_kept(buf: bytearray, cut: int, size: int, kind: re.Pattern[bytes]) -> int:
    """`cut`, or the start of the mapping of a Kubernetes Secret that goes on to `cut` (its `kind: Secret`
    line within `_CARRY_LIMIT` before it): its values after the cut are read with its `kind` line."""
    low = max(0, cut - _CARRY_LIMIT)
    at = cut
    for _ in range(_KIND_LOOKS):
        at = buf.rfind(b"Secret", low, at)
        if at == -1:
            return cut
        begin = buf.rfind(b"\n", 0, at) + 1
        end = buf.find(b"\n", at, cut)
        found = kind.match(bytes(buf[begin : cut if end == -1 else end]))
        if found is not None:
            window = bytes(buf[low:cut])
            lo, hi = _mapping(window, begin - low, len(found.group("indent")))
            if hi >= len(window) - 1 and size - (low + lo) < _CARRY_LIMIT:
                return low + lo
            return cut
    return cut


def _token_first(line: bytes, start: int, end: int, judge: Judge) -> re.Match[bytes] | None:
    """The first word of a value of several when it is a token: not a shell expansion (`${KEY:-dev}`) or
    a name in CamelCase (`ExpiredSignatureError`)."""
    word = _FIRST_WORD.match(line, start, end)
    if word is None or b"$" in word.group() or _CAMEL_WORDS.fullmatch(word.group()):
        return None
    return word if judge.is_machine_made(word.group()) else None


def _in_diff(data: bytes, line: bytes, end: int) -> bool:
    """Whether a line naming a value (ending at `end`) is a diff's: in a diff each line starts with a mark
    (`+`, `-`, a blank for context), not indentation; so when it or the line after it is marked added or
    removed."""
    return line[:1] in (b"+", b"-") or data[end + 1 : end + 2] in (b"+", b"-")


def _lines_after(data: bytes, end: int, diff: bool) -> Iterator[tuple[int, bytes, int]]:
    """The lines after the one ending at `end` that a `next` block reads (CONTINUED_LINES at most): where
    each starts, its text without its line end, and the width of its diff mark (0 or 1)."""
    pos = end + 1
    for _ in range(CONTINUED_LINES):
        if pos >= len(data):
            return
        stop = data.find(b"\n", pos)
        stop = len(data) if stop == -1 else stop
        text = data[pos:stop].removesuffix(b"\r")
        yield pos, text, 1 if diff and text[:1] in (b"+", b"-", b" ") else 0
        pos = stop + 1


def _marked_indent(line: bytes, diff: bool) -> int:
    """How far a line is indented, past a diff's mark (`+`, `-`, a blank) when it is a diff's."""
    mark = 1 if diff and line[:1] in (b"+", b"-", b" ") else 0
    return len(line) - mark - len(line[mark:].lstrip(b" \t"))


@functools.cache
def _naming_lines() -> tuple[re.Pattern[bytes], ...]:
    return tuple(r.pattern for r in builtin().rules if r.block == "next")


def _block_line(raw: bytes) -> bool:
    """Whether a line may be one of a YAML block's: indented, maybe after a diff's mark."""
    return raw[:1] in (b" ", b"\t") or (raw[:1] in (b"+", b"-") and raw[1:2] in (b" ", b"\t"))


def _word_line(raw: bytes) -> bool:
    """Whether a line holds one word alone (maybe indented, after a diff's mark): a line of a value in triple
    quotes, or under a bare key."""
    body = (raw[1:] if raw[:1] in (b"+", b"-") else raw).strip(b" \t")
    return bool(body) and not any(c in body for c in b" \t")


def may_go_on(line: str, *, blocks: bool = False) -> bool:
    """Whether a line may hold a part of a value named on a line above it (see :func:`named_above`)."""
    raw = line.encode("utf-8", "surrogateescape").removesuffix(b"\r")
    return _STRINGS_LINE.fullmatch(raw) is not None or (blocks and _block_line(raw)) or _word_line(raw)


def named_above(above: Sequence[str], line: str, *, blocks: bool = False) -> int:
    """How many of the lines `above` a line (the nearest last) go with it when it is masked out of its file
    (a finding's snippet): back to the line that names the value it is a part of, as a `next` rule reads it
    (`SECRET_KEY = (` above its strings, past blank and comment lines; with `blocks`, in a file that is not
    Python, `password: |` above the lines of a YAML block; triple quotes (`SECRET_KEY = '''`) or a bare
    `api_token:` above lines of one word; in a diff too). 0 when it is no such part."""
    raw = line.encode("utf-8", "surrogateescape").removesuffix(b"\r")
    strings = _STRINGS_LINE.fullmatch(raw) is not None
    block = blocks and _block_line(raw)
    word = _word_line(raw)
    if not (strings or block or word) or not above:
        return 0
    headings = _naming_lines()
    for n in range(1, min(len(above), CONTINUED_LINES) + 1):
        text = above[-n].encode("utf-8", "surrogateescape").removesuffix(b"\r")
        if any(p.fullmatch(text) for p in headings):
            return n
        body = text.lstrip(b"+-").strip(b" \t")
        goes_on = strings and (not body or body.startswith(b"#") or _STRINGS_LINE.fullmatch(text))
        if (
            not goes_on
            and not (block and (not body or _block_line(text)))
            and not (word and _word_line(text))
        ):
            return 0
    return 0


def _line_before(data: bytes, start: int) -> bytes:
    """The line before the one that starts at `start`, without its line end (empty at the start)."""
    if start == 0:
        return b""
    begin = data.rfind(b"\n", 0, start - 1) + 1
    return data[begin : start - 1].removesuffix(b"\r")


def _expand(value: str, env: Mapping[str, str]) -> str:
    """`${VAR}` replaced from `env`, as the collectors expand their `env:` (collectors/command.py)."""
    return _VAR.sub(lambda m: env.get(m.group(1), ""), value)


def _config_env(collectors: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every `env:` mapping in the collectors' options (commands, tests, http): (name, value)."""
    found: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "env" and isinstance(value, Mapping):
                    found.extend((str(k), str(v)) for k, v in value.items() if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(collectors)
    return found
