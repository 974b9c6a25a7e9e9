"""Named globs (worker logs, templates, docs) copied into the bundle, streamed, with a cap."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidence_kit.model import Context, Intent, Output
from evidence_kit.support import paths

NAME = "files"
# NOTE: the option whose entries each name their own artifacts: two of one name would overwrite each other.
NAMED = "sets"
DEFAULT_CAP = 100 * 1024 * 1024

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sets"],
    "properties": {
        "sets": {
            "type": "array",
            "description": "Named groups of files to copy.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "glob"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                        "description": "Folder name inside the bundle.",
                    },
                    "title": {"type": "string", "description": "What these files show."},
                    "glob": {
                        "description": "Glob(s) relative to evidence.yaml; `**` recurses. A glob may "
                        "reach up inside the repository (`../logs/*.log`); such files are stored under "
                        "their path from the repository top.",
                        "oneOf": [
                            {"type": "string"},
                            {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        ],
                    },
                    "max_bytes": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Cap per file (default 100 MiB).",
                    },
                    "required": {
                        "type": "boolean",
                        "description": "An empty match is an error (default true).",
                    },
                },
            },
        }
    },
}


def media_type(path: Path) -> str:
    """A media type from the file name; text/plain for logs and unknown text."""
    guessed, _ = mimetypes.guess_type(path.name)
    if path.suffix in (".log", ".txt", ".out", ""):
        return "text/plain"
    if path.suffix == ".py":
        return "text/x-python"
    return guessed or "application/octet-stream"


def matches(root: Path, patterns: list[str]) -> list[Path]:
    """Files matching any pattern (relative to `root`, may reach up inside the repository), sorted."""
    found: set[Path] = set()
    for pattern in patterns:
        found.update(paths.glob(root, pattern, "glob"))
    return sorted(found)


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Copy each set's files as artifacts `<set>/<relative path>`."""
    outputs: list[Output] = []
    for spec in options.get("sets", []):
        patterns = [spec["glob"]] if isinstance(spec["glob"], str) else list(spec["glob"])
        cap = int(spec.get("max_bytes", DEFAULT_CAP))
        title = spec.get("title", spec["name"])
        found = matches(ctx.root, patterns)
        if not found and spec.get("required", True):
            outputs.append(
                Output(
                    f"{spec['name']}.error.txt",
                    title,
                    status="error",
                    data=f"no file matches {', '.join(patterns)}\n".encode(),
                    message=f"no file matches {', '.join(patterns)} under {ctx.root}",
                )
            )
        for path in found:
            outputs.append(
                Output(
                    f"{spec['name']}/{paths.stored(ctx.root, path)}",
                    f"{title}: {paths.shown(ctx.root, path)}",
                    media_type=media_type(path),
                    source=path,
                    limit=cap,
                )
            )
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: each set's globs."""
    reads = []
    for spec in options.get("sets", []):
        globs = [spec["glob"]] if isinstance(spec["glob"], str) else list(spec["glob"])
        reads.append(f"{spec['name']}: files matching {', '.join(globs)}")
    return Intent(reads=tuple(reads))
