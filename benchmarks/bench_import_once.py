"""Benchmark: a collect with both `openapi.app` and `http.serve` imports the app once, not twice.

Generates, in a temporary folder, a FastAPI service whose import is as heavy as a large service's (by default
600 operations over 150 pydantic models; every import appends a line to a log, so imports are counted), and
an evidence.yaml with `http.serve` (uvicorn on a free port, one capture) and `openapi.app`. Then it runs
`evidence collect` in turns, each in a fresh process, in three ways:

- `python -c "import app"`: one import of the app, the **baseline** (time = 1.00x);
- `served_at: false`: the openapi collector imports the app beside the service, as every collect did before
  (two imports);
- the default: the openapi collector reads the document the running service serves (one import).

It prints the median wall time and CPU time (user + system of the command and its children) of each with the
ratio to the baseline and to the `served_at: false` collect, the imports counted per collect, and checks that
both collects wrote the same `openapi/openapi.json` and routes, byte for byte. **Target: one import per
collect**, and the document equal to the imported one; exits 1 otherwise.

    python benchmarks/bench_import_once.py [--quick] [--runs 3] [--routes 600]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MODELS_PER_ROUTE = 4

APP_HEAD = """\
import os

from fastapi import FastAPI
from pydantic import BaseModel, Field

with open(os.environ["IMPORTS_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")

app = FastAPI(title="Large", version="1.0.0")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""

MODEL = """

class Item{i}(BaseModel):
    name: str = Field(min_length=1, max_length=80, description="name {i}")
    count: int = Field(ge=0)
    ratio: float | None = None
    tags: list[str] = []
    parent: int | None = None
"""

ROUTES = """

@app.get("/things{i}/{{thing_id}}", response_model=Item{m}, tags=["t{t}"])
def get_{i}(thing_id: int, verbose: bool = False) -> Item{m}:
    raise NotImplementedError


@app.post("/things{i}", response_model=Item{m}, status_code=201, tags=["t{t}"])
def create_{i}(body: Item{n}) -> Item{m}:
    raise NotImplementedError


@app.put("/things{i}/{{thing_id}}", response_model=Item{n}, tags=["t{t}"])
def replace_{i}(thing_id: int, body: Item{m}) -> Item{n}:
    raise NotImplementedError


@app.delete("/things{i}/{{thing_id}}", status_code=204, tags=["t{t}"])
def delete_{i}(thing_id: int) -> None:
    raise NotImplementedError
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_service(root: Path, operations: int) -> None:
    """The app module (`large.py`) with `operations` operations over a quarter as many models."""
    groups = max(1, operations // MODELS_PER_ROUTE)
    models = max(2, groups)
    parts = [APP_HEAD]
    parts += [MODEL.format(i=i) for i in range(models)]
    parts += [ROUTES.format(i=i, m=i % models, n=(i + 1) % models, t=i % 10) for i in range(groups)]
    (root / "large.py").write_text("".join(parts))


def write_config(root: Path, served: bool) -> Path:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "large:app", "--host", "127.0.0.1", "--port", str(port)]
    cfg = root / ("served.yaml" if served else "imported.yaml")
    cfg.write_text(
        textwrap.dedent(
            f"""\
            service: large
            output: {cfg.stem}
            collectors:
              http:
                base_url: http://127.0.0.1:{port}
                captures: [{{name: health, path: /health}}]
                serve: {{command: {json.dumps(argv)}, ready_url: /health, start_timeout: 120}}
              openapi:
                app: large:app
                timeout: 300
            """
        )
        + ("" if served else "    served_at: false\n")
    )
    return cfg


def timed(argv: list[str], cwd: Path, env: dict[str, str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the command and the children it waited for); its standard
    output goes to `out`."""
    with out.open("wb") as stdout:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE)
        assert child.stderr is not None
        stderr = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {code}:\n{stderr.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def artifacts(summary: Path) -> tuple[dict[str, bytes], str]:
    """The openapi collector's artifacts of the bundle `evidence collect --json` printed to `summary`, and
    the document's title."""
    bundle = Path(json.loads(summary.read_text())["bundle"])
    manifest = json.loads((bundle / "manifest.json").read_text())
    title = next(a["title"] for a in manifest["artifacts"] if a["path"] == "data/openapi/openapi.json")
    names = ("openapi.json", "routes.json", "routes.txt")
    return {name: (bundle / "data" / "openapi" / name).read_bytes() for name in names}, title


BASELINE = 'python -c "import large" (baseline)'
TWICE = "collect, served_at: false (two imports)"
ONCE = "collect, the served document (one import)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="150 operations, one run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--routes", type=int, default=600, help="operations in the app (default 600)")
    args = parser.parse_args()
    runs, operations = (1, 150) if args.quick else (args.runs, args.routes)
    evidence = str(Path(sys.executable).with_name("evidence"))
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        root = Path(tmp)
        write_service(root, operations)
        log = root / "imports.log"
        env = {**os.environ, "IMPORTS_LOG": str(log), "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
        collect = [evidence, "collect", "--json", "--out", str(root / "out"), "-c"]
        methods = {
            BASELINE: [sys.executable, "-c", "import large"],
            TWICE: [*collect, str(write_config(root, served=False))],
            ONCE: [*collect, str(write_config(root, served=True))],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
        imports: dict[str, set[int]] = {name: set() for name in methods}
        load = os.getloadavg()[0]
        print(f"app: {operations} operations; load average {load:.2f}; {runs} run(s) after a warm-up round")
        for round_ in range(runs + 1):
            for i, (name, argv) in enumerate(methods.items()):
                log.write_text("")
                measured = timed(argv, root, env, root / f"{i}.out")
                imports[name].add(len(log.read_text().split()))
                if round_:
                    times[name].append(measured)
        base = statistics.median(w for w, _ in times[BASELINE])
        twice = statistics.median(w for w, _ in times[TWICE])
        print(f"\n{'method':46} {'wall s':>8} {'cpu s':>8} {'x import':>9} {'x two':>7}  imports")
        for name in methods:
            wall = statistics.median(w for w, _ in times[name])
            cpu = statistics.median(c for _, c in times[name])
            counted = ",".join(str(n) for n in sorted(imports[name]))
            print(f"{name:46} {wall:8.2f} {cpu:8.2f} {wall / base:8.2f}x {wall / twice:6.2f}x  {counted}")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        imported, _ = artifacts(root / "1.out")
        served, title = artifacts(root / "2.out")
        equal = served == imported
        print(
            "openapi.json, routes.json and routes.txt the same bytes in both collects: "
            + ("yes" if equal else "NO")
        )
        print(f"the one-import collect's document: {title}")
        ok = equal and imports[ONCE] == {1} and "served at" in title
        print(f"target: one import per collect and the same document: {'met' if ok else 'MISSED'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
