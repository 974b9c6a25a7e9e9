"""Secrets inside gzip, bzip2 and xz data: the writer masks the decompressed text and compresses it again."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import random
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.model import Output
from evidence_kit.redact import compressed
from evidence_kit.redact.redactor import Redactor
from evidence_kit.redact.rules import fill

FORMATS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gz": (gzip.compress, gzip.decompress),
    "bz2": (bz2.compress, bz2.decompress),
    "xz": (lzma.compress, lzma.decompress),
}


def secret_line() -> bytes:
    return fill("password = {alnum:20}\n", "compressed")[0].encode()


def log(secret: bytes = b"", lines: int = 2000) -> bytes:
    rng = random.Random(7)
    body = [
        f"2026-12-07 worker job {rng.randrange(10**6)} done in {rng.random():.3f}s\n" for _ in range(lines)
    ]
    return "".join(body[: lines // 2]).encode() + secret + "".join(body[lines // 2 :]).encode()


def write(tmp_path: Path, name: str, **kw: Any) -> tuple[dict[str, Any], bytes]:
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output(name, name, "application/octet-stream", **kw))
        return record, (writer.staging / record["path"]).read_bytes()
    finally:
        writer.abort()


@pytest.mark.parametrize("ext", FORMATS)
def test_a_secret_inside_compressed_data_is_masked_and_compressed_again(tmp_path: Path, ext: str) -> None:
    pack, unpack = FORMATS[ext]
    secret = secret_line()
    source = tmp_path / f"worker.log.{ext}"
    source.write_bytes(pack(log(secret)))
    record, written = write(tmp_path, source.name, source=source)
    text = unpack(written)
    assert secret not in text and secret.split(b" = ")[1].strip() not in text
    assert b"password = [REDACTED" in text and text.count(b"\n") == log(secret).count(b"\n")
    assert record["redactions"] == 1 and record["redacted"] == {"secret-assignment": 1}
    assert record["message"].startswith(f"{compressed.kind(written)} data decompressed to mask 1 secret")
    assert record["sha256"] == hashlib.sha256(written).hexdigest() and record["size"] == len(written)
    # NOTE: fixed settings, no time in the header: the same source gives the same bytes.
    assert write(tmp_path, source.name, source=source)[0]["sha256"] == record["sha256"]


@pytest.mark.parametrize("ext", FORMATS)
def test_compressed_data_without_a_secret_is_copied_as_it_is(tmp_path: Path, ext: str) -> None:
    source = tmp_path / f"worker.log.{ext}"
    source.write_bytes(FORMATS[ext][0](log()))
    record, written = write(tmp_path, source.name, source=source)
    assert written == source.read_bytes() and record["redactions"] == 0 and record["message"] is None


def test_compressed_data_in_memory_is_masked_too(tmp_path: Path) -> None:
    secret = secret_line()
    record, written = write(tmp_path, "dump.gz", data=gzip.compress(log(secret)))
    assert secret not in gzip.decompress(written) and record["redactions"] == 1


def test_a_secret_in_a_tarball_member_is_masked(tmp_path: Path) -> None:
    secret = secret_line()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("app/settings.env")
        info.size = len(secret)
        tar.addfile(info, io.BytesIO(secret))
    source = tmp_path / "src.tar.gz"
    source.write_bytes(raw.getvalue())
    record, written = write(tmp_path, source.name, source=source)
    assert secret not in gzip.decompress(written) and record["redactions"] == 1


def test_data_that_breaks_off_is_masked_as_far_as_it_reads(tmp_path: Path) -> None:
    secret = secret_line()
    whole = gzip.compress(log(secret, lines=20000))
    source = tmp_path / "cut.log.gz"
    source.write_bytes(whole[: len(whole) * 3 // 4])
    with gzip.open(source) as fh, pytest.raises(EOFError):
        fh.read()
    record, written = write(tmp_path, source.name, source=source)
    text = gzip.decompress(written)  # NOTE: what was written is whole data again
    assert secret not in text and record["redactions"] == 1
    assert (
        "read up to where it breaks off (the data ends inside a gzip stream; the rest left out)"
        in (record["message"])
    )


def test_text_past_the_cap_is_cut_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file may decompress to far more than the cap: past it nothing is scanned, so nothing leaves."""
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    secret = secret_line()
    source = tmp_path / "bomb.log.gz"
    source.write_bytes(gzip.compress(b"\n" * 5_000_000 + secret))
    assert source.stat().st_size < 10_000
    record, written = write(tmp_path, source.name, source=source)
    text = gzip.decompress(written)
    assert secret not in text and len(text) <= 100_000 and record["truncated"] is True
    assert "cut at 100000 bytes of text" in record["message"]


def test_a_clean_file_whose_text_is_larger_than_its_cap_is_copied_as_it_is(tmp_path: Path) -> None:
    """The artifact's cap counts the file's bytes, as for any file; its text may be larger."""
    source = tmp_path / "app.log.1.gz"
    source.write_bytes(gzip.compress(log(lines=40_000)))
    assert source.stat().st_size < 1_000_000 < len(log(lines=40_000))
    record, written = write(tmp_path, source.name, source=source, limit=1_000_000)
    assert written == source.read_bytes() and record["truncated"] is False and record["message"] is None


def _bz2(data: bytes) -> bytes:
    return bz2.compress(data)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda clean, dirty: gzip.compress(clean) + b"JUNK" + gzip.compress(dirty), id="gzip junk gzip"
        ),
        pytest.param(lambda clean, dirty: _bz2(clean) + b"JUNK" + _bz2(dirty), id="bzip2 junk bzip2"),
        pytest.param(
            lambda clean, dirty: lzma.compress(clean) + b"JUNK" + lzma.compress(dirty), id="xz junk xz"
        ),
        pytest.param(lambda clean, dirty: gzip.compress(clean) + _bz2(dirty), id="gzip then bzip2"),
        pytest.param(lambda clean, dirty: _bz2(clean) + gzip.compress(dirty), id="bzip2 then gzip"),
        pytest.param(
            lambda clean, dirty: _bad_crc(gzip.compress(clean)) + gzip.compress(dirty), id="bad crc member"
        ),
    ],
)
def test_data_after_the_readable_streams_is_never_copied(tmp_path: Path, build: Callable[..., bytes]) -> None:
    """A tool that looks for magic bytes further on reads what a stream reader stops before: such a file
    is written again from its readable text, never copied as it is."""
    secret = secret_line()
    data = build(log(), log(secret))
    for how in ("source", "data"):
        source = tmp_path / f"{how}.log.gz"
        source.write_bytes(data)
        kw: dict[str, Any] = {"source": source} if how == "source" else {"data": data}
        record, written = write(tmp_path, source.name, **kw)
        assert secret not in written and written != data, how
        assert "the rest left out" in record["message"], how
        assert secret.split(b" = ")[1].strip() not in _every_text(written), how


def _bad_crc(member: bytes) -> bytes:
    return member[:-8] + bytes(4) + member[-4:]


def _every_text(data: bytes) -> bytes:
    """All a lenient reader finds: every gzip, bzip2 or xz stream starting anywhere in `data`."""
    return b"".join([data, *every_stream(data)])


def every_stream(data: bytes) -> list[bytes]:
    """The text of every gzip, bzip2 or xz stream starting anywhere in `data`."""
    found = []
    for magic, make in (
        (b"\x1f\x8b", lambda: zlib.decompressobj(31)),
        (b"BZh", bz2.BZ2Decompressor),
        (b"\xfd7zXZ\x00", lzma.LZMADecompressor),
    ):
        at = data.find(magic)
        while at != -1:
            with contextlib.suppress(OSError, EOFError, zlib.error, lzma.LZMAError):
                found.append(make().decompress(data[at:]))
            at = data.find(magic, at + 1)
    return found


def test_bytes_added_after_the_first_pass_are_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log appended to while it is collected (`gzip >> app.log.gz`): only what was found clean is copied."""
    secret = secret_line()
    source = tmp_path / "app.log.gz"
    source.write_bytes(gzip.compress(log()))
    real = compressed.mask

    def then_appended(*args: Any, **kw: Any) -> Any:
        done = real(*args, **kw)
        with source.open("ab") as fh:
            fh.write(gzip.compress(secret))
        return done

    monkeypatch.setattr(compressed, "mask", then_appended)
    record, written = write(tmp_path, source.name, source=source)
    assert (
        written == gzip.compress(log()) and record["truncated"] is True and secret not in _every_text(written)
    )


def _noise(data: bytes, at: int, end: int) -> str:
    """A pattern for six printable bytes of `data` between `at` and `end` found nowhere else in it: what a
    rule may take for a secret in compressed bytes."""
    for i in range(at, end - 6):
        run = data[i : i + 6]
        if all(33 <= byte < 127 for byte in run) and data.count(run) == 1:
            return re.escape(run.decode())
    raise AssertionError("no printable run in the data")


@pytest.mark.parametrize("ext", [*FORMATS, "zip", "tar.gz"])
def test_clean_data_whose_compressed_bytes_a_rule_matches_is_copied_as_it_is(
    tmp_path: Path, ext: str
) -> None:
    """Compressed bytes are noise a rule matches now and then (about once in 3 MB): the text read out of
    them is what is scanned, and the data is copied as it is, not written again nor masked in place."""
    text = log()
    if ext == "zip":
        data = _zip({"worker.log": text})
        at, end = 30 + len("worker.log"), data.index(b"PK\x01\x02")
    elif ext == "tar.gz":
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo("worker.log")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
        data, at, end = gzip.compress(raw.getvalue(), mtime=0), 10, -8
    else:
        data, at, end = FORMATS[ext][0](text), 16, -16
    pattern = _noise(data, at, len(data) + end if end < 0 else end)
    assert re.search(pattern.encode(), text) is None
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}, patterns=[pattern]))
    try:
        source = tmp_path / f"worker.{ext}"
        source.write_bytes(data)
        for output in (
            Output("a", "a", "application/octet-stream", source=source),
            Output("b", "b", "x", data=data),
        ):
            record = writer.add("files", output)
            written = (writer.staging / record["path"]).read_bytes()
            assert written == data and record["redactions"] == 0 and record["message"] is None
    finally:
        writer.abort()


def test_a_secret_in_a_zip_comment_leaves_the_archive_written_again(tmp_path: Path) -> None:
    secret = secret_line().strip()
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("worker.log", log())
        archive.comment = secret
    record, written = write(tmp_path, "logs.zip", data=raw.getvalue())
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.read("worker.log") == log() and archive.comment == b""
    assert secret not in written and record["message"].startswith("zip entries read to mask 0 secrets")


def test_text_that_only_starts_like_compressed_data_is_scanned_as_text(tmp_path: Path) -> None:
    secret = secret_line()
    source = tmp_path / "notes.txt"
    source.write_bytes(b"BZh is how bzip2 data starts\n" + secret)
    record, written = write(tmp_path, source.name, source=source)
    assert secret not in written and written.startswith(b"BZh is") and record["redactions"] == 1
    assert record["message"] is None


def test_kind_names_each_format_by_its_magic_bytes() -> None:
    assert [compressed.kind(pack(b"x")[: compressed.HEAD]) for pack, _ in FORMATS.values()] == [
        "gzip",
        "bzip2",
        "xz",
    ]
    assert compressed.kind(b"PK\x03\x04") == "zip"
    assert compressed.kind(b"PK\x05\x06") is None and compressed.kind(b"") is None


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", method) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2026, 1, 2, 3, 4, 6))
            # NOTE: writestr takes the method of a ZipInfo it is given, stored unless set.
            info.compress_type = method
            archive.writestr(info, data)
    return raw.getvalue()


def test_a_secret_in_a_deflated_zip_entry_is_masked_and_the_archive_written_again(tmp_path: Path) -> None:
    secret = secret_line()
    source = tmp_path / "logs.zip"
    source.write_bytes(_zip({"logs/": b"", "logs/worker.log": log(secret), "logs/api.log": log()}))
    record, written = write(tmp_path, source.name, source=source)
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.namelist() == ["logs/", "logs/worker.log", "logs/api.log"]
        text = archive.read("logs/worker.log")
        assert secret not in text and b"password = [REDACTED" in text
        assert archive.read("logs/api.log") == log()
        assert archive.getinfo("logs/api.log").date_time == (2026, 1, 2, 3, 4, 6)
    assert record["redactions"] == 1 and record["message"].startswith("zip entries read to mask 1 secret")
    assert write(tmp_path, source.name, source=source)[0]["sha256"] == record["sha256"]


def test_a_zip_without_a_secret_is_copied_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "logs.zip"
    source.write_bytes(_zip({"worker.log": log()}))
    record, written = write(tmp_path, source.name, source=source)
    assert written == source.read_bytes() and record["redactions"] == 0


def test_zip_entries_past_the_cap_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    secret = secret_line()
    source = tmp_path / "bomb.zip"
    source.write_bytes(_zip({"a.log": b"\n" * 300_000, "b.log": secret}))
    record, written = write(tmp_path, source.name, source=source)
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.namelist() == ["a.log"] and len(archive.read("a.log")) <= 100_000
    assert secret not in written and record["truncated"] is True


def _crafted(kind: str, secret: bytes) -> bytes:
    """Zip archives zipfile reads otherwise than a reader of local headers, each hiding `secret`."""
    clean = log()
    if kind == "after the end":
        return _zip({"worker.log": clean}) + gzip.compress(secret)
    if kind == "unlisted entry before":
        hidden = _zip({"settings.env": secret})
        return hidden[: hidden.index(b"PK\x01\x02")] + _zip({"worker.log": clean})
    if kind == "self-extracting stub":
        return b"#!/bin/sh\nexit 0\n" + _zip({"settings.env": clean + secret})
    if kind == "bad crc on another entry":
        data = bytearray(_zip({"a.log": clean, "b.log": clean + secret}))
        data[data.find(b"PK\x03\x04") + 14] ^= 0xFF
        data[data.find(b"PK\x01\x02") + 16] ^= 0xFF
        return bytes(data)
    if kind == "method zipfile cannot read":
        data = bytearray(_zip({"b.log": clean + secret}))
        data[data.find(b"PK\x03\x04") + 8] = 9
        data[data.find(b"PK\x01\x02") + 10] = 9
        return bytes(data)
    good = _zip({"a.log": clean})
    directory, end = good.find(b"PK\x01\x02"), good.find(b"PK\x05\x06")
    record, closing = good[directory:end], bytearray(good[end:])
    if kind == "listed twice beside a hidden entry":
        hidden = _zip({"h.log": secret})
        hidden = hidden[: hidden.find(b"PK\x01\x02")]
        closing[8:10] = closing[10:12] = struct.pack("<H", 2)
        closing[12:16] = struct.pack("<I", 2 * len(record))
        closing[16:20] = struct.pack("<I", directory + len(hidden))
        return good[:directory] + hidden + record + record + bytes(closing)
    assert kind == "raw deflate in a gap"
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    gap = squeeze.compress(secret) + squeeze.flush()
    closing[16:20] = struct.pack("<I", directory + len(gap))
    return good[:directory] + gap + record + bytes(closing)


CRAFTED = [
    "after the end",
    "unlisted entry before",
    "self-extracting stub",
    "bad crc on another entry",
    "method zipfile cannot read",
    "listed twice beside a hidden entry",
    "raw deflate in a gap",
]


@pytest.mark.parametrize("kind", CRAFTED)
def test_a_zip_holding_more_than_it_lists_is_written_again(tmp_path: Path, kind: str) -> None:
    """A reader of local headers (`unzip`, binwalk) finds what zipfile does not list or cannot read: such
    an archive is written again from the entries read, never copied as it is (found by review)."""
    secret = secret_line()
    data = _crafted(kind, secret)
    for how in ("source", "data"):
        source = tmp_path / f"{how}.zip"
        source.write_bytes(data)
        kw: dict[str, Any] = {"source": source} if how == "source" else {"data": data}
        record, written = write(tmp_path, source.name, **kw)
        assert written != data, (kind, how)
        assert secret not in written and secret.split(b" = ")[1].strip() not in _every_inflated(written), how
        assert "written again" in record["message"], how


def test_a_clean_zip_holding_a_stored_zip_is_copied_as_it_is(tmp_path: Path) -> None:
    inner = _zip({"worker.log": log()})
    data = _zip(
        {"bundle.zip": inner, "notes.txt": b"the bytes PK\x03\x04 start a zip entry\n"}, zipfile.ZIP_STORED
    )
    record, written = write(tmp_path, "outer.zip", data=data)
    assert written == data and record["message"] is None


def _every_inflated(data: bytes) -> bytes:
    """All a lenient reader inflates: raw deflate from every offset, and every stream `_every_text` finds."""
    found = [_every_text(data)]
    for at in range(len(data)):
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompressobj(-15).decompress(data[at:]))
    return b"".join(found)


def test_a_secret_in_a_gzip_header_leaves_a_whole_file_without_it(tmp_path: Path) -> None:
    """The file name field of a gzip header is not compressed: masked in place it would break the
    file, so the file is written again (with no name) from its text."""
    secret = secret_line().strip()
    raw = io.BytesIO()
    with gzip.GzipFile(filename=secret.decode(), fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(log())
    record, written = write(tmp_path, "dump.gz", data=raw.getvalue())
    assert secret not in written and gzip.decompress(written) == log()
    assert record["message"].startswith("gzip data decompressed to mask 0 secrets")
    assert "its headers left out (1 secret outside the text)" in record["message"]


def test_a_zip_entry_whose_data_breaks_off_is_left_out(tmp_path: Path) -> None:
    secret = secret_line()
    data = bytearray(_zip({"a.log": log(), "b.log": log(secret)}))
    # NOTE: a.log's deflate data damaged in its middle: zipfile stops there, the rest is not scanned.
    at = data.find(b"PK\x03\x04") + 30 + len("a.log") + 200
    data[at : at + 8] = b"\xff" * 8
    record, written = write(tmp_path, "logs.zip", data=bytes(data))
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.namelist() == ["b.log"] and secret not in archive.read("b.log")
    assert "1 encrypted or unreadable entry left out" in record["message"]


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_zip_whose_directory_points_before_the_file_is_read_from_its_local_record(
    tmp_path: Path, in_memory: bool
) -> None:
    """zipfile seeks to a negative offset and raises ValueError: the entry is read from its local record,
    masked, and the archive written again."""
    secret = secret_line()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.log", log(secret))
    data = bytearray(buf.getvalue())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, struct.unpack_from("<I", data, end + 16)[0] + 1000)
    source = tmp_path / "logs.zip"
    source.write_bytes(bytes(data))
    record, written = write(
        tmp_path, "logs.zip", **({"data": bytes(data)} if in_memory else {"source": source})
    )
    assert secret.split(b" = ")[1].strip() not in written
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        assert archive.read("app.log") == log(secret).replace(secret.split(b" = ")[1].strip(), b"[REDACTED]")
    assert record["message"].startswith(
        "zip entries read (app.log from their local headers) to mask 1 secret"
    )
