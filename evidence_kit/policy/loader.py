"""Rule packs: load by name or path, validate against the schema and the checks, follow `extends`, merge."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evidence_kit.config import problems
from evidence_kit.errors import EvidenceError
from evidence_kit.policy.packs import Policy, Rule, Waiver
from evidence_kit.support.resources import shipped


@cache
def pack_schema() -> dict[str, Any]:
    """The JSON Schema of a rule pack."""
    text = resources.files("evidence_kit.policy").joinpath("rules.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def shipped_packs() -> list[str]:
    """Names of the packs that ship in `rules/`."""
    return sorted(
        p.name.removesuffix(".yaml") for p in shipped("rules").iterdir() if p.name.endswith(".yaml")
    )


def _locate(ref: str, base: Path | None) -> tuple[str, str]:
    """(label, text) of a pack named by shipped name or by path."""
    as_path = Path(ref) if base is None or Path(ref).is_absolute() else base / ref
    if as_path.suffix in (".yaml", ".yml") or "/" in ref:
        if not as_path.is_file():
            raise EvidenceError(
                f"rule pack {as_path} not found", hint="check the path given to --rules or extends"
            )
        return str(as_path), as_path.read_text("utf-8")
    entry = shipped("rules").joinpath(f"{ref}.yaml")
    if not entry.is_file():
        raise EvidenceError(
            f"no shipped rule pack named {ref!r}",
            hint=f"use one of: {', '.join(shipped_packs())}, or a path to a .yaml file",
        )
    return f"rules/{ref}.yaml", entry.read_text("utf-8")


def _parse(label: str, text: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise EvidenceError(
            f"{label}: not valid YAML at {where}", hint="fix the YAML syntax at that line"
        ) from exc
    if not isinstance(data, dict):
        raise EvidenceError(f"{label}: a rule pack must be a mapping", hint="start with `checks:`")
    for waiver in data.get("waivers") or []:
        # NOTE: YAML reads an unquoted 2026-12-31 as a date; the schema checks the text form.
        if isinstance(waiver, dict) and isinstance(waiver.get("expires"), date):
            waiver["expires"] = waiver["expires"].isoformat()
    return data


def _check_pack(label: str, data: dict[str, Any]) -> list[str]:
    from evidence_kit.checks import CHECKS

    found = problems(pack_schema(), data, label)
    for check_id, settings in (data.get("checks") or {}).items():
        if check_id not in CHECKS:
            found.append(
                f"{label}: checks.{check_id}: no such check — fix: use one of {', '.join(sorted(CHECKS))}"
            )
            continue
        if isinstance(settings, dict) and isinstance(settings.get("options"), dict):
            schema = dict(CHECKS[check_id].OPTIONS_SCHEMA)
            found += [
                p.replace(f"{label}: ", f"{label}: checks.{check_id}.options.", 1).replace(".(top level)", "")
                for p in problems(schema, settings["options"], label)
            ]
    return found


def load(refs: Sequence[str], base: Path | None = None) -> Policy:
    """Load packs by shipped name or path, with everything they extend; every problem at once."""
    merged: dict[str, dict[str, Any]] = {}
    waivers: list[Waiver] = []
    errors: list[str] = []
    labels: list[str] = []

    def visit(ref: str, where: Path | None, trail: tuple[str, ...]) -> None:
        label, text = _locate(ref, where)
        if label in trail:
            errors.append(f"{label}: extends itself through {' -> '.join(trail)}")
            return
        data = _parse(label, text)
        found = _check_pack(label, data)
        if found:
            errors.extend(found)
            return
        parents = data.get("extends") or []
        for parent in [parents] if isinstance(parents, str) else parents:
            visit(parent, Path(label).parent if Path(label).is_file() else None, (*trail, label))
        labels.append(label)
        for check_id, settings in (data.get("checks") or {}).items():
            current = merged.setdefault(check_id, {})
            for key, value in settings.items():
                current[key] = {**current.get(key, {}), **value} if key == "options" else value
        for w in data.get("waivers") or []:
            waivers.append(
                Waiver(
                    check=w["check"],
                    owner=w["owner"],
                    reason=w["reason"],
                    expires=date.fromisoformat(w["expires"]),
                    source=label,
                    path=w.get("path"),
                    fingerprint=w.get("fingerprint"),
                )
            )

    for ref in refs:
        visit(ref, base, ())
    if errors:
        raise EvidenceError(
            f"rule packs have {len(errors)} problem{'s' if len(errors) > 1 else ''}",
            hint="fix each entry listed above; the rule table is in the README",
            details=errors,
        )
    from evidence_kit.checks import CHECKS

    rules = tuple(
        Rule(
            check=check_id,
            severity=settings.get("severity", CHECKS[check_id].DEFAULT_SEVERITY),
            options=settings.get("options", {}),
            include=tuple(settings.get("include", ())),
            exclude=tuple(settings.get("exclude", ())),
        )
        for check_id, settings in sorted(merged.items())
        if settings.get("enabled", True)
    )
    return Policy(packs=tuple(dict.fromkeys(labels)), rules=rules, waivers=tuple(waivers))
