"""The redactor as it was before the rules became data (commit 6c2f00e), kept as bench_hash.py's baseline.

Only the interface changed: `mask`, `mask_text` and `stream` accept (and ignore) the `tally` argument
the bundle writer now passes, so the writer can be timed with either redactor.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

MASK = b"[REDACTED]"
CHUNK = 4 * 1024 * 1024
# NOTE: a private key block may straddle two chunks; hold back this much to find its end.
_CARRY_LIMIT = 1024 * 1024

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH|"
    r"SESSION|COOKIE|DSN|DATABASE_URL|_URL$|SIGNING|SALT|_KEY$|^KEY_|_KEY_)",
    re.I,
)
_MIN_LITERAL = 6


@dataclass(frozen=True)
class Rule:
    """One kind of secret: a regex whose group `secret` is masked, and cheap literal triggers."""

    name: str
    pattern: re.Pattern[bytes]
    triggers: tuple[bytes, ...]

    def present(self, chunk: bytes) -> bool:
        return not self.triggers or any(t in chunk for t in self.triggers)


def _rule(name: str, pattern: str, *triggers: str, flags: int = 0) -> Rule:
    return Rule(name, re.compile(pattern.encode(), flags), tuple(t.encode() for t in triggers))


_Q = "\"'`"
BUILTIN: tuple[Rule, ...] = (
    _rule(
        "private-key",
        r"(?P<secret>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z))",
        "PRIVATE KEY-----",
        flags=re.S,
    ),
    # NOTE: patterns start with a literal where they can; a leading `[...]*` turns a long run of
    # matching characters into quadratic work.
    _rule("url-password", rf"://[^\s:/@{_Q}]{{0,256}}:(?P<secret>[^\s@/{_Q}]{{1,512}})@", "://"),
    _rule(
        "authorization",
        rf"(?i)\b(?:proxy-)?authorization[{_Q}]?\s*[:=]\s*[{_Q}]?(?P<secret>[^\r\n{_Q}]+)",
        "uthorization",
        "UTHORIZATION",
    ),
    _rule("bearer", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)", "earer", "EARER"),
    _rule("aws-access-key", r"\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b", "AKIA", "ASIA"),
    _rule(
        "aws-secret-key",
        rf"(?i)aws_?secret_?access_?key[{_Q}]?\s*[:=]\s*[{_Q}]?(?P<secret>[A-Za-z0-9/+=]{{40}})",
        "ecret",
        "ECRET",
    ),
    _rule("github-token", r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b", "gh"),
    _rule("github-pat", r"\b(?P<secret>github_pat_[A-Za-z0-9_]{22,255})\b", "github_pat_"),
    _rule("jwt", r"\b(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})", "eyJ"),
    _rule(
        "secret-assignment",
        r"(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)[A-Z0-9_]{0,64}\s*=\s*"
        rf"[{_Q}]?(?P<secret>[^\s{_Q},;]+)",
        "PASSW",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "PRIVATE_KEY",
    ),
)


def secret_values(env: Mapping[str, str], extra_names: Iterable[str] = ()) -> list[str]:
    """Values of environment variables whose names look secret (or are named), long enough to mask."""
    names = set(extra_names)
    found = {
        value
        for name, value in env.items()
        if (name in names or SECRET_NAME.search(name)) and len(value) >= _MIN_LITERAL
    }
    return sorted(found, key=len, reverse=True)


class Redactor:
    """Masks built-in secret patterns, configured patterns and literal secret values."""

    def __init__(self, literals: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        rules = list(BUILTIN)
        for i, pattern in enumerate(patterns):
            compiled = re.compile(pattern.encode())
            if "secret" not in compiled.groupindex:
                compiled = re.compile(b"(?P<secret>" + pattern.encode() + b")")
            rules.append(Rule(f"config-{i}", compiled, ()))
        unique = sorted({v for v in literals if len(v) >= _MIN_LITERAL}, key=len, reverse=True)
        if unique:
            alternation = b"|".join(re.escape(v.encode()) for v in unique)
            triggers = tuple(v.encode()[:_MIN_LITERAL] for v in unique) if len(unique) <= 32 else ()
            rules.append(Rule("literal", re.compile(b"(?P<secret>" + alternation + b")"), triggers))
        self.rules = tuple(rules)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        extra_names: Iterable[str] = (),
        patterns: Iterable[str] = (),
    ) -> Redactor:
        """A redactor that also masks the values of secret-looking environment variables."""
        return cls(secret_values(os.environ if env is None else env, extra_names), patterns)

    def mask(self, data: bytes, tally: object = None) -> tuple[bytes, int]:
        """Masked data and the number of secrets masked."""
        count = 0
        for rule in self.rules:
            if not rule.present(data):
                continue
            data, n = _mask(rule.pattern, data)
            count += n
        return data, count

    def mask_text(self, text: str, tally: object = None) -> tuple[str, int]:
        """Masked text and the number of secrets masked."""
        data, count = self.mask(text.encode("utf-8", errors="surrogateescape"))
        return data.decode("utf-8", errors="surrogateescape"), count

    def stream(
        self, src: BinaryIO, sink: Callable[[bytes], None], limit: int | None = None, tally: object = None
    ) -> tuple[int, bool]:
        """Copy `src` to `sink` masked, in line-aligned chunks; returns (count, truncated)."""
        count, carry, remaining = 0, b"", limit
        while True:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            block = src.read(want) if want > 0 else b""
            if remaining is not None:
                remaining -= len(block)
            if not block:
                break
            data = carry + block
            cut = data.rfind(b"\n") + 1
            held = data[cut:] if cut else data
            if cut == 0 and len(held) < _CARRY_LIMIT:
                carry = held
                continue
            data = data[:cut] if cut else data
            carry = held if cut else b""
            begin = data.rfind(b"PRIVATE KEY-----")
            if begin != -1 and b"-----END" not in data[begin:] and len(data) < _CARRY_LIMIT:
                carry = data + carry
                continue
            masked, n = self.mask(data)
            count += n
            sink(masked)
        if carry:
            masked, n = self.mask(carry)
            count += n
            sink(masked)
        truncated = remaining is not None and remaining <= 0 and bool(src.read(1))
        return count, truncated


def _mask(pattern: re.Pattern[bytes], data: bytes) -> tuple[bytes, int]:
    count = 0

    def sub(match: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        start, end = match.span("secret")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + MASK + whole[end - offset :]

    return pattern.sub(sub, data), count
