"""Find the shipped data folders (`rules/`, `templates/`) in a wheel and in an editable checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from evidence_kit.errors import EvidenceError

if TYPE_CHECKING:
    # NOTE: importlib.resources.abc exists from 3.11; the older name is importlib.abc.
    from importlib.abc import Traversable

KINDS = ("rules", "templates")


def shipped(kind: str) -> Traversable:
    """The folder of shipped `kind` data: in the package when installed, at the top of a checkout."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of shipped data: {kind}")
    packaged = resources.files("evidence_kit").joinpath(kind)
    if packaged.is_dir():
        return packaged
    # NOTE: an editable install maps the package to the checkout, where the data sits beside it.
    checkout = Path(str(resources.files("evidence_kit"))).parent / kind
    if checkout.is_dir():
        return checkout
    raise EvidenceError(
        f"the shipped {kind}/ folder is missing from this installation",
        hint="reinstall evidence-kit (`pip install --force-reinstall evidence-kit`)",
    )
