"""Secrets inside gzip, bzip2, xz and zip data: masked in the decompressed text, then compressed again.

Scanning a compressed file as bytes finds only what compression left legible (a gzip of level 0, say):
a deflated `password=…` line is noise to every rule. So a source that starts with one of these formats'
magic bytes is read twice. The first pass decompresses it and only counts what the redactor would mask.
When that is nothing, the file is copied as it is. Otherwise the second pass writes the masked text
compressed in the same format again, with fixed settings, so the same input gives the same bytes.

Data that ends early or breaks off counts up to where it is readable; what comes after it cannot be
read by anyone either. Text that decompresses beyond the cap is cut there and compressed again: past
the cap nothing was scanned, so none of it may leave.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any, Protocol, cast

from evidence_kit.redact.redactor import Redactor, Tally

# NOTE: the decompressed text scanned of a compressed source that has no cap of its own.
EXPANDED_CAP = 1024 * 1024 * 1024
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
HEAD = max(map(len, _MAGIC))
_BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError)

Sink = Callable[[Any], None]


def kind(head: bytes) -> str | None:
    """The compression format whose magic bytes `head` starts with, None for none of them."""
    return next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)


def _reader(name: str, src: Any) -> io.BufferedIOBase:
    if name == "gzip":
        return gzip.GzipFile(fileobj=src, mode="rb")
    if name == "bzip2":
        return bz2.BZ2File(src, "rb")
    return lzma.LZMAFile(src, "rb")


def _writer(name: str, dst: Any) -> io.BufferedIOBase:
    if name == "gzip":
        # NOTE: no time and no file name in the header: the same text gives the same bytes.
        return gzip.GzipFile(fileobj=dst, mode="wb", compresslevel=6, mtime=0)
    if name == "bzip2":
        return bz2.BZ2File(dst, "wb", compresslevel=9)
    return lzma.LZMAFile(dst, "wb", format=lzma.FORMAT_XZ)


class _Reads(Protocol):
    def read1(self, size: int = ..., /) -> bytes: ...


class _Readable(io.RawIOBase):
    """A decompressing reader that ends, instead of raising, where its data breaks off."""

    def __init__(self, inner: _Reads) -> None:
        self.inner = inner
        self.broken: str | None = None
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # NOTE: in small reads: one large read that meets the break loses all it decompressed.
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view) and self.broken is None:
            try:
                data = self.inner.read1(len(view) - got)
            except _BROKEN as exc:
                self.broken = str(exc) or type(exc).__name__
                break
            if not data:
                break
            view[got : got + len(data)] = data
            got += len(data)
        self.taken += got
        return got


class _Sinking(io.RawIOBase):
    """A writable file whose bytes go to a sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sink(data)
        return len(data)


def mask(
    redactor: Redactor, src: IO[bytes], sink: Sink, limit: int | None, tally: Tally
) -> tuple[bool, str] | None:
    """Write `src` masked to `sink` if it is compressed data that holds a secret (or more text than
    `limit`): returns whether the text was cut, and a note for the manifest. None when it is not
    compressed (or cannot be read twice), or holds nothing to mask: `src` is then where it was, and
    nothing was written."""
    if not src.seekable():
        return None
    start = src.tell()
    name = kind(src.read(HEAD))
    src.seek(start)
    if name is None:
        return None
    cap = EXPANDED_CAP if limit is None else limit
    if name == "zip":
        return _mask_zip(redactor, src, start, sink, cap, tally)
    with _reader(name, src) as inner:
        readable = _Readable(inner)
        found, cut = redactor.stream(readable, _discard, cap, Tally())
    src.seek(start)
    if not found and not cut:
        return None
    with _reader(name, src) as inner, _writer(name, _Sinking(sink)) as out:
        readable = _Readable(inner)

        def compress(chunk: Any) -> None:
            out.write(chunk)

        count, cut = redactor.stream(readable, compress, cap, tally)
    note = f"{name} data decompressed to mask {count} secret{'' if count == 1 else 's'}"
    if cut:
        note += f", cut at {cap} bytes of text (nothing past them was scanned)"
    if readable.broken:
        note += f", up to where it breaks off ({readable.broken})"
    return cut, note + ", and compressed again"


def _mask_zip(
    redactor: Redactor, src: IO[bytes], start: int, sink: Sink, cap: int, tally: Tally
) -> tuple[bool, str] | None:
    """`mask` for a zip archive: each entry's text and name scanned, and where one holds a secret, the
    archive written again entry by entry (same names masked, same times, deflated), the text of all
    entries together cut at `cap`. Encrypted entries cannot be read, and are left out of a new archive."""
    try:
        with zipfile.ZipFile(src) as archive:
            entries = archive.infolist()
            found, cut, used = 0, False, 0
            for entry in entries:
                found += redactor.mask_text(entry.filename, Tally())[1]
                if entry.is_dir() or entry.flag_bits & 0x1:
                    continue
                with archive.open(entry) as inner:
                    reading = _entry(inner)
                    count, cut = redactor.stream(reading, _discard, cap - used, Tally())
                found += count
                # NOTE: what was read, not what the entry declares: a declared size may lie.
                used += reading.taken
                if cut or used > cap:
                    cut = True
                    break
    except (zipfile.BadZipFile, *_BROKEN, RuntimeError, NotImplementedError):
        # NOTE: an archive zipfile cannot read is copied as bytes, scanned as such, as before.
        src.seek(start)
        return None
    src.seek(start)
    if not found and not cut:
        return None
    count, cut, used, skipped = 0, False, 0, 0
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(_Sinking(sink), "w") as out:
        for entry in entries:
            name, named = redactor.mask_text(entry.filename, tally)
            count += named
            if entry.flag_bits & 0x1:
                skipped += 1
                continue
            info = zipfile.ZipInfo(name, entry.date_time)
            info.external_attr, info.create_system = entry.external_attr, entry.create_system
            info.compress_type = zipfile.ZIP_STORED if entry.is_dir() else zipfile.ZIP_DEFLATED
            with out.open(info, "w") as target:
                if not entry.is_dir():
                    with archive.open(entry) as inner:

                        def write(chunk: Any, target: IO[bytes] = target) -> None:
                            target.write(chunk)

                        reading = _entry(inner)
                        masked, cut = redactor.stream(reading, write, cap - used, tally)
                    count += masked
                    used += reading.taken
            if cut or used > cap:
                cut = True
                break
    note = f"zip entries read to mask {count} secret{'' if count == 1 else 's'}"
    if cut:
        note += f", cut at {cap} bytes of text (entries past them left out)"
    if skipped:
        note += f", {skipped} encrypted entr{'y' if skipped == 1 else 'ies'} left out"
    return cut, note + ", and the archive written again"


def _entry(inner: IO[bytes]) -> _Readable:
    # NOTE: a zip entry is read by a ZipExtFile, which has `read1` (typed as plain IO).
    return _Readable(cast(_Reads, inner))


def _discard(_: Any) -> None:
    pass
