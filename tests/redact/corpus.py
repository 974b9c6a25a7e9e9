"""The secret and look-alike corpora (YAML beside this module), with every secret filled in at run time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from evidence_kit.redact.rules import fill

HERE = Path(__file__).parent
WINDOW = 8
# NOTE: shorter random parts (a 3-letter prefix) only ever appear inside a longer secret checked whole.
SHORTEST = 6


@dataclass(frozen=True)
class Planted:
    """One secret shape written into one context: the text and every random part of it."""

    shape: str
    file: str
    text: str
    secrets: tuple[str, ...]


@cache
def _data(name: str) -> Any:
    return yaml.safe_load((HERE / name).read_text("utf-8"))


def shapes() -> list[dict[str, Any]]:
    """The shapes of the secret corpus, as written."""
    shapes_: list[dict[str, Any]] = _data("secrets.yaml")["shapes"]
    return shapes_


def planted() -> list[Planted]:
    """Every shape in every one of its contexts, filled in (the same fill on every run)."""
    data = _data("secrets.yaml")
    out: list[Planted] = []
    for shape in data["shapes"]:
        if "lines" in shape:
            templates = [(line["file"], line["line"]) for line in shape["lines"]]
        else:
            key = shape.get("key")
            contexts = data["named"] if key else data["bare"]
            templates = [
                (
                    contexts[c]["file"],
                    contexts[c]["line"].replace("{key}", key or "").replace("{lower}", (key or "").lower()),
                )
                for c in shape["in"]
            ]
        for i, (file, template) in enumerate(templates):
            value, value_fills = fill(shape["value"], f"{shape['name']}/{i}/value")
            text, line_fills = fill(template.replace("{secret}", value), f"{shape['name']}/{i}/line")
            out.append(Planted(shape["name"], file, text, tuple(value_fills + line_fills)))
    return out


def lookalikes() -> list[tuple[str, str]]:
    """(file, line) of every innocent line."""
    data: dict[str, list[str]] = _data("lookalikes.yaml")
    return [(file, line) for file, lines in data.items() for line in lines]


def files(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """File name -> content, lines in the order given."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for file, text in items:
        grouped[file].append(text)
    return {file: "\n".join(lines) + "\n" for file, lines in grouped.items()}


def write(root: Path, contents: dict[str, str]) -> None:
    """Write every file under `root`."""
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")


def windows(secret: str) -> set[bytes]:
    """Every run of WINDOW characters of a secret (the whole secret when shorter)."""
    data = secret.encode()
    if len(data) <= WINDOW:
        return {data}
    return {data[i : i + WINDOW] for i in range(len(data) - WINDOW + 1)}


def grams(blobs: Iterable[bytes]) -> set[bytes]:
    """Every run of WINDOW bytes in the blobs, and every short blob whole."""
    out: set[bytes] = set()
    for blob in blobs:
        out.update(blob[i : i + WINDOW] for i in range(max(1, len(blob) - WINDOW + 1)))
    return out


def leaks(items: Iterable[Planted], blobs: Iterable[bytes]) -> list[str]:
    """The shapes (and contexts) of which any WINDOW-long part of a secret is in the blobs."""
    blobs = list(blobs)
    present = grams(blobs)
    joined = b"\n".join(blobs)
    found = []
    for item in items:
        for secret in item.secrets:
            if len(secret) < SHORTEST:
                continue
            hit = (
                any(w in present for w in windows(secret))
                if len(secret) >= WINDOW
                else secret.encode() in joined
            )
            if hit:
                found.append(f"{item.shape} in {item.file}: {item.text[:120]!r}")
                break
    return found


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (a bundle, say), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
