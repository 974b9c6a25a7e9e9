"""The one error type the core raises, with a hint that says what to do next, and the exit codes.

Exit codes of the `evidence` commands (the README's table):

- `EXIT_OK` (0): success;
- `EXIT_FAIL` (1): the command ran and found something wanting: a bundle that does not verify, findings
  or changes at or above `--fail-on`, `collect --strict` with a collector not ok, a GitHub file that
  cannot be written;
- `EXIT_USAGE` (2): usage or configuration error (bad option value, invalid config or rule pack, a path
  that cannot be used); nothing was written;
- `EXIT_INTERRUPTED` (130): Ctrl-C or SIGTERM.

Commands return their code, or raise EvidenceError; the one handler at the CLI edge prints the error and
exits with its `exit_code`. An error that names none exits `EXIT_USAGE`: the core raises errors without
knowing which command it serves, and each command gives `EXIT_FAIL` to the errors that mean "checked and
found wanting" (`evidence_kit.commands.exiting`), where they are raised or where it calls the core.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class EvidenceError(Exception):
    """A problem the user can fix; `hint` says how, `details` lists every problem found.

    `exit_code` is the code the command ends with; None leaves it to the command (else `EXIT_USAGE`).
    """

    def __init__(
        self, message: str, hint: str = "", details: list[str] | None = None, exit_code: int | None = None
    ) -> None:
        # NOTE: messages quote config lines, URLs and command output; whatever prints them, no secret shows.
        from evidence_kit.redact.scrub import scrub

        message, hint = scrub(message), scrub(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = [scrub(d) for d in details or []]
        self.exit_code = exit_code

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {d}" for d in self.details]
        if self.hint:
            lines.append(f"Tip: {self.hint}")
        return "\n".join(lines)


class CollectorError(EvidenceError):
    """A collector could not gather its evidence; recorded in the manifest, others go on."""
