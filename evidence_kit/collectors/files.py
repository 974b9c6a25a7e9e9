"""Named globs (worker logs, templates, docs) copied into the bundle, streamed, with a cap."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output

NAME = "files"
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
                        "description": "Glob(s) relative to evidence.yaml; `**` recurses.",
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
    """Files under `root` matching any pattern, sorted, never outside `root`."""
    base = root.resolve()
    found: set[Path] = set()
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise CollectorError(f"glob {pattern!r} leaves the service folder", hint="use a relative glob")
        for path in base.glob(pattern):
            if path.is_file() and path.resolve().is_relative_to(base):
                found.add(path)
    return sorted(found)


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Copy each set's files as artifacts `<set>/<relative path>`."""
    outputs: list[Output] = []
    for spec in options.get("sets", []):
        patterns = [spec["glob"]] if isinstance(spec["glob"], str) else list(spec["glob"])
        cap = int(spec.get("max_bytes", DEFAULT_CAP))
        title = spec.get("title", spec["name"])
        paths = matches(ctx.root, patterns)
        if not paths and spec.get("required", True):
            outputs.append(
                Output(
                    f"{spec['name']}.error.txt",
                    title,
                    status="error",
                    data=f"no file matches {', '.join(patterns)}\n".encode(),
                    message=f"no file matches {', '.join(patterns)} under {ctx.root}",
                )
            )
        for path in paths:
            rel = path.relative_to(ctx.root.resolve()).as_posix()
            outputs.append(
                Output(
                    f"{spec['name']}/{rel}",
                    f"{title}: {rel}",
                    media_type=media_type(path),
                    source=path,
                    limit=cap,
                )
            )
    return outputs
