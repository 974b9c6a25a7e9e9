"""What a terminal would show of a process's output: its text without escape sequences."""

from __future__ import annotations

import re

# NOTE: terminal escape sequences (colours, cursor moves, OSC titles and links) that loggers write.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+].|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences: what a terminal would show, minus the colours."""
    return _ANSI.sub("", text) if "\x1b" in text else text
