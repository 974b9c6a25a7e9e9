"""Read Python files in another interpreter: `pyscan`'s source goes to `python -I -c` on stdin.

Isolated mode (`-I`) keeps the service's folder, PYTHONPATH and user site-packages off `sys.path`,
so nothing of the service is imported; the child only parses the files it is given.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.support import proc
from evidence_kit.support.interpreter import Interpreter

# NOTE: the shipped module is made a real module so that dataclasses can find its namespace.
BOOT = """\
import json, sys, types
request = json.load(sys.stdin)
module = types.ModuleType("evidence_kit_pyscan")
sys.modules[module.__name__] = module
exec(compile(request.pop("source"), "evidence_kit/support/pyscan.py", "exec"), module.__dict__)
json.dump(module.main(request), sys.stdout)
"""
DEFAULT_TIMEOUT = 300.0


def source() -> str:
    """The text of the shipped reader module."""
    return resources.files("evidence_kit.support").joinpath("pyscan.py").read_text("utf-8")


def read(
    python: Interpreter,
    kind: str,
    files: list[list[Any]],
    *,
    scratch: Path,
    cwd: Path,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[dict[str, Any]]:
    """One result per file, read by `pyscan.main` in `python`; CollectorError when it cannot run."""
    request = json.dumps({"source": source(), "kind": kind, "files": files}).encode()
    run = proc.run(
        [python.path, "-I", "-c", BOOT],
        scratch=scratch,
        label=f"pyscan-{kind}",
        cwd=cwd,
        env={"PATH": str(python.bindir), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"},
        timeout=timeout,
        stdin=request,
    )
    if run.timed_out:
        raise CollectorError(f"{python.path} took longer than {timeout:g} s to parse {len(files)} file(s)")
    if run.exit_code != 0:
        lines = [line for line in run.text("stderr").splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {run.exit_code}"
        raise CollectorError(
            f"{python.path} could not parse the files: {last}",
            hint="the service's interpreter must be Python 3.8 or newer",
        )
    try:
        answer = json.loads(run.stdout.read_bytes())
        results: list[dict[str, Any]] = answer["results"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CollectorError(f"{python.path} answered something other than parse results: {exc}") from exc
    if len(results) != len(files):
        raise CollectorError(f"{python.path} answered for {len(results)} of {len(files)} files")
    return results
