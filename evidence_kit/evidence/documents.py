"""Evidence kinds whose artifacts are named documents: http captures, sql queries, queue health,
CI workflows, code facts, environment facts and copied files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evidence_kit.evidence.view import BundleView

META = ".meta.json"
SERVER_LOG = "server.log"


@dataclass(frozen=True)
class Document:
    """One artifact of a kind: its name (the artifact's stem), path below `data/` and parsed JSON."""

    name: str
    path: str
    data: Any


@dataclass(frozen=True)
class Documents:
    """The artifacts of one collector's folder, grouped by name."""

    folder: str
    documents: tuple[Document, ...]
    paths: tuple[str, ...]

    @property
    def present(self) -> bool:
        """True when the bundle holds this kind of evidence."""
        return bool(self.paths)

    def get(self, name: str) -> Any:
        """The parsed JSON of the document `name`, None when absent."""
        return next((d.data for d in self.documents if d.name == name), None)


def read_folder(view: BundleView, folder: str, exclude_suffix: str = META) -> Documents:
    """The JSON documents of a collector's folder (not its `.meta.json` side files), and every path."""
    paths = view.paths(f"{folder}/")
    docs = []
    for rel in paths:
        if rel.endswith(".json") and not rel.endswith(exclude_suffix):
            docs.append(Document(rel.removeprefix(f"{folder}/").removesuffix(".json"), rel, view.json(rel)))
    return Documents(folder, tuple(docs), tuple(paths))
