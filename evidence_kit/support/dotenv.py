"""`.env` files read as the service's settings read them: `KEY=value` lines, `export` allowed, values in
single quotes as written, in double quotes with `\\n`-style escapes (either may span lines up to its closing
quote), unquoted ones up to a ` #` comment, and `${VAR}` (or `${VAR:-default}`) filled in from the
environment and the file's earlier lines."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

# NOTE: a file larger than this is no settings file; it is not read.
MAX_BYTES = 1024 * 1024
_KEY = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=")
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def status(path: Path) -> str:
    """Whether a `.env` file can be read: "read", "missing", "not a regular file" or "too large"."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return "too large" if st.st_size > MAX_BYTES else "read"


def read(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The variables of one `.env` file, `${VAR}` filled in from `env` and the file's earlier lines; empty
    when the file is missing, not a regular file (a FIFO would block), too large or unreadable."""
    if status(path) != "read":
        return {}
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        match = _KEY.match(line)
        if match is None:
            continue
        rest = line[match.end() :].strip()
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            close = _closing(rest, quote, 1)
            if close < 0:
                # NOTE: a quoted value may span lines, up to the line that closes it; never closed, it is
                # this line's text alone.
                for j in range(i, len(lines)):
                    close = _closing(lines[j], quote, 0)
                    if close >= 0:
                        rest = "\n".join([rest, *lines[i:j], lines[j][: close + 1]])
                        i = j + 1
                        break
                else:
                    rest = rest[1:]
                    quote = ""
            else:
                rest = rest[: close + 1]
            if quote:
                found[match.group(1)] = _quoted(rest, quote, {**env, **found})
                continue
        found[match.group(1)] = _filled(re.split(r"\s#", rest, maxsplit=1)[0].strip(), {**env, **found})
    return found


def _closing(text: str, quote: str, start: int) -> int:
    """The offset of the quote closing a value in `text` from `start` (a double quote after a backslash
    does not), or -1."""
    k = start
    while True:
        k = text.find(quote, k)
        if k < 0:
            return -1
        slashes = 0
        while quote == '"' and k - slashes - 1 >= start and text[k - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2 == 0:
            return k
        k += 1


def _quoted(raw: str, quote: str, known: Mapping[str, str]) -> str:
    inner = raw[1:-1]
    if quote == "'":
        return inner
    return _filled(re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), inner), known)


def _filled(value: str, known: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: known.get(m.group("name")) or (m.group("default") or ""), value)
