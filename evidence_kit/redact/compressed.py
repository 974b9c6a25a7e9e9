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
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
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
    if name is None:
        return None
    if name == "zip":
        return _mask_zip(redactor, src, start, sink, tally)
    streams = _Streams(name, src)
    found, cut = redactor.stream(streams, _discard, EXPANDED_CAP, Tally())
    src.seek(start)
    if not found and not cut and streams.broken is None:
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
    return Outcome(True, cut, note + ", and compressed again")


def _mask_zip(redactor: Redactor, src: IO[bytes], start: int, sink: Sink, tally: Tally) -> Outcome | None:
    """`mask` for a zip archive: each entry's text and name scanned, and where one holds a secret, the
    archive written again entry by entry (same names masked, same times, deflated), the text of all
    entries together cut at the cap. Encrypted entries cannot be read, and are left out of a new archive.
    An archive zipfile cannot read is left to the caller (None): its bytes are scanned as any file's."""
    cap = EXPANDED_CAP
    size = src.seek(0, io.SEEK_END) - start
    src.seek(start)
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
            comment = archive.comment
    except (zipfile.BadZipFile, *_BROKEN, RuntimeError, NotImplementedError):
        # NOTE: an archive zipfile cannot read is copied as bytes, scanned as such, as before.
        src.seek(start)
        return None
    hidden = _unlisted(src, start, size, len(entries), comment)
    src.seek(start)
    if not found and not cut and hidden is None:
        return Outcome(False, raw=size)
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
    if hidden is not None:
        note += f", {hidden} left out"
    return Outcome(True, cut, note + ", and the archive written again")


_LOCAL = b"PK\x03\x04"
_END = b"PK\x05\x06"


def _unlisted(src: IO[bytes], start: int, size: int, listed: int, comment: bytes) -> str | None:
    """What the archive holds beyond what its directory lists, which a reader of local headers finds
    (entries the directory leaves out, bytes after its end); None when there is nothing."""
    src.seek(start)
    headers, tail, seen = 0, b"", 0
    while seen < size:
        block = src.read(min(1024 * 1024, size - seen))
        if not block:
            break
        seen += len(block)
        data = tail + block
        headers += data.count(_LOCAL)
        # NOTE: a signature across two blocks is counted once: the kept tail is shorter than it.
        tail = data[-(len(_LOCAL) - 1) :]
    # NOTE: the end record (22 bytes and the comment) closes the archive; anything after it is extra.
    end = 22 + len(comment)
    src.seek(start + max(size - end, 0))
    last = src.read(end)
    if not (last.startswith(_END) and last.endswith(comment)):
        return "bytes after the archive's end"
    if headers > listed:
        return f"{headers - listed} entr{'y' if headers - listed == 1 else 'ies'} its directory does not list"
    return None


def _entry(inner: IO[bytes]) -> _Readable:
    # NOTE: a zip entry is read by a ZipExtFile, which has `read1` (typed as plain IO).
    return _Readable(cast(_Reads, inner))


def _discard(_: Any) -> None:
    pass
