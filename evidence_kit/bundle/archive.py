"""Deterministic `.tar.gz` of a bundle, and safe reading of an archive someone handed us."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from evidence_kit.errors import EvidenceError

MAX_MEMBER = 8 * 1024**3
MAX_TOTAL = 32 * 1024**3
MAX_MEMBERS = 1_000_000
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def source_date_epoch(default: int) -> int:
    """SOURCE_DATE_EPOCH when set (reproducible builds), otherwise `default`."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise EvidenceError(
            f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds",
            hint="set it to a Unix timestamp, e.g. `export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`",
        )
    return int(value)


def pack(bundle: Path, dest: Path, mtime: int = 0) -> Path:
    """Write `bundle` as a tar.gz with sorted entries, fixed owner, mode and mtime; atomic."""
    if not (bundle / "manifest.json").is_file():
        raise EvidenceError(f"{bundle} is not a bundle (no manifest.json)", hint="pass a bundle folder")
    if dest.resolve().is_relative_to(bundle.resolve()):
        raise EvidenceError(
            f"{dest} is inside the bundle it would pack", hint="write the archive beside the bundle folder"
        )
    mtime = source_date_epoch(mtime)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=6) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for rel in _walk(bundle):
                path = bundle / rel
                info = tarfile.TarInfo(f"{bundle.name}/{rel}" if rel else bundle.name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
                if path.is_dir():
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                else:
                    info.mode, info.size = 0o644, path.stat().st_size
                    with path.open("rb") as f:
                        tar.addfile(info, f)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _walk(root: Path) -> Iterator[str]:
    yield ""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath).relative_to(root)
        for d in dirnames:
            yield (base / d).as_posix()
        for f in sorted(filenames):
            yield (base / f).as_posix()


def is_archive(path: Path) -> bool:
    """True when the path names a tar archive rather than a bundle folder."""
    return path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES)


def _refusal(member: tarfile.TarInfo) -> str | None:
    name = PurePosixPath(member.name)
    if (
        member.name.startswith(("/", "\\"))
        or name.is_absolute()
        or (len(member.name) > 1 and member.name[1] == ":")
    ):
        return "absolute path"
    if ".." in name.parts:
        return "path leaves the archive (`..`)"
    if member.issym() or member.islnk():
        return "link"
    if member.isdev() or member.isfifo():
        return "device or fifo"
    if not (member.isfile() or member.isdir()):
        return "unsupported member type"
    if member.size > MAX_MEMBER:
        return f"member larger than {MAX_MEMBER} bytes"
    return None


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """Yield a bundle folder: the folder itself, or an archive safely unpacked in a temp dir."""
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise EvidenceError(f"{path} does not exist", hint="pass a bundle folder or its .tar.gz archive")
    if not is_archive(path):
        raise EvidenceError(f"{path} is neither a bundle folder nor a .tar.gz archive")
    tmp = Path(tempfile.mkdtemp(prefix="evidence-open-"))
    try:
        yield _extract(path, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unpack(path: Path, into: Path) -> Path:
    """Unpack an archive into the empty folder `into`, refusing unsafe members; the bundle folder inside."""
    return _extract(path, into)


def _extract(path: Path, into: Path) -> Path:
    problems: list[str] = []
    try:
        tar = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed by the `with tar:` below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise EvidenceError(
            f"{path} is not a readable archive: {exc}", hint="re-create it with `evidence pack`"
        ) from exc
    with tar:
        total, count, tops = 0, 0, set()
        seen: dict[str, str] = {}
        try:
            members = []
            for member in tar:
                count += 1
                if count > MAX_MEMBERS:
                    problems.append(f"more than {MAX_MEMBERS} members")
                    break
                why = _refusal(member)
                if why:
                    problems.append(f"{member.name}: {why}")
                    continue
                # NOTE: `tar -C BUNDLE .` writes `./`-prefixed names and a `.` entry.
                name = PurePosixPath(member.name).as_posix()
                while name.startswith("./"):
                    name = name[2:]
                if name in ("", "."):
                    continue
                kind = "dir" if member.isdir() else "file"
                clash = seen.get(name)
                if clash and (clash, kind) != ("dir", "dir"):
                    problems.append(f"{name}: appears twice in the archive")
                    continue
                seen[name] = kind
                member.name = name
                total += member.size
                tops.add(PurePosixPath(name).parts[0])
                members.append(member)
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
            raise EvidenceError(
                f"{path} is a damaged archive: {exc}", hint="fetch the archive again"
            ) from exc
        if total > MAX_TOTAL:
            problems.append(f"unpacks to {total} bytes, more than the {MAX_TOTAL} allowed")
        flat = "manifest.json" in tops
        if len(tops) > 1 and not flat:
            problems.append(f"holds several top-level entries ({', '.join(sorted(tops))}), not one bundle")
        if problems:
            raise EvidenceError(
                f"refusing to unpack {path}: it holds unsafe members",
                hint="only open archives written by `evidence collect --archive` or `evidence pack`",
                details=problems,
            )
        try:
            for member in members:
                target = into / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                with src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, 1024 * 1024)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise EvidenceError(
                f"cannot unpack {path}: {exc}",
                hint="the archive's entries conflict; re-create it with `evidence pack`",
            ) from exc
    root = into if flat or not tops else into / tops.pop()
    return root if root.is_dir() else into
