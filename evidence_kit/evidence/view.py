"""An opened bundle as the readers see it: its manifest and its artifacts by their path below `data/`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from evidence_kit.bundle.digest import file_sha256

PAYLOAD = "data"
# NOTE: artifacts larger than this are compared by digest only; no reader needs to parse them.
MAX_PARSE = 256 * 1024 * 1024
# NOTE: the manifest's `schema_version` is the one place that says which layout a reader must expect.
LAYOUTS = ("1",)

# The elements of one member of a document as one view parsed them, by artifact and member: whether
# an array (`[`) or an object (`{`), and each element's text and value (an object's: key and value).
Elements = tuple[str, list[tuple[str, Any]]]
Shared = dict[tuple[str, str], Elements]


class BundleView:
    """The artifacts of one bundle (or of one part of a merged bundle), read through its manifest.

    A bundle that verified is trusted: its manifest's digests are used. One read without
    verification is taken as it is on disk: files the manifest lists but that are gone count as
    absent, files it does not list count, and digests are computed from the files.
    """

    def __init__(
        self,
        root: Path,
        manifest: Mapping[str, Any],
        trusted: bool = True,
        prefix: str = "",
        shared: Shared | None = None,
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.trusted = trusted
        self.prefix = prefix
        self._json: dict[str, Any] = {}
        self._shared: Shared = {} if shared is None else shared

    @classmethod
    def open(cls, root: Path, trusted: bool = True) -> BundleView:
        """A view of the bundle folder at `root` (an empty manifest when it has none)."""
        try:
            manifest = json.loads((root / "manifest.json").read_bytes())
        except (OSError, ValueError):
            manifest = {}
        return cls(root, manifest if isinstance(manifest, dict) else {}, trusted)

    @property
    def layout(self) -> str:
        """The manifest's schema version: which artifact layout the readers expect."""
        return str(self.manifest.get("schema_version") or LAYOUTS[0])

    @cached_property
    def records(self) -> dict[str, Mapping[str, Any]]:
        """Manifest record of each artifact, by its path below `data/` (and below the part's prefix)."""
        lead = f"{PAYLOAD}/{self.prefix}"
        listed: dict[str, Mapping[str, Any]] = {}
        artifacts = self.manifest.get("artifacts")
        for rec in artifacts if isinstance(artifacts, list) else []:
            path = rec.get("path") if isinstance(rec, dict) else None
            if isinstance(path, str) and path.startswith(lead):
                listed[path.removeprefix(lead)] = rec
        if self.trusted:
            return listed
        data = self.root / PAYLOAD / self.prefix if self.prefix else self.root / PAYLOAD
        found: dict[str, Mapping[str, Any]] = {}
        if data.is_dir():
            for path in sorted(data.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(data).as_posix()
                    found[rel] = listed.get(rel, {})
        return found

    def file(self, rel: str) -> Path:
        """Where the artifact `rel` lies on disk."""
        return self.root / PAYLOAD / f"{self.prefix}{rel}"

    def paths(self, folder: str = "") -> list[str]:
        """Sorted artifact paths under `folder` (e.g. `alembic/`), or all of them."""
        return sorted(p for p in self.records if p.startswith(folder))

    def has(self, rel: str) -> bool:
        """True when the bundle holds the artifact."""
        return rel in self.records

    def record(self, rel: str) -> Mapping[str, Any]:
        """The manifest record of an artifact (empty when unlisted)."""
        return self.records.get(rel, {})

    def digest(self, rel: str) -> str | None:
        """The artifact's sha256: the manifest's when trusted, else the file's own."""
        rec = self.records.get(rel)
        if rec is None:
            return None
        if self.trusted and isinstance(rec.get("sha256"), str):
            return str(rec["sha256"])
        return file_sha256(self.file(rel))[0]

    def bytes(self, rel: str, cap: int = MAX_PARSE) -> bytes | None:
        """The artifact's bytes, None when absent or larger than `cap`."""
        if rel not in self.records:
            return None
        path = self.file(rel)
        try:
            if path.stat().st_size > cap:
                return None
            return path.read_bytes()
        except OSError:
            return None

    def text(self, rel: str) -> str | None:
        """The artifact as text, None when absent."""
        data = self.bytes(rel)
        return None if data is None else data.decode("utf-8", errors="replace")

    def json(self, rel: str, split: str | None = None) -> Any:
        """The artifact parsed as JSON, None when absent or not JSON.

        `split` names a top-level array or object whose elements (members) are parsed one by one:
        one with the very text of one that another view (sharing `shared`) parsed is that view's
        value, the same object. Differs then know it unchanged by identity; nothing may modify it.
        """
        if rel not in self._json:
            data = self.bytes(rel)
            value: Any = None
            if data is not None and split is not None:
                seen = self._shared.get((rel, split))
                found = _load_split(data, split, seen)
                if found is not None:
                    value, elements = found
                    if seen is None:
                        self._shared[(rel, split)] = elements
            if value is None and data is not None:
                try:
                    value = json.loads(data)
                except (ValueError, RecursionError):
                    value = None
            self._json[rel] = value
        return self._json[rel]

    def collector(self, name: str) -> Mapping[str, Any] | None:
        """The manifest's entry for a collector, None when it did not run."""
        entries = self.manifest.get("collectors")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry
        return None

    def why_absent(self, collector: str) -> str:
        """Why the bundle holds no evidence of a collector, as the manifest tells it."""
        entry = self.collector(collector)
        if entry is None:
            return f"the {collector} collector did not run"
        status = entry.get("status")
        error = entry.get("error")
        if error:
            return f"the {collector} collector ended {status}: {error}"
        return f"the {collector} collector ended {status} without this artifact"

    def parts(self) -> list[tuple[str, BundleView]]:
        """The parts of a merged bundle (label, view of the part); empty for a plain bundle."""
        labels = sorted({p.split("/", 1)[0] for p in self.records if p.startswith(PART_PREFIX) and "/" in p})
        return [
            (label.removeprefix(PART_PREFIX), BundleView(self.root, self.manifest, self.trusted, f"{label}/"))
            for label in labels
        ]


PART_PREFIX = "part-"


_WS = re.compile(r"[ \t\n\r]*")
_AFTER = frozenset(" \t\n\r,]}")
_DECODER = json.JSONDecoder()
# NOTE: `_WS` matches at any position (maybe nothing): its match is never None.
_blanks = cast(Callable[[str, int], re.Match[str]], _WS.match)


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after `i` that is not JSON whitespace."""
    match = _WS.match(text, i)
    return match.end() if match else i


def _load_split(data: bytes, member: str, known: Elements | None) -> tuple[dict[str, Any], Elements] | None:
    """`json.loads(data)` for a JSON object, parsing the array or object `member` element by element.

    An element (an object's member) whose text is one of `known` (another parse's elements, in
    their order) is taken from there instead of parsed again. Returns the value and this parse's
    elements (none that hold a NaN, which is not equal to itself); None when the document is not
    a JSON object of that shape, or not valid: json.loads then decides.
    """
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
        i = _skip(text, 0)
        if text[i : i + 1] != "{":
            return None
        i = _skip(text, i + 1)
        value: dict[str, Any] = {}
        elements: Elements = ("[", [])
        more = text[i : i + 1] != "}"
        while more:
            if text[i : i + 1] != '"':
                return None
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i : i + 1] != ":":
                return None
            i = _skip(text, i + 1)
            if key == member and text[i : i + 1] in ("[", "{"):
                kind = text[i]
                # NOTE: an object's elements are members (key and value): never reused in an array.
                value[key], i, found = _elements(text, i, known[1] if known and known[0] == kind else [])
                elements = (kind, found)
            else:
                value[key], i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            more = text[i : i + 1] == ","
            if not more and text[i : i + 1] != "}":
                return None
            if more:
                i = _skip(text, i + 1)
        if _skip(text, i + 1) != len(text):
            return None
    except (ValueError, RecursionError):
        return None
    return value, elements


def _elements(
    text: str, i: int, known: list[tuple[str, Any]]
) -> tuple[list[Any] | dict[str, Any], int, list[tuple[str, Any]]]:
    """The array or object at `text[i]`, its end, and its elements (an object's members, as
    (key, value)) with their texts; raises ValueError where json.loads would."""
    array = text[i] == "["
    close = "]" if array else "}"
    i = _skip(text, i + 1)
    found: list[Any] = []
    elements: list[tuple[str, Any]] = []
    if text.startswith(close, i):
        return (found if array else {}), i + 1, elements
    count = len(known)
    where: dict[str, int] | None = None
    k = 0
    while True:
        piece = ""
        # NOTE: the other parse's element at the same place, or one on when an element was removed,
        # or one back when one was added. What follows must end the value (a number could go on).
        for j in (k, k + 1, k - 1) if count else ():
            if 0 <= j < count and text.startswith(known[j][0], i):
                piece, item = known[j]
                end = i + len(piece)
                if text[end : end + 1] in _AFTER:
                    k = j + 1
                    break
                piece = ""
        if not piece:
            item, end = _element(text, i, array)
            piece = text[i:end]
            if count:
                if where is None:
                    where = {t: n for n, (t, _) in enumerate(known)}
                k = where.get(piece, k) + 1
        found.append(item)
        if "NaN" not in piece:
            elements.append((piece, item))
        i = _blanks(text, end).end()
        if text.startswith(close, i):
            break
        if not text.startswith(",", i):
            raise ValueError(f"expected , or {close}")
        i = _blanks(text, i + 1).end()
    return (found if array else dict(found)), i + 1, elements


def _element(text: str, i: int, array: bool) -> tuple[Any, int]:
    """The element at `text[i]` (an object's member, as (key, value)) and its end."""
    if array:
        return _DECODER.raw_decode(text, i)
    if not text.startswith('"', i):
        raise ValueError("expected a name")
    key, at = _DECODER.raw_decode(text, i)
    at = _blanks(text, at).end()
    if not text.startswith(":", at):
        raise ValueError("expected :")
    value, end = _DECODER.raw_decode(text, _blanks(text, at + 1).end())
    return (key, value), end


def below(folder: str, name: str) -> str:
    """The path below `data/` of the artifact `name` of a collector's `folder`."""
    return f"{folder}/{name}"


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
