"""The checks, by id. Each module has ID, NAME, TARGET, DEFAULT_SEVERITY, OPTIONS_SCHEMA and run()."""

from __future__ import annotations

from typing import Any, Protocol

from evidence_kit.checks import (
    gate_bundle_verifies,
    gate_ci_uploads_bundle,
    gate_clean_tree,
    gate_collectors_ok,
    gate_migrations_applied,
    gate_no_create_all,
    gate_required_artifacts,
    gate_skip_locked,
    gate_tests_passed,
    migration_downgrade,
    migration_empty_upgrade,
    migration_graph,
    migration_heads,
    migration_placeholder,
    vocabulary,
)


class Check(Protocol):
    """A check module; its docstring is its documentation (summary, Bad:, Good:)."""

    @property
    def ID(self) -> str: ...
    @property
    def NAME(self) -> str: ...
    @property
    def TARGET(self) -> str: ...
    @property
    def DEFAULT_SEVERITY(self) -> Any: ...
    @property
    def OPTIONS_SCHEMA(self) -> dict[str, Any]: ...

    def run(self, target: Any, rule: Any) -> Any: ...


CHECKS: dict[str, Check] = {
    "EK101": vocabulary,
    "EK201": migration_downgrade,
    "EK202": migration_heads,
    "EK203": migration_placeholder,
    "EK204": migration_graph,
    "EK205": migration_empty_upgrade,
    "EK301": gate_clean_tree,
    "EK302": gate_migrations_applied,
    "EK303": gate_tests_passed,
    "EK304": gate_required_artifacts,
    "EK305": gate_collectors_ok,
    "EK306": gate_ci_uploads_bundle,
    "EK307": gate_no_create_all,
    "EK308": gate_skip_locked,
    "EK309": gate_bundle_verifies,
}
