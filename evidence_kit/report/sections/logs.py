"""Report section: logs."""

from __future__ import annotations

from evidence_kit.evidence import command
from evidence_kit.evidence import files as copied
from evidence_kit.report.page import (
    _ERROR_LINE,
    Fact,
    Part,
    Row,
    _Bundle,
    _lines,
    _stem,
    _table,
    human_size,
    plural,
)


def _logs(bd: _Bundle, paths: list[str], part: Part) -> None:
    files = [p for p in paths if p.startswith(f"data/{copied.FOLDER}/")]
    sets: dict[str, list[str]] = {}
    for path in files:
        rest = path.removeprefix(f"data/{copied.FOLDER}/")
        sets.setdefault(rest.split("/", 1)[0] if "/" in rest else _stem(rest), []).append(path)
    for name, members in sets.items():
        rec = bd.records[members[0]]
        title = str(rec.get("title") or name).split(": ", 1)[0]
        sub = Part(bd.part_id("files-", name), f"{title} ({plural(len(members), 'file')})")
        sub.shown = [bd.show(p, logs=True) for p in members]
        part.parts.append(sub)
    stderr = [p for p in paths if p.startswith(f"data/{command.FOLDER}/") and p.endswith(command.STDERR)]
    rows = []
    for path in stderr:
        rec = bd.records[path]
        text = bd.text(path)
        if not rec.get("size"):
            continue
        errors = sum(1 for line in (text or "").splitlines() if _ERROR_LINE.search(line))
        lines = f"{_lines(text)}" if text is not None else human_size(rec.get("size"))
        rows.append(
            Row(
                (path, str(rec.get("title", "")), lines, str(errors)),
                "bad" if errors else "",
                "#" + bd.anchors[path],
            )
        )
    if rows:
        part.tables.append(
            _table(
                "Command stderr (shown with each command under Proofs)",
                ("artifact", "title", "lines", "error lines"),
                rows,
            )
        )
    part.facts.insert(
        0,
        Fact(
            "Logs",
            f"{plural(len(files), 'file')} in {plural(len(sets), 'set')}, "
            f"{plural(len(rows), 'command')} wrote to stderr",
        ),
    )
