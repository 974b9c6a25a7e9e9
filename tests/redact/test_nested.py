"""Secrets in compressed data nested in compressed data: looked into, masked, and written again whole."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.redact import compressed
from tests.redact.test_compressed import _zip, every_stream, log, secret_line, write

WAYS = ("source", "data")


def _tar(members: dict[str, bytes], **meta: Any) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uname = len(data), 1_760_000_000, 0o640, "app"
            for key, value in meta.get(name, {}).items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def written(tmp_path: Path, name: str, data: bytes, how: str) -> tuple[dict[str, Any], bytes]:
    """What the writer makes of `data`, read from a file or handed over in memory."""
    if how == "data":
        return write(tmp_path, name, data=data)
    source = tmp_path / name
    source.write_bytes(data)
    return write(tmp_path, name, source=source)


def everything(data: bytes, depth: int = 0) -> bytes:
    """Every text a lenient reader finds in `data`, however deep: the bytes themselves, and, opened again
    and again, every gzip, bzip2 or xz stream starting anywhere in them, every zip entry and every tar
    member (past zero blocks too)."""
    found = [data]
    if depth > 8:
        return data
    for text in _opened(data):
        found.append(everything(text, depth + 1))
    return b"".join(found)


def _opened(data: bytes) -> list[bytes]:
    texts = every_stream(data)
    with (
        contextlib.suppress(
            zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError, ValueError
        ),
        zipfile.ZipFile(io.BytesIO(data)) as archive,
    ):
        texts += [archive.read(entry) for entry in archive.infolist()]
    with contextlib.suppress(tarfile.TarError, OSError, EOFError):
        texts += [text for _, text in members(data, ignore_zeros=True)]
    return texts


def value(secret: bytes) -> bytes:
    return secret.split(b" = ")[1].strip()


def members(data: bytes, ignore_zeros: bool = False) -> list[tuple[tarfile.TarInfo, bytes]]:
    """A tar's members and the data of each (empty for all but files)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", ignore_zeros=ignore_zeros) as tar:
        return [(m, (tar.extractfile(m) or io.BytesIO()).read()) for m in tar]


NESTED: dict[str, Callable[[bytes], bytes]] = {
    "gzip of gzip": lambda text: _gz(_gz(text)),
    "bzip2 of gzip": lambda text: bz2.compress(_gz(text)),
    "xz of bzip2": lambda text: lzma.compress(bz2.compress(text)),
    "gz member of a tar.gz": lambda text: _gz(_tar({"app.log": log(), "app.log.1.gz": _gz(text)})),
    "gz entry of a zip": lambda text: _zip({"notes.txt": b"ok\n", "app.log.1.gz": _gz(text)}),
    "zip in a gzip": lambda text: _gz(_zip({"worker.log": text})),
    "gz member of a plain tar": lambda text: _tar({"app.log.1.gz": _gz(text)}),
    "tar.gz in a zip": lambda text: _zip({"logs.tar.gz": _gz(_tar({"worker.log": text}))}),
}


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("nest", NESTED)
def test_a_secret_nested_in_compressed_data_is_masked(tmp_path: Path, nest: str, how: str) -> None:
    secret = secret_line()
    data = NESTED[nest](log(secret))
    assert value(secret) in everything(data)
    record, out = written(tmp_path, f"{how}.bin", data, how)
    found = everything(out)
    assert value(secret) not in found and b"password = [REDACTED]" in found
    assert record["redactions"] == 1 and record["redacted"] == {"secret-assignment": 1}
    assert "to mask 1 secret" in record["message"] and record["truncated"] is False


@pytest.mark.parametrize("nest", NESTED)
def test_a_clean_nested_archive_is_copied_as_it_is(tmp_path: Path, nest: str) -> None:
    data = NESTED[nest](log())
    for how in WAYS:
        record, out = written(tmp_path, f"{how}.bin", data, how)
        assert out == data and record["message"] is None and record["redactions"] == 0, how


@pytest.mark.parametrize("nest", NESTED)
def test_nested_data_written_again_gives_the_same_bytes(tmp_path: Path, nest: str) -> None:
    data = NESTED[nest](log(secret_line()))
    first = written(tmp_path, "logs.bin", data, "source")
    assert written(tmp_path, "logs.bin", data, "data") == first
    assert written(tmp_path, "logs.bin", data, "source") == first


@pytest.mark.parametrize("how", WAYS)
def test_a_tar_is_written_again_member_by_member(tmp_path: Path, how: str) -> None:
    """Masking changes lengths: the tar is written again with each member's new size, never patched (a
    patched tar ends at the first masked member for every reader)."""
    secret = secret_line()
    original = {
        "app/settings.env": b"DEBUG=1\n" + secret,
        "app/app.log.1.gz": _gz(log(secret)),
        "app/app.log": log(),
    }
    data = _gz(_tar(original, **{"app/app.log": {"pax_headers": {"comment": "rotated daily"}}}))
    record, out = written(tmp_path, "logs.tar.gz", data, how)
    got = members(gzip.decompress(out))
    assert [m.name for m, _ in got] == list(original)
    settings, rotated, plain = (text for _, text in got)
    assert settings == b"DEBUG=1\npassword = [REDACTED]\n"
    assert gzip.decompress(rotated) == log(secret).replace(value(secret), b"[REDACTED]")
    assert plain == log() and got[2][0].pax_headers.get("comment") == "rotated daily"
    assert all((m.mtime, m.mode, m.uname, m.size) == (1_760_000_000, 0o640, "app", len(t)) for m, t in got)
    assert value(secret) not in everything(out)
    assert record["redactions"] == 2 and record["redacted"] == {"secret-assignment": 2}
    assert record["message"].startswith("gzip data decompressed to mask 2 secrets, and compressed again")
    assert "tar archive read to mask 2 secrets, and the archive written again" in record["message"]


def test_a_secret_in_a_members_name_or_pax_record_is_masked(tmp_path: Path) -> None:
    secret = secret_line().strip().decode()
    meta = {"logs/app.log.1.gz": {"pax_headers": {"comment": secret}}}
    data = _gz(_tar({f"{secret}/notes.txt": b"ok\n", "logs/app.log.1.gz": _gz(log())}, **meta))
    record, out = written(tmp_path, "logs.tar.gz", data, "data")
    got = members(gzip.decompress(out))
    assert (
        got[0][0].name == "password = [REDACTED]"
        and got[1][0].pax_headers["comment"] == "password = [REDACTED]"
    )
    assert got[1][1] == _gz(log()) and value(secret.encode()) not in everything(out)
    assert record["redactions"] == 2


@pytest.mark.parametrize("how", WAYS)
def test_data_nested_deeper_than_the_depth_is_left_out(tmp_path: Path, how: str) -> None:
    secret = secret_line()
    deepest = log(secret)
    for _ in range(compressed.DEPTH):
        deepest = _gz(deepest)
    record, out = written(tmp_path, "deep.gz", deepest, how)
    assert value(secret) not in everything(out) and record["redactions"] == 1
    data = _gz(deepest)
    record, out = written(tmp_path, "deeper.gz", data, how)
    assert value(secret) not in everything(out) and out != data
    deeper = f"data nested deeper than {compressed.DEPTH} formats left out unread"
    assert record["message"].endswith(f"(in its text: {deeper}))))")
    assert gzip.decompress(gzip.decompress(gzip.decompress(gzip.decompress(out)))) == b""
    # NOTE: gzip, gzip, gzip, tar: the tar is the fourth format, so the gzip member would be the fifth.
    tar = _gz(_gz(_gz(_tar({"a.log": log(), "b.log.gz": _gz(log(secret))}))))
    record, out = written(tmp_path, "logs.tar.gz", tar, how)
    got = members(gzip.decompress(gzip.decompress(gzip.decompress(out))))
    assert [(m.name, text) for m, text in got] == [("a.log", log()), ("b.log.gz", b"")]
    assert f"(in b.log.gz: {deeper})" in record["message"] and value(secret) not in everything(out)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of every text the module decompresses from a gzip, bzip2 or xz stream."""
    made: list[int] = []
    real = compressed._step

    def step(decomp: Any, data: bytes, most: int) -> bytes:
        text = real(decomp, data, most)
        made.append(len(text))
        return text

    monkeypatch.setattr(compressed, "_step", step)
    return made


def test_a_nested_bomb_is_cut_at_the_cap_counted_across_levels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty members that each decompress to 1 MB: the cap counts the text of them all, so the work stays
    near the cap, not thirty times it."""
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    monkeypatch.setattr(compressed, "_TEXT_CHUNK", 4096)
    secret = secret_line()
    bomb = _gz(b"\n" * 1_000_000 + secret)
    data = _gz(_tar({f"w{n:02}.log.gz": bomb for n in range(30)}))
    assert len(data) < 100_000
    made = _counting(monkeypatch)
    record, out = written(tmp_path, "logs.tar.gz", data, "source")
    assert sum(made) < 3 * 100_000
    assert value(secret) not in everything(out) and record["truncated"] is True
    assert (
        "w00.log.gz: gzip data decompressed to mask 0 secrets, cut at 100000 bytes of text"
        in record["message"]
    )
    assert "29 members past the cap of 100000 bytes of text left out (w01.log.gz, " in record["message"]
    got = members(gzip.decompress(out))
    assert [m.name for m, _ in got] == ["w00.log.gz"] and len(gzip.decompress(got[0][1])) < 100_000


def test_a_gzip_of_a_gzip_bomb_is_cut_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    secret = secret_line()
    data = _gz(_gz(b"\n" * 20_000_000 + secret))
    record, out = written(tmp_path, "bomb.gz", data, "data")
    assert len(gzip.decompress(gzip.decompress(out))) < 100_000 and value(secret) not in everything(out)
    assert record["truncated"] is True and "cut at 100000 bytes of text" in record["message"]


def test_a_zip_in_a_gzip_cut_at_the_cap_keeps_nothing_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut at the cap, a zip loses its directory: it is read from its local headers, and the cap leaves
    nothing of its text to read, so its entries are written again empty, and the record says it was cut."""
    monkeypatch.setattr(compressed, "EXPANDED_CAP", 100_000)
    secret = secret_line()
    data = _gz(_zip({"a.log": log(), "b.log": log(secret)}, zipfile.ZIP_STORED))
    record, out = written(tmp_path, "logs.zip.gz", data, "data")
    with zipfile.ZipFile(io.BytesIO(gzip.decompress(out))) as archive:
        assert [(entry.filename, entry.file_size) for entry in archive.infolist()] == [("a.log", 0)]
    assert record["truncated"] is True and value(secret) not in everything(out)
    assert "(in its text: zip entries read from their local headers (zipfile: " in record["message"]
    assert "cut at 100000 bytes of text (entries past them left out)" in record["message"]


@pytest.mark.parametrize("how", WAYS)
def test_a_nested_stream_that_breaks_off_is_kept_as_far_as_it_reads(tmp_path: Path, how: str) -> None:
    secret, later = secret_line(), secret_line().replace(b"password", b"db_password")
    whole = _gz(log(secret, lines=20_000) + log(later, lines=20_000))
    cut = whole[: len(whole) // 2]
    data = _gz(_tar({"a.log": log(), "b.log.gz": cut}))
    record, out = written(tmp_path, "logs.tar.gz", data, how)
    text = everything(out)
    assert value(secret) not in text and value(later) not in text and record["redactions"] == 1
    assert (
        "(in b.log.gz: gzip data decompressed to mask 1 secret, read up to where it breaks off"
        in (record["message"])
    )
    record, out = written(tmp_path, "cut.gz", _gz(cut), how)
    assert value(secret) not in everything(out) and "read up to where it breaks off" in record["message"]


def test_a_tar_with_bytes_after_its_last_member_is_written_again(tmp_path: Path) -> None:
    """A second archive after the first one's end blocks is read by `tar -i`: never copied as it is."""
    secret = secret_line()
    data = _gz(_tar({"a.log": log()}) + _tar({"b.log.gz": _gz(secret)}))
    for how in WAYS:
        record, out = written(tmp_path, f"{how}.tar.gz", data, how)
        assert value(secret) not in everything(out) and out != data, how
        assert "bytes after its last member left out" in record["message"], how
        assert [m.name for m, _ in members(gzip.decompress(out))] == ["a.log"], how


def test_a_zip_entry_nested_deeper_than_the_depth_is_left_out(tmp_path: Path) -> None:
    secret = secret_line()
    data = _gz(_gz(_gz(_zip({"a.log": log(), "b.gz": _gz(secret)}))))
    record, out = written(tmp_path, "logs.zip.gz", data, "data")
    with zipfile.ZipFile(io.BytesIO(gzip.decompress(gzip.decompress(gzip.decompress(out))))) as archive:
        assert archive.read("a.log") == log() and archive.read("b.gz") == b""
    deeper = f"data nested deeper than {compressed.DEPTH} formats left out unread"
    assert f"(in b.gz: {deeper})" in record["message"] and value(secret) not in everything(out)


@pytest.mark.parametrize("how", WAYS)
def test_a_nested_zip_zipfile_cannot_open_is_read_from_its_local_headers(tmp_path: Path, how: str) -> None:
    """A zip cut before its directory: zipfile cannot open it, but a reader of local headers reads its
    entries (here a gzip stored in it as it is): they are read so too, masked, and the zip written again."""
    secret = secret_line()
    inner = _zip({"a.log": log(), "b.log.gz": _gz(log(secret))}, zipfile.ZIP_STORED)
    cut = inner[: inner.index(b"PK\x01\x02")]
    assert value(secret) in everything(cut)
    data = _gz(_tar({"a.log": log(), "logs.zip": cut}))
    record, out = written(tmp_path, "logs.tar.gz", data, how)
    got = dict((m.name, text) for m, text in members(gzip.decompress(out)))
    with zipfile.ZipFile(io.BytesIO(got["logs.zip"])) as archive:
        assert archive.read("a.log") == log()
        assert gzip.decompress(archive.read("b.log.gz")) == log(secret).replace(value(secret), b"[REDACTED]")
    assert got["a.log"] == log() and value(secret) not in everything(out) and record["redactions"] == 1
