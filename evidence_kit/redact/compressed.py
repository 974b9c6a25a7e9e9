"""Secrets inside gzip, bzip2, xz, zip and tar data: masked in the text read out of it, then written again.

Scanning a compressed file as bytes finds only what compression left legible (a gzip of level 0, say):
a deflated `password=…` line is noise to every rule. So a source that starts with one of these formats'
magic bytes (a tar's: `ustar` at byte 257) is read twice. The first pass reads its text (every stream of
gzip, bzip2 or xz data, one after another; every entry of a zip; every member of a tar) and only counts
what the redactor would mask. When that is nothing, and the data ends cleanly (zero padding aside),
exactly the bytes that pass read are copied as they are. Otherwise the second pass writes the masked text
in the same format again, with fixed settings, so the same input gives the same bytes: a secret found;
text beyond the cap (`EXPANDED_CAP`), which is cut there, since nothing past it was scanned; data that
breaks off, or bytes after the last stream that are not one (a crash-truncated member, another format
appended): the readable text is kept, the rest is left out, as any of it may be read by a tool that looks
further. A tar is written again member by member, in order, each member's metadata kept and its size the
masked text's: masking changes lengths, so the archive is never patched in place.

A text, zip entry or tar member that itself starts with data of one of these formats (a `.gz` member of a
`.tar.gz`, gzip of gzip, a `.gz` entry of a zip, a zip in a gzip) is looked into the same way, down to
DEPTH formats one inside another, and copied as it is only when it is clean all through. Such a text is
spooled first (a plain one is scanned as it streams); the cap counts the text read at every level
together, so nesting does not multiply it. Nested data deeper than DEPTH is never read: it is left out
(nothing written in its place), never copied.

Damaged archives are read as far as they can be, and never copied unless every byte was read. A zip
zipfile cannot open (its directory cut short or pointing astray), or an entry it cannot read, is read
from its local headers, as a streaming reader would (stored or deflated data, descriptors after it); a tar
whose first header tarfile cannot read is read past the blocks it cannot, as `tar --ignore-zeros` does.
What cannot be read at all is left out, and the manifest note names it: an entry with a method other
than these, one whose data breaks off or whose CRC differs, an encrypted entry (it cannot be scanned), a
tar with no readable header. A source whose name says it is compressed data or an archive (`.gz`, `.zip`,
`.tar`, ...) but that does not start as one, and holds such data after other bytes (a stream or a zip
behind junk, whose end record is lost), is left out whole (`hidden`): only a byte scan would see it.
Still scanned as bytes only: formats the standard library cannot read (zstd, lz4, `.Z`), and such data
after other bytes in a source whose name claims none of these formats.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

from evidence_kit.redact.redactor import Redactor, Tally

# NOTE: the decompressed text scanned of a compressed source, at every nesting level together, whatever
# its own cap on raw bytes.
EXPANDED_CAP = 1024 * 1024 * 1024
# NOTE: formats looked into one inside another (a `.gz` member of a `.tar.gz` is the third).
DEPTH = 4
# NOTE: compressed bytes read at a time, and text made at most from them at a time (a bomb stays small).
_RAW_CHUNK = 64 * 1024
_TEXT_CHUNK = 1024 * 1024
# NOTE: what a spool of text or of data written again holds in memory before it moves to a file.
_SPOOLED = 8 * 1024 * 1024
# NOTE: parts a note names one by one before it counts the rest.
_NAMED = 10
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
HEAD = 10
# NOTE: one tar header block, `ustar` at 257 (POSIX and GNU alike): the head read to tell nested data.
_BLOCK = 512
_BROKEN = (EOFError, OSError, zlib.error, lzma.LZMAError)
# NOTE: what reading a zip entry raises where zipfile cannot read it (a bad CRC, an unknown method, a
# directory whose offsets point before the file: "negative seek value").
_UNREADABLE = (zipfile.BadZipFile, *_BROKEN, RuntimeError, NotImplementedError, ValueError)
# NOTE: and a tar member, whose data may be cut short, or hold nested data its reader gives up on.
_UNREADABLE_MEMBER = (tarfile.TarError, *_UNREADABLE)

Sink = Callable[[Any], None]


# NOTE: after `BZh` and its level, a block or the end of the stream: text that starts `BZh` is text.
_BZIP2_NEXT = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")


def kind(head: bytes) -> str | None:
    """The compression format whose magic bytes `head` (HEAD bytes) starts with, None for none of them."""
    name = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if name == "bzip2" and not (head[3:4].isdigit() and head[4:10] in _BZIP2_NEXT):
        return None
    return name


def _is_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar"


def _holds(head: bytes) -> bool:
    """True when a text whose first bytes are `head` starts with data `mask` looks into."""
    return kind(head[:HEAD]) is not None or _is_tar(head)


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
        return got


class _Peeked(io.RawIOBase):
    """A text whose first bytes (`head`, a tar header's worth) are read ahead to tell nested data from
    text; `taken` counts the bytes read from it."""

    def __init__(self, inner: io.RawIOBase) -> None:
        self.inner = inner
        self.head = b""
        while len(self.head) < _BLOCK and (more := inner.read(_BLOCK - len(self.head))):
            self.head += more
        self._ahead = self.head
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._ahead:
            got = min(len(view), len(self._ahead))
            view[:got] = self._ahead[:got]
            self._ahead = self._ahead[got:]
        else:
            got = self.inner.readinto(view) or 0
        self.taken += got
        return got


@dataclass
class _Budget:
    """The text still to be read in one look at a source, at every nesting level together."""

    left: int

    def spend(self, size: int) -> None:
        self.left = max(0, self.left - size)


def maybe(data: bytes) -> bool:
    """True when `data` may be data `mask` reads: a magic at its start, a tar header or a zip's end record."""
    return kind(data[:HEAD]) is not None or _is_tar(data[:_BLOCK]) or _END in data[-(22 + 65535) :]


# NOTE: names that claim compressed data or an archive, and what marks such data anywhere in a file: a
# gzip member (deflate), a zip entry, a bzip2 block, an xz stream, a tar header.
_CLAIMED = (".gz", ".tgz", ".zip", ".bz2", ".tbz", ".tbz2", ".xz", ".txz", ".tar", ".jar", ".whl", ".egg")
_SIGNATURES = (
    b"\x1f\x8b\x08",
    b"PK\x03\x04",
    b"\x31\x41\x59\x26\x53\x59",
    b"\xfd7zXZ\x00",
    b"ustar\x00",
    b"ustar  \x00",
)
_SCAN_CHUNK = 1024 * 1024


def hidden(names: Iterable[str], src: IO[bytes]) -> str | None:
    """For a source `mask` did not read: why it must be left out when one of its `names` claims compressed
    data or an archive and it holds such data after other bytes, which no reader here opens and a byte
    scan cannot see into; None otherwise (`src` is back where it was)."""
    claimed = next((n for n in names if n.lower().endswith(_CLAIMED)), None)
    if claimed is None or not src.seekable():
        return None
    start = src.tell()
    keep = max(map(len, _SIGNATURES)) - 1
    tail = b""
    try:
        while chunk := src.read(_SCAN_CHUNK):
            window = tail + chunk
            found = next((sig for sig in _SIGNATURES if sig in window), None)
            if found is not None:
                return (
                    f"left out: {claimed} does not start as the data its name says, and holds such data "
                    "after other bytes, which cannot be scanned for secrets; collect it as it was written"
                )
            tail = window[-keep:]
    finally:
        src.seek(start)
    return None


def _decompressor(name: str) -> Any:
    if name == "gzip":
        return zlib.decompressobj(wbits=31)
    if name == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


class _Streams(io.RawIOBase):
    """The text of every compressed stream of `src`, one after another. It ends where the data does,
    or where it breaks off or something that is not a stream follows (`broken` says which); `consumed`
    counts the source's bytes read, all of which a clean end has decompressed, and `starts` holds where
    each stream starts in them."""

    def __init__(self, name: str, src: IO[bytes]) -> None:
        self.name, self.src = name, src
        self.magic = next(m for m, n in _MAGIC.items() if n == name)
        self.broken: str | None = None
        self.consumed = 0
        self.starts = [0]
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
                self.starts.append(self.consumed - len(rest))
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
    manifest, the secrets `masked`, whether anything read was `lost`: cut, broken off, unreadable or
    nested too deep, and left out, here or in nested data), or found nothing to mask in the first `raw`
    bytes of the source, to be copied as they are."""

    written: bool
    cut: bool = False
    note: str | None = None
    raw: int | None = None
    masked: int = 0
    lost: bool = False


def mask(redactor: Redactor, src: IO[bytes], sink: Sink, tally: Tally) -> Outcome | None:
    """Write `src` masked to `sink` when it is compressed data or an archive that must not be copied as it
    is (see the module's text). None when it is neither, or cannot be read twice; otherwise an Outcome.
    When nothing was written, `src` is back where it was."""
    return _look(redactor, src, sink, tally, 1, _Budget(EXPANDED_CAP))


def _look(
    redactor: Redactor, src: IO[bytes], sink: Sink, tally: Tally, depth: int, budget: _Budget
) -> Outcome | None:
    """`mask` for data `depth` formats down, the text it reads at every level taken from `budget`."""
    if not src.seekable():
        return None
    start = src.tell()
    head = src.read(_BLOCK)
    src.seek(start)
    name = kind(head[:HEAD])
    if name is None and not _is_tar(head) and zipfile.is_zipfile(src):
        # NOTE: a zip with bytes before it (a self-extracting stub) is still a zip to unzip.
        name = "zip"
    src.seek(start)
    if name == "zip":
        return _mask_zip(redactor, src, start, sink, tally, depth, budget)
    if name is not None:
        return _mask_streams(redactor, name, src, start, sink, tally, depth, budget)
    if _is_tar(head):
        return _mask_tar(redactor, src, start, sink, tally, depth, budget)
    return None


def _mask_streams(
    redactor: Redactor,
    name: str,
    src: IO[bytes],
    start: int,
    sink: Sink,
    tally: Tally,
    depth: int,
    budget: _Budget,
) -> Outcome:
    """`mask` for gzip, bzip2 and xz data."""
    limit = budget.left
    streams = _Streams(name, src)
    text = _Peeked(streams)
    if _holds(text.head):
        return _mask_nesting(redactor, name, src, start, streams, text, sink, tally, depth, budget)
    found, cut = redactor.stream(text, _discard, limit, Tally())
    budget.spend(text.taken)
    src.seek(start)
    clean = not found and not cut and streams.broken is None
    raw = _raw_hits(redactor, src, start, streams.consumed, _payloads(src, start, streams)) if clean else 0
    if clean and not raw:
        return Outcome(False, raw=streams.consumed)
    streams = _Streams(name, src)
    with _writer(name, _Sinking(sink)) as out:
        count, cut = redactor.stream(streams, _into(out), limit, tally)
    flaws = _stream_flaws(cut, streams.broken, raw)
    note = _note(f"{name} data decompressed", count, flaws, "compressed again", [])
    return Outcome(True, cut, note, masked=count, lost=bool(flaws))


def _mask_nesting(
    redactor: Redactor,
    name: str,
    src: IO[bytes],
    start: int,
    streams: _Streams,
    text: _Peeked,
    sink: Sink,
    tally: Tally,
    depth: int,
    budget: _Budget,
) -> Outcome:
    """`_mask_streams` for a text that starts with data of a format: spooled and looked into, then
    compressed again from what that wrote, or as read."""
    with _spool() as spool, _spool() as store:
        cut = depth < DEPTH and _fill(spool, text, budget)
        inside = _inside(redactor, spool, cut, store, tally, depth + 1, budget)
        src.seek(start)
        clean = inside.clean and streams.broken is None
        raw = (
            _raw_hits(redactor, src, start, streams.consumed, _payloads(src, start, streams)) if clean else 0
        )
        if clean and not raw:
            return Outcome(False, raw=streams.consumed)
        with _writer(name, _Sinking(sink)) as out:
            if inside.kept is not None:
                _copy(store, *inside.kept, _into(out))
            else:
                _copy(spool, 0, spool.seek(0, io.SEEK_END), _into(out))
    flaws = _stream_flaws(inside.cut, streams.broken, raw)
    inner = [f"its text: {inside.done.note}"] if inside.done.note else []
    note = _note(f"{name} data decompressed", inside.done.masked, flaws, "compressed again", inner)
    return Outcome(True, inside.cut, note, masked=inside.done.masked, lost=bool(flaws) or inside.done.lost)


def _stream_flaws(cut: bool, broken: str | None, raw: int) -> list[str]:
    flaws = []
    if cut:
        flaws.append(f"cut at {EXPANDED_CAP} bytes of text (nothing past them was scanned)")
    if broken:
        flaws.append(f"read up to where it breaks off ({broken}; the rest left out)")
    if raw:
        flaws.append(f"its headers left out ({_counted(raw, 'secret')} outside the text)")
    return flaws


@dataclass(frozen=True)
class _Inside:
    """Nested data once looked into: what was done with it, whether it was `cut` at the cap, and where
    the bytes to write in its place sit in the store (`kept`: offset and size; None when it is clean, to
    be copied as it was read)."""

    done: Outcome
    kept: tuple[int, int] | None
    cut: bool = False

    @property
    def clean(self) -> bool:
        return self.kept is None


def _inside(
    redactor: Redactor,
    data: IO[bytes],
    cut: bool,
    store: IO[bytes],
    tally: Tally,
    depth: int,
    budget: _Budget,
) -> _Inside:
    """Look into `data`, nested data `depth` formats down (`cut`: only what the cap let be read of it),
    writing what must replace it at the end of `store`: nothing, when it lies deeper than DEPTH (it is
    not read) or cannot be looked into at all (not all of it could be scanned)."""
    at = store.seek(0, io.SEEK_END)
    if depth > DEPTH:
        return _Inside(
            Outcome(True, note=f"data nested deeper than {DEPTH} formats left out unread", lost=True), (at, 0)
        )
    done = _look(redactor, data, _into(store), tally, depth, budget)
    if done is None:
        return _Inside(
            Outcome(True, note="archive data that cannot be opened left out", lost=True), (at, 0), cut
        )
    if done.written or cut:
        if not done.written:
            # NOTE: cut where it is whole in itself (between two members): written as read, up to the cut.
            _copy(data, 0, data.seek(0, io.SEEK_END), _into(store))
        return _Inside(done, (at, store.tell() - at), cut or done.cut)
    return _Inside(done, None)


def _fill(spool: IO[bytes], text: io.RawIOBase, budget: _Budget) -> bool:
    """Copy `text` into `spool` up to what `budget` has left, and spend it; True when more was left unread."""
    left = budget.left
    while left and (chunk := text.read(min(_TEXT_CHUNK, left))):
        spool.write(chunk)
        left -= len(chunk)
    budget.spend(spool.tell())
    spool.seek(0)
    return not left and bool(text.read(1))


def _into(file: IO[bytes] | io.BufferedIOBase) -> Sink:
    """A sink that writes to `file`."""

    def write(chunk: Any) -> None:
        file.write(chunk)

    return write


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=_SPOOLED)


def _copy(src: IO[bytes], at: int, size: int, write: Sink) -> None:
    """Pass `size` bytes of `src` from offset `at` to `write`."""
    src.seek(at)
    while size > 0 and (chunk := src.read(min(_TEXT_CHUNK, size))):
        write(chunk)
        size -= len(chunk)


@dataclass
class _Parts:
    """What the first pass over an archive found in its parts (zip entries, tar members, by index): the
    secrets in their names and text, the nested data looked into, whether the cap cut the text, and the
    parts it could not read or reached past the cap: both left out."""

    found: int = 0
    cut: bool = False
    insides: dict[int, _Inside] = field(default_factory=dict)
    unread: list[int] = field(default_factory=list)
    past: list[int] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        missing = self.found or self.cut or self.unread or self.past
        return not missing and all(inside.clean for inside in self.insides.values())

    @property
    def lost(self) -> bool:
        """True when something in the nested data looked into was left out."""
        return any(inside.done.lost for inside in self.insides.values())


def _mask_zip(
    redactor: Redactor, src: IO[bytes], start: int, sink: Sink, tally: Tally, depth: int, budget: _Budget
) -> Outcome:
    """`mask` for a zip archive. It is copied as it is only when every entry was read and is clean (nested
    data in it too), and the entries, the directory and its end record cover every byte of it, as listed:
    anything else a reader of local headers could find (an entry the directory leaves out, data in a gap,
    bytes before or after, an entry that cannot be read) leaves only the archive written again entry by
    entry from what was read (names masked, times kept, deflated), the text of all entries cut at the cap.
    An encrypted entry cannot be scanned: it is left out, so an archive holding one is always written
    again. A zip zipfile cannot open is read from its local headers (see `_walk`), and copied as it is
    only on the same terms: every byte a local record (an entry's header, data and descriptor) or a
    directory record that points at one, up to an end record or the end of the file."""
    size = src.seek(0, io.SEEK_END) - start
    src.seek(start)
    with _Zip(src, start, size, budget.left) as archive, _spool() as store:
        entries = archive.entries
        parts, limits = _read_zip(redactor, archive, store, tally, depth, budget)
        covered = archive.covered()
        src.seek(start)
        if parts.clean and covered and not _raw_hits(redactor, src, start, size, archive.data):
            return Outcome(False, raw=size)
        count, left = 0, []
        names: set[str] = set()
        with zipfile.ZipFile(_Sinking(sink), "w") as out:
            for i, entry in enumerate(entries[: len(limits)]):
                if entry.filename in names:
                    # NOTE: an entry listed twice is written once.
                    continue
                names.add(entry.filename)
                if i in parts.unread:
                    left.append(i)
                    continue
                name, named = redactor.mask_text(entry.filename, tally)
                info = zipfile.ZipInfo(name, entry.date_time)
                info.external_attr, info.create_system = entry.external_attr, entry.create_system
                folder = entry.filename.endswith("/")
                info.compress_type = zipfile.ZIP_STORED if folder else zipfile.ZIP_DEFLATED
                if folder:
                    out.writestr(info, b"")
                    count += named
                    continue
                # NOTE: the entry's text is gathered in a spool first: one that cannot be read whole is
                # left out, never written in part.
                with _spool() as spool:
                    try:
                        masked = _entry_text(
                            redactor, archive, i, parts.insides.get(i), limits[i], store, spool, tally
                        )
                    except _UNREADABLE:
                        left.append(i)
                        continue
                    spool.seek(0)
                    with out.open(info, "w") as target:
                        shutil.copyfileobj(spool, target)
                count += named + masked

    def called(i: int) -> str:
        return redactor.mask_text(entries[i].filename, Tally())[0]

    cut = parts.cut or archive.cut()
    flaws = [f"cut at {EXPANDED_CAP} bytes of text (entries past them left out)"] if cut else []
    flaws += _which(left, called, "encrypted or unreadable entry", "encrypted or unreadable entries")
    if archive.skipped():
        flaws.append("bytes that are no entry left out")
    done = "zip entries read"
    if archive.unopened:
        done += f" from their local headers (zipfile: {archive.unopened})"
    elif archive.local:
        done += f" ({_names(sorted(archive.local), called)} from their local headers)"
    note = _note(done, count, flaws, "the archive written again", _within(parts, called))
    return Outcome(True, cut, note, masked=count, lost=bool(flaws) or parts.lost)


def _read_zip(
    redactor: Redactor, archive: _Zip, store: IO[bytes], tally: Tally, depth: int, budget: _Budget
) -> tuple[_Parts, list[int]]:
    """The first pass over a zip's entries: what it found, and the text the cap left each entry it read
    (it reads none past the one the cap cut). Encrypted entries are not read: they count as unreadable."""
    parts, limits, names = _Parts(), [], set()
    for i, entry in enumerate(archive.entries):
        limits.append(budget.left)
        parts.found += redactor.mask_text(entry.filename, Tally())[1]
        # NOTE: not `is_dir()`, which fails on an empty name (a damaged header can give one).
        if entry.filename.endswith("/"):
            continue
        if entry.flag_bits & 0x1:
            parts.unread.append(i)
            continue
        # NOTE: an entry listed twice is written once: what its other listings mask is not counted.
        counted = Tally() if entry.filename in names else tally
        names.add(entry.filename)
        try:
            with archive.open(i) as inner, _spool() as spool:
                reading = _entry(inner)
                text = _Peeked(reading)
                if not _holds(text.head):
                    found, cut = redactor.stream(text, _discard, budget.left, Tally())
                    budget.spend(text.taken)
                    parts.found += found
                else:
                    cut = depth < DEPTH and _fill(spool, text, budget)
                    if reading.broken is None:
                        parts.insides[i] = _inside(redactor, spool, cut, store, counted, depth + 1, budget)
                        cut = parts.insides[i].cut
        except _UNREADABLE:
            parts.unread.append(i)
            continue
        if reading.broken is not None:
            # NOTE: an entry whose data breaks off was not read whole: what follows the break is unscanned.
            parts.unread.append(i)
        if cut:
            parts.cut = True
            break
    return parts, limits


def _entry_text(
    redactor: Redactor,
    archive: _Zip,
    i: int,
    inside: _Inside | None,
    limit: int,
    store: IO[bytes],
    spool: IO[bytes],
    tally: Tally,
) -> int:
    """Write a zip entry's text to `spool` for the archive written again: masked, or what looking into the
    nested data it holds wrote (as read when that is clean); returns the secrets masked."""
    if inside is not None and inside.kept is not None:
        _copy(store, *inside.kept, _into(spool))
        return inside.done.masked
    with archive.open(i) as inner:
        reading = _entry(inner)
        masked = 0
        if inside is None:
            masked = redactor.stream(reading, _into(spool), limit, tally)[0]
        else:
            shutil.copyfileobj(reading, spool)
    if reading.broken is not None:
        raise zipfile.BadZipFile(reading.broken)
    return masked


def _mask_tar(
    redactor: Redactor, src: IO[bytes], start: int, sink: Sink, tally: Tally, depth: int, budget: _Budget
) -> Outcome:
    """`mask` for a tar archive. It is copied as it is only when every member was read and is clean (its
    names, its text, the nested data it holds), its bytes hold no secret as they are, and nothing but
    zeros follows its last member (a reader that skips what tarfile stops at reads on); else it is written
    again member by member (see `_write_tar`), members that cannot be read or lie past the cap left out.
    One whose first header tarfile cannot read is read past the blocks it cannot read as `tar
    --ignore-zeros` does, and written again from the members found; when it holds no header at all, it
    is left out (nothing written in its place)."""
    size = src.seek(0, io.SEEK_END) - start
    src.seek(start)
    damaged: str | None = None
    try:
        archive = tarfile.TarFile(fileobj=src)
    except (tarfile.TarError, *_BROKEN) as exc:
        damaged = str(exc) or type(exc).__name__
        src.seek(start)
        try:
            archive = tarfile.TarFile(fileobj=src, ignore_zeros=True)
        except (tarfile.TarError, *_BROKEN):
            return Outcome(True, note=f"tar archive tarfile cannot open ({damaged}) left out", lost=True)
    with archive, _spool() as store:
        members, parts, covered = _read_tar(redactor, archive, src, start + size, store, tally, depth, budget)
        covered = covered and damaged is None
        src.seek(start)
        data = [(m.offset_data - start, m.size) for m in members if m.isreg() and not m.issparse()]
        raw = _raw_hits(redactor, src, start, size, data) if parts.clean and covered else 0
        if parts.clean and covered and not raw:
            return Outcome(False, raw=size)
        count = _write_tar(redactor, archive, members, parts, store, sink, tally)

    def called(i: int) -> str:
        return redactor.mask_text(members[i].name, Tally())[0]

    past = f"past the cap of {EXPANDED_CAP} bytes of text"
    flaws = _which(parts.unread, called, "unreadable member", "unreadable members")
    flaws += _which(parts.past, called, f"member {past}", f"members {past}")
    if damaged is not None:
        flaws.append(f"blocks that are no member tarfile can read left out ({damaged})")
    elif not covered:
        flaws.append("bytes after its last member left out")
    if raw:
        flaws.append(f"bytes outside its members' names and data left out ({_counted(raw, 'secret')} there)")
    note = _note("tar archive read", count, flaws, "the archive written again", _within(parts, called))
    return Outcome(True, parts.cut or bool(parts.past), note, masked=count, lost=bool(flaws) or parts.lost)


def _read_tar(
    redactor: Redactor,
    archive: tarfile.TarFile,
    src: IO[bytes],
    end: int,
    store: IO[bytes],
    tally: Tally,
    depth: int,
    budget: _Budget,
) -> tuple[list[tarfile.TarInfo], _Parts, bool]:
    """The first pass over a tar's members: the members, what it found in them, and whether nothing but
    zeros follows the last one in `src` up to `end`."""
    members: list[tarfile.TarInfo] = []
    parts = _Parts()
    try:
        for member in archive:
            i = len(members)
            members.append(member)
            parts.found += _header(redactor, member, Tally())[1]
            if not member.isreg():
                continue
            at = store.seek(0, io.SEEK_END)
            try:
                data = _member(archive, member)
                head = data.read(_BLOCK)
                data.seek(0)
                if not _holds(head):
                    parts.found += redactor.stream(cast(io.BufferedIOBase, data), _discard, None, Tally())[0]
                elif not budget.left:
                    parts.past.append(i)
                else:
                    parts.insides[i] = _inside(redactor, data, False, store, tally, depth + 1, budget)
                    parts.cut = parts.cut or parts.insides[i].cut
            except _UNREADABLE_MEMBER:
                store.truncate(at)
                parts.unread.append(i)
    except (tarfile.TarError, *_BROKEN):
        return members, parts, False
    return members, parts, _zeros(src, archive.offset, end)


def _write_tar(
    redactor: Redactor,
    archive: tarfile.TarFile,
    members: list[tarfile.TarInfo],
    parts: _Parts,
    store: IO[bytes],
    sink: Sink,
    tally: Tally,
) -> int:
    """Write a tar again member by member, in order: each header's names and pax records masked, its other
    metadata kept; its data masked as text, or what looking into the nested data it holds wrote (as it was
    when that is clean), its size the data's. Returns the secrets masked."""
    count = 0
    left = {*parts.unread, *parts.past}
    with tarfile.open(fileobj=_Sinking(sink), mode="w|", format=tarfile.PAX_FORMAT) as out:
        for i, member in enumerate(members):
            if i in left:
                continue
            info, named = _header(redactor, member, tally)
            count += named
            inside = parts.insides.get(i)
            if not member.isreg():
                out.addfile(info)
            elif inside is not None and inside.kept is not None:
                info.size = inside.kept[1]
                store.seek(inside.kept[0])
                out.addfile(info, store)
                count += inside.done.masked
            elif inside is not None:
                info.size = member.size
                out.addfile(info, _member(archive, member))
            else:
                with _spool() as spool:
                    data = cast(io.BufferedIOBase, _member(archive, member))
                    count += redactor.stream(data, _into(spool), None, tally)[0]
                    info.size = spool.tell()
                    spool.seek(0)
                    out.addfile(info, spool)
    return count


# NOTE: pax records a header written again sets from its own (masked) fields, or that describe data it
# no longer holds in that form (a sparse file's map).
_PAX_FIELDS = frozenset({"path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "hdrcharset"})


def _header(redactor: Redactor, member: tarfile.TarInfo, tally: Tally) -> tuple[tarfile.TarInfo, int]:
    """A member's header for the tar written again, and the secrets masked in it: its names and pax records
    masked, a regular file's type plain, the rest kept (its size is set with its data)."""
    counts: list[int] = []

    def masked(text: str) -> str:
        done, count = redactor.mask_text(text, tally)
        counts.append(count)
        return done

    info = tarfile.TarInfo(masked(member.name))
    info.type = tarfile.REGTYPE if member.isreg() else member.type
    info.linkname, info.uname, info.gname = (
        masked(member.linkname),
        masked(member.uname),
        masked(member.gname),
    )
    info.mode, info.uid, info.gid, info.mtime = member.mode, member.uid, member.gid, member.mtime
    info.devmajor, info.devminor = member.devmajor, member.devminor
    info.pax_headers = {
        masked(key): masked(value)
        for key, value in member.pax_headers.items()
        if key not in _PAX_FIELDS and not key.startswith("GNU.sparse.")
    }
    return info, sum(counts)


def _member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    # NOTE: a regular member always has a reader (extractfile's None is for the other kinds).
    return cast(IO[bytes], archive.extractfile(member))


def _zeros(src: IO[bytes], at: int, end: int) -> bool:
    """True when the bytes of `src` from `at` up to `end` are all zeros (a tar's end blocks, its padding)."""
    src.seek(at)
    while at < end and (chunk := src.read(min(_RAW_CHUNK, end - at))):
        if chunk.strip(b"\0"):
            return False
        at += len(chunk)
    return True


def _which(indexes: list[int], named: Callable[[int], str], noun: str, nouns: str) -> list[str]:
    """A note's words for parts left out: how many, what they are, and which (the first few by name)."""
    if not indexes:
        return []
    return [f"{_counted(len(indexes), noun, nouns)} left out ({_names(indexes, named)})"]


def _names(indexes: list[int], named: Callable[[int], str]) -> str:
    """The first few parts by name, and how many more."""
    which = ", ".join(named(i) for i in indexes[:_NAMED])
    if len(indexes) > _NAMED:
        which += f" and {len(indexes) - _NAMED} more"
    return which


def _within(parts: _Parts, named: Callable[[int], str]) -> list[str]:
    """The notes of the nested data in which something was left out, each after its part's name."""
    lost = [i for i, inside in parts.insides.items() if inside.done.lost]
    notes = [f"{named(i)}: {parts.insides[i].done.note}" for i in lost[:_NAMED]]
    if len(lost) > _NAMED:
        notes.append(f"{len(lost) - _NAMED} more parts with something left out")
    return notes


def _note(done: str, count: int, flaws: list[str], how: str, within: list[str]) -> str:
    """A manifest note: what was read to mask how many secrets, what of it was left out, how it was
    written, then the notes of the nested data in which something was left out."""
    note = ", ".join([f"{done} to mask {_counted(count, 'secret')}", *flaws, f"and {how}"])
    return note + "".join(f" (in {inner})" for inner in within)


def _counted(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


_LOCAL = b"PK\x03\x04"
_END = b"PK\x05\x06"
_DESCRIPTOR = b"PK\x07\x08"


def _covers(
    src: IO[bytes], start: int, size: int, archive: zipfile.ZipFile, data: list[tuple[int, int]]
) -> bool:
    """True when the listed entries, one after another from the first byte, then the directory right
    after them and its end record closing the file, are all the archive's bytes (no zip64 records);
    where each entry's data lies is added to `data`."""
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
        data.append((pos + 30 + name_len + extra_len, entry.compress_size))
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


_CENTRAL = b"PK\x01\x02"
_END64 = b"PK\x06\x06"
_LOCATOR = b"PK\x06\x07"


@dataclass(frozen=True)
class _Record:
    """A zip entry as its local record gives it: `info` (sizes and CRC from its descriptor, when it has
    one), where its header and its data start in the archive, and how long the data is (None: its end was
    not found)."""

    info: zipfile.ZipInfo
    header: int
    at: int
    size: int | None


@dataclass(frozen=True)
class _Walked:
    """What `_walk` found: the local records, whether they account for every byte (`covered`), whether
    bytes that are no record were passed over (`skipped`), and whether it stopped at the cap (`cut`)."""

    records: list[_Record]
    covered: bool
    skipped: bool
    cut: bool = False


class _Zip:
    """A zip's entries: as its directory lists them, each read by zipfile or, where zipfile cannot open it,
    from the local record of that name, then, when the directory does not account for every byte, the
    local records it does not list; or, when zipfile cannot open the archive (`unopened` says why), as its
    local records give them (see `_walk`: to find where deflate data ends, it reads and makes no more
    than `most` bytes for all of them together). `local` holds the entries read from their local records."""

    def __init__(self, src: IO[bytes], start: int, size: int, most: int) -> None:
        self.src, self.start, self.size, self.most = src, start, size, most
        self.unopened: str | None = None
        self.archive: zipfile.ZipFile | None = None
        self._walked: _Walked | None = None
        self._unlisted: dict[int, _Record] = {}
        self.local: set[int] = set()
        # NOTE: where the entries' data lies, when the archive is `covered`.
        self.data: list[tuple[int, int]] = []
        try:
            self.archive = zipfile.ZipFile(src)
        except _UNREADABLE as exc:
            self.unopened = str(exc) or type(exc).__name__
        if self.archive is None:
            self.entries = [record.info for record in self.walk().records]
            self._unlisted = dict(enumerate(self.walk().records))
            self._covered = self.walk().covered
            self.data = [(r.at, r.size) for r in self.walk().records if r.size is not None]
            return
        self.entries = self.archive.infolist()
        self._covered = _covers(src, start, size, self.archive, self.data)
        if not self._covered:
            # NOTE: a record of a listed name is read in its place when zipfile cannot read it (`open`); a
            # zip holds one entry of a name (see `_mask_zip`).
            offsets = {entry.header_offset for entry in self.entries}
            names = {entry.filename for entry in self.entries}
            for record in self.walk().records:
                if start + record.header not in offsets and record.info.filename not in names:
                    self._unlisted[len(self.entries)] = record
                    self.entries.append(record.info)

    def __enter__(self) -> _Zip:
        return self

    def __exit__(self, *_: object) -> None:
        if self.archive is not None:
            self.archive.close()

    def covered(self) -> bool:
        """True when nothing but what was listed is in the archive (see `_covers` and `_walk`)."""
        return self._covered

    def skipped(self) -> bool:
        """True when bytes that are no entry were passed over (looked for only when not `covered`)."""
        return not self._covered and self.walk().skipped

    def cut(self) -> bool:
        """True when the cap stopped the search for local records."""
        return not self._covered and self.walk().cut

    def open(self, i: int) -> IO[bytes]:
        """The text of entry `i`: a reader that raises, or ends early, where it cannot be read."""
        if i in self._unlisted or self.archive is None:
            self.local.add(i)
            return _local(self.src, self.start, self._unlisted[i])
        entry = self.entries[i]
        try:
            return self.archive.open(entry)
        except _UNREADABLE:
            # NOTE: a directory whose offsets are wrong: the record of that name, taken in the same order.
            same = [record for record in self.walk().records if record.info.filename == entry.filename]
            nth = sum(1 for other in self.entries[:i] if other.filename == entry.filename)
            if nth >= len(same):
                raise
            self.local.add(i)
            return _local(self.src, self.start, same[nth])

    def walk(self) -> _Walked:
        if self._walked is None:
            self._walked = _walk(self.src, self.start, self.size, self.most)
        return self._walked


def _walk(src: IO[bytes], start: int, size: int, most: int) -> _Walked:
    """A zip's entries as a reader of local headers finds them, from the first byte on: each local record,
    then whatever follows it; directory and end records are passed over by their own sizes, bytes that are
    none of these (or a record whose end is not found) up to the next local header. Covered when that
    reaches the end with nothing passed over and every whole directory record pointing at a local one."""
    records: list[_Record] = []
    starts: set[int] = set()
    covered, skipped, pos = True, False, 0
    # NOTE: one cap on the text decompressed to find where deflate data ends, for all the records:
    # records hidden in others' data would otherwise each decompress what follows them.
    left = [most]
    while pos < size:
        src.seek(start + pos)
        head = src.read(46)
        after: int | None = None
        resume = pos + 1
        if head.startswith(_LOCAL) and len(head) >= 30:
            record, after = _local_record(src, start, size, pos, head, left)
            records.append(record)
            starts.add(pos)
            if after is None and not left[0]:
                return _Walked(records, False, skipped, cut=True)
            # NOTE: a record without an end is looked past from its data on: headers hidden in its name
            # or extra field would each read up to 128 KiB of what follows them.
            resume = record.at
        elif head.startswith(_CENTRAL):
            name, extra, comment = struct.unpack("<HHH", head[28:34].ljust(6, b"\xff"))
            after = pos + 46 + name + extra + comment
            # NOTE: one cut short by the end of the file holds part of a name, no data.
            covered = covered and (after > size or struct.unpack("<I", head[42:46])[0] in starts)
        elif head.startswith(_END):
            after = pos + 22 + struct.unpack("<H", head[20:22].ljust(2, b"\xff"))[0]
        elif head.startswith(_END64) and len(head) >= 12:
            after = pos + 12 + struct.unpack("<Q", head[4:12])[0]
        elif head.startswith(_LOCATOR):
            after = pos + 20
        if after is None:
            covered = False
            skipped = skipped or not head.startswith(_LOCAL)
            found = _find(src, start, resume, size, (_LOCAL,))
            if found is None:
                break
            after = found
        pos = after
    return _Walked(records, covered, skipped)


def _local_record(
    src: IO[bytes], start: int, size: int, pos: int, head: bytes, left: list[int]
) -> tuple[_Record, int | None]:
    """The local record at `pos` (its first 46 bytes `head`), and where what follows it starts (None when
    its end is not found or lies past the end of the archive); `left` holds the text still to be
    decompressed to find where deflate data ends."""
    flags, method, time, date, crc, packed, unpacked, name_len, extra_len = struct.unpack(
        "<HHHHIIIHH", head[6:30]
    )
    src.seek(start + pos + 30)
    name, extra = src.read(name_len), src.read(extra_len)
    date_time = (
        (date >> 9) + 1980,
        (date >> 5) & 0xF,
        date & 0x1F,
        time >> 11,
        (time >> 5) & 0x3F,
        (time & 0x1F) * 2,
    )
    info = zipfile.ZipInfo(name.decode("utf-8" if flags & 0x800 else "cp437", "replace"), date_time)
    info.flag_bits, info.compress_type, info.CRC = flags, method, crc
    at = pos + 30 + name_len + extra_len
    wide = packed == 0xFFFFFFFF or unpacked == 0xFFFFFFFF
    if wide:
        unpacked, packed = _zip64_sizes(extra, unpacked, packed)
    if len(name) < name_len or len(extra) < extra_len:
        return _Record(info, pos, at, None), None
    if not flags & 0x8:
        info.compress_size, info.file_size = packed, unpacked
        if at + packed > size:
            # NOTE: data cut short is not read: an entry that breaks off is left out.
            return _Record(info, pos, at, None), None
        return _Record(info, pos, at, packed), at + packed
    if method == zipfile.ZIP_DEFLATED and not flags & 0x1:
        length = _deflate_length(src, start + at, start + size, left)
    else:
        length = _descriptor_at(src, start, at, size)
    if length is None:
        return _Record(info, pos, at, None), None
    src.seek(start + at + length)
    descriptor = src.read(24)
    skip = 4 if descriptor.startswith(_DESCRIPTOR) else 0
    fields = "<IQQ" if wide else "<III"
    end = at + length + skip + struct.calcsize(fields)
    if end > size:
        return _Record(info, pos, at, None), None
    info.CRC, info.compress_size, info.file_size = struct.unpack_from(fields, descriptor, skip)
    return _Record(info, pos, at, length), end


def _zip64_sizes(extra: bytes, unpacked: int, packed: int) -> tuple[int, int]:
    """A local header's sizes, from its zip64 extra field where it gives them."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, at)
        if tag == 1 and length >= 16:
            wide: tuple[int, int] = struct.unpack_from("<QQ", extra, at + 4)
            return wide
        at += 4 + length
    return unpacked, packed


def _deflate_length(src: IO[bytes], at: int, end: int, left: list[int]) -> int | None:
    """How many bytes the deflate stream at `at` takes, found by decompressing it (None when it breaks off,
    or reads and makes more than `left` holds first; what it reads and makes is taken from `left`)."""
    decomp = zlib.decompressobj(-15)
    src.seek(at)
    read = 0
    while not decomp.eof:
        data = decomp.unconsumed_tail
        if not data:
            data = src.read(min(_RAW_CHUNK, end - at - read))
            read += len(data)
            left[0] -= len(data)
            if not data:
                return None
        try:
            left[0] -= len(decomp.decompress(data, _TEXT_CHUNK))
        except zlib.error:
            return None
        if left[0] < 0:
            left[0] = 0
            return None
    return read - len(decomp.unused_data)


def _descriptor_at(src: IO[bytes], start: int, at: int, size: int) -> int | None:
    """How long an entry's data starting at `at` is, when its size is only in the descriptor after it: up to
    the first descriptor that gives that length, with its signature or, without one, right before the next
    local or directory header (None when that header has none: the search ends there, so that records
    hidden in others' data do not each search the rest of the archive)."""
    pos = at
    while (found := _find(src, start, pos, size, (_DESCRIPTOR, _LOCAL, _CENTRAL))) is not None:
        src.seek(start + found)
        if src.read(4) == _DESCRIPTOR:
            src.seek(start + found + 8)
            if struct.unpack("<I", src.read(4).ljust(4, b"\xff"))[0] == found - at:
                return found - at
            pos = found + 1
            continue
        if found - 12 >= at:
            src.seek(start + found - 8)
            if struct.unpack("<I", src.read(4))[0] == found - 12 - at:
                return found - 12 - at
        return None
    return None


def _find(src: IO[bytes], start: int, pos: int, size: int, signatures: tuple[bytes, ...]) -> int | None:
    """Where, from `pos` on, the first of `signatures` (four bytes each) is in the archive; None for none."""
    # NOTE: read a little first, then more: the next header is most often near.
    step = 512
    while pos < size:
        src.seek(start + pos)
        chunk = src.read(min(step + 3, size - pos))
        hits = [hit for signature in signatures if (hit := chunk.find(signature)) != -1]
        if hits:
            return pos + min(hits)
        if len(chunk) < 4:
            return None
        pos += len(chunk) - 3
        step = min(2 * step, _RAW_CHUNK)
    return None


def _local(src: IO[bytes], start: int, record: _Record) -> IO[bytes]:
    """A reader of the text of an entry read from its local record."""
    return cast(IO[bytes], io.BufferedReader(_LocalData(src, start, record), _RAW_CHUNK))


class _LocalData(io.RawIOBase):
    """The text of a zip entry read from its local record, stored or deflated, its size and CRC checked at
    its end; it raises where zipfile would: another method, data that breaks off or a CRC that differs."""

    def __init__(self, src: IO[bytes], start: int, record: _Record) -> None:
        self.info = record.info
        if self.info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NotImplementedError(f"compression method {self.info.compress_type} is not supported")
        if self.info.flag_bits & 0x1:
            raise RuntimeError(f"{self.info.filename} is encrypted")
        if record.size is None:
            raise zipfile.BadZipFile(f"the end of {self.info.filename}'s data is not found")
        self.src, self.at, self.left = src, start + record.at, record.size
        self.decomp = zlib.decompressobj(-15) if self.info.compress_type == zipfile.ZIP_DEFLATED else None
        self.crc = self.made = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        text = b""
        while not text and not self._ended():
            text = self._text(len(view))
        if not text:
            self._check()
            return 0
        view[: len(text)] = text
        self.crc, self.made = zlib.crc32(text, self.crc), self.made + len(text)
        return len(text)

    def _ended(self) -> bool:
        return self.decomp.eof if self.decomp is not None else not self.left

    def _text(self, most: int) -> bytes:
        if self.decomp is None:
            return self._raw(most)
        data = self.decomp.unconsumed_tail or self._raw(_RAW_CHUNK)
        return self.decomp.decompress(data, most)

    def _raw(self, most: int) -> bytes:
        self.src.seek(self.at)
        data = self.src.read(min(most, self.left))
        if not data:
            raise EOFError(f"the data ends inside {self.info.filename}")
        self.at, self.left = self.at + len(data), self.left - len(data)
        return data

    def _check(self) -> None:
        if self.decomp is not None and (self.left or self.decomp.unused_data):
            raise zipfile.BadZipFile(f"the deflate data of {self.info.filename} ends before its size")
        if self.crc != self.info.CRC or self.made != self.info.file_size:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.info.filename!r}")


def _entry(inner: IO[bytes]) -> _Readable:
    # NOTE: a zip entry is read by a ZipExtFile, which has `read1` (typed as plain IO).
    return _Readable(cast(_Reads, inner))


def _raw_hits(redactor: Redactor, src: IO[bytes], start: int, size: int, data: list[tuple[int, int]]) -> int:
    """How many secrets the first `size` bytes hold as they are, outside the `data` read as text (a gzip
    header's file name, a zip's comment or extra field, a tar header's fields): masked in place, they
    would break the file, so it is written again. The data itself is not scanned as bytes: its text was,
    and its compressed bytes are noise that a rule may take for a secret."""
    hits = redactor.stream(_Outside(src, start, size, data), _discard, None, Tally())[0]
    src.seek(start)
    return hits


class _Outside(io.RawIOBase):
    """The first `size` bytes of `src` from `start` but those in `data` (offsets from `start`, and
    lengths), each stretch of which reads as a line break."""

    def __init__(self, src: IO[bytes], start: int, size: int, data: list[tuple[int, int]]) -> None:
        self.src, self.start = src, start
        self.parts: list[tuple[int, int] | None] = []
        pos = 0
        for at, length in sorted(data):
            if min(at, size) > pos:
                self.parts.append((pos, min(at, size) - pos))
            self.parts.append(None)
            pos = max(pos, at + length)
        if pos < size:
            self.parts.append((pos, size - pos))
        self.parts.reverse()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self.parts:
            part = self.parts.pop()
            if part is None:
                view[0] = ord("\n")
                return 1
            at, length = part
            self.src.seek(self.start + at)
            got = self.src.read(min(len(view), length))
            if got:
                view[: len(got)] = got
                if len(got) < length:
                    self.parts.append((at + len(got), length - len(got)))
                return len(got)
        return 0


def _payloads(src: IO[bytes], start: int, streams: _Streams) -> list[tuple[int, int]]:
    """Where the compressed data of each stream lies: all of a bzip2 or xz stream (neither has a field
    that holds text), a gzip member's past its header."""
    ends = [*streams.starts[1:], streams.consumed]
    if streams.name != "gzip":
        return [(at, end - at) for at, end in zip(streams.starts, ends, strict=True)]
    return [
        (at + header, end - at - header)
        for at, end in zip(streams.starts, ends, strict=True)
        if (header := _gzip_header(src, start + at)) is not None
    ]


def _gzip_header(src: IO[bytes], at: int) -> int | None:
    """How long the gzip member header at `at` is: its fixed part, extra field, file name, comment and CRC
    (RFC 1952); None when it is cut short."""
    src.seek(at)
    head = src.read(10)
    if len(head) < 10:
        return None
    flags, length = head[3], 10
    if flags & 0x4:
        src.seek(at + length)
        extra = src.read(2)
        if len(extra) < 2:
            return None
        length += 2 + struct.unpack("<H", extra)[0]
    for flag in (0x8, 0x10):
        if flags & flag:
            ends = _find_zero(src, at + length)
            if ends is None:
                return None
            length = ends - at + 1
    return length + (2 if flags & 0x2 else 0)


def _find_zero(src: IO[bytes], at: int) -> int | None:
    """Where the first zero byte from `at` on is; None for none."""
    src.seek(at)
    while chunk := src.read(_BLOCK):
        if (found := chunk.find(b"\0")) != -1:
            return at + found
        at += len(chunk)
    return None


def _discard(_: Any) -> None:
    pass
