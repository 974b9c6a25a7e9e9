"""GitHub Actions step outputs (`$GITHUB_OUTPUT`) and the job summary (`$GITHUB_STEP_SUMMARY`)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from evidence_kit.errors import EvidenceError

# NOTE: GitHub refuses a step summary over 1 MiB and then shows none of it; stay strictly below.
SUMMARY_LIMIT = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _target(variable: str, env: Mapping[str, str]) -> Path | None:
    value = env.get(variable, "")
    return Path(value) if value else None


def _append(path: Path, data: bytes, variable: str) -> None:
    try:
        with path.open("ab") as handle:
            handle.write(data)
    except OSError as exc:
        raise EvidenceError(
            f"cannot append to ${variable} ({path}): {exc.strerror or exc}",
            hint=f"run inside a GitHub Actions step, or unset {variable}",
        ) from exc


def format_outputs(values: Mapping[str, str]) -> str:
    """`name=value` lines; a value with a line break uses the `name<<DELIMITER` form."""
    lines = []
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"not a valid step output name: {name!r}")
        if "\n" in value or "\r" in value:
            delimiter = f"EOF_{uuid.uuid4().hex}"
            while delimiter in value:
                delimiter = f"EOF_{uuid.uuid4().hex}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def write_outputs(values: Mapping[str, str], env: Mapping[str, str] = os.environ) -> bool:
    """Append step outputs to the file named by `$GITHUB_OUTPUT`; False (nothing done) when it is unset."""
    path = _target("GITHUB_OUTPUT", env)
    if path is None:
        return False
    _append(path, format_outputs(values).encode("utf-8"), "GITHUB_OUTPUT")
    return True


def _truncated(data: bytes, room: int) -> bytes:
    """At most `room` bytes of `data`, cut at a line end when one is near, never inside a character."""
    if len(data) <= room:
        return data
    head = data[:room]
    line_end = head.rfind(b"\n")
    if line_end >= room // 2:
        head = head[: line_end + 1]
    return head.decode("utf-8", errors="ignore").encode("utf-8")


def append_summary(markdown: str, env: Mapping[str, str] = os.environ) -> bool:
    """Append Markdown to `$GITHUB_STEP_SUMMARY`, cut with a note to stay under GitHub's 1 MiB limit."""
    path = _target("GITHUB_STEP_SUMMARY", env)
    if path is None:
        return False
    data = markdown.encode("utf-8")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    room = SUMMARY_LIMIT - 1 - used
    if len(data) > room:
        note = (
            f"\n> **Note:** this summary was cut to stay under GitHub's 1 MiB step-summary limit; "
            f"{{left}} of {len(data)} bytes were left out. The full report is in the evidence bundle.\n"
        )
        # NOTE: the note's own length depends on the count it prints; reserve room for the widest count.
        reserve = len(note.format(left=len(data)).encode("utf-8"))
        kept = _truncated(data, max(room - reserve, 0))
        data = kept + note.format(left=len(data) - len(kept)).encode("utf-8")
        if len(data) > room:
            data = _truncated(data, max(room, 0))
    if data:
        _append(path, data, "GITHUB_STEP_SUMMARY")
    return True
