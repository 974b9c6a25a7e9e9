"""Masking many strings at once (`mask_texts`, `scrub_data`) gives what masking each alone gives."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from evidence_kit.redact import prefilter, scrub
from evidence_kit.redact.redactor import Redactor
from evidence_kit.redact.rules import fill
from tests.redact import corpus


def _texts(seed: int) -> list[str]:
    """Corpus lines, secret and innocent, alone and grouped into multi-line strings, some not ASCII."""
    lines = [p.text for p in corpus.planted()] + [line for _, line in corpus.lookalikes()]
    rng = random.Random(seed)
    texts = list(lines)
    for _ in range(200):
        group = rng.sample(lines, rng.randint(2, 5))
        texts.append("\n".join(group))
    password, _ = fill("password = {alnum:16}", f"batch/{seed}")
    texts += ["", "\n", "café ünïcode " + lines[0], "tail without newline", f"naïve\n{password}"]
    rng.shuffle(texts)
    return texts


NO_RE2 = pytest.mark.skipif(prefilter.available() != "re2", reason="google-re2 is not installed")
ENGINES = ["re", pytest.param("re2", marks=NO_RE2)]


@pytest.mark.parametrize("engine", ENGINES)
def test_mask_texts_equals_mask_text_of_each(engine: str) -> None:
    # NOTE: an environment secret with a newline in it: a keyword that spans two of the joined texts.
    value, _ = fill("{alnum:12}\n{alnum:12}", "batch/multiline")
    plain, _ = fill("{alnum:20}", "batch/plain")
    red = Redactor.from_pairs([("DEPLOY_TOKEN", value), ("API_SECRET", plain)], engine=engine)
    texts = _texts(1)
    first, second = value.split("\n")
    texts += [first, second, f"x {first}", f"{second} y", f"token {plain}", plain]
    expected = [red.mask_text(t)[0] for t in texts]
    assert red.mask_texts(texts) == expected
    assert sum(a != b for a, b in zip(texts, expected, strict=True)) > 100


def test_mask_texts_with_configured_patterns_masks_each_alone() -> None:
    red = Redactor.from_pairs([], patterns=[r"ticket-(?P<secret>\d{6})"])
    texts = ["ticket-123456 opened", "nothing here", "two\nticket-654321"]
    assert red.mask_texts(texts) == [red.mask_text(t)[0] for t in texts]
    assert red.mask_texts(texts)[0] != texts[0]


def test_mask_texts_of_nothing_and_of_innocent_text() -> None:
    red = Redactor.from_pairs([])
    assert red.mask_texts([]) == []
    innocent = [line for _, line in corpus.lookalikes()]
    assert red.mask_texts(innocent) == innocent


@dataclasses.dataclass(frozen=True)
class _Row:
    name: str
    notes: tuple[str, ...]


def test_scrub_data_masks_like_scrub_and_keeps_shapes() -> None:
    secret = next(p for p in corpus.planted() if p.file == ".env").text
    value = {"rows": [_Row("a", ("fine", secret)), _Row(secret, ())], secret: "key", "n": 3, "e": ""}
    masked = scrub.scrub_data(value)
    assert masked["rows"][0].notes == ("fine", scrub.scrub(secret))
    assert masked["rows"][1].name == scrub.scrub(secret)
    assert scrub.scrub(secret) in masked and masked["n"] == 3 and masked["e"] == ""
    assert scrub.scrub(secret) != secret


def test_scrub_data_gives_the_value_itself_when_nothing_is_secret() -> None:
    value = {"rows": [_Row("a", ("fine", "also fine"))], "n": 3}
    assert scrub.scrub_data(value) is value


def test_scrub_data_copies_only_what_holds_a_masked_string() -> None:
    secret = next(p for p in corpus.planted() if p.file == ".env").text
    clean = [_Row("a", ("fine",)), {"k": "v"}, ("t", "u")]
    value = {"clean": clean, "dirty": [_Row("b", ("fine", secret))]}
    masked = scrub.scrub_data(value)
    assert masked is not value and masked["dirty"][0].notes[1] == scrub.scrub(secret)
    assert masked["clean"] is clean and all(a is b for a, b in zip(masked["clean"], clean, strict=True))
    assert masked["dirty"][0].name is value["dirty"][0].name


def test_scrubbed_text_is_not_masked_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from evidence_kit.bundle.atomic import write_pages

    secret = next(p for p in corpus.planted() if p.file == ".env").text
    passes: list[str] = []
    masking = Redactor.mask_text

    def counted(self: Redactor, text: str, tally: object = None) -> tuple[str, int]:
        passes.append(text)
        return masking(self, text)

    monkeypatch.setattr(Redactor, "mask_text", counted)
    once = scrub.scrub(f"report\n{secret}\n")
    assert secret not in once and scrub.scrub(once) is once
    done = len(passes)
    write_pages(tmp_path, {"report.txt": once})
    assert len(passes) == done and (tmp_path / "report.txt").read_text() == once
    # NOTE: text built from scrubbed text is plain text again: masked when written.
    write_pages(tmp_path, {"report.txt": once + secret})
    assert len(passes) > done and secret not in (tmp_path / "report.txt").read_text()


def test_scrubbed_text_is_masked_again_by_redactors_that_came_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from evidence_kit.bundle.atomic import write_pages

    ticket = "ticket-" + str(random.Random(5).randrange(10**6, 10**7))
    early = scrub.scrub(f"opened {ticket}\n")
    assert ticket in early
    config = SimpleNamespace(
        collectors={},
        redact_env=[],
        redact_allow_names=[],
        redact_allow_values=[],
        redact_allow_patterns=[],
        redact_patterns=[r"ticket-(?P<secret>\d{7})"],
        env_file_values=lambda env: [],
        source_defaults=lambda: [],
    )
    monkeypatch.setattr(scrub, "_configured", [])
    scrub.use_configs([config])
    write_pages(tmp_path, {"report.txt": early})
    assert ticket not in (tmp_path / "report.txt").read_text()
    value = "hidden-" + str(random.Random(6).randrange(10**11, 10**12))
    before = scrub.scrub(f"value {value}\n")
    monkeypatch.setenv("SERVICE_API_TOKEN", value)
    assert value not in scrub.scrub(before)


@NO_RE2
def test_both_engines_name_the_same_lines_with_the_same_keywords() -> None:
    """Overlapping keywords (one the prefix, suffix or middle of another), both cases, Latin-1 letters."""
    keywords = [
        (b"pass", False),
        (b"password", False),
        (b"word", False),
        (b"ssw", False),
        (b"key", False),
        (b"apikey", False),
        (b"Tok\xc3\xa9n-Value", True),
        (b"tok", True),
        (b"\xc3\xa9t\xc3\xa9", True),
    ]
    pieces = [
        b"PassWord",
        b"passwor",
        b"apiKEY",
        b"KEY",
        b"Tok\xc3\xa9n-Value",
        b"TOK\xc3\xa9N-value",
        b"tok",
    ]
    pieces += [b"\xc3\x89T\xc3\x89", b"\xc3\xa9t\xc3\xa9", b" ", b"\n", b"=", b"x", b"\xe9", b"sw", b"pa"]
    rng = random.Random(7)
    blocks = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    # NOTE: lines longer than 4 KiB, where RE2's matches are not used to name the keywords.
    one_line = [p for p in pieces if p != b"\n"]
    blocks += [b"".join(rng.choice(one_line) for _ in range(rng.randint(1000, 3000))) for _ in range(20)]
    assert max(len(b) for b in blocks) > 4096
    by_re, by_re2 = prefilter.Prefilter(keywords, "re"), prefilter.Prefilter(keywords, "re2")
    named = 0
    for block in blocks:
        found = by_re2.candidates(block)
        assert found == by_re.candidates(block), block
        named += sum(len(kids) for _, _, kids in found)
    assert named > 10_000
