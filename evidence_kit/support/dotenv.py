"""`.env` files read as the service's settings read them: `KEY=value` lines, `export` allowed, values in
single quotes as written, in double quotes with `\\n`-style escapes, unquoted ones up to a ` #` comment, and
`${VAR}` (or `${VAR:-default}`) filled in from the environment and the file's earlier lines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# NOTE: a file larger than this is no settings file; it is not read.
MAX_BYTES = 1024 * 1024
_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*?)\s*$")
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def read(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The variables of one `.env` file, `${VAR}` filled in from `env` and the file's earlier lines; empty
    when the file is missing, too large or unreadable."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        match = _LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        value = match.group("value")
        if value[:1] in ("'", '"') and (len(value) == 1 or not value.endswith(value[0])):
            # NOTE: a quoted value may span lines, up to its closing quote.
            for more in lines:
                value += "\n" + more
                if more.rstrip().endswith(value[0]):
                    value = value.rstrip()
                    break
        found[match.group("key")] = _value(value, {**env, **found})
    return found


def _value(raw: str, known: Mapping[str, str]) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw[1:-1])
        return _filled(inner, known)
    return _filled(re.split(r"\s+#", raw, maxsplit=1)[0].strip(), known)


def _filled(value: str, known: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: known.get(m.group("name")) or (m.group("default") or ""), value)
