"""Where a value starts and ends on its line, and which values are innocent: the rules' `value` and `checks`.

Extents (a rule's ``value``) never leave the line:

``quoted``
    A string in ``"…"``, ``'…'`` or backticks (backslash escapes honoured), in ``\\"…\\"`` (JSON inside
    JSON), with a Python prefix (``f"…"``, ``b'…'``) or triple quotes. The content is the value; a
    string that does not close on its line runs to the end of the line.
``word``
    A quoted string, or one run of non-blank characters.
``rest``
    A quoted string, or the words up to the end of the line: stopping before a word that starts the
    next pair (``dbname=jobs``, ``user:``), an option (``--host``) or a comment (``#``, ``//``), and
    cutting at ``; , &`` when a ``key=`` follows (``Password=…;Server=db``). So
    ``password: correct horse battery staple`` is masked whole and libpq's
    ``host=db password=… dbname=jobs`` keeps ``dbname=jobs``. A first word that is an ellipsis
    (``SECRET=...)`, with``) is the whole value.
``query``
    Up to the next ``&``, ``;``, ``#``, quote, ``<``, ``>`` or blank.
``line``
    To the end of the line.
``cookies``
    Each ``name=value`` of a ``;``-separated list: the values.

In ``rest`` and ``word``, a shell command substitution (``$(openssl rand -hex 32)``, or backticks right
after ``=``) is the whole value, up to its close. An unquoted value loses trailing blanks, ``,``/``;`` and
closing brackets or quotes it did not open.
Checks (a rule's ``checks``) then leave a value alone when it is empty, a placeholder or template
(always), code (``code``), a value that cannot be a secret (``plain``), too plain to be a token
(``tokenish``), an ALL-CAPS option placeholder (``metavar``) or a prompt flag's neighbour (``flags``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Span = tuple[int, int, bool]  # start, end, quoted

_QUOTES = b"\"'`"
# NOTE: quotes as a page's escaped text writes them (a report's HTML): `&#39;&#39;` is an empty string.
_ENTITY_QUOTES = (b"&#39;", b"&#x27;", b"&quot;", b"&#34;", b"&#x22;")
_PREFIX = re.compile(rb"(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])(?=[\"'])")
_NEXT_WORD = re.compile(
    rb"(?:[A-Za-z_][\w.\-]*=|[A-Za-z_][\w.\-]*:(?:\s|$)|[\"'][^\"']*[\"']\s*:|--?[A-Za-z]|#|//)"
)
_INNER_PAIR = re.compile(rb"[;,&][ \t]*[A-Za-z_][\w.\-]*=")
# NOTE: a URL's query value ends at these; and at an escape of a line break, tab or quote (`\n` in a JSON
# string, not `\/`), or at a closing bracket the prose or code around the URL closes it with (one followed
# by the end, a blank or punctuation: a `)` inside a value is the value's).
_QUERY_END = re.compile(rb"[&;#\s\"'<>`]|\\(?=[nrt\"\\])|[)\]}](?=$|[\s.,;:'\"\\)\]}])")
_BLANK = b" \t\r\n\f\v"
_CLOSERS = {ord(")"): ord("("), ord("]"): ord("["), ord("}"): ord("{")}


def _closing(line: bytes, start: int, quote: bytes) -> int:
    """Index of the unescaped `quote` closing a string whose content starts at `start`, else -1."""
    i = start
    while True:
        j = line.find(quote, i)
        if j == -1:
            return -1
        backslashes = 0
        k = j - 1
        while k >= start and line[k] == 0x5C:
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j
        i = j + 1


def quoted(line: bytes, pos: int) -> Span | None:
    """The content span of a quoted string starting at `pos`, or None when no string starts there."""
    prefix = _PREFIX.match(line, pos)
    if prefix:
        pos = prefix.end()
    first = line[pos : pos + 1]
    if first == b"&":
        entity = next((e for e in _ENTITY_QUOTES if line.startswith(e, pos)), None)
        if entity is not None:
            start = pos + len(entity)
            end = _closing(line, start, entity)
            return (start, _trim(line, start, len(line)) if end == -1 else end, True)
    if first == b"\\" and line[pos + 1 : pos + 2] in (b'"', b"'"):
        closing = b"\\" + line[pos + 1 : pos + 2]
        start = pos + 2
        end = line.find(closing, start)
        return (start, _trim(line, start, len(line)) if end == -1 else end, True)
    if not first or first not in _QUOTES:
        return None
    if line.startswith(first * 3, pos):
        start = pos + 3
        end = line.find(first * 3, start)
        return (start, _trim(line, start, len(line)) if end == -1 else end, True)
    start = pos + 1
    end = _closing(line, start, first)
    return (start, _trim(line, start, len(line)) if end == -1 else end, True)


def _trim(line: bytes, start: int, end: int) -> int:
    """`end` moved back over trailing blanks, `,`/`;` and brackets or quotes opened before `start`."""
    while end > start and _strippable(line, start, end):
        end -= 1
    return end


def _strippable(line: bytes, start: int, end: int) -> bool:
    c = line[end - 1]
    if c in _BLANK or c in b",;":
        return True
    if c in _CLOSERS:
        return line.count(bytes([_CLOSERS[c]]), start, end) < line.count(bytes([c]), start, end)
    return c in _QUOTES and line.count(bytes([c]), start, end) % 2 == 1


def _skip_blanks(line: bytes, pos: int) -> int:
    # NOTE: every blank that is not a line end, or `rest` would stop on a form feed and never move on.
    while pos < len(line) and line[pos] in b" \t\f\v":
        pos += 1
    return pos


def _word_end(line: bytes, pos: int) -> int:
    while pos < len(line) and line[pos] not in _BLANK:
        pos += 1
    return pos


def _substitution(line: bytes, pos: int) -> int:
    """Where a shell command substitution starting at `pos` ends (`$(…)`, or `` `…` `` right after
    `=`), else -1: the value is a command that makes the secret, not the secret."""
    if line.startswith(b"$(", pos):
        depth = 0
        for i in range(pos + 1, len(line)):
            if line[i] == 0x28:
                depth += 1
            elif line[i] == 0x29:
                depth -= 1
                if depth == 0:
                    return i + 1
        return -1
    if line[pos : pos + 1] == b"`" and line[pos - 1 : pos] == b"=":
        close = line.find(b"`", pos + 1)
        return close + 1 if close != -1 else -1
    return -1


def _ellipsis(line: bytes, pos: int, end: int) -> int:
    """Where an ellipsis starting the word `line[pos:end]` ends (`...)`, `…,`), else -1."""
    for mark in (b"...", "…".encode()):
        if line.startswith(mark, pos) and _trim(line, pos, end) == pos + len(mark):
            return pos + len(mark)
    return -1


def rest(line: bytes, pos: int) -> list[Span]:
    """A quoted string, or the words up to the end of the line or the next pair."""
    pos = _skip_blanks(line, pos)
    substitution = _substitution(line, pos)
    if substitution != -1:
        return [(pos, substitution, False)]
    found = quoted(line, pos)
    if found is not None:
        return [found]
    end = _word_end(line, pos)
    # NOTE: `SECRET=...)`, with …` in prose: the ellipsis is the value, what follows is not.
    ellipsis = _ellipsis(line, pos, end)
    if ellipsis != -1:
        return [(pos, ellipsis, False)]
    last = end
    i = _skip_blanks(line, end)
    while i < len(line) and line[i] not in b"\r\n":
        if _NEXT_WORD.match(line, i):
            break
        last = _word_end(line, i)
        if last == i:
            break
        i = _skip_blanks(line, last)
    inner = _INNER_PAIR.search(line, pos, last)
    if inner:
        last = inner.start()
    return [(pos, _trim(line, pos, last), False)]


def word(line: bytes, pos: int) -> list[Span]:
    """A quoted string or one word."""
    pos = _skip_blanks(line, pos)
    substitution = _substitution(line, pos)
    if substitution != -1:
        return [(pos, substitution, False)]
    found = quoted(line, pos)
    if found is not None:
        return [found]
    return [(pos, _trim(line, pos, _word_end(line, pos)), False)]


def quoted_only(line: bytes, pos: int) -> list[Span]:
    """A quoted string only."""
    found = quoted(line, _skip_blanks(line, pos))
    return [found] if found is not None else []


def query(line: bytes, pos: int) -> list[Span]:
    """Up to the next `&`, `;`, `#`, quote, `<`, `>`, blank, escaped line break or quote, or a closing
    bracket that ends the text around it."""
    end = _QUERY_END.search(line, pos)
    return [(pos, end.start() if end else len(line), False)]


def whole_line(line: bytes, pos: int) -> list[Span]:
    """To the end of the line."""
    pos = _skip_blanks(line, pos)
    return [(pos, _trim(line, pos, len(line)), False)]


def cookies(line: bytes, pos: int) -> list[Span]:
    """The value of every `name=value` in a `;`-separated list."""
    pos = _skip_blanks(line, pos)
    if line[pos : pos + 1] in (b'"', b"'") or line[pos : pos + 2] in (b'\\"', b"\\'"):
        found = quoted(line, pos)
        assert found is not None
        start, end = found[0], found[1]
    else:
        start, end = pos, _trim(line, pos, len(line))
    spans: list[Span] = []
    i = start
    while i < end:
        stop = line.find(b";", i, end)
        stop = end if stop == -1 else stop
        eq = line.find(b"=", i, stop)
        if eq != -1:
            value_start = _skip_blanks(line, eq + 1)
            spans.append((value_start, _trim(line, value_start, stop), False))
        i = stop + 1
    return spans


EXTENTS: dict[str, Callable[[bytes, int], list[Span]]] = {
    "rest": rest,
    "word": word,
    "quoted": quoted_only,
    "query": query,
    "line": whole_line,
    "cookies": cookies,
}

# ---------------------------------------------------------------------------------------------------------
# Judgments: every one takes the value as text (UTF-8, undecodable bytes escaped).

_CODE = re.compile(
    r"(?:await|new|yield|lambda|typeof|not)\s"  # an expression
    r"|[A-Za-z_][\w.]*\s*[(\[]"  # a call or a subscript: config(...), os.environ[...]
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:[\s,;)\]}+*/%-]|$)"  # attribute access: settings.SECRET_KEY
    r"|(?:None|True|False|null|nil|undefined|NULL|true|false)(?:[\s,;)\]}]|$)"
    r"|(?:str|bytes|int|float|bool|dict|list|Any|SecretStr|SecretBytes|Optional|Union|string|number|boolean"
    r"|object)(?![\w.])"  # a type annotation (`password: str = ...`, `(password: str) -> bool`)
    r"|![A-Za-z]+(?:\s|$)|\*[A-Za-z_][\w-]*$|&[A-Za-z_][\w-]*(?:\s|$)"  # a YAML tag, alias or anchor
    r"|[|>][-+0-9]*$"  # a YAML block scalar (its lines follow)
    r"|[{\[(]"  # a collection or an expression in brackets: (bool, optional), {len(x)}, [a, b]
    r"|#(?:\s|$)"  # a comment, no value
    r"|[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*=\s"  # a type, then a default: `SecretStr = Field(...)`
    r"|[A-Za-z_][\w.]*\s+[-+*/%|&]\s"  # an operator between names: `datestamp + '/' + region`
    r"|.*\)\s*->"  # the rest of a signature: `str) -> bool:`
)
# NOTE: a variable with an empty default (`secrets or {}`, `token if token else None`): no literal a secret
# could be in.
_EMPTY = r"(?:None|\{\}|\[\]|\(\)|\"\"|'')"
_OPERATOR_WORD = re.compile(
    rf"([A-Za-z_][\w.]*)\s+(?:or\s+{_EMPTY}|if\s+([A-Za-z_][\w.]*)\s+else\s+{_EMPTY})\s*[,;)]?"
)
# NOTE: a pattern, not a value: `r'(?:key|pwd)'`, `r"[-!#$%&]+"`, `\w`.
_REGEX = re.compile(r".*(?:\(\?[:P<=!]|\[\^|\\[wdsbWDSB]|\[[^\]]{2,}\][+*?]|\[[^\]]*-[^\]]*\]\{)")
# NOTE: a type in a parameter list (`private_key: PKCS7PrivateKeyTypes,`): CamelCase or subscripted.
_CAMEL_TYPE = re.compile(r"[A-Za-z_][\w.]*(?:[a-z][A-Z]\w*|\[[^\]]*\])")
_IDENTIFIER = re.compile(r"([A-Za-z_]+|[A-Z][A-Z0-9_]*)(?:[\s,;)\]}.]|$)")
# NOTE: a variable's name of two words or more: joined by `_` inside it, or in lowerCamelCase (`dbPassword`);
# `FiefClientSecret` is a class's name or a value, never a variable holding a secret.
_WORDS = re.compile(r"[A-Za-z0-9]_+[A-Za-z0-9]|^[a-z][a-z0-9]*[A-Z]")
# NOTE: `x = Name`, `a, b = un, pw`: identifiers without digits, where code puts blanks around `=`.
_NAMES = re.compile(r"[A-Za-z_][A-Za-z_.]*(?:\s*,\s*[A-Za-z_][A-Za-z_.]*)*")
# NOTE: libpq's variables (`PGPASSWORD`, `PGPASSFILE`) are the names without an underscore.
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|PG[A-Z]{4,}")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_DOTTED_NAMES = re.compile(rb"[a-z][a-z_]*(?:\.[a-z][a-z_]*)+")
_METAVAR = re.compile(r"[A-Z][A-Z0-9_-]*[`'\").,;]*")
_NUMBER = re.compile(
    r"[+-]?\d{1,8}(?:\.\d+)?|\d+(?:\.\d+)?(?:ms|s|m|h|d|w|mins?|minutes?|hours?|days?|weeks?)|v?\d+(?:\.\d+)+"
    # NOTE: a number with Python's digit separators (`1_500_000`).
    r"|\d{1,3}(?:_\d{3})+"
    # NOTE: a length or a duration in words, as comments give it (`token = 32 bytes`, `= 7 chars`).
    r"|\d{1,6} (?:chars?|characters?|bytes?|bits?|digits?|letters?|words?"
    r"|seconds?|minutes?|hours?|days?)"
)
_BOOLEAN = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "enabled", "disabled"}
)
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?:/\d{1,2})?")
_IPV6 = re.compile(r"\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?(?::\d{1,5})?(?:/\d{1,3})?")
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?P<tld>[a-z]{2,})(?::\d{1,5})?")
_HOST_PORT = re.compile(r"(?:localhost|[a-z][a-z0-9.-]*)(?::\d{2,5})?(?:/[\w.-]*)?(?:\?\S*)?")
_PATH = re.compile(r"(?:~|\.{1,2})?(?:/[a-z0-9._@+-]*)+|[A-Za-z]:\\[^\s]*|\./[^\s]*")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s@]*")
# NOTE: a word of prose: lowercase letters (with an inner hyphen or apostrophe), or a number.
_SENTENCE_WORD = re.compile(r"(?:[a-z]+(?:[-'][a-z]+)*|\d{1,6})[,;:]?")
_TOKENISH = re.compile(rb"[0-9._~+/=-]")


class Judge:
    """The value checks, with the data (placeholders, host suffixes) they need."""

    def __init__(
        self,
        placeholder_words: Sequence[str],
        placeholder_patterns: Sequence[str],
        templates: Sequence[str],
        host_suffixes: Sequence[str],
        secret_name: Callable[[str], bool],
        function_words: Sequence[str] = (),
        description_words: Sequence[str] = (),
    ) -> None:
        self.placeholder_words = frozenset(w.lower() for w in placeholder_words)
        self.placeholder = re.compile("|".join(f"(?:{p})" for p in placeholder_patterns), re.I)
        self.template = re.compile("|".join(f"(?:{p})" for p in templates))
        self.host_suffixes = frozenset(host_suffixes)
        self.secret_name = secret_name
        self.function_words = frozenset(function_words)
        self.description_words = frozenset(description_words)

    def is_placeholder(self, text: str) -> bool:
        """A placeholder, template or reference: `changeme`, `<password>`, `${VAR}`, `***`, `xxxx`."""
        stripped = text.strip()
        # NOTE: a placeholder word cut at a separator (`"secret-"`, a prefix table's entry) is one too.
        if not stripped or stripped.lower().strip("_.-") in self.placeholder_words:
            return True
        if self.placeholder.fullmatch(stripped) or self.template.search(stripped):
            return True
        # NOTE: a token of a known shape written as its prefix and a run of one character (`ghp_xxxx…`).
        body = re.sub(r"^(?:[A-Za-z]{1,10}[_-])+", "", stripped)
        return len(body) >= 3 and len(set(body)) == 1

    def is_code(self, text: str) -> bool:
        """A code expression: a call, subscript, attribute, literal, type, or a secret-named variable of
        two words or more (`db_password`, `dbPassword`, `DB_PASSWORD`); one word (`fiefpassword`,
        `supersecret`) or an UpperCamelCase one (`AcmeClientSecret`) is a value as a `.env` file writes it."""
        if _CODE.match(text):
            return True
        # NOTE: a secret-named variable with an empty default (`secrets or {}`, `token if token else None`);
        # a value before such a word (`hunter2 or ...`), or a literal default, is judged as a value.
        operand = _OPERATOR_WORD.fullmatch(text)
        if operand and self.secret_name(operand.group(1)) and operand.group(2) in (None, operand.group(1)):
            return True
        ident = _IDENTIFIER.match(text)
        return bool(ident and _WORDS.search(ident.group(1)) and self.secret_name(ident.group(1)))

    @staticmethod
    def is_regex(text: str) -> bool:
        """A regular expression: `(?:`, `[^`, `\\w`, a character class repeated."""
        return bool(_REGEX.match(text))

    @staticmethod
    def is_camel_type(text: str) -> bool:
        """A CamelCase or subscripted type name, as in a parameter list."""
        return bool(_CAMEL_TYPE.fullmatch(text))

    @staticmethod
    def is_prose(text: str) -> bool:
        """A sentence, as a docstring describes a parameter: three words or more ending with a period, or
        naming the code's identifiers (`ensures password_hash and password_salt are consistent`): no
        passphrase holds a snake_case name."""
        words = text.split()
        if len(words) < 3:
            return False
        return text.endswith(".") or any(_SNAKE.fullmatch(w.strip(",.;:()'\"`")) for w in words)

    def is_sentence(self, text: str) -> bool:
        """English words, as a schema or a doc describes a value: four or more lowercase words or numbers
        separated by single blanks, two of them function words and one a word of a description (`must
        contain a digit`, `at least 12 characters`, `a random string used to sign sessions`)."""
        words = text.rstrip(".").split(" ")
        if len(words) < 4 or not all(_SENTENCE_WORD.fullmatch(w) for w in words):
            return False
        bare = [w.rstrip(",;:") for w in words]
        return sum(w in self.function_words for w in bare) >= 2 and any(
            w in self.description_words for w in bare
        )

    @staticmethod
    def is_names(text: str) -> bool:
        """Identifiers without digits (`Name`, `un, pw`): code when written `x = …` or as `f(x=…,`."""
        return bool(_NAMES.fullmatch(text))

    @staticmethod
    def is_snake(text: str) -> bool:
        """A snake_case variable name (`v4auth_header`): code when a bracket or comma follows."""
        return bool(_SNAKE.fullmatch(text))

    def is_variable_name(self, text: str) -> bool:
        """The name of a secret-named variable (`"DB_PASSWORD"` in a list of names), not its value."""
        return bool(_ENV_NAME.fullmatch(text)) and self.secret_name(text)

    def is_plain(self, text: str) -> bool:
        """A value that cannot be a secret: number, boolean, IP, host, port, path, URL without credentials."""
        if text.lower() in _BOOLEAN or _NUMBER.fullmatch(text):
            return True
        if _IPV4.fullmatch(text) or (text.count(":") >= 2 and _IPV6.fullmatch(text)):
            return True
        host = _HOST.fullmatch(text)
        if host and host.group("tld") in self.host_suffixes:
            return True
        if text == "localhost" or (":" in text and _HOST_PORT.fullmatch(text)):
            return True
        return bool(_PATH.fullmatch(text) or _URL.fullmatch(text))

    @staticmethod
    def is_tokenish(data: bytes) -> bool:
        """20 characters or more, or 8 or more with a digit or symbol: a token rather than a word."""
        return len(data) >= 20 or (len(data) >= 8 and bool(_TOKENISH.search(data)))

    @staticmethod
    def is_machine_made(data: bytes) -> bool:
        """One word, and long or mixed enough for a token: 8 characters or more with a digit or one of
        `+/=.~-`, or 16 mixing cases, or 32 of anything (`shard_id`, `upgrades`, `_sa_default` are not)."""
        if len(data) < 8 or any(c in data for c in b" \t"):
            return False
        # NOTE: a dotted path of lowercase names (`llm.token_count.completion`, a key) is no token.
        if _DOTTED_NAMES.fullmatch(data):
            return False
        if any(c in b"0123456789+/=.~-" for c in data):
            return True
        return len(data) >= 32 or (len(data) >= 16 and data.lower() != data and data.upper() != data)

    @staticmethod
    def is_metavar(text: str) -> bool:
        """An ALL-CAPS option placeholder, as help texts print them (`--token TEXT`)."""
        return bool(_METAVAR.fullmatch(text))
