"""Secrets inside gzip, bzip2, xz and zip data: masked in the decompressed text, then compressed again.

Scanning a compressed file as bytes finds only what compression left legible (a gzip of level 0, say):
a deflated `password=…` line is noise to every rule. So a source that starts with one of these formats'
magic bytes is read twice. The first pass decompresses every stream in it, one after another, and only
counts what the redactor would mask. When that is nothing, and the streams end cleanly at the end of the
data (zero padding aside), exactly the bytes that pass read are copied as they are. Otherwise the second
pass writes the masked text compressed in the same format again, with fixed settings, so the same input
gives the same bytes: a secret found; text beyond the cap (`EXPANDED_CAP`), which is cut there, since
nothing past it was scanned; data that breaks off, or bytes after the last stream that are not one (a
crash-truncated member, another format appended): the readable text is kept, the rest is left out, as
any of it may be read by a tool that looks further.

Not looked into: compressed data inside the decompressed text (a `.gz` inside a `.tar.gz`, gzip of
gzip); that text is scanned as bytes, as any file is.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast

from evidence_kit.redact.redactor import Redactor, Tally

# NOTE: the decompressed text scanned of a compressed source, whatever its own cap on raw bytes.
EXPANDED_CAP = 1024 * 1024 * 1024
# NOTE: compressed bytes read at a time, and text made at most from them at a time (a bomb stays small).
_RAW_CHUNK = 64 * 1024
_TEXT_CHUNK = 1024 * 1024
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
HEAD = 10
_BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError)
# NOTE: what reading a zip entry raises where zipfile cannot read it (a bad CRC, an unknown method).
_UNREADABLE = (zipfile.BadZipFile, *_BROKEN, RuntimeError, NotImplementedError)

Sink = Callable[[Any], None]


# NOTE: after `BZh` and its level, a block or the end of the stream: text that starts `BZh` is text.
_BZIP2_NEXT = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")


def kind(head: bytes) -> str | None:
    """The compression format whose magic bytes `head` (HEAD bytes) starts with, None for none of them."""
    name = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if name == "bzip2" and not (head[3:4].isdigit() and head[4:10] in _BZIP2_NEXT):
        return None
    return name


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


def maybe(data: bytes) -> bool:
    """True when `data` may be compressed data `mask` reads: a magic at its start or a zip's end record."""
    return kind(data[:HEAD]) is not None or _END in data[-(22 + 65535) :]


def _decompressor(name: str) -> Any:
    if name == "gzip":
        return zlib.decompressobj(wbits=31)
    if name == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


class _Streams(io.RawIOBase):
    """The text of every compressed stream of `src`, one after another. It ends where the data does,
    or where it breaks off or something that is not a stream follows (`broken` says which); `consumed`
    counts the source's bytes read, all of which a clean end has decompressed."""

    def __init__(self, name: str, src: IO[bytes]) -> None:
        self.name, self.src = name, src
        self.magic = next(m for m, n in _MAGIC.items() if n == name)
        self.broken: str | None = None
        self.consumed = 0
        self._texts = self._decompress()
        self._text = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._text:
            more = next(self._texts, None)
            if more is None:
                return 0
            self._text = more
        n = min(len(view), len(self._text))
        view[:n] = self._text[:n]
        self._text = self._text[n:]
        return n

    def _raw(self) -> bytes:
        data = self.src.read(_RAW_CHUNK)
        self.consumed += len(data)
        return data

    def _decompress(self) -> Any:
        decomp = _decompressor(self.name)
        pending = b""
        while True:
            if decomp.eof:
                rest = (decomp.unused_data + pending).lstrip(b"\0")
                while not rest:
                    more = self._raw()
                    if not more:
                        return
                    rest = more.lstrip(b"\0")
                while len(rest) < len(self.magic) and (more := self._raw()):
                    rest += more
                if not rest.startswith(self.magic):
                    self.broken = f"bytes after the last {self.name} stream are not {self.name} data"
                    return
                decomp, pending = _decompressor(self.name), rest
                continue
            if not pending and _hungry(decomp):
                pending = self._raw()
                if not pending:
                    self.broken = f"the data ends inside a {self.name} stream"
                    return
            try:
                text = _step(decomp, pending, _TEXT_CHUNK)
            except _BROKEN as exc:
                self.broken = str(exc) or type(exc).__name__
                return
            pending = b""
            if text:
                yield text


def _hungry(decomp: Any) -> bool:
    """True when the decompressor has no input left to make text of."""
    if hasattr(decomp, "needs_input"):
        return bool(decomp.needs_input)
    return not decomp.unconsumed_tail


def _step(decomp: Any, data: bytes, most: int) -> bytes:
    """At most `most` bytes of text from `data` and what the decompressor holds."""
    if hasattr(decomp, "needs_input"):
        return bytes(decomp.decompress(data, most))
    # NOTE: zlib keeps the input it did not use in `unconsumed_tail`, to be given again.
    return bytes(decomp.decompress(decomp.unconsumed_tail + data, most))


class _Sinking(io.RawIOBase):
    """A writable file whose bytes go to a sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sink(data)
        return len(data)


@dataclass(frozen=True)
class Outcome:
    """What `mask` did: wrote the masked text (`written`, whether it was `cut`, a `note` for the
    manifest), or found nothing to mask in the first `raw` bytes of the source, to be copied as they are."""

    written: bool
    cut: bool = False
    note: str | None = None
    raw: int | None = None


def mask(redactor: Redactor, src: IO[bytes], sink: Sink, tally: Tally) -> Outcome | None:
    """Write `src` masked to `sink` when it is compressed data that must not be copied as it is (see
    the module's text). None when it is not compressed data, or cannot be read twice; otherwise an
    Outcome. When nothing was written, `src` is back where it was."""
    if not src.seekable():
        return None
    start = src.tell()
    name = kind(src.read(HEAD))
    src.seek(start)
    if name is None and zipfile.is_zipfile(src):
        # NOTE: a zip with bytes before it (a self-extracting stub) is still a zip to unzip.
        name = "zip"
    src.seek(start)
    if name is None:
        return None
    if name == "zip":
        return _mask_zip(redactor, src, start, sink, tally)
    streams = _Streams(name, src)
    found, cut = redactor.stream(streams, _discard, EXPANDED_CAP, Tally())
    src.seek(start)
    clean = not found and not cut and streams.broken is None
    raw = _raw_hits(redactor, src, start, streams.consumed) if clean else 0
    if clean and not raw:
        return Outcome(False, raw=streams.consumed)
    streams = _Streams(name, src)
    with _writer(name, _Sinking(sink)) as out:

        def compress(chunk: Any) -> None:
            out.write(chunk)

        count, cut = redactor.stream(streams, compress, EXPANDED_CAP, tally)
    note = f"{name} data decompressed to mask {count} secret{'' if count == 1 else 's'}"
    if cut:
        note += f", cut at {EXPANDED_CAP} bytes of text (nothing past them was scanned)"
    if streams.broken:
        note += f", read up to where it breaks off ({streams.broken}; the rest left out)"
    if raw:
        note += f", its headers left out ({raw} secret{'' if raw == 1 else 's'} outside the text)"
    return Outcome(True, cut, note + ", and compressed again")


def _mask_zip(redactor: Redactor, src: IO[bytes], start: int, sink: Sink, tally: Tally) -> Outcome | None:
    """`mask` for a zip archive. It is copied as it is only when every entry was read and is clean, and
    the entries, the directory and its end record cover every byte of it, as listed: anything else a
    reader of local headers could find (an entry the directory leaves out, data in a gap, bytes before
    or after, an entry zipfile cannot read) leaves only the archive written again entry by entry from
    what was read (names masked, times kept, deflated), the text of all entries cut at the cap.
    Encrypted entries are left as they are only in an archive copied as it is. None when zipfile cannot
    open it as an archive: its bytes are then scanned as any file's."""
    cap = EXPANDED_CAP
    size = src.seek(0, io.SEEK_END) - start
    src.seek(start)
    try:
        archive = zipfile.ZipFile(src)
    except _UNREADABLE:
        src.seek(start)
        return None
    with archive:
        entries = archive.infolist()
        found, cut, used, unread = 0, False, 0, 0
        for entry in entries:
            found += redactor.mask_text(entry.filename, Tally())[1]
            if entry.is_dir() or entry.flag_bits & 0x1:
                continue
            try:
                with archive.open(entry) as inner:
                    reading = _entry(inner)
                    count, cut = redactor.stream(reading, _discard, cap - used, Tally())
            except _UNREADABLE:
                unread += 1
                continue
            # NOTE: an entry whose data breaks off was not read whole: what follows the break is unscanned.
            unread += reading.broken is not None
            found += count
            # NOTE: what was read, not what the entry declares: a declared size may lie.
            used += reading.taken
            if cut or used > cap:
                cut = True
                break
        covered = _covers(src, start, size, archive)
    src.seek(start)
    if not found and not cut and not unread and covered and not _raw_hits(redactor, src, start, size):
        return Outcome(False, raw=size)
    count, cut, used, left = 0, False, 0, 0
    names: set[str] = set()
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(_Sinking(sink), "w") as out:
        for entry in entries:
            if entry.flag_bits & 0x1 or entry.filename in names:
                # NOTE: an entry listed twice is written once.
                left += entry.filename not in names
                continue
            names.add(entry.filename)
            name, named = redactor.mask_text(entry.filename, tally)
            info = zipfile.ZipInfo(name, entry.date_time)
            info.external_attr, info.create_system = entry.external_attr, entry.create_system
            info.compress_type = zipfile.ZIP_STORED if entry.is_dir() else zipfile.ZIP_DEFLATED
            if entry.is_dir():
                out.writestr(info, b"")
                count += named
                continue
            # NOTE: the entry's text is gathered masked in a spool first: one that cannot be read whole
            # is left out, never written in part.
            with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:

                def keep(chunk: Any, spool: IO[bytes] = spool) -> None:
                    spool.write(chunk)

                try:
                    with archive.open(entry) as inner:
                        reading = _entry(inner)
                        masked, cut = redactor.stream(reading, keep, cap - used, tally)
                    if reading.broken is not None:
                        raise zipfile.BadZipFile(reading.broken)
                except _UNREADABLE:
                    left += 1
                    continue
                spool.seek(0)
                with out.open(info, "w") as target:
                    shutil.copyfileobj(spool, target)
            count += named + masked
            used += reading.taken
            if cut or used > cap:
                cut = True
                break
    note = f"zip entries read to mask {count} secret{'' if count == 1 else 's'}"
    if cut:
        note += f", cut at {cap} bytes of text (entries past them left out)"
    if left:
        note += f", {left} encrypted or unreadable entr{'y' if left == 1 else 'ies'} left out"
    if not covered:
        note += ", bytes its directory does not list left out"
    return Outcome(True, cut, note + ", and the archive written again")


_LOCAL = b"PK\x03\x04"
_END = b"PK\x05\x06"
_DESCRIPTOR = b"PK\x07\x08"


def _covers(src: IO[bytes], start: int, size: int, archive: zipfile.ZipFile) -> bool:
    """True when the listed entries, one after another from the first byte, then the directory right
    after them and its end record closing the file, are all the archive's bytes (no zip64 records)."""
    pos = 0
    for entry in sorted(archive.infolist(), key=lambda e: e.header_offset):
        src.seek(start + pos)
        head = src.read(30)
        if entry.header_offset != pos or len(head) < 30 or not head.startswith(_LOCAL):
            return False
        flags, name_len, extra_len = struct.unpack("<H", head[6:8])[0], *struct.unpack("<HH", head[26:30])
        if (flags ^ entry.flag_bits) & 0x1:
            # NOTE: encrypted by one record and not by the other: a reader of local headers reads it.
            return False
        pos += 30 + name_len + extra_len + entry.compress_size
        if entry.flag_bits & 0x8:
            src.seek(start + pos)
            pos += 16 if src.read(4) == _DESCRIPTOR else 12
    end = 22 + len(archive.comment)
    src.seek(start + size - end)
    record = src.read(end)
    if len(record) < 22 or not record.startswith(_END):
        return False
    entries: int = struct.unpack("<H", record[10:12])[0]
    directory_size: int
    directory_at: int
    directory_size, directory_at = struct.unpack("<II", record[12:20])
    return entries == len(archive.infolist()) and directory_at == pos and pos + directory_size == size - end


def _entry(inner: IO[bytes]) -> _Readable:
    # NOTE: a zip entry is read by a ZipExtFile, which has `read1` (typed as plain IO).
    return _Readable(cast(_Reads, inner))


def _raw_hits(redactor: Redactor, src: IO[bytes], start: int, size: int) -> int:
    """How many secrets the first `size` bytes hold as they are (a gzip header's file name, a zip's
    comment or extra field): masked in place, they would break the file, so it is written again."""
    hits = redactor.stream(cast(io.BufferedIOBase, src), _discard, size, Tally())[0]
    src.seek(start)
    return hits


def _discard(_: Any) -> None:
    pass
