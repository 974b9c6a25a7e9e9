"""The config reference in Markdown, made from the JSON Schemas so the README cannot drift."""

from __future__ import annotations

import json
from typing import Any


def _type(prop: dict[str, Any]) -> str:
    if "oneOf" in prop:
        return " or ".join(_type(p) for p in prop["oneOf"])
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    return str(kind)


def _rows(props: dict[str, Any], prefix: str, required: list[str], objects: bool = False) -> list[str]:
    rows = []
    for name, prop in props.items():
        desc = prop.get("description", "").replace("|", "\\|")
        if "default" in prop:
            desc = desc or f"Default {json.dumps(prop['default'])}."
        star = " (required)" if name in required else ""
        rows.append(f"| `{prefix}{name}` | {_type(prop)} | {desc}{star} |")
        items = prop.get("items", {})
        if isinstance(items, dict) and items.get("properties"):
            rows += _rows(items["properties"], f"{prefix}{name}[].", items.get("required", []))
        if objects and prop.get("properties"):
            rows += _rows(prop["properties"], f"{prefix}{name}.", prop.get("required", []), objects)
    return rows


def markdown() -> str:
    """Tables of every top-level key and every collector option, with types and descriptions."""
    from evidence_kit.collectors import COLLECTORS
    from evidence_kit.config import after_option, schema

    top = schema()
    lines = ["| key | type | meaning |", "|---|---|---|"]
    for name, prop in top["properties"].items():
        lines.append(
            f"| `{name}` | {_type(prop) if name != 'collectors' else 'mapping'} | "
            f"{prop.get('description', '')}{' (required)' if name in top['required'] else ''} |"
        )
        if prop.get("properties") and name != "collectors":
            lines += _rows(prop["properties"], f"{name}.", prop.get("required", []), objects=True)
        if name == "collectors":
            lines += _rows({"<name>.after": after_option()}, "collectors.", [])
    for name, module in COLLECTORS.items():
        doc = (module.__doc__ or "").strip().splitlines()[0]
        lines += [
            "",
            f"#### `collectors.{name}`",
            "",
            doc,
            "",
            "| option | type | meaning |",
            "|---|---|---|",
        ]
        options = module.OPTIONS_SCHEMA
        lines += _rows(dict(options.get("properties", {})), "", list(options.get("required", [])))
    return "\n".join(lines) + "\n"


def rules_markdown() -> str:
    """The rule table: every check's id, name, default severity, target and summary, from its docstring."""
    from evidence_kit.checks import CHECKS
    from evidence_kit.policy.engine import ENGINE_CHECKS

    lines = ["| id | name | default | looks at | what it enforces |", "|---|---|---|---|---|"]
    for check_id, module in sorted(CHECKS.items()):
        doc = (module.__doc__ or "").strip().splitlines()
        summary = doc[0].split(":", 1)[1].strip() if doc and ":" in doc[0] else ""
        default, target = module.DEFAULT_SEVERITY, module.TARGET
        lines.append(f"| {check_id} | `{module.NAME}` | {default} | {target} | {summary} |")
    for check_id, check in ENGINE_CHECKS.items():
        lines.append(f"| {check_id} | `{check.name}` | error | rule packs | {check.text} |")
    return "\n".join(lines) + "\n"


def redaction_markdown() -> str:
    """The redaction rule table, from rules.yaml: every rule, what it masks and the keywords it waits for."""
    from evidence_kit.redact.rules import builtin

    lines = ["| rule | family | masks | keywords |", "|---|---|---|---|"]
    for rule in builtin().rules:
        keywords = ", ".join(f"`{k.decode()}`" for k in rule.keywords)
        case = " (case-sensitive)" if rule.case_sensitive else ""
        description = rule.description.replace("|", "\\|")
        lines.append(f"| `{rule.name}` | {rule.family} | {description} | {keywords}{case} |")
    return "\n".join(lines) + "\n"


def secret_names_markdown() -> str:
    """Which names are secret, from rules.yaml: words, suffixes, pairs and the qualifiers that undo them."""
    from evidence_kit.redact.rules import builtin

    names = builtin().names

    def listed(items: Any) -> str:
        return ", ".join(f"`{i}`" for i in sorted(items))

    pairs = sorted(" ".join(p) for p in names.pairs)
    profiles = "; ".join(f"{k}: {listed(v)}" for k, v in sorted(names.profiles.items()))
    return (
        f"- **Secret parts:** {listed(names.words)}.\n"
        f"- **Glued endings** (a part ending in one: `PGPASSWORD`, `csrftoken`): {listed(names.suffixes)}.\n"
        f"- **Two parts in a row:** {listed(pairs)}.\n"
        f"- **Not secret when the name ends in:** {listed(names.qualifiers)}.\n"
        f"- **Extra parts in URL query parameters and headers:** {profiles}.\n"
    )
