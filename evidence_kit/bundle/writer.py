"""The only module that writes bundles: redact, hash while writing, BagIt files, atomic rename."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Any

from evidence_kit import __version__
from evidence_kit.bundle.digest import bytes_sha256, copy_sha256
from evidence_kit.errors import EvidenceError
from evidence_kit.model import STATUSES, CollectorResult, Output, Status
from evidence_kit.redact import compressed
from evidence_kit.redact.redactor import Redactor, Tally

PAYLOAD = "data"
MANIFEST = "manifest.json"
BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
PAYLOAD_MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
TAG_FILES = (BAGIT_TXT, BAG_INFO, PAYLOAD_MANIFEST, MANIFEST)
PARTIAL_PREFIX = ".evidence-partial-"
BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# NOTE: 2 added the masks by rule and the allow list's passes; verify still accepts 1.
SCHEMA_VERSION = 2

# NOTE: bytes copied at a time where compressed data is copied as it is.
_COPY_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f%\\:*?\"<>|]")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
# NOTE: the media copied as they are, not redacted: binary images, and what a collector declares as
# gzip bytes (the files collector names none so). Everything else, compressed files and archives
# included, is scanned as bytes: a stored zip entry, a gzip of level 0 or a small xz file keeps its
# text legible; gzip, bzip2, xz, zip and tar data is read and scanned too, and such data nested in it
# (see redact/compressed.py).
# Images written as text are scanned too.
_OPAQUE = ("application/gzip", "image/")
_LEGIBLE_IMAGES = frozenset(
    {
        "image/svg+xml",
        "image/x-xbitmap",
        "image/x-xpixmap",
        "image/x-portable-anymap",
        "image/x-portable-bitmap",
        "image/x-portable-graymap",
        "image/x-portable-pixmap",
    }
)


def dumps(value: Any) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, trailing newline, UTF-8."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def slug(text: str) -> str:
    """A file-name-safe form of a label."""
    return _SLUG.sub("-", text).strip("-.") or "x"


def artifact_path(collector: str, name: str) -> str:
    """`data/<collector>/<name>` with the name made safe: no absolute paths, no `..`."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    clean = [_UNSAFE.sub("_", p) for p in parts] or ["unnamed"]
    return "/".join([PAYLOAD, slug(collector), *clean])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def partial_name(prefix: str = PARTIAL_PREFIX) -> str:
    """A hidden folder name for work in progress: `prefix`, this process's id, a random part and the host,
    so that `sweep_partials` can tell when its owner is gone."""
    return f"{prefix}{os.getpid()}-{secrets.token_hex(4)}-{slug(socket.gethostname())}"


def sweep_partials(out_dir: Path, prefix: str = PARTIAL_PREFIX) -> None:
    """Remove the `partial_name(prefix)` folders in `out_dir` left by processes of this host that were
    killed (half-built bundles, unfinished pulls)."""
    if not out_dir.is_dir():
        return
    here = slug(socket.gethostname())
    for entry in out_dir.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid, _, rest = entry.name[len(prefix) :].partition("-")
        # NOTE: on a shared volume a partial of another host belongs to a collect we cannot see.
        host = rest.partition("-")[2]
        if host and host != here:
            continue
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


class BundleWriter:
    """Builds a bundle in a hidden folder beside the destination and renames it into place."""

    def __init__(self, out_dir: Path, redactor: Redactor) -> None:
        self.out_dir = out_dir
        self.redactor = redactor
        self.staging = out_dir / partial_name()
        self.scratch = self.staging / "scratch"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            sweep_partials(out_dir)
            (self.staging / PAYLOAD).mkdir(parents=True)
            self.scratch.mkdir()
        except OSError as exc:
            raise EvidenceError(
                f"cannot create the bundle under {out_dir}: {exc.strerror or exc}",
                hint="pass --out (or `output:` in evidence.yaml) naming a writable folder",
            ) from exc
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self.manifest: dict[str, Any] = {}

    def add(self, collector: str, output: Output) -> dict[str, Any]:
        """Redact, hash and write one output; returns its manifest record."""
        tally = Tally()
        path = self._claim(artifact_path(collector, self.redactor.mask_text(output.name, tally)[0]))
        target = self.staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        redact = not output.media_type.startswith(_OPAQUE) or output.media_type in _LEGIBLE_IMAGES
        if output.source is not None:
            try:
                source = output.source.open("rb")
            except OSError as exc:
                # NOTE: a log rotated away between the glob and the copy costs that artifact only.
                why = f"cannot read {output.source}: {exc.strerror or exc}"
                output = replace(output, source=None, data=(why + "\n").encode(), status="error", message=why)
        h = hashlib.sha256()
        size = 0
        truncated = output.truncated
        note: str | None = None
        # NOTE: open for reading too: a large copy is hashed as read back from the bundle (see copy_sha256).
        with target.open("w+b") as f:

            def sink(chunk: bytes | bytearray | memoryview) -> None:
                nonlocal size
                h.update(chunk)
                f.write(chunk)
                size += len(chunk)

            if output.source is not None:
                with source as src:
                    if redact:
                        unpacked = compressed.mask(self.redactor, src, sink, tally)
                        if unpacked is not None and unpacked.written:
                            cut, note = unpacked.cut, unpacked.note
                        elif unpacked is not None:
                            # NOTE: compressed data with nothing to mask: exactly the bytes found clean, as
                            # they are (the line redactor may take compressed bytes for a secret).
                            cut = _copy(src, sink, _least(output.limit, unpacked.raw))
                        elif (hides := compressed.hidden((output.name, output.source.name), src)) is not None:
                            cut, note = False, hides
                        else:
                            cut = self.redactor.stream(src, sink, output.limit, tally)[1]
                    else:
                        # NOTE: nothing went through either file object's buffer yet; their
                        # descriptors are read and written directly.
                        h, size, cut = copy_sha256(src.fileno(), f.fileno(), output.limit)
                truncated = truncated or cut
            else:
                data = output.data or b""
                unpacked = None
                if redact and compressed.maybe(data):
                    unpacked = compressed.mask(self.redactor, io.BytesIO(data), sink, tally)
                if unpacked is not None and unpacked.written:
                    truncated, note = truncated or unpacked.cut, unpacked.note
                elif unpacked is not None:
                    raw = len(data) if unpacked.raw is None else unpacked.raw
                    truncated = truncated or raw < len(data)
                    sink(data[:raw])
                elif redact and (hides := compressed.hidden((output.name,), io.BytesIO(data))) is not None:
                    note = hides
                else:
                    if redact:
                        data = self.redactor.mask(data, tally)[0]
                    sink(data)
        argv = None
        if output.argv is not None:
            argv = self.redactor.mask_argv(output.argv, tally)
        message = output.message
        if note is not None:
            message = note if message is None else f"{message}; {note}"
        if message is not None:
            message = self.redactor.mask_text(message, tally)[0]
        record: dict[str, Any] = {
            "path": path,
            "sha256": h.hexdigest(),
            "size": size,
            "media_type": output.media_type,
            "collector": collector,
            "title": self.redactor.mask_text(output.title, tally)[0],
            "status": output.status,
            "argv": argv,
            "exit_code": output.exit_code,
            "started": output.started,
            "finished": output.finished,
            "duration_s": output.duration_s,
            "truncated": truncated,
            "redactions": tally.total,
            "redacted": dict(sorted(tally.masked.items())),
            "allowed": dict(sorted(tally.allowed.items())),
            "message": message,
        }
        if output.process is not None:
            record["process"] = dict(output.process)
        with self._lock:
            self._records[path] = record
        return record

    def records(self) -> list[dict[str, Any]]:
        """The manifest records of the artifacts written so far."""
        with self._lock:
            return [r for r in self._records.values() if r]

    def _claim(self, path: str) -> str:
        with self._lock:
            candidate, n = path, 1
            while candidate in self._records:
                n += 1
                stem, dot, ext = path.rpartition(".")
                candidate = f"{stem}-{n}.{ext}" if dot and "/" not in ext else f"{path}-{n}"
            self._records[candidate] = {}
            return candidate

    def finish(
        self,
        *,
        service: str,
        phase: str,
        git_sha: str | None,
        results: list[CollectorResult],
        host: Mapping[str, str],
        ci: Mapping[str, str | None] | None,
        config: Mapping[str, Any] | None = None,
        created: datetime | None = None,
    ) -> Path:
        """Write manifest.json and the BagIt files, then rename the bundle into place."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        created = created or datetime.now(timezone.utc)
        stamp = created.strftime("%Y%m%dT%H%M%SZ")
        short = git_sha[:8] if git_sha else "nogit"
        name = "-".join(part for part in (slug(service), slug(phase) if phase else "", short, stamp) if part)
        records = sorted((r for r in self._records.values() if r), key=lambda r: r["path"])
        counts: dict[str, int] = {}
        for r in records:
            counts[r["collector"]] = counts.get(r["collector"], 0) + 1
        errors = []
        collectors = []
        mask = self.redactor.mask_text
        for res in sorted(results, key=lambda r: r.collector):
            error = mask(res.error)[0] if res.error else None
            hint = mask(res.hint)[0] if res.hint else None
            collectors.append(
                {
                    "name": res.collector,
                    "status": res.status,
                    "duration_s": round(res.duration_s, 3),
                    "artifacts": counts.get(res.collector, 0),
                    "error": error,
                    "hint": hint,
                }
            )
            if error:
                errors.append({"collector": res.collector, "message": error, "hint": hint})
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "evidence-kit", "version": __version__},
            "bundle": name,
            "created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "service": service,
            "phase": phase,
            "git": {"sha": git_sha, "short": git_sha[:12] if git_sha else None},
            "host": {k: mask(v)[0] for k, v in host.items()},
            "ci": {k: mask(v)[0] if v else v for k, v in ci.items()} if ci else None,
            "config": dict(config) if config else None,
            "collectors": collectors,
            "artifacts": records,
            "errors": errors,
            "redactions": sum(r["redactions"] for r in records),
            "redactions_by_rule": _sum(r["redacted"] for r in records),
            "allowed": _sum(r["allowed"] for r in records),
        }
        self._write_tags(manifest, records, created)
        self.manifest = manifest
        return self._publish(name)

    def _write_tags(self, manifest: dict[str, Any], records: list[dict[str, Any]], created: datetime) -> None:
        payload = "".join(f"{r['sha256']}  {r['path']}\n" for r in records).encode()
        oxum = f"{sum(r['size'] for r in records)}.{len(records)}"
        info = (
            f"Bag-Software-Agent: evidence-kit {__version__}\n"
            f"Bagging-Date: {created.strftime('%Y-%m-%d')}\n"
            f"External-Identifier: {manifest['bundle']}\n"
            f"Payload-Oxum: {oxum}\n"
        ).encode()
        tags = {
            BAGIT_TXT: BAGIT_DECLARATION,
            BAG_INFO: info,
            PAYLOAD_MANIFEST: payload,
            MANIFEST: dumps(manifest),
        }
        for name, data in tags.items():
            (self.staging / name).write_bytes(data)
        lines = "".join(f"{bytes_sha256(tags[n])}  {n}\n" for n in sorted(tags))
        (self.staging / TAG_MANIFEST).write_bytes(lines.encode())

    def _publish(self, name: str) -> Path:
        dest = self.out_dir / name
        n = 1
        while True:
            try:
                # NOTE: rename fails rather than merges when the target exists and is not empty.
                if dest.exists():
                    raise FileExistsError(dest)
                os.rename(self.staging, dest)
                return dest
            except FileExistsError:
                n += 1
                dest = self.out_dir / f"{name}-{n}"
            except OSError as exc:
                raise EvidenceError(
                    f"cannot move the bundle into {self.out_dir}: {exc}",
                    hint="check that the output folder is writable and on one filesystem",
                ) from exc

    def abort(self) -> None:
        """Remove the half-built bundle."""
        shutil.rmtree(self.staging, ignore_errors=True)


def _copy(src: IO[bytes], sink: Callable[[bytes], None], limit: int | None) -> bool:
    """Pass `src` to `sink` as it is, up to `limit` bytes (None: all); True when more was left."""
    left = limit
    while chunk := src.read(_COPY_CHUNK if left is None else min(_COPY_CHUNK, left)):
        sink(chunk)
        if left is not None:
            left -= len(chunk)
    return left == 0 and bool(src.read(1))


def _least(*limits: int | None) -> int | None:
    """The smallest of the limits given (None: no limit)."""
    given = [n for n in limits if n is not None]
    return min(given) if given else None


def _sum(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))


_SEVERITY: dict[Status, int] = {"ok": 0, "skipped": 1, "failed": 2, "timeout": 3, "error": 4}
assert set(_SEVERITY) == set(STATUSES)


def worst(statuses: list[Status]) -> Status:
    """The most severe status of several, `ok` when there are none."""
    return max(statuses, key=_SEVERITY.__getitem__, default="ok")
