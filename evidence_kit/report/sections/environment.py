"""Report section: environment."""

from __future__ import annotations

from evidence_kit.evidence import environment
from evidence_kit.report.page import Fact, Part, Row, _Bundle, _str, _table


def _environment(bd: _Bundle, paths: list[str], part: Part) -> None:
    env = bd.json(f"data/{environment.path(environment.FACTS)}")
    if not isinstance(env, dict):
        return
    python = env.get("python") if isinstance(env.get("python"), dict) else {}
    system = env.get("os") if isinstance(env.get("os"), dict) else {}
    if python:
        part.facts.append(
            Fact(
                "Python",
                " ".join(_str(python[k]) for k in ("implementation", "version") if python.get(k))
                or _str(python.get("version")),
            )
        )
        if python.get("executable"):
            part.facts.append(Fact("Interpreter", str(python["executable"])))
    if system:
        part.facts.append(
            Fact("OS", str(system.get("distribution") or system.get("platform") or system.get("system")))
        )
    if isinstance(env.get("database"), dict):
        database = env["database"]
        part.facts.append(
            Fact("Database", " ".join(_str(v) for k, v in sorted(database.items()) if v is not None))
        )
    if isinstance(env.get("packages"), dict):
        part.facts.append(Fact("Packages", _str(env["packages"].get("count"))))
    if isinstance(env.get("ci"), dict) and any(env["ci"].values()):
        part.facts.append(Fact("CI", ", ".join(f"{k}={v}" for k, v in sorted(env["ci"].items()) if v)))
    if isinstance(env.get("tools"), dict):
        rows = [Row((str(k), _str(v))) for k, v in sorted(env["tools"].items())]
        part.tables.append(_table("Tools", ("tool", "version"), rows))
