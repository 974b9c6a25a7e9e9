"""Damaged archives: read as far as they can be, never copied holding a secret, what was left out said."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.redact import compressed
from tests.redact.test_compressed import _zip, log, secret_line
from tests.redact.test_nested import WAYS, _gz, _tar, everything, members, value, written

_CENTRAL, _END = b"PK\x01\x02", b"PK\x05\x06"


class _Unseekable(io.RawIOBase):
    def __init__(self, raw: io.BytesIO) -> None:
        self.raw = raw

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.raw.write(data)


def _described(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip written to a stream that cannot seek: each entry's CRC and sizes in a descriptor after its
    data (flag bit 3), zeros in its local header."""
    raw = io.BytesIO()
    with zipfile.ZipFile(_Unseekable(raw), "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, (2026, 1, 2, 3, 4, 6))
            info.compress_type = method
            archive.writestr(info, data)
    return raw.getvalue()


def _entries(text: bytes) -> dict[str, bytes]:
    return {"a.log": log(lines=200), "b.log": text}


def _cut(data: bytes) -> bytes:
    """A zip cut short in its directory's first record."""
    return data[: data.index(_CENTRAL) + 30]


def _end(data: bytes, at: int, change: Callable[[int], int]) -> bytes:
    """A zip whose end record's 32-bit field at `at` is changed."""
    out = bytearray(data)
    end = out.rfind(_END)
    struct.pack_into("<I", out, end + at, change(struct.unpack_from("<I", out, end + at)[0]))
    return bytes(out)


def _b_log(data: bytes, local: int, central: int, put: Callable[[bytearray, int], None]) -> bytes:
    """A zip whose second entry's local header (field at `local`) and directory record (at `central`) are
    changed by `put`."""
    out = bytearray(data)
    put(out, out.find(b"PK\x03\x04", 1) + local)
    at = out.find(_CENTRAL)
    put(out, out.find(_CENTRAL, at + 1) + central)
    return bytes(out)


def _encrypted(data: bytes) -> bytes:
    """Flag bit 0 on b.log: its data is not encrypted, but no reader that honours the flag reads it."""

    def flag(out: bytearray, at: int) -> None:
        out[at] |= 0x1

    return _b_log(data, 6, 8, flag)


def _method(data: bytes) -> bytes:
    """Method 99 (AES, in WinZip's terms) on b.log, its data deflated as it was."""

    def method(out: bytearray, at: int) -> None:
        struct.pack_into("<H", out, at, 99)

    return _b_log(data, 8, 10, method)


def _damaged_deflate(data: bytes) -> bytes:
    out = bytearray(data)
    at = out.find(_CENTRAL) - 40
    out[at : at + 8] = b"\xff" * 8
    return bytes(out)


def _bad_checksum(tar: bytes) -> bytes:
    """A tar whose first header's checksum is wrong: tarfile cannot open it."""
    out = bytearray(tar)
    out[148] = ord("7") if out[148] != ord("7") else ord("6")
    return bytes(out)


def _tarred(text: bytes) -> bytes:
    return _tar({"a.log": log(lines=200), "b.log.gz": _gz(text), "c.log": text})


# NOTE: each kind: how the damaged archive holding `text` is made, whether it is copied as it is when
# clean, and words the record of one holding a secret has.
DAMAGED: dict[str, tuple[Callable[[bytes], bytes], bool, str]] = {
    "directory cut short": (
        lambda text: _cut(_zip(_entries(text))),
        True,
        "zip entries read from their local headers (zipfile: File is not a zip file) to mask 1 secret",
    ),
    "stored, directory cut short": (
        lambda text: _cut(_zip(_entries(text), zipfile.ZIP_STORED)),
        True,
        "zip entries read from their local headers",
    ),
    "descriptors after deflated data, directory cut short": (
        lambda text: _cut(_described(_entries(text))),
        True,
        "zip entries read from their local headers",
    ),
    "descriptors after stored data, directory cut short": (
        lambda text: _cut(_described(_entries(text), zipfile.ZIP_STORED)),
        True,
        "zip entries read from their local headers",
    ),
    "end record's directory offset wrong": (
        lambda text: _end(_zip(_entries(text)), 16, lambda n: n + 1000),
        False,
        "zip entries read (a.log, b.log from their local headers) to mask 1 secret",
    ),
    "end record's directory size wrong": (
        lambda text: _end(_zip(_entries(text)), 12, lambda n: n + 7),
        True,
        "zip entries read from their local headers",
    ),
    "junk before": (
        lambda text: b"#!/bin/sh\nexit 0\n" * 20 + _zip(_entries(text)),
        False,
        "bytes that are no entry left out",
    ),
    "two zips one after another": (
        lambda text: _zip({"b.log": text}) + _zip({"a.log": log(lines=200)}),
        False,
        "zip entries read (b.log from their local headers) to mask 1 secret",
    ),
    "encrypted flag": (
        lambda text: _encrypted(_zip(_entries(text))),
        False,
        "1 encrypted or unreadable entry left out (b.log)",
    ),
    "encrypted flag, directory cut short": (
        lambda text: _cut(_encrypted(_zip(_entries(text)))),
        False,
        "1 encrypted or unreadable entry left out (b.log)",
    ),
    "unknown method 99": (
        lambda text: _method(_zip(_entries(text))),
        False,
        "1 encrypted or unreadable entry left out (b.log)",
    ),
    "unknown method 99, directory cut short": (
        lambda text: _cut(_method(_zip(_entries(text)))),
        False,
        "1 encrypted or unreadable entry left out (b.log)",
    ),
    "deflate data damaged, directory cut short": (
        lambda text: _cut(_damaged_deflate(_zip(_entries(text)))),
        False,
        "1 encrypted or unreadable entry left out (b.log)",
    ),
    "gzip cut inside its member": (
        lambda text: _gz(text)[: len(_gz(text)) * 3 // 4],
        False,
        "read up to where it breaks off (the data ends inside a gzip stream; the rest left out)",
    ),
    "tar, its first header's checksum wrong": (
        lambda text: _bad_checksum(_tarred(text)),
        False,
        "blocks that are no member tarfile can read left out (bad checksum)",
    ),
    "tar.gz, its first header's checksum wrong": (
        lambda text: _gz(_bad_checksum(_tarred(text))),
        False,
        "blocks that are no member tarfile can read left out (bad checksum)",
    ),
}


def _found(data: bytes) -> bytes:
    """All a lenient reader finds: every text `everything` finds, and raw deflate from every offset, kept
    up to where it breaks (what a reader of local headers, or one that ignores a flag or a method,
    inflates)."""
    found, view = [everything(data)], memoryview(data)
    for at in range(len(data)):
        inflate = zlib.decompressobj(-15)
        for chunk in range(at, len(data), 1024):
            try:
                found.append(inflate.decompress(view[chunk : chunk + 1024]))
            except zlib.error:
                break
    return b"".join(found)


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("kind", DAMAGED)
def test_a_secret_in_a_damaged_archive_never_reaches_the_bundle(tmp_path: Path, kind: str, how: str) -> None:
    """Found by fuzzing: a zip zipfile cannot open, or a tar tarfile cannot, was scanned as bytes only."""
    make, _, words = DAMAGED[kind]
    secret = secret_line()
    data = make(log(secret, lines=400))
    assert value(secret) in _found(data)
    record, out = written(tmp_path, "damaged.bin", data, how)
    assert out != data and value(secret) not in _found(out)
    assert words in record["message"]


@pytest.mark.parametrize("kind", DAMAGED)
def test_a_clean_damaged_archive_is_copied_only_when_every_byte_was_read(tmp_path: Path, kind: str) -> None:
    """Every entry read, every byte a local record or a directory record that points at one: copied as it
    is. Anything else is written again from what was read, and the record says why."""
    make, copied, _ = DAMAGED[kind]
    data = make(log(lines=400))
    record, out = written(tmp_path, "damaged.bin", data, "source")
    assert (out == data) is copied and (record["message"] is None) is copied
    assert record["redactions"] == 0


def test_a_tar_whose_first_header_is_damaged_keeps_the_members_after_it(tmp_path: Path) -> None:
    secret = secret_line()
    record, out = written(tmp_path, "logs.tar", _bad_checksum(_tarred(log(secret))), "data")
    got = [(m.name, text) for m, text in members(out)]
    assert [name for name, _ in got] == ["b.log.gz", "c.log"]
    assert got[1][1] == log(secret).replace(value(secret), b"[REDACTED]") and record["redactions"] == 2


def test_a_tar_with_no_header_tarfile_can_read_is_left_out(tmp_path: Path) -> None:
    """Nothing to read it by: it is left out, nothing written in its place, and the record says why."""
    secret = secret_line()
    data = _bad_checksum(_tar({"a.log": secret}))[:300]
    record, out = written(tmp_path, "logs.tar", data, "data")
    assert out == b"" and record["message"].startswith("tar archive tarfile cannot open (")
    assert record["message"].endswith(") left out")


def test_deflate_data_whose_end_lies_past_the_cap_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its size only in a descriptor, a deflated entry's end is found by decompressing it: no further
    than the cap, past which nothing is read."""
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    secret = secret_line()
    data = _cut(_described({"a.log": b"\n" * 300_000, "b.log": secret}))
    assert len(data) < 10_000
    record, out = written(tmp_path, "bomb.zip", data, "data")
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert archive.namelist() == []
    assert value(secret) not in _found(out) and record["truncated"] is True
    cut = "cut at 100000 bytes of text (entries past them left out)"
    assert f"{cut}, 1 encrypted or unreadable entry left out (a.log)" in record["message"]


def test_an_entry_without_a_name_is_read(tmp_path: Path) -> None:
    """A local header whose name is empty (zipfile's `is_dir` fails on one): read, masked, written again."""
    secret = secret_line()
    text = log(secret, lines=200)
    fields = (20, 0, 0, 0, 0x21, zlib.crc32(text), len(text), len(text), 0, 0)
    data = b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + text
    record, out = written(tmp_path, "nameless.zip", data, "data")
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert archive.namelist() == [""] and archive.read("") == text.replace(value(secret), b"[REDACTED]")
    assert record["redactions"] == 1


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("logs.tar.gz", lambda text: b"junk before the stream\n" + _gz(_tar({"app.log": text}))),
        ("logs.zip", lambda text: b"MZ stub " * 40 + _cut(_zip({"app.log": text}))),
        ("logs.tar", lambda text: b"\0" * 100 + _tar({"app.log": text})),
    ],
)
def test_data_behind_junk_in_a_file_named_as_an_archive_is_left_out(
    tmp_path: Path, how: str, name: str, build: Callable[[bytes], bytes]
) -> None:
    secret = secret_line()
    record, out = written(tmp_path, name, build(log(secret)), how)
    assert value(secret) not in everything(out)
    assert out == b"" and "left out: " + name in record["message"]
    assert "cannot be scanned for secrets" in record["message"]


@pytest.mark.parametrize("how", WAYS)
def test_a_file_named_as_an_archive_that_holds_none_is_scanned_as_text(tmp_path: Path, how: str) -> None:
    secret = secret_line()
    record, out = written(tmp_path, "notes.gz", log(secret), how)
    assert value(secret) not in out and b"worker job" in out
    assert "left out" not in (record.get("message") or "")


@pytest.mark.parametrize("how", WAYS)
def test_junk_before_a_stream_in_a_file_named_as_text_is_scanned_as_bytes(tmp_path: Path, how: str) -> None:
    # NOTE: the documented limit: a name that claims no compressed format gets the byte scan only.
    record, out = written(tmp_path, "app.log", b"junk\n" + _gz(log(secret_line())), how)
    assert out.startswith(b"junk\n") and "left out" not in (record.get("message") or "")
