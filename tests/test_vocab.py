"""Forbidden-vocabulary matching: the semantics as a table, kinds, skipping, walking, and the prefilter."""

from __future__ import annotations

import ast
import io
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.policy import vocab
from evidence_kit.policy.vocab import (
    Hit,
    Matcher,
    Term,
    normalize,
    parse_terms,
    scan_file,
    scan_text,
    subtokens,
    walk,
)

ENGINES = ["re"] + (["re2"] if vocab._re2 is not None else [])


@dataclass(frozen=True)
class Case:
    """Terms and allowed phrases, a text read as one kind, and the (term, matched text) pairs expected."""

    name: str
    terms: Sequence[str | Term]
    text: str
    expect: list[tuple[str, str]]
    allowed: list[str] = field(default_factory=list)
    kind: str = "text"


def T(text: str, match: str = "token", plurals: bool = False) -> Term:
    return Term(text, match, plurals)  # type: ignore[arg-type]


W = "websocket"
CASES = [
    # One term, every spelling the brief lists.
    Case("plain", [W], "websocket", [(W, "websocket")]),
    Case("camel", [W], "WebSocket", [(W, "WebSocket")]),
    Case("snake suffix", [W], "websocket_handler", [(W, "websocket")]),
    Case("camel compound", [W], "WebSocketRoute", [(W, "WebSocket")]),
    Case("snake prefix, call", [W], "handle_websocket()", [(W, "websocket")]),
    Case("screaming snake", [W], "WEB_SOCKET", [(W, "WEB_SOCKET")]),
    Case("kebab in text", [W], "a web-socket b", [(W, "web-socket")]),
    Case("dotted in text", [W], "web.socket", [(W, "web.socket")]),
    Case("space splits words", [W], "web socket", []),
    Case("digit between", [W], "web2socket", []),
    Case("inside a longer sub-token", [W], "websockets", []),
    # Terms are normalized the same way.
    Case("term web_socket", ["web_socket"], "WebSocket", [("web_socket", "WebSocket")]),
    Case("term WebSocket", ["WebSocket"], "websocket", [("WebSocket", "websocket")]),
    Case(
        "term real_time",
        ["real_time"],
        "realTime REAL_TIME realtime",
        [("real_time", "realTime"), ("real_time", "REAL_TIME"), ("real_time", "realtime")],
    ),
    Case("term with a space", ["real time"], "RealTime", [("real time", "RealTime")]),
    # Sub-token boundaries keep short terms honest.
    Case("sse not in assessment", ["sse"], "assessment assert classes", []),
    Case("sse as a word", ["sse"], "SSE sse Sse", [("sse", "SSE"), ("sse", "sse"), ("sse", "Sse")]),
    Case("sse acronym before camel", ["sse"], "SSEClient", [("sse", "SSE")]),
    Case("sse with digits", ["sse"], "sse2 x86sse", [("sse", "sse"), ("sse", "sse")]),
    Case("live not in deliver", ["live"], "deliver oliver", []),
    Case("live in camel", ["live"], "isLive liveFeed", [("live", "Live"), ("live", "live")]),
    Case("stream not in upstream_id", ["stream"], "upstream_id", []),
    # Match modes.
    Case(
        "suffix",
        [T("stream", "suffix")],
        "upstream_id downstream streaming",
        [("stream", "stream"), ("stream", "stream")],
    ),
    Case(
        "prefix",
        [T("stream", "prefix")],
        "streaming StreamingResponse upstream",
        [("stream", "stream"), ("stream", "Stream")],
    ),
    Case(
        "substring",
        [T("stream", "substring")],
        "upstream_id xstreamy",
        [("stream", "stream"), ("stream", "stream")],
    ),
    Case("substring across separators", [T("sse", "substring")], "clas_ses", [("sse", "s_se")]),
    Case("token is the default", ["stream"], "stream streams streamer", [("stream", "stream")]),
    # Acronyms, camelCase and digits.
    Case("acronym then word", ["http", "server"], "HTTPServer", [("http", "HTTP"), ("server", "Server")]),
    Case("word then acronym", ["json"], "parseJSON toJSONString", [("json", "JSON"), ("json", "JSON")]),
    Case("acronym run is one sub-token", ["api"], "APIS", []),
    Case("plural acronym splits before the last capital", ["url", "urls"], "URLs", [("urls", "URLs")]),
    Case(
        "digits are their own sub-tokens",
        ["http2"],
        "HTTP2Server http_2 http2",
        [("http2", "HTTP2"), ("http2", "http_2"), ("http2", "http2")],
    ),
    Case("k8s", ["k8s"], "K8S k8s_cluster k8", [("k8s", "K8S"), ("k8s", "k8s")]),
    Case("kafka after digits", ["kafka"], "v4kafka", [("kafka", "kafka")]),
    Case("lower then upper", ["socket", "web"], "webSocket", [("web", "web"), ("socket", "Socket")]),
    # Plurals option.
    Case(
        "plurals s",
        [T(W, plurals=True)],
        "websockets WebSockets websocket",
        [(W, "websockets"), (W, "WebSockets"), (W, "websocket")],
    ),
    Case("plurals es", [T("box", plurals=True)], "boxes box boxen", [("box", "boxes"), ("box", "box")]),
    Case("no plurals by default", [W], "websockets", []),
    Case("parse_terms plurals", parse_terms(["queue"], plurals=True), "queues", [("queue", "queues")]),
    # Allowed phrases exempt what they cover.
    Case(
        "allowed phrase", ["queue"], "job_queue JobQueue queue", [("queue", "queue")], allowed=["job_queue"]
    ),
    Case(
        "allowed longer phrase",
        ["real_time"],
        "real_time_clock RealTimeClock realTime",
        [("real_time", "realTime")],
        allowed=["real_time_clock"],
    ),
    Case(
        "allowed elsewhere in the word", ["queue"], "queue_job", [("queue", "queue")], allowed=["job_queue"]
    ),
    Case(
        "allowed must match whole sub-tokens",
        ["queue"],
        "xjob_queue",
        [("queue", "queue")],
        allowed=["job_queue"],
    ),
    # Case folding beyond ASCII.
    Case("sharp s folds", ["strasse"], "Straße STRASSE", [("strasse", "Straße"), ("strasse", "STRASSE")]),
    Case("kelvin sign folds", ["kafka"], "\u212aafka", [("kafka", "\u212aafka")]),
    Case("long s folds", ["sse"], "\u017fse", [("sse", "\u017fse")]),
    Case("non-ASCII term", ["größe"], "GRÖSSE Größe", [("größe", "GRÖSSE"), ("größe", "Größe")]),
    Case("non-ASCII neighbours", ["kafka"], "éKafka kafkaé", [("kafka", "Kafka")]),
    # Code words: NAME tokens.
    Case("identifier: no joining across dots", [W], "web.socket", [], kind="identifier"),
    Case("identifier: number", ["e10"], "1e10 e10", [("e10", "e10")], kind="identifier"),
    Case("identifier: attribute", [W], "self.websocket", [(W, "websocket")], kind="identifier"),
    Case(
        "identifier: allowed with a dot does not exempt",
        ["queue"],
        "job.queue",
        [("queue", "queue")],
        allowed=["job_queue"],
        kind="identifier",
    ),
    Case("text: allowed with a dot exempts", ["queue"], "job.queue", [], allowed=["job_queue"]),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_semantics_table(case: Case, engine: str) -> None:
    matcher = Matcher(case.terms, case.allowed, engine=engine)
    hits = scan_text(case.text, matcher, case.kind)
    assert [(h.term, h.matched_text) for h in hits] == case.expect
    for h in hits:
        assert h.line_text[h.col - 1 : h.col - 1 + len(h.matched_text)] == h.matched_text


def test_keys_and_subtokens() -> None:
    assert subtokens("WebSocketRoute") == ["web", "socket", "route"]
    assert subtokens("handle_websocket") == ["handle", "websocket"]
    assert subtokens("HTTPServer") == ["http", "server"]
    assert subtokens("WEB_SOCKET") == ["web", "socket"]
    assert subtokens("http2Server") == ["http", "2", "server"]
    assert normalize("web_socket") == normalize("WebSocket") == normalize("websocket") == "websocket"
    assert normalize("real_time") == "realtime"
    assert Term("Web-Socket").key == "websocket"


def test_subtoken_rules_match_a_reference() -> None:
    rng = random.Random(7)
    for alphabet in ("aAbBzZ09_.-", "aAbBzZ09_.-éÉß\u0663"):
        for _ in range(3000):
            word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            assert vocab._subtoken_spans(word) == _reference_spans(word), word


def test_term_entries() -> None:
    terms = parse_terms(["sse", {"term": "stream", "match": "prefix"}, {"term": "box", "plurals": True}])
    assert terms == [Term("sse"), Term("stream", "prefix"), Term("box", plurals=True)]
    with pytest.raises(ValueError):
        parse_terms([{"term": "x", "match": "fuzzy"}])
    with pytest.raises(ValueError):
        parse_terms([{"word": "x"}])
    with pytest.raises(ValueError):
        Term("__")
    assert len(Matcher(["WebSocket", "web_socket", "websocket"]).forbidden) == 1


# ---------------------------------------------------------------- kinds in Python files

PY_SOURCE = '''\
#!/usr/bin/env python
"""Module doc: websocket."""
import websocket  # comment: websocket
from x import (
    web_socket,
)

CONST = "websocket"
TEMPLATE = f"{websocket} websocket"
RAW = rb"websocket"


def handler(
    a: "websocket" = "websocket",
) -> None:
    """Function doc: websocket."""
    note = """not a docstring: websocket"""
    return None


class Route:
    'class doc: websocket'

    def method(self): "one-line doc: websocket"

    def other(self):
        x = 1
        """second statement: websocket"""


def fdoc():
    f"""f-strings are not docstrings: websocket"""


def bdoc():
    b"""bytes are not docstrings: websocket"""


def concat():
    ("implicitly " "joined websocket"
     " docstring")


if True:
    """if bodies have no docstring: websocket"""
value = 1  # websocket \\
websocket_after_comment = 2
s = 'continued \\
websocket'


def escaped():
    """quote \\""" inside: websocket"""


def continued() \\
        -> None:
    """continued header: websocket"""


def semi():
    """semicolon: websocket"""; x = 1


def call():
    """a call: websocket""".strip()


y = \\
    "continued code: websocket"
'''

EXPECTED_KINDS = [
    (2, "docstring"),
    (3, "identifier"),
    (3, "comment"),
    (5, "identifier"),
    (8, "string"),
    (9, "string"),
    (9, "string"),
    (10, "string"),
    (14, "string"),
    (14, "string"),
    (16, "docstring"),
    (17, "string"),
    (22, "docstring"),
    (24, "docstring"),
    (28, "string"),
    (32, "string"),
    (36, "string"),
    (40, "docstring"),
    (45, "string"),
    (46, "comment"),
    (47, "identifier"),
    (49, "string"),
    (53, "docstring"),
    (58, "docstring"),
    (62, "docstring"),
    (66, "string"),
    (70, "string"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_python_kinds(engine: str, newline: str) -> None:
    hits = scan_text(PY_SOURCE.replace("\n", newline), Matcher([W], engine=engine), "python")
    assert [(h.line, h.kind) for h in hits] == EXPECTED_KINDS
    assert all(not h.line_text.endswith("\r") for h in hits)


def test_python_kinds_agree_with_tokenize_and_ast() -> None:
    data = PY_SOURCE.encode()
    tokens, docs = _reference_kinds(data)
    starts = [0]
    for line in PY_SOURCE.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    hits = scan_text(PY_SOURCE, Matcher([W]), "python")
    assert len(hits) == len(EXPECTED_KINDS)
    for hit in hits:
        offset = starts[hit.line - 1] + hit.col - 1
        typ = next(t for t, a, b in tokens if a <= offset < b)
        want = {tokenize.NAME: "identifier", tokenize.COMMENT: "comment"}.get(typ, "string")
        if want == "string" and any(a <= offset < b for a, b in docs):
            want = "docstring"
        assert hit.kind == want, hit


def test_kinds_filter(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(PY_SOURCE)
    matcher = Matcher([W])
    only = scan_file(path, matcher, kinds=["identifier", "comment"])
    assert {h.kind for h in only} == {"identifier", "comment"}
    assert [h for h in scan_file(path, matcher) if h.kind in ("identifier", "comment")] == only
    assert scan_file(path, matcher, kinds=["text"]) == []
    with pytest.raises(ValueError):
        scan_file(path, matcher, kinds=["strings"])


def test_docstring_after_bom_and_comments() -> None:
    source = "\ufeff# coding: utf-8\n\n'''Doc websocket.'''\nx = 'websocket'\n"
    hits = scan_text(source, Matcher([W]), "python")
    assert [(h.line, h.col, h.kind) for h in hits] == [(3, 8, "docstring"), (4, 6, "string")]


def test_latin1_declared_python_file(tmp_path: Path) -> None:
    path = tmp_path / "old.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9 websocket'\n")
    (hit,) = scan_file(path, Matcher([W]))
    assert (hit.line, hit.col, hit.kind, hit.line_text) == (2, 14, "string", "name = 'café websocket'")


def test_text_files_are_text(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("Use a WebSocket here.\n\n- real-time feed\n")
    (tmp_path / "q.sql").write_text("select * from websocket_events; -- websocket\n")
    matcher = Matcher([W, "real_time"])
    md = scan_file(tmp_path / "notes.md", matcher)
    assert [(h.line, h.col, h.term, h.kind) for h in md] == [(1, 7, W, "text"), (3, 3, "real_time", "text")]
    assert [h.col for h in scan_file(tmp_path / "q.sql", matcher)] == [15, 36]


def test_binary_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"websocket\0websocket")
    (tmp_path / "late.txt").write_bytes(b"x" * 9000 + b"\0websocket")
    assert scan_file(tmp_path / "blob.bin", Matcher([W])) == []
    assert len(scan_file(tmp_path / "late.txt", Matcher([W]))) == 1


# ---------------------------------------------------------------- the lexer against tokenize and ast


def _reference_kinds(data: bytes) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    """(token type, start, end) byte offsets of NAME, STRING and COMMENT tokens, and docstring spans."""
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()))

    def offset(row: int, col: int) -> int:
        return starts[row - 1] + len(lines[row - 1][:col].encode())

    docs: list[tuple[int, int]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                assert value.end_lineno is not None and value.end_col_offset is not None
                docs.append(
                    (
                        starts[value.lineno - 1] + value.col_offset,
                        starts[value.end_lineno - 1] + value.end_col_offset,
                    )
                )
    tokens = [
        (tok.type, offset(*tok.start), offset(*tok.end))
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT)
    ]
    return tokens, docs


def _stdlib_sample(count: int) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in stdlib.glob("*.py") if p.stat().st_size < 400_000)
    return random.Random(3).sample(paths, min(count, len(paths)))


@pytest.mark.parametrize("order", ["forward", "shuffled"])
def test_lexer_agrees_with_tokenize_and_ast(order: str) -> None:
    checked = 0
    for path in _stdlib_sample(40):
        data = path.read_bytes()
        try:
            tokens, docs = _reference_kinds(data)
        except (SyntaxError, UnicodeDecodeError, tokenize.TokenError):
            continue
        if order == "shuffled":
            random.Random(path.name).shuffle(tokens)
        source = vocab._PythonSource(data)
        for typ, start, end in tokens:
            probe = start if typ == tokenize.NAME else start + (end - start) // 2
            token = source.token_at(probe)
            where = f"{path.name}@{start}: {data[start:end][:50]!r}"
            if typ == tokenize.NAME:
                assert token is None, where
            elif typ == tokenize.COMMENT:
                assert token is not None and token.comment, where
            else:
                assert token is not None and not token.comment, where
                assert source.is_docstring(token) == any(a <= probe < b for a, b in docs), where
        checked += 1
    assert checked >= 30


# ---------------------------------------------------------------- the prefilter never drops a hit

PIECES = [
    "web",
    "socket",
    "sse",
    "as",
    "ses",
    "live",
    "de",
    "stream",
    "up",
    "id",
    "kafka",
    "k",
    "8",
    "s",
    "x",
    "2",
]
FORMS = [
    T("websocket"),
    T("sse"),
    T("live"),
    T("stream", "prefix"),
    T("stream", "suffix"),
    T("sses", "substring"),
    T("kafka", plurals=True),
    T("k8s"),
    T("x2"),
]


def _reference_spans(word: str) -> list[tuple[int, int]]:
    """Sub-token spans by the documented rules, one character at a time."""

    def cls(ch: str) -> str:
        return "d" if ch.isnumeric() else "u" if ch.isupper() else "l" if ch.isalpha() else ""

    spans: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(word):
        c = cls(ch)
        if not c:
            if start is not None:
                spans.append((start, i))
            start = None
            continue
        if start is not None:
            p = cls(word[i - 1])
            nxt = cls(word[i + 1]) if i + 1 < len(word) else ""
            if (p != c and "d" in (p, c)) or (p == "l" and c == "u") or (p == c == "u" and nxt == "l"):
                spans.append((start, i))
                start = i
        if start is None:
            start = i
    if start is not None:
        spans.append((start, len(word)))
    return spans


def _brute_force(text: str, terms: list[Term], allowed: list[str]) -> list[tuple[int, str]]:
    """(column, term) of every match, by trying every run of sub-tokens of every word."""
    out: list[tuple[int, str]] = []
    for m in re.finditer(r"[\w.\-]+", text):
        word = m.group()
        spans = _reference_spans(word)
        folded = [word[a:b].casefold() for a, b in spans]
        # the word offset of every key character
        chars: list[int] = []
        for a, b in spans:
            for i in range(a, b):
                chars.extend([i] * len(word[i].casefold()))
        key = "".join(folded)
        bounds = {0}
        for f in folded:
            bounds.add(max(bounds) + len(f))
        exempt = []
        for phrase in map(normalize, allowed):
            for i in range(len(key)):
                if key.startswith(phrase, i) and i in bounds and i + len(phrase) in bounds:
                    exempt.append((i, i + len(phrase)))
        for term in terms:
            forms = [term.key + s for s in ("", "s", "es")] if term.plurals else [term.key]
            for form in forms:
                for i in range(len(key)):
                    j = i + len(form)
                    if not key.startswith(form, i):
                        continue
                    ok = {
                        "token": i in bounds and j in bounds,
                        "prefix": i in bounds,
                        "suffix": j in bounds,
                        "substring": True,
                    }[term.match]
                    if ok and not any(a <= i and j <= b for a, b in exempt):
                        out.append((m.start() + chars[i] + 1, term.text))
    return sorted(set(out))


def _random_identifier(rng: random.Random) -> str:
    parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 4))]
    style = rng.choice(["snake", "camel", "pascal", "upper", "kebab", "dot", "flat", "mixed"])
    if style == "snake":
        return "_".join(parts)
    if style == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    if style == "pascal":
        return "".join(p.capitalize() for p in parts)
    if style == "upper":
        return rng.choice(["_", ""]).join(p.upper() for p in parts)
    if style == "kebab":
        return "-".join(parts)
    if style == "dot":
        return ".".join(parts)
    if style == "flat":
        return "".join(parts)
    return "".join(
        rng.choice([p, p.upper(), p.capitalize(), "\u017f" + p[1:] if p[:1] == "s" else p]) for p in parts
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_prefilter_never_drops_a_hit(engine: str) -> None:
    rng = random.Random(11)
    allowed = ["up_stream", "de_live"]
    matcher = Matcher(FORMS, allowed, engine=engine)
    for _ in range(300):
        words = [_random_identifier(rng) for _ in range(rng.randint(1, 6))]
        line = "".join(w + rng.choice([" ", "(", ", ", "=", "\t", ": ", "é"]) for w in words)
        got = sorted({(h.col, h.term) for h in scan_text(line, matcher)})
        assert got == _brute_force(line, FORMS, allowed), line


def test_engines_agree_on_a_tree_and_jobs_do_not_change_hits(tmp_path: Path) -> None:
    rng = random.Random(5)
    for n in range(160):
        folder = tmp_path / f"pkg{n % 7}"
        folder.mkdir(exist_ok=True)
        body = "\n".join(
            f"{_random_identifier(rng)} = '{_random_identifier(rng)}'  # {_random_identifier(rng)}"
            for _ in range(30)
        )
        (folder / f"m{n}.py").write_text(f'"""Doc {_random_identifier(rng)}."""\n{body}\n')
    results = []
    for engine in ENGINES:
        matcher = Matcher(FORMS, ["up_stream"], engine=engine)
        for jobs in (1, 2):
            results.append(vocab.scan_tree(tmp_path, matcher, jobs=jobs))
    assert results[0]
    assert all(r == results[0] for r in results)
    assert all(isinstance(h, Hit) for h in results[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_prefilter_finds_keys_at_the_ends_of_the_text_and_of_its_lines(engine: str) -> None:
    # NOTE: with RE2 one search runs over the whole text, a newline being one more character around a key.
    rng = random.Random(23)
    allowed = ["up_stream"]
    matcher = Matcher(FORMS, allowed, engine=engine)
    for _ in range(200):
        newline = rng.choice(["\n", "\r\n"])
        lines = [
            rng.choice(["", " ", "("]).join(_random_identifier(rng) for _ in range(rng.randint(1, 3)))
            for _ in range(rng.randint(1, 4))
        ]
        text = newline.join(lines) + rng.choice(["", newline])
        got = sorted({(h.line, h.col, h.term) for h in scan_text(text, matcher)})
        want = sorted(
            (n + 1, col, term)
            for n, line in enumerate(text.split("\n"))
            for col, term in _brute_force(line.removesuffix("\r"), FORMS, allowed)
        )
        assert got == want, text


def _package(root: Path, files: int, rng: random.Random) -> None:
    for n in range(files):
        folder = root / f"pkg{n % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"{_random_identifier(rng)} = '{_random_identifier(rng)}'" for _ in range(8))
        (folder / f"m{n}.py").write_text(f'"""Doc {_random_identifier(rng)}."""\n{body}\n')


def test_jobs_keep_the_order_of_paths_given_unsorted_or_twice(tmp_path: Path) -> None:
    _package(tmp_path, 150, random.Random(8))
    matcher = Matcher(FORMS, ["up_stream"])
    names = sorted(tmp_path.rglob("*.py"), reverse=True)
    names += names[:20]
    one = vocab.scan_paths(names, matcher, jobs=1)
    assert one
    assert vocab.scan_paths(names, matcher, jobs=2) == one
    assert vocab.scan_paths(names, matcher, jobs=3) == one
    assert one == sorted(one, key=lambda h: (h.path, h.line, h.col, h.term))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_jobs_do_not_change_hits_in_a_git_work_tree(tmp_path: Path) -> None:
    # NOTE: with jobs a child lists the files (git ls-files) while this process scans ahead what a walk finds,
    # files git ignores included: only git's files count.
    _package(tmp_path, 140, random.Random(9))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".git" / "info").mkdir(exist_ok=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("pkg1/\n")  # NOTE: which a walk does not read
    (tmp_path / "pkg0" / "link.py").symlink_to(tmp_path / "pkg0" / "m0.py")
    matcher = Matcher(FORMS, ["up_stream"])
    one = vocab.scan_tree(tmp_path, matcher, jobs=1)
    paths = {Path(h.path).relative_to(tmp_path).parts[0] for h in one}
    assert "pkg0" in paths and "pkg1" not in paths
    assert not any(h.path.endswith("link.py") for h in one)
    assert vocab.scan_tree(tmp_path, matcher, jobs=2) == one
    assert vocab.scan_tree(tmp_path, matcher, jobs=3) == one


@pytest.mark.skipif(shutil.which("git") is None or not hasattr(os, "mkfifo"), reason="needs git and FIFOs")
def test_tracked_files_that_became_a_fifo_or_a_folder_are_skipped(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("websocket = 1\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (tmp_path / "a.py").unlink()
    os.mkfifo(tmp_path / "a.py")  # NOTE: opened without waiting for a writer, then skipped
    (tmp_path / "b.py").unlink()
    (tmp_path / "b.py").mkdir()
    for jobs in (1, 2):
        hits = vocab.scan_tree(tmp_path, Matcher([W]), jobs=jobs)
        assert [Path(h.path).name for h in hits] == ["c.py"]


def test_a_listing_that_fails_in_the_worker_fails_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_kit.errors import EvidenceError
    from evidence_kit.support import tree

    def broken(root: Path, cached_only: bool = False) -> list[str] | None:
        raise EvidenceError("git cannot list the files")

    monkeypatch.setattr(tree, "git_files", broken)
    _package(tmp_path, 10, random.Random(10))
    with pytest.raises(EvidenceError, match="cannot list"):
        vocab.scan_tree(tmp_path, Matcher(FORMS), jobs=2)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs procfs")
def test_files_that_report_no_size_are_read_to_the_end() -> None:
    hits = scan_file("/proc/self/status", Matcher(["pid"]))
    assert any(h.matched_text == "Pid" for h in hits)


def test_matcher_pickles_and_missing_files_are_skipped(tmp_path: Path) -> None:
    matcher = pickle.loads(pickle.dumps(Matcher([W, T("stream", "prefix")], ["web_socket_x"])))
    (tmp_path / "a.txt").write_text("WebSocket streaming\n")
    hits = vocab.scan_paths([tmp_path / "a.txt", tmp_path / "gone.txt"], matcher, jobs=1)
    assert [(h.term, h.matched_text) for h in hits] == [(W, "WebSocket"), ("stream", "stream")]


def test_folds_to_ascii_is_complete() -> None:
    found = "".join(
        ch
        for ch in map(chr, range(0x80, sys.maxunicode + 1))
        if any(c.isascii() and c.isalnum() for c in ch.casefold())
    )
    assert found == vocab.FOLDS_TO_ASCII


# ---------------------------------------------------------------- walking


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")


def _rel(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_walk_skips_vendored_folders_and_gitignored_paths(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        [
            "app/main.py",
            "app/debug.log",
            "app/keep.log",
            "build/out.py",
            "top.txt",
            "sub/top.txt",
            "docs/a/b/page.md",
            "docs/page.md",
            "node_modules/pkg/index.js",
            ".venv/lib/x.py",
            "venv/lib/x.py",
            "lib/site-packages/x.py",
            "third/vendor/x.py",
            "app/__pycache__/main.pyc",
            ".git/config",
            "notes#1.txt",
        ],
    )
    (tmp_path / ".gitignore").write_text(
        "# comment\n*.log\n!keep.log\nbuild/\n/top.txt\ndocs/**/*.md\n\\#1.txt\nnotes\\#1.txt\n"
    )
    got = _rel(tmp_path, walk(tmp_path))
    assert got == [".gitignore", "app/keep.log", "app/main.py", "sub/top.txt"]
    assert "docs/page.md" not in got and "build/out.py" not in got
    everything = _rel(tmp_path, walk(tmp_path, gitignore=False))
    assert "app/debug.log" in everything and "third/vendor/x.py" not in everything


def test_walk_include_and_exclude_globs(tmp_path: Path) -> None:
    _tree(
        tmp_path, ["server/app/a.py", "server/app/sub/b.py", "server/app/c.txt", "server/tests/t.py", "x.py"]
    )
    assert _rel(tmp_path, walk(tmp_path, ["server/app/**/*.py"])) == [
        "server/app/a.py",
        "server/app/sub/b.py",
    ]
    assert _rel(tmp_path, walk(tmp_path, ["*.py"], ["server/tests/**"])) == [
        "server/app/a.py",
        "server/app/sub/b.py",
        "x.py",
    ]
    assert _rel(tmp_path, walk(tmp_path, ["**/*.txt"])) == ["server/app/c.txt"]
    assert _rel(tmp_path, walk(tmp_path, [], ["server"])) == ["x.py"]


def test_glob_semantics() -> None:
    assert vocab.glob_regex("*.py").fullmatch("a/b/c.py")
    assert not vocab.glob_regex("/*.py").fullmatch("a/c.py")
    assert vocab.glob_regex("a/**/b").fullmatch("a/b")
    assert vocab.glob_regex("a/**/b").fullmatch("a/x/y/b")
    assert not vocab.glob_regex("a/*/b").fullmatch("a/x/y/b")
    assert vocab.glob_regex("file?.[!a]*").fullmatch("file1.b")
    assert not vocab.glob_regex("file?.[!a]*").fullmatch("file1.a")


def test_python_312_fstrings_that_reuse_their_quotes_are_one_string() -> None:
    source = (
        'x = f"{d["websocket"]}"\n'
        'y = f"{v:\'>10} websocket"\n'
        'z = f"{f"{websocket}"}" + websocket\n'
        'w = rf"""{a["b"]}\n websocket"""\n'
    )
    hits = scan_text(source, Matcher([W]), "python")
    assert [(h.line, h.col, h.kind) for h in hits] == [
        (1, 11, "string"),
        (2, 16, "string"),
        (3, 11, "string"),
        (3, 27, "identifier"),
        (5, 2, "string"),
    ]


def _failing_in_children(monkeypatch: pytest.MonkeyPatch, fail: Callable[[], None]) -> None:
    """Make every chunk a forked child scans call `fail` first (this process scans as before)."""
    parent = os.getpid()
    chunk = vocab._Scan.chunk

    def failing(self: vocab._Scan, names: Iterable[str]) -> list[Any]:
        if os.getpid() != parent:
            fail()
        return chunk(self, names)

    monkeypatch.setattr(vocab._Scan, "chunk", failing)


def test_an_error_in_a_scanning_child_is_raised_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise ValueError("the disk went away")

    _failing_in_children(monkeypatch, fail)
    _package(tmp_path, 300, random.Random(11))
    with pytest.raises(ValueError, match="the disk went away"):
        vocab.scan_paths(sorted(tmp_path.rglob("*.py")), Matcher(FORMS), jobs=2)


def test_a_scanning_child_that_dies_fails_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_in_children(monkeypatch, lambda: os._exit(3))
    _package(tmp_path, 300, random.Random(12))
    with pytest.raises(RuntimeError, match=r"the scanning process \d+ failed"):
        vocab.scan_paths(sorted(tmp_path.rglob("*.py")), Matcher(FORMS), jobs=2)


def test_children_send_back_more_rows_than_a_pipe_holds(tmp_path: Path) -> None:
    # NOTE: 400 files of 300 hits each, about 30 MB of rows: the children write while this process scans.
    line = "websocket_stream = stream_websocket(websocket, stream)  # websocket stream\n"
    for n in range(400):
        (tmp_path / f"m{n:03d}.py").write_text(line * 50)
    matcher = Matcher(FORMS)
    names = sorted(tmp_path.glob("*.py"))
    one = vocab.scan_paths(names, matcher, jobs=1)
    assert len(one) > 400 * 250
    assert vocab.scan_paths(names, matcher, jobs=2) == one
    assert vocab.scan_paths(names, matcher, jobs=3) == one
