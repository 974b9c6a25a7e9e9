"""The built-in redaction rules, secret names and innocent values, loaded once from rules.yaml."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from evidence_kit.redact.names import NameRules
from evidence_kit.redact.values import EXTENTS, Judge

VALUES = (*EXTENTS, "token", "columns")
# NOTE: rules that read more than their line: a PEM block, the statement above SQL parameters, a manifest,
# the source line above a value loguru prints, the lines below a name that hold its value.
BLOCKS = ("pem", "statement", "manifest", "frame", "next")
CHECKS = frozenset({"name", "prose", "code", "plain", "tokenish", "metavar", "flags", "schema"})


@dataclass(frozen=True, eq=False)
class Rule:
    """One kind of secret: where it is (pattern, value), when to look (keywords), what to leave (checks)."""

    name: str
    family: str
    description: str
    keywords: tuple[bytes, ...]
    case_sensitive: bool
    pattern: re.Pattern[bytes]
    value: str
    checks: frozenset[str] = frozenset()
    profile: str = ""
    block: str = ""
    # NOTE: texts that start lines the rule may read from a later line; a stream never cuts just after one.
    opens: tuple[bytes, ...] = ()
    # NOTE: a pattern the line before must match whole (its group `name` names the secret), or None.
    previous: re.Pattern[bytes] | None = None
    example: str = ""
    innocent: str = ""

    def secret_groups(self) -> tuple[str, ...]:
        """The pattern's groups that hold the secret in `token` rules (`secret`, `secret2`, …)."""
        return tuple(g for g in self.pattern.groupindex if g.startswith("secret"))


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Every built-in rule with the data its checks use."""

    rules: tuple[Rule, ...]
    names: NameRules
    judge: Judge
    flag_options: Mapping[str, tuple[bytes, ...]]
    # NOTE: upper-case values a SQL condition compares a secret-named column with that name a method or a
    # state, never a secret (`WHERE password = 'LDAP'`).
    sql_constants: frozenset[str] = frozenset()


def _problem(rule: str, text: str) -> ValueError:
    return ValueError(f"redaction rule {rule!r}: {text}")


def _rule(raw: Mapping[str, Any]) -> Rule:
    name = str(raw.get("name", "?"))
    missing = {"name", "family", "description", "keywords", "pattern", "value", "example", "innocent"} - set(
        raw
    )
    if missing:
        raise _problem(name, f"missing {', '.join(sorted(missing))}")
    if raw["value"] not in VALUES:
        raise _problem(name, f"value must be one of {', '.join(VALUES)}")
    if raw.get("block", "") not in ("", *BLOCKS):
        raise _problem(name, f"block must be one of {', '.join(BLOCKS)}")
    checks = frozenset(raw.get("checks", ()))
    if checks - CHECKS:
        raise _problem(name, f"unknown checks {sorted(checks - CHECKS)}")
    case_sensitive = bool(raw.get("case_sensitive", False))
    keywords = tuple(str(k).encode() if case_sensitive else str(k).lower().encode() for k in raw["keywords"])
    if not keywords or not all(keywords):
        raise _problem(name, "needs at least one non-empty keyword")
    try:
        pattern = re.compile(str(raw["pattern"]).encode())
        previous = re.compile(str(raw["previous"]).encode()) if "previous" in raw else None
    except re.error as exc:
        raise _problem(name, f"pattern does not compile: {exc}") from exc
    named = pattern.groupindex if previous is None else previous.groupindex
    if ("name" in checks or "prose" in checks) and "name" not in named:
        raise _problem(name, "the `name` and `prose` checks need a group named `name`")
    if raw.get("block") == "next" and not {"name", "open"} <= set(pattern.groupindex):
        raise _problem(name, "a `next` block needs the groups `name` and `open`")
    if raw["value"] == "columns" and not {"columns", "secret"} <= set(pattern.groupindex):
        raise _problem(name, "a `columns` value needs the groups `columns` and `secret`")
    return Rule(
        name=name,
        family=str(raw["family"]),
        description=str(raw["description"]),
        keywords=keywords,
        case_sensitive=case_sensitive,
        pattern=pattern,
        value=str(raw["value"]),
        checks=checks,
        profile=str(raw.get("names", "")),
        block=str(raw.get("block", "")),
        opens=tuple(str(o).encode() for o in raw.get("opens", ())),
        previous=previous,
        example=str(raw["example"]),
        innocent=str(raw["innocent"]),
    )


@cache
def builtin() -> RuleSet:
    """The shipped rule set (rules.yaml next to this module)."""
    import yaml

    text = resources.files("evidence_kit.redact").joinpath("rules.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    raw_names = data["names"]
    names = NameRules(
        words=frozenset(raw_names["words"]),
        suffixes=tuple(raw_names["suffixes"]),
        pairs=frozenset(tuple(p.split()) for p in raw_names["pairs"]),
        qualifiers=frozenset(raw_names["qualifiers"]),
        profiles={k: frozenset(v) for k, v in raw_names.get("profiles", {}).items()},
        human=frozenset(raw_names.get("human", ())),
        references=re.compile(raw_names["references"]) if raw_names.get("references") else None,
        object_prefixes=frozenset(raw_names.get("object_prefixes", ())),
        object_suffixes=frozenset(raw_names.get("object_suffixes", ())),
    )
    holders = data["placeholders"]
    judge = Judge(
        placeholder_words=[*holders["words"], *holders["states"]],
        placeholder_patterns=holders["patterns"],
        templates=holders["templates"],
        host_suffixes=data["host_suffixes"],
        secret_name=names.secret,
        function_words=data.get("function_words", ()),
        description_words=data.get("description_words", ()),
    )
    rules = tuple(_rule(r) for r in data["rules"])
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise _problem(rule.name, "defined twice")
        seen.add(rule.name)
    flags = {opt: tuple(t.encode() for t in tools) for opt, tools in data.get("flag_options", {}).items()}
    constants = frozenset(str(w).upper() for w in data.get("sql_constants", ()))
    return RuleSet(rules=rules, names=names, judge=judge, flag_options=flags, sql_constants=constants)


_CLASSES = {
    "alnum": string.ascii_letters + string.digits,
    "alpha": string.ascii_letters,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "updigit": string.ascii_uppercase + string.digits,
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
    "bech32": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
_FILL = re.compile(r"\{(?P<cls>" + "|".join(_CLASSES) + r"):(?P<n>\d+)\}")


def fill(template: str, seed: str) -> tuple[str, list[str]]:
    """A template with every `{class:n}` replaced by n seeded random characters; also the fills."""
    rng = random.Random(seed)
    fills: list[str] = []

    def one(match: re.Match[str]) -> str:
        chars = _CLASSES[match["cls"]]
        while True:
            made = "".join(rng.choice(chars) for _ in range(int(match["n"])))
            # NOTE: a fill needs a digit and a letter when its class has both, as real tokens do.
            if not (set(chars) & set(string.digits) and set(chars) & set(string.ascii_letters)) or (
                any(c.isdigit() for c in made) and any(c.isalpha() for c in made)
            ):
                break
        fills.append(made)
        return made

    return _FILL.sub(one, template), fills
