"""What checks look at (a source tree and/or a bundle) and the finding of missing evidence."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence.view import BundleView
from evidence_kit.model import Finding
from evidence_kit.policy.packs import Rule

if TYPE_CHECKING:
    from evidence_kit.config import Config

_VENDORED = ("node_modules", ".venv", "venv", "site-packages", "vendor", ".git", "__pycache__", ".evidence")


class Skipped(Exception):
    """Raised by a check that had nothing to read: its outcome is `skipped` with this reason, never a pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class Target:
    """What the checks look at: a source tree, an (unpacked) bundle, or both.

    `configs` are the service's `evidence.yaml` files that apply (given with `--config`, or found
    below the source tree): the source checks read the Alembic configurations they list.
    """

    root: Path | None = None
    bundle: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    configs: tuple[Config, ...] = ()

    def files(self, rule: Rule, default: tuple[str, ...]) -> list[Path]:
        """Files of the source tree in the rule's scope (its include globs, else `default`)."""
        if self.root is None:
            return []
        include = rule.include or default
        found: set[Path] = set()
        for pattern in include:
            for path in self.root.glob(pattern):
                rel = path.relative_to(self.root)
                if path.is_file() and not any(part in _VENDORED for part in rel.parts[:-1]):
                    found.add(path)
        return sorted(p for p in found if not _excluded(self.rel(p), rule.exclude))

    def rel(self, path: Path) -> str:
        """A path as findings show it: relative to the source tree."""
        assert self.root is not None
        return path.relative_to(self.root).as_posix()

    @cached_property
    def view(self) -> BundleView:
        """The bundle as the evidence readers see it (an empty view when there is no bundle)."""
        if self.bundle is None:
            return BundleView(Path("."), {})
        return BundleView(self.bundle, self.manifest)

    def artifact(self, name: str) -> Path | None:
        """A bundle artifact by `<collector>/<name>`, when the bundle has it."""
        if self.bundle is None:
            return None
        path = self.bundle / "data" / name
        return path if path.is_file() else None

    def json(self, name: str) -> Any:
        """A JSON artifact, parsed; None when absent."""
        path = self.artifact(name)
        return None if path is None else json.loads(path.read_bytes())


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(
        fnmatch.fnmatch(rel, p) or rel.startswith(p.rstrip("*").rstrip("/") + "/") for p in patterns if p
    )


def missing(check: str, artifact: str, collector: str, manifest: dict[str, Any]) -> Finding:
    """The finding of a gate whose evidence is not in the bundle: never a pass by default. The manifest
    says whether the collector ran (and how it ended) or not at all."""
    ran = next(
        (c for c in manifest.get("collectors") or [] if isinstance(c, dict) and c.get("name") == collector),
        None,
    )
    config = manifest.get("config")
    left_out = config.get("left_out") if isinstance(config, dict) else None
    if ran is None and isinstance(left_out, list):
        # NOTE: a bundle that records what --only/--skip left out tells the two causes apart.
        why = (
            f"the `{collector}` collector is configured but this collect left it out (`--skip {collector}`, "
            f"or `--only` without it): collect without leaving it out"
            if collector in left_out
            else f"the `{collector}` collector is not configured: add it to evidence.yaml"
        )
    elif ran is None:
        why = (
            f"the `{collector}` collector did not run: configure it in evidence.yaml, or collect without "
            f"leaving it out (`--skip {collector}`, or `--only` without it)"
        )
    else:
        error = " ".join(str(ran.get("error") or "").split())
        said = f": {error[:_SAID] + '...' if len(error) > _SAID else error}" if error else ""
        why = f"the `{collector}` collector ran ({ran.get('status')}{said}) but did not write it"
    return Finding(
        check, f"no evidence: data/{artifact} is not in the bundle ({why})", path=f"data/{artifact}"
    )


# NOTE: how much of a collector's error a finding repeats; the report and the manifest hold it whole.
_SAID = 200
