"""Write text files whole, secrets masked: each to a temporary file beside it, then renamed into place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from evidence_kit.errors import EvidenceError


def write_pages(out: Path, pages: Mapping[str, str], what: str = "the files") -> tuple[Path, ...]:
    """Write `pages` (file name -> text) into `out`, secrets masked; nothing is left half-written."""
    from evidence_kit.redact.scrub import scrub

    temps: list[tuple[str, Path]] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            temp = out / f".{name}.{secrets.token_hex(6)}.partial"
            # NOTE: os.open, unlike mkstemp, leaves the mode to the umask: reports are for others to read.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temps.append((name, temp))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(scrub(text))
        for name, temp in temps:
            os.replace(temp, out / name)
    except OSError as exc:
        raise EvidenceError(
            f"cannot write {what} into {out}: {exc.strerror or exc}", hint="choose a folder you may write to"
        ) from exc
    finally:
        for _, temp in temps:
            temp.unlink(missing_ok=True)
    return tuple(out / name for name in pages)
