"""Command evidence: each proof or worker run with its output, command line, exit code and status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evidence_kit.evidence.view import BundleView, items

FOLDER = "command"
STDOUT = ".stdout.txt"
STDERR = ".stderr.txt"
ERROR = ".error.txt"
SUFFIXES = (STDOUT, STDERR, ERROR)
NOT_OK = ("failed", "error", "timeout")


def path(name: str, suffix: str) -> str:
    """An artifact of the run `name`, by its path below `data/`."""
    return f"{FOLDER}/{name}{suffix}"


@dataclass(frozen=True)
class Run:
    """One command run, as the manifest records it."""

    name: str
    argv: tuple[str, ...]
    exit_code: int | None
    status: str
    message: str | None
    artifacts: tuple[str, ...]

    @property
    def command_line(self) -> str:
        """The command line, masked as recorded."""
        return " ".join(self.argv)

    @property
    def ok(self) -> bool:
        """True when the run met its expectation."""
        return self.status not in NOT_OK

    def record(self, view: BundleView) -> dict[str, Any]:
        """The manifest record of the run's first artifact."""
        return dict(view.record(self.artifacts[0])) if self.artifacts else {}


@dataclass(frozen=True)
class CommandEvidence:
    """Every command run of a bundle, in the order of their names."""

    runs: tuple[Run, ...]

    @property
    def present(self) -> bool:
        """True when the bundle holds command runs."""
        return bool(self.runs)


def name_of(rel: str) -> str:
    """The run an artifact belongs to (`command/proof.stdout.txt` -> `proof`)."""
    name = rel.removeprefix(f"{FOLDER}/")
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def read(view: BundleView, folder: str = FOLDER) -> CommandEvidence:
    """The command runs of a bundle (or of another collector's folder with the same layout)."""
    grouped: dict[str, list[str]] = {}
    for rel in view.paths(f"{folder}/"):
        grouped.setdefault(name_of(rel.replace(f"{folder}/", f"{FOLDER}/", 1)), []).append(rel)
    runs = []
    for name, paths in sorted(grouped.items()):
        rec = view.record(paths[0])
        code = rec.get("exit_code")
        statuses = [str(view.record(p).get("status") or "ok") for p in paths]
        status = next((s for s in ("timeout", "error", "failed") if s in statuses), statuses[0])
        messages = [view.record(p).get("message") for p in paths]
        runs.append(
            Run(
                name=name,
                argv=tuple(str(a) for a in items(rec.get("argv"))),
                exit_code=int(code) if isinstance(code, int) else None,
                status=status,
                message=next((str(m) for m in messages if m), None),
                artifacts=tuple(paths),
            )
        )
    return CommandEvidence(tuple(runs))
