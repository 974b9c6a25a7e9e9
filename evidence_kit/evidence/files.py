"""Files evidence: each file a glob matched, below `files/<set>/`."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_kit.evidence.view import BundleView

FOLDER = "files"


@dataclass(frozen=True)
class FilesEvidence:
    """The copied files, by set."""

    sets: dict[str, tuple[str, ...]]

    @property
    def present(self) -> bool:
        """True when the bundle holds copied files."""
        return bool(self.sets)


def read(view: BundleView) -> FilesEvidence:
    """The copied files of a bundle, grouped by their set."""
    sets: dict[str, list[str]] = {}
    for rel in view.paths(f"{FOLDER}/"):
        name = rel.removeprefix(f"{FOLDER}/").split("/", 1)[0]
        sets.setdefault(name, []).append(rel)
    return FilesEvidence({k: tuple(v) for k, v in sets.items()})
