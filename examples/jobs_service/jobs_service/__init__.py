"""Company research runs backed by a durable job queue in a relational database."""

from __future__ import annotations

__version__ = "0.4.0"
