"""Render a bundle, or the diff of two, as one Markdown file and one self-contained HTML page."""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from evidence_kit import __version__
from evidence_kit.bundle import writer as b
from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.atomic import write_pages
from evidence_kit.bundle.verify import Verdict, verify_dir
from evidence_kit.diff.render import GROUPED, first_line
from evidence_kit.errors import EvidenceError
from evidence_kit.evidence import alembic
from evidence_kit.evidence import git as git_evidence
from evidence_kit.redact.scrub import scrub
from evidence_kit.report.page import (
    _BAD_CLASSES,
    _OK_CLASSES,
    _RANK,
    _WARN_CLASSES,
    CHECK_REPORT,
    CSS,
    DIFF_HTML_NAME,
    DIFF_MD_NAME,
    HTML_NAME,
    LIMIT,
    MD_NAME,
    Attention,
    Builder,
    Fact,
    Listed,
    Part,
    Row,
    _anchor,
    _Bundle,
    _dict,
    _groups,
    _size,
    _str,
    _table,
    human_size,
    level,
    plural,
    worst,
)
from evidence_kit.report.sections import GATES, SECTIONS
from evidence_kit.report.sections.generic import _generic
from evidence_kit.support.resources import shipped


def _collector_rows(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in manifest.get("collectors", []) if isinstance(manifest.get("collectors"), list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            rows.append(
                {
                    "name": c["name"],
                    "status": str(c.get("status", "?")),
                    "level": level(c.get("status")),
                    "duration": f"{c['duration_s']:.2f} s"
                    if isinstance(c.get("duration_s"), int | float)
                    else "",
                    "artifacts": c.get("artifacts", 0),
                    "error": str(c.get("error") or ""),
                    "hint": str(c.get("hint") or ""),
                }
            )
    config = manifest.get("config")
    left_out = config.get("left_out") if isinstance(config, dict) else None
    for name in left_out if isinstance(left_out, list) else []:
        if isinstance(name, str) and name not in {r["name"] for r in rows}:
            rows.append(
                {
                    "name": name,
                    "status": "skipped",
                    "level": level("skipped"),
                    "duration": "",
                    "artifacts": 0,
                    "error": "configured, but left out of this collect (--only, --skip)",
                    "hint": "",
                }
            )
    return rows


def _section(
    bd: _Bundle,
    sid: str,
    title: str,
    names: tuple[str, ...],
    build: Builder,
    collectors: Mapping[str, Mapping[str, Any]],
) -> Part | None:
    paths = bd.of(names)
    extra = bd.of(["command"]) if sid == "logs" else []
    here = [collectors[n] for n in names if n in collectors]
    if (
        sid == "logs"
        and not paths
        and not any(bd.records[p].get("size") for p in extra if p.endswith(".stderr.txt"))
    ):
        return None
    if not paths and not here and sid != "logs":
        return None
    part = Part(sid, title)
    for c in here:
        if c["error"]:
            hint = f" Tip: {c['hint']}" if c["hint"] else ""
            part.notes.append(
                Fact(f"{c['name']} collector {c['status']}", f"{c['error']}{hint}".strip(), c["level"])
            )
    try:
        build(bd, paths + extra, part)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # NOTE: an artifact of an unexpected shape must not cost the whole report; it is shown raw below.
        part.notes.append(
            Fact("Summary unavailable", f"the artifacts have an unexpected shape ({exc!r})", "warn")
        )
    part.shown += bd.raw(paths)
    part.level = worst(c["level"] for c in here)
    return part.settle()


def _gate_level(check: Mapping[str, Any]) -> str:
    """A check's colour: a failed warning or note is a warning (`check` passes on it by default)."""
    if check.get("status") == "failed" and check.get("severity") in ("warning", "note"):
        return "warn"
    return level(check.get("status"))


def _gates(report: Mapping[str, Any], source: str) -> Part:
    part = Part(GATES[0], GATES[1])
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    checks = [c for c in report.get("checks", []) if isinstance(c, dict)]
    failed = [c for c in checks if _gate_level(c) == "bad"]
    warned = [c for c in checks if _gate_level(c) == "warn"]
    part.facts.append(Fact("Source", source))
    if summary:
        # NOTE: the summary counts checks (passed, failed, skipped) and findings (errors, warnings, ...):
        # said apart, or "16 checks, 7 errors, 6 failed" reads as one count.
        # NOTE: a check failed only with warnings or notes is counted apart, as `evidence check` says it.
        milder = {
            severity: len([c for c in warned if c.get("severity") == severity])
            for severity in ("warning", "note")
        }
        counted = {**summary}
        if isinstance(summary.get("failed"), int) and "with_warnings" not in summary:
            # NOTE: a report of an earlier version counted them among the failed ones.
            counted["failed"] = summary["failed"] - sum(milder.values())
        shown = [f"{counted[k]} {k}" for k in ("passed", "failed") if k in counted]
        shown += [f"{n} with {severity}s" for severity, n in milder.items() if n and "failed" in counted]
        shown += [f"{counted['skipped']} skipped"] if "skipped" in counted else []
        outcomes = ", ".join(shown)
        found = ", ".join(
            plural(int(summary[k]), k.rstrip("s"))
            for k in ("errors", "warnings", "notes")
            if isinstance(summary.get(k), int)
        )
        text = f"{plural(int(summary.get('checks') or len(checks)), 'check')}" + (
            f": {outcomes}" if outcomes else ""
        )
        if found:
            text += f"; findings: {found}"
        if summary.get("waived"):
            text += f" ({summary['waived']} waived)"
        part.facts.append(Fact("Summary", text, "bad" if failed else "warn" if warned else "ok"))
    if report.get("packs"):
        part.facts.append(Fact("Rule packs", _str(report["packs"])))
    part.tables.append(
        _table(
            "Checks",
            ("check", "name", "severity", "status", "findings"),
            [
                Row(
                    (
                        str(c.get("id")),
                        str(c.get("name")),
                        str(c.get("severity")),
                        f"skipped: {c['reason']}"
                        if c.get("status") == "skipped" and c.get("reason")
                        else str(c.get("status")),
                        _str(c.get("findings")),
                    ),
                    _gate_level(c),
                )
                for c in checks
            ],
        )
    )
    findings = [f for f in report.get("findings", []) if isinstance(f, dict)]
    rows = []
    for f in findings:
        where = f"{f.get('path')}:{f['line']}" if f.get("line") else str(f.get("path") or "")
        sev = "waived" if f.get("waived") else str(f.get("severity"))
        rows.append(
            Row(
                (sev, str(f.get("check")), where, str(f.get("message"))),
                "" if f.get("waived") else "bad" if sev == "error" else "warn",
            )
        )
    if rows:
        part.tables.append(_table("Findings", ("severity", "check", "where", "message"), rows))
    part.level = "bad" if failed else "warn" if warned else "ok"
    return part


_NAMED_RUNS = ("command", "http", "sql")
_ALIKE_NAMES = 20
_SHA = re.compile(r"[0-9a-f]{40}")


def _said(c: Mapping[str, Any]) -> str:
    return f"{c['status']}: {c['error'] or 'see its artifacts'}"


def _unlisted(name: str) -> dict[str, Any]:
    return {"name": name, "level": "bad", "status": "not ok", "error": "", "hint": ""}


_CHECK_TIP = (
    "run `evidence check --bundle BUNDLE --format json --output check.json`, then "
    "`evidence report BUNDLE --check check.json`"
)


def _attention(
    verdict: Verdict,
    bd: _Bundle,
    collectors: list[dict[str, Any]],
    sections: list[Part],
    gates: Mapping[str, Any] | None,
) -> list[Attention]:
    items: list[Attention] = []
    if not verdict.ok:
        items.append(
            Attention(
                "bad",
                "bundle",
                f"does NOT verify: {len(verdict.problems)} problems",
                "it was changed or damaged after it was collected; collect it again",
                "#verification",
            )
        )
    where = {n: sid for sid, _, names, _ in SECTIONS for n in names}
    ids = {p.id for s in sections for p in [s, *s.parts]}
    bad_runs: dict[str, list[tuple[str, list[str]]]] = {}
    for stem, members in _groups(sorted(bd.records)).items():
        rec = bd.records[members[0]]
        if level(rec.get("status")) == "bad":
            bad_runs.setdefault(str(rec.get("collector", "?")), []).append((stem, members))
    listed = {c["name"] for c in collectors}
    for c in collectors + [_unlisted(name) for name in sorted(bad_runs) if name not in listed]:
        runs = bad_runs.get(c["name"], [])
        if c["level"] != "bad" and not runs:
            continue
        href = "#" + where.get(c["name"], "collectors")
        href = href if href[1:] in ids else "#collectors"
        if c["name"] in _NAMED_RUNS:
            # NOTE: each proof, capture or query is its own piece of evidence: one line per run.
            if c["error"] or not runs:
                items.append(Attention("bad", f"collector {c['name']}", _said(c), c["hint"], href))
            for stem, members in runs:
                rec = bd.records[members[0]]
                message = str(rec.get("message") or f"status {rec.get('status')}")
                if c["name"] == "command" and rec.get("exit_code") is not None and "exit code" not in message:
                    message = f"exit code {rec['exit_code']}: {message}"
                anchor = bd.parts.get(stem) or bd.anchors.get(members[0], "")
                name = stem.split("/", 2)[-1]
                items.append(Attention("bad", f"{c['name']} {name}", message, "", "#" + anchor))
            continue
        # NOTE: one line per collector, however many of its artifacts failed for the same reason.
        said: dict[str, list[str]] = {}
        for _, members in runs:
            rec = bd.records[members[0]]
            said.setdefault(str(rec.get("message") or f"status {rec.get('status')}"), []).append(
                members[0].split("/", 2)[-1]
            )
        parts = [f"{message} ({', '.join(names)})" for message, names in said.items()]
        text = c["error"] if c["error"] and not parts else "; ".join(parts) or _said(c)
        status = c["status"] if c["level"] == "bad" else "not ok"
        items.append(Attention("bad", f"collector {c['name']}", f"{status}: {text}", c["hint"], href))
    if gates is None:
        # NOTE: a report says nothing of the gates it was not given: the reader is told they were not checked.
        items.append(
            Attention(
                "warn",
                "gates",
                "not checked: this report was rendered without check results, so no gate was evaluated",
                _CHECK_TIP,
                "#attention",
            )
        )
    else:
        from evidence_kit.policy.engine import NO_BUNDLE

        unread = [
            str(c.get("id"))
            for c in gates.get("checks", [])
            if isinstance(c, dict) and c.get("status") == "skipped" and c.get("reason") == NO_BUNDLE
        ]
        if unread:
            # NOTE: results made without `--bundle` judged the source only: no gate of the bundle ran.
            items.append(
                Attention(
                    "warn",
                    "gates",
                    f"not checked against a bundle: the check results were made without `--bundle`, so "
                    f"{plural(len(unread), 'gate')} ({', '.join(unread)}) did not run",
                    _CHECK_TIP,
                    "#gates",
                )
            )
        for c in gates.get("checks", []):
            if isinstance(c, dict) and c.get("status") == "failed":
                found = plural(int(c.get("findings") or 0), "finding")
                warned = _gate_level(c) == "warn"
                items.append(
                    Attention(
                        _gate_level(c),
                        f"gate {c.get('id')} {c.get('name')}",
                        f"{found} (severity {c.get('severity')}: the check passes on it)"
                        if warned
                        else f"failed with {found}",
                        "",
                        "#gates",
                    )
                )
    head = bd.json(f"data/{git_evidence.path(git_evidence.HEAD)}")
    if isinstance(head, dict) and head.get("dirty"):
        items.append(Attention("warn", "git", "the working tree has uncommitted changes", "", "#git"))
    for path in bd.records:
        if path.endswith(f"/{alembic.SUMMARY}") and path.startswith(f"data/{alembic.FOLDER}/"):
            summary = bd.json(path)
            # NOTE: with several configurations, each is named (`data/alembic/tenant/summary.json`).
            label = path[len(f"data/{alembic.FOLDER}/") : -len(f"/{alembic.SUMMARY}")]
            which = f"Alembic configuration {label}: " if label else ""
            current = bd.json(path[: -len(alembic.SUMMARY)] + alembic.CURRENT)
            unknown = current.get("version_table_unknown") if isinstance(current, dict) else None
            if isinstance(summary, dict) and summary.get("up_to_date") is None and unknown:
                # NOTE: the collector read the database but cannot tell its revision: no "ok" to rely on.
                items.append(
                    Attention(
                        "warn",
                        "alembic",
                        f"{which}the database's revision is not known: {unknown}",
                        "",
                        "#migrations",
                    )
                )
            if isinstance(summary, dict) and summary.get("up_to_date") is False:
                table = summary.get("version_table") or alembic.DEFAULT_VERSION_TABLE
                named = "" if table == alembic.DEFAULT_VERSION_TABLE else f" (version table {table})"
                items.append(
                    Attention(
                        "warn",
                        "alembic",
                        f"{which}the database{named} is not at the head revision",
                        "",
                        "#migrations",
                    )
                )
            if isinstance(summary, dict) and summary.get("multiple_heads"):
                items.append(
                    Attention(
                        "warn", "alembic", f"{which}the revision graph has several heads", "", "#migrations"
                    )
                )
    for path, rec in sorted(bd.records.items()):
        if rec.get("truncated") and level(rec.get("status")) != "bad":
            items.append(
                Attention(
                    "warn",
                    path.removeprefix("data/"),
                    "cut by the collector at its size cap",
                    "",
                    "#" + bd.anchors[path],
                )
            )
    return items


# ---------------------------------------------------------------------------------------------------------
# Templates


def _codeblock(text: object, lang: str = "") -> str:
    body = str(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}{'' if body.endswith(chr(10)) or not body else chr(10)}{fence}"


def _cell(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>").replace("<", "&lt;")


def _inline(text: object) -> str:
    body = str(text).replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def _html_text(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _autoescape(name: str | None) -> bool:
    return bool(name) and str(name).endswith((".html", ".html.j2", ".htm"))


def _search_path(templates: Path | None) -> list[Path]:
    paths = []
    if templates is not None:
        if not templates.is_dir():
            raise EvidenceError(
                f"template folder {templates} does not exist",
                hint="pass a folder holding your overrides, e.g. a custom report.html.j2",
            )
        paths.append(templates)
    paths.append(Path(str(shipped("templates"))))
    return paths


def environment(templates: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: overrides first, then the shipped templates; undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in _search_path(templates)]),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(
        codeblock=_codeblock, cell=_cell, inline=_inline, size=human_size, mdtext=_html_text, plural=plural
    )
    return env


def _finalize(value: Any) -> Any:
    """Every `{{ value }}` with its secrets masked before it is escaped."""
    if isinstance(value, Markup):
        return Markup(scrub(str(value)))
    return scrub(value) if isinstance(value, str) else value


def _template_error(exc: BaseException, name: str, roots: list[Path]) -> EvidenceError | None:
    """A clear error naming the template file and line, or None when the template is not to blame."""
    where_file, where_line = None, None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where_file, where_line = exc.filename or exc.name, exc.lineno
    else:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if any(path.is_relative_to(r) for r in roots) or frame.filename.endswith(".j2"):
                where_file, where_line = frame.filename, frame.lineno
                break
    if where_file is None and not isinstance(exc, jinja2.TemplateError):
        return None
    if isinstance(exc, jinja2.TemplateNotFound):
        where = f"{where_file}, line {where_line}" if where_file else name
        return EvidenceError(
            f"template {exc.name} not found (needed by {where})",
            hint=f"put {exc.name} in your template folder or remove what includes it; searched: "
            + ", ".join(str(r) for r in roots),
        )
    shipped_root = roots[-1]
    own = where_file is not None and not Path(where_file).resolve().is_relative_to(shipped_root.resolve())
    kind = (
        "a syntax error"
        if isinstance(exc, jinja2.TemplateSyntaxError)
        else "an undefined name"
        if isinstance(exc, jinja2.UndefinedError)
        else f"an error ({type(exc).__name__})"
    )
    what = getattr(exc, "message", None) or str(exc)
    fix = (
        f"fix line {where_line} of {where_file}, or delete that file to use the shipped template"
        if own
        else "this is a bug in a shipped template: please report it with this message"
    )
    if isinstance(exc, jinja2.UndefinedError):
        doc = (
            "diff.md.j2"
            if name.startswith("diff")
            else "report.md.j2"
            if name.startswith("report")
            else ("overview.md.j2")
        )
        fix += f"; the variables a template may use are listed at the top of the shipped {doc}"
    return EvidenceError(f"template {where_file or name}, line {where_line or '?'}: {kind}: {what}", hint=fix)


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any], roots: list[Path]) -> str:
    """Render one template; a template's own mistake becomes an error naming its file and line."""
    try:
        return scrub(str(env.get_template(name).render(**context)))
    except Exception as exc:
        error = _template_error(exc, name, roots)
        if error is None:
            raise
        raise error from exc


def _css(env: jinja2.Environment) -> Markup:
    assert env.loader is not None
    try:
        source = env.loader.get_source(env, CSS)[0]
    except jinja2.TemplateNotFound:
        return Markup("")
    # NOTE: the stylesheet is inlined raw; `</` would let it close the <style> element.
    return Markup(str(source).replace("</", "<\\/"))


def _write(out: Path, pages: Mapping[str, str]) -> tuple[Path, ...]:
    return write_pages(out, pages, "the report")


# ---------------------------------------------------------------------------------------------------------
# Entry points


def _beside(bundle: Path, out: Path) -> Path | None:
    """Where links start from when the report sits beside the bundle (same parent or below it), else None."""
    if not bundle.is_dir():
        return None
    home, target = bundle.resolve().parent, out.resolve()
    return target if target.is_relative_to(home) else None


def context(
    root: Path, verdict: Verdict, links: Path | None, check_report: Mapping[str, Any] | None, source: str
) -> dict[str, Any]:
    """Everything the report templates see (documented at the top of the shipped report.md.j2)."""
    manifest = verdict.manifest
    bd = _Bundle(root, manifest, links)
    collectors = _collector_rows(manifest)
    by_name = {c["name"]: c for c in collectors}
    sections: list[Part] = []
    for sid, title, names, build in SECTIONS:
        part = _section(bd, sid, title, names, build, by_name)
        if part is not None:
            sections.append(part)
    known = {n for _, _, names, _ in SECTIONS for n in names} | {"check"}
    others = sorted({str(r.get("collector")) for r in bd.records.values()} | set(by_name))
    for name in others:
        if name not in known:
            part = _section(bd, f"other-{name}", f"Other evidence: {name}", (name,), _generic, by_name)
            if part is not None:
                sections.append(part)
    gates: Mapping[str, Any] | None = check_report
    gate_source = "evidence check report given to the renderer"
    if gates is None and CHECK_REPORT in bd.records:
        found = bd.json(CHECK_REPORT)
        gates = found if isinstance(found, dict) else None
        gate_source = CHECK_REPORT
    check_paths = bd.of(["check"])
    if gates is not None or check_paths:
        part = _gates(gates or {}, gate_source) if gates is not None else Part(*GATES)
        part.shown += bd.raw(check_paths)
        sections.append(part.settle())
    missing = [title for sid, title, _, _ in SECTIONS if sid not in {s.id for s in sections}]
    git, tool, head = (
        _dict(manifest.get("git")),
        _dict(manifest.get("tool")),
        _dict(bd.json(f"data/{git_evidence.path(git_evidence.HEAD)}")),
    )
    artifacts = [
        Listed(
            path=p,
            title=str(r.get("title") or ""),
            collector=str(r.get("collector") or ""),
            status=str(r.get("status") or ""),
            level=level(r.get("status")),
            size=_size(r),
            sha256=str(r.get("sha256") or ""),
            href=bd.href(p),
            anchor=bd.anchors[p],
        )
        for p, r in sorted(bd.records.items())
    ]
    not_ok = [c for c in collectors if c["level"] not in ("ok", "skip")]
    header = {
        "bundle": str(manifest.get("bundle") or root.name),
        "source": source,
        "service": str(manifest.get("service") or "?"),
        "phase": str(manifest.get("phase") or "?"),
        "sha": str(git.get("sha") or "none (not a git checkout)"),
        "short": str(git.get("short") or "")[:12],
        "branch": str(head.get("branch") or ""),
        "tags": [str(t) for t in head.get("tags") or []],
        "created": str(manifest.get("created") or "?"),
        "tool_version": str(tool.get("version") or "?"),
        "renderer_version": __version__,
        "digest": f"sha256:{verdict.digest}" if verdict.digest else "none",
        "verified": verdict.ok,
        "problems": [str(p) for p in verdict.problems],
        "artifacts": verdict.artifacts,
        "bytes": verdict.bytes,
        "redactions": manifest.get("redactions", 0),
        "host": manifest.get("host") if isinstance(manifest.get("host"), dict) else {},
        "ci": {k: v for k, v in manifest["ci"].items() if v} if isinstance(manifest.get("ci"), dict) else {},
        "collectors_total": len(collectors),
        "collectors_not_ok": len(not_ok),
    }
    return {
        "kind": "report",
        "header": header,
        "attention": _attention(verdict, bd, collectors, sections, gates),
        "collectors": collectors,
        "sections": sections,
        "missing": missing,
        "artifacts": artifacts,
        "limit": human_size(LIMIT),
    }


def render(
    bundle: Path, out: Path, templates: Path | None = None, check_report: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Verify a bundle (folder or archive) and write `report.md` and `report.html` into `out`; atomic."""
    if bundle.is_dir() and out.resolve().is_relative_to(bundle.resolve()):
        raise EvidenceError(
            f"{out} is inside the bundle {bundle}: the report would make the bundle fail verification",
            hint="write the report beside the bundle, e.g. `--out reports/`",
        )
    env = environment(templates)
    roots = _search_path(templates)
    with opened(bundle) as root:
        if not (root / b.MANIFEST).is_file():
            raise EvidenceError(
                f"{bundle} is not a bundle (no manifest.json)",
                hint="pass a folder or archive written by `evidence collect`",
            )
        verdict = verify_dir(root, label=bundle.name)
        data = context(root, verdict, _beside(bundle, out), check_report, str(bundle))
        md = render_template(env, "report.md.j2", data, roots)
        html = render_template(env, "report.html.j2", {**data, "css": _css(env)}, roots)
    md_path, html_path = _write(out, {MD_NAME: md, HTML_NAME: html})
    return md_path, html_path


def _class(value: object) -> str:
    text = str(value or "").lower()
    if text in _BAD_CLASSES:
        return "bad"
    if text in _WARN_CLASSES:
        return "warn"
    return "ok" if text in _OK_CLASSES else "info"


def _value(value: object) -> str:
    if value is None:
        return "—"
    return (
        value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


def _long(*texts: str) -> bool:
    return any("\n" in t.rstrip("\n") or len(t) > 120 for t in texts)


_SIDE_FACTS = (
    ("bundle", "Bundle", False),
    ("service", "Service", False),
    ("phase", "Phase", False),
    ("git_sha", "Commit", True),
    ("created", "Created", False),
    ("digest", "Digest", True),
)


def _diff_side(role: str, value: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One bundle of a diff as the header shows it, and what about it needs attention."""
    info = _dict(value)
    if not info:
        return {"label": _str(value) if value is not None else "?", "facts": []}, []
    label = str(info.get("bundle") or info.get("label") or _str(info))
    facts = [Fact(name, _str(info[key]), mono=mono) for key, name, mono in _SIDE_FACTS if info.get(key)]
    attention: list[dict[str, Any]] = []
    if "verified" in info:
        ok = bool(info["verified"])
        problems = [str(p) for p in info.get("problems") or []]
        facts.append(
            Fact(
                "Verified",
                "yes" if ok else f"NO: {'; '.join(problems) or 'see evidence verify'}",
                "ok" if ok else "bad",
            )
        )
        if not ok:
            attention.append(_note("bad", "does not verify", f"{role} bundle {label}", "; ".join(problems)))
    return {"label": label, "facts": facts}, attention


def _note(level_: str, classification: str, what: str, detail: str, href: str = "#top") -> dict[str, Any]:
    return {
        "level": level_,
        "classification": classification,
        "section": "bundles",
        "what": what,
        "detail": detail,
        "href": href,
    }


def _diff_facts(facts: Mapping[str, Any]) -> list[Fact]:
    """A differ's facts in words: one fact per key, and per key of a nested mapping (a configuration)."""
    out = []
    for key, value in facts.items():
        label = str(key).replace("_", " ")
        if isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values()):
            out += [Fact(f"{label}: {str(k).replace('_', ' ')}", _str(v)) for k, v in value.items()]
        else:
            out.append(
                Fact(label, _str(value), mono=isinstance(value, str) and _SHA.fullmatch(value) is not None)
            )
    return out


def _alike(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes with the same classification, values and error (first line of the detail) folded into the
    first, naming the others."""
    first: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    kept = []
    for item in changes:
        key = (item["classification"], item["before"], item["after"], first_line(item["detail"]))
        if item["detail"].strip() and key in first:
            first[key].setdefault("alike", []).append(item["what"])
            continue
        first.setdefault(key, item)
        kept.append(item)
    for item in kept:
        names = item.pop("alike", [])
        if names:
            shown = names[:_ALIKE_NAMES] + (
                [f"… and {len(names) - _ALIKE_NAMES} more"] if len(names) > _ALIKE_NAMES else []
            )
            item["detail"] += (
                f"\n\nand {plural(len(names), 'more change')} with the same outcome and error:\n"
                + "\n".join(shown)
            )
            item["what"] += f" (and {len(names)} more like it)"
            item["long"] = True
    return kept


def diff_context(diff: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the diff templates see: both bundles, what needs attention, each section's changes."""
    old, old_attention = _diff_side("old", diff.get("old"))
    new, new_attention = _diff_side("new", diff.get("new"))
    attention = old_attention + new_attention
    attention += [_note("warn", "warning", "comparison", str(w)) for w in diff.get("warnings") or []]
    sections: list[dict[str, Any]] = []
    taken: set[str] = set()
    for i, raw in enumerate(s for s in diff.get("sections") or [] if isinstance(s, dict)):
        sid = _anchor("d-", str(raw.get("kind") or raw.get("title") or i), taken)
        title = str(raw.get("title") or raw.get("kind") or f"Section {i + 1}")
        changes = []
        for change in (c for c in raw.get("changes") or [] if isinstance(c, dict)):
            before, after, detail = (
                _value(change.get("before")),
                _value(change.get("after")),
                change.get("detail"),
            )
            item: dict[str, Any] = {
                "what": str(change.get("what") or "?"),
                "before": before,
                "after": after,
                "classification": str(change.get("classification") or "change"),
                "level": _class(change.get("classification")),
                "fingerprint": str(change.get("fingerprint") or ""),
                "detail": "" if detail is None else _value(detail),
            }
            item["long"] = _long(before, after, item["detail"])
            changes.append(item)
        changes = _alike(changes) if raw.get("kind") in GROUPED else changes
        attention += [
            {**item, "section": title, "href": "#" + sid}
            for item in changes
            if item["level"] in ("bad", "warn")
        ]
        counts = _dict(raw.get("counts"))
        sections.append(
            {
                "id": sid,
                "kind": str(raw.get("kind") or ""),
                "title": title,
                "summary": _str(raw["summary"]) if raw.get("summary") else "",
                "facts": _diff_facts(_dict(raw.get("facts"))),
                "counts": ", ".join(f"{v} {k}" for k, v in counts.items()),
                "changes": changes,
                "level": worst(c["level"] for c in changes) or "ok",
            }
        )
    attention.sort(key=lambda a: -_RANK[a["level"]])
    counts = _dict(diff.get("counts"))
    summary = (
        _str(diff["summary"]) if diff.get("summary") else ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    return {
        "kind": "diff",
        "old": old,
        "new": new,
        "summary": summary,
        "attention": attention,
        "sections": sections,
        "changes": sum(len(s["changes"]) for s in sections),
        "renderer_version": __version__,
    }


def render_diff(diff_json: dict[str, Any], out: Path, templates: Path | None = None) -> tuple[Path, Path]:
    """Write `diff.md` and `diff.html` into `out` from the JSON of `evidence diff`; atomic."""
    env = environment(templates)
    roots = _search_path(templates)
    data = diff_context(diff_json)
    md = render_template(env, "diff.md.j2", data, roots)
    html = render_template(env, "diff.html.j2", {**data, "css": _css(env)}, roots)
    md_path, html_path = _write(out, {DIFF_MD_NAME: md, DIFF_HTML_NAME: html})
    return md_path, html_path
