"""The one error type the core raises, with a hint that says what to do next."""

from __future__ import annotations


class EvidenceError(Exception):
    """A problem the user can fix; `hint` says how, `details` lists every problem found."""

    def __init__(self, message: str, hint: str = "", details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details or [])

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {d}" for d in self.details]
        if self.hint:
            lines.append(f"Tip: {self.hint}")
        return "\n".join(lines)


class CollectorError(EvidenceError):
    """A collector could not gather its evidence; recorded in the manifest, others go on."""
