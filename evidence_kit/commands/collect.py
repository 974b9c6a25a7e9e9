"""Run the configured collectors concurrently, in the order of `evidence_kit.order`, and write one bundle."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from evidence_kit import config as config_file
from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.digest import bytes_sha256, file_sha256
from evidence_kit.bundle.writer import BundleWriter, worst
from evidence_kit.collectors import COLLECTORS
from evidence_kit.collectors.openapi import DEFAULT_TIMEOUT as OPENAPI_TIMEOUT
from evidence_kit.commands import Printer, Spinner, Style, exiting
from evidence_kit.config import Config
from evidence_kit.errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, CollectorError, EvidenceError
from evidence_kit.model import CollectorResult, Context, Handoff, Output
from evidence_kit.order import closure
from evidence_kit.plan import plan as make_plan
from evidence_kit.plan import schedule, select
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support import proc
from evidence_kit.support.db import template_secrets
from evidence_kit.support.host import ci_context, host_facts
from evidence_kit.support.tree import keep_out_of_git


@dataclass(frozen=True)
class Event:
    """Progress: a collector started or finished."""

    kind: str  # start | done
    collector: str
    status: str = ""
    artifacts: int = 0
    duration_s: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Summary:
    """What a collect produced."""

    bundle: Path
    archive: Path | None
    digest: str
    results: tuple[CollectorResult, ...]
    artifacts: int
    redactions: int
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    database_problem: str | None = None

    @property
    def failed(self) -> list[CollectorResult]:
        return [r for r in self.results if r.status not in ("ok", "skipped")]

    @property
    def not_ok(self) -> list[CollectorResult]:
        """The collectors whose status is not `ok`, `skipped` included (what `--strict` fails on)."""
        return [r for r in self.results if r.status != "ok"]

    def as_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.bundle),
            "archive": str(self.archive) if self.archive else None,
            "digest": self.digest,
            "artifacts": self.artifacts,
            "redactions": self.redactions,
            "ok": not self.failed,
            "database_problem": self.database_problem,
            "collectors": [
                {"name": r.collector, "status": r.status, "error": r.error, "hint": r.hint}
                for r in sorted(self.results, key=lambda r: r.collector)
            ],
        }


def _run_collector(name: str, ctx: Context, options: Mapping[str, Any]) -> CollectorResult:
    t0 = time.monotonic()
    try:
        outputs: list[Output] = list(COLLECTORS[name].collect(ctx, options))
    except CollectorError as exc:
        return CollectorResult(
            name, "error", error=exc.message, hint=exc.hint or None, duration_s=time.monotonic() - t0
        )
    except Exception as exc:
        # NOTE: a collector bug must not cost the user the other collectors' evidence.
        return CollectorResult(
            name,
            "error",
            error=f"{type(exc).__name__}: {exc}",
            hint="this is a bug in the collector; please report it with the bundle's manifest",
            duration_s=time.monotonic() - t0,
        )
    status = worst([o.status for o in outputs])
    # NOTE: one message said of several artifacts (a test run's `1 failed`) is said once, naming them all.
    said: dict[str, list[str]] = {}
    for o in outputs:
        if o.status != "ok" and o.message:
            said.setdefault(o.message, []).append(o.name)
    errors = [f"{', '.join(names)}: {message}" for message, names in said.items()]
    return CollectorResult(
        name, status, tuple(outputs), error="; ".join(errors) or None, duration_s=time.monotonic() - t0
    )


def _notes(result: CollectorResult) -> str:
    """What the outputs of a collector that did its job say beside it (e.g. how a document was got)."""
    said = dict.fromkeys(o.message for o in result.outputs if o.status == "ok" and o.message)
    return "; ".join(m for m in said if m)


def _masked(result: CollectorResult, redactor: Redactor) -> CollectorResult:
    """The result with secrets masked in its error and hint, before anything prints or writes them."""
    error = redactor.mask_text(result.error)[0] if result.error else None
    hint = redactor.mask_text(result.hint)[0] if result.hint else None
    return replace(result, error=error, hint=hint)


def collect(
    config: Config,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    out: Path | None = None,
    archive: bool = False,
    env: Mapping[str, str] | None = None,
    progress: Callable[[Event], None] | None = None,
    jobs: int = 4,
) -> Summary:
    """Collect every selected collector's evidence into one bundle under `out`."""
    env = dict(os.environ if env is None else env)
    # NOTE: the env files give the database URL and the secrets to mask, never the children's environment:
    # the service's settings read those files themselves, as they choose (a test run reads its own).
    settings = config.with_env_files(env)
    names = select(config, only, skip)
    proc.STOPPING.clear()
    try:
        target = config.database(settings)
        database_problem = None
        secrets = target.secrets if target else ()
    except EvidenceError as exc:
        # NOTE: the collectors that read the database say so, each with the cause; the rest still run,
        # children without DATABASE_URL (as with no database configured), and the summary says it.
        target, database_problem = None, exc.message
        secrets = template_secrets(config.database_template or "", settings)
    database_url = target.url if target else None
    if target is None and database_problem is None and config.database_env:
        # NOTE: the collectors that need the URL say which variable to set, not only that none was given.
        database_problem = config.url_hint(settings)
    secrets_env = dict(settings)
    # NOTE: the password may also appear outside a URL (e.g. echoed by a proof script).
    for i, secret in enumerate(secrets):
        secrets_env[f"EVIDENCE_DATABASE_SECRET_{i}"] = secret
    redactor = Redactor.for_config(config, secrets_env)
    out_dir = (out or config.output).resolve()
    ignore = keep_out_of_git(out_dir, config.root, "bundles")
    writer = BundleWriter(out_dir, redactor)
    notify = progress or (lambda event: None)
    results: list[CollectorResult] = []
    waits, served, _ = schedule(config, names, env)
    handoffs: dict[str, tuple[Handoff, ...]] = {}
    if served:
        where = writer.scratch / "handoff"
        timeout = float(config.collectors["openapi"].get("timeout", OPENAPI_TIMEOUT))
        document = Handoff(served, where / "openapi.json", where / "openapi.meta.json", timeout)
        handoffs = {"http": (document,), "openapi": (document,)}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="collector")
    try:
        pending = list(names)
        done_names: set[str] = set()
        running: dict[Future[CollectorResult], str] = {}
        while pending or running:
            for name in [n for n in pending if all(d in done_names for d in waits[n])]:
                pending.remove(name)
                before = closure(waits, name)
                earlier = {
                    rec["path"].removeprefix("data/"): writer.staging / rec["path"]
                    for rec in writer.records()
                    if rec["collector"] in before
                }
                ctx = Context(
                    root=config.root,
                    scratch=writer.scratch / name,
                    database_url=database_url,
                    env=env,
                    earlier=earlier,
                    python=config.python,
                    handoffs=handoffs.get(name, ()),
                    database_problem=database_problem,
                    database_source=target.source if target else None,
                )
                notify(Event("start", name))
                running[pool.submit(_run_collector, name, ctx, config.collectors[name])] = name
            if not running:
                raise EvidenceError(f"collectors wait on each other: {', '.join(pending)}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.pop(future)
                result = _masked(future.result(), redactor)
                for output in result.outputs:
                    writer.add(result.collector, output)
                results.append(result)
                done_names.add(result.collector)
                notify(
                    Event(
                        "done",
                        result.collector,
                        result.status,
                        len(result.outputs),
                        result.duration_s,
                        "; ".join(filter(None, (result.error, redactor.mask_text(_notes(result))[0]))),
                    )
                )
        pool.shutdown()
        from evidence_kit.collectors.git import head_sha

        bundle = writer.finish(
            service=config.service,
            phase=config.phase,
            git_sha=head_sha(config.root),
            results=results,
            host=host_facts(),
            ci=ci_context(env),
            config={
                "path": config.path.name,
                "sha256": bytes_sha256(config.raw),
                # NOTE: what --only/--skip left out, so a gate missing their evidence can say so.
                "left_out": [n for n in config.collectors if n not in names],
            },
        )
    except BaseException:
        # NOTE: stop the children first, or the worker threads would wait for them to finish.
        proc.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        writer.abort()
        if ignore is not None:
            ignore.unlink(missing_ok=True)
        raise
    manifest = writer.manifest
    epoch = int(datetime.fromisoformat(manifest["created"].replace("Z", "+00:00")).timestamp())
    archive_path = pack(bundle, bundle.with_name(bundle.name + ".tar.gz"), epoch) if archive else None
    return Summary(
        bundle=bundle,
        archive=archive_path,
        digest=file_sha256(bundle / "manifest.json")[0],
        results=tuple(results),
        artifacts=len(manifest["artifacts"]),
        redactions=manifest["redactions"],
        manifest=manifest,
        database_problem=redactor.mask_text(database_problem)[0] if database_problem else None,
    )


_STATUS_STYLES: dict[str, Style] = {
    "ok": "ok",
    "skipped": "muted",
    "failed": "warning",
    "timeout": "warning",
    "error": "error",
}


def run(
    printer: Printer,
    config: Path,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    out: Path | None = None,
    archive: bool = False,
    as_json: bool = False,
    strict: bool = False,
    phase: str | None = None,
    github: bool = False,
    plan: bool = False,
) -> int:
    """`evidence collect`: run the configured collectors, showing progress, and print the bundle's summary.

    With `plan`, print what the collect would do instead, and run nothing.
    """
    loaded = config_file.load(config)
    if phase is not None:
        loaded = replace(loaded, phase=phase)
    if plan:
        planned = make_plan(loaded, only=only, skip=skip)
        printer.out(json.dumps(planned.as_json(), indent=2) if as_json else planned.render().rstrip("\n"))
        return EXIT_OK
    previous = signal.signal(signal.SIGTERM, _terminate)
    spinner: AbstractContextManager[Spinner | None] = (
        printer.status("collecting") if printer.is_terminal and not as_json else nullcontext(None)
    )
    try:
        with spinner as status:
            summary = collect(
                loaded,
                only=only,
                skip=skip,
                out=out,
                archive=archive,
                progress=None if as_json else progress(printer, status),
            )
    except KeyboardInterrupt:
        printer.err("interrupted: no bundle was written")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        printer.out(json.dumps(summary.as_json(), indent=2, sort_keys=True))
    else:
        print_summary(printer, summary)
    if github:
        from evidence_kit.support.github import write_outputs

        archive_path = str(summary.archive.resolve()) if summary.archive else ""
        with exiting(EXIT_FAIL):
            write_outputs(
                {"bundle": str(summary.bundle.resolve()), "archive": archive_path, "digest": summary.digest}
            )
    return EXIT_FAIL if strict and summary.not_ok else EXIT_OK


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt


_NAME_WIDTH = max(len(name) for name in COLLECTORS)


def progress(printer: Printer, spinner: Spinner | None = None) -> Callable[[Event], None]:
    """Plain lines for logs; on a terminal, coloured lines under a spinner naming what still runs."""
    plain = not printer.is_terminal
    running: list[str] = []

    def show(event: Event) -> None:
        if event.kind == "start":
            running.append(event.collector)
            if plain:
                printer.err(f"start {event.collector}")
        else:
            running.remove(event.collector)
            text = (
                f"{event.status:>7} {event.collector:<{_NAME_WIDTH}} {event.artifacts:>4} artifacts  "
                f"{event.duration_s:6.2f} s"
            )
            printer.err(text, style=None if plain else _STATUS_STYLES.get(event.status))
            if event.message:
                printer.err(f"        {event.message}", style=None if plain else "muted")
        if spinner is not None:
            spinner.update(f"collecting: {', '.join(running)}" if running else "writing the bundle")

    return show


def print_summary(printer: Printer, summary: Summary) -> None:
    """The bundle, its digest, the counts, and each collector not ok (skipped too) with its tip."""
    not_ok = summary.not_ok
    printer.out(
        f"bundle  {summary.bundle}\n"
        f"digest  sha256:{summary.digest}\n"
        f"        {summary.artifacts} artifacts, {summary.redactions} redactions, "
        f"{len(not_ok)} of {len(summary.results)} collectors not ok"
    )
    if summary.archive:
        printer.out(f"archive {summary.archive}")
    if summary.database_problem:
        printer.out(
            f"  database: the URL cannot be built: {summary.database_problem}\n"
            "    the collectors that read the database did not; commands ran without DATABASE_URL"
        )
    for res in not_ok:
        printer.out(f"  {res.collector}: {res.status}: {res.error or ''}")
        if res.hint:
            printer.out(f"    Tip: {res.hint}")
