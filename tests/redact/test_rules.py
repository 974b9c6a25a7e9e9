"""The rule data: every rule masks its example and leaves its innocent line; names and keywords agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evidence_kit.redact.names import parts
from evidence_kit.redact.redactor import Redactor
from evidence_kit.redact.rules import RuleSet, _rule, builtin, fill

RULES = builtin().rules
NAMES = yaml.safe_load((Path(__file__).parent / "names.yaml").read_text())


def only(rule_name: str) -> Redactor:
    """A redactor with just one of the built-in rules."""
    full = builtin()
    rules = tuple(r for r in full.rules if r.name == rule_name)
    return Redactor(ruleset=RuleSet(rules, full.names, full.judge, full.flag_options))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_masks_its_example(rule: object) -> None:
    name = rule.name
    text, fills = fill(rule.example, name)
    masked, count = only(name).mask_text(text)
    assert count >= 1, f"{name} did not match its example {text!r}"
    leaked = [f for f in fills if len(f) >= 6 and f in masked]
    assert not leaked, f"{name} left {leaked} in {masked!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_leaves_its_innocent_line(rule: object) -> None:
    name = rule.name
    text, _ = fill(rule.innocent, name)
    assert only(name).mask_text(text) == (text, 0)
    assert Redactor().mask_text(text) == (text, 0)


@pytest.mark.parametrize("name", NAMES["secret"])
def test_secret_names(name: str) -> None:
    assert builtin().names.secret(name), parts(name)


@pytest.mark.parametrize("name", NAMES["not_secret"])
def test_names_that_are_not_secret(name: str) -> None:
    assert not builtin().names.secret(name), parts(name)


def test_name_parts() -> None:
    assert parts("APP_POSTGRES_PWD") == ("app", "postgres", "pwd")
    assert parts("X-Api-Key") == ("x", "api", "key")
    assert parts("dbPassword2") == ("db", "password", "2")
    assert parts("HTTPServerToken") == ("http", "server", "token")


def test_assignment_keywords_cover_every_secret_name() -> None:
    """A secret name the prefilter would not look at could never be masked: the keywords must cover them
    (a rule that reads the name on the line before, `previous`, looks for its own shape instead)."""
    names = builtin().names
    for rule in RULES:
        if "name" not in rule.checks or rule.previous is not None:
            continue
        words = list(names.words) + list(names.suffixes) + ["".join(p) for p in names.pairs]
        words += list(names.profiles.get(rule.profile, ()))
        uncovered = [w for w in words if not any(k.decode() in w for k in rule.keywords)]
        assert not uncovered, f"{rule.name}: no keyword finds {uncovered}"


def test_a_quoted_sql_constant_of_a_rule_without_a_name_is_judged_not_a_crash() -> None:
    """`sql_constants` are judged by the name a SQL condition compares; a rule without one raised."""
    masked, count = Redactor().mask_text("CREATE ROLE app WITH LOGIN PASSWORD 'LDAP';")
    assert masked == "CREATE ROLE app WITH LOGIN PASSWORD '[REDACTED]';" and count == 1


@pytest.mark.parametrize("past", [0, 1, 5, 30])
def test_a_heading_line_is_never_cut_from_the_line_it_heads(
    past: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule's `previous` line and the line it heads are masked in one block, however the stream cuts:
    here the first block would end right after the heading (`api_token`)."""
    import io

    from evidence_kit.redact import redactor

    secret = fill("{alnum:24}", "heading")[0]
    head = "1 validation error for Settings\napi_token\n"
    data = f"{head}  Value error [type=value_error, input_value='{secret}', input_type=str]\n".encode()
    monkeypatch.setattr(redactor, "CHUNK", len(head) + past)
    red = Redactor()
    out: list[bytes] = []
    red.stream(io.BytesIO(data), lambda b: out.append(bytes(b)))
    assert b"".join(out) == red.mask(data)[0] and secret.encode() not in b"".join(out)


def test_rules_are_described_and_named_once() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert all(r.description and r.family and r.keywords for r in RULES)
    assert len(RULES) >= 40


def test_rule_patterns_use_only_what_every_supported_python_compiles() -> None:
    """The redactor also runs in the service's interpreter (the pytest plugin), 3.10 included: no possessive
    quantifier or atomic group (3.11's `re`) in a rule's pattern."""
    import re

    newer = re.compile(r"(?<!\\)[*+?}]\+|\(\?>")
    data = yaml.safe_load((Path(__file__).parents[2] / "evidence_kit/redact/rules.yaml").read_text("utf-8"))
    rules = data["rules"] if isinstance(data, dict) else data
    found = [r["name"] for r in rules for key in ("pattern", "previous") if newer.search(r.get(key) or "")]
    assert found == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"value": "everything"}, "value must be one of"),
        ({"checks": ["name", "psychic"]}, "unknown checks"),
        ({"pattern": "(unclosed"}, "does not compile"),
        ({"keywords": []}, "at least one non-empty keyword"),
        ({"pattern": "x=", "checks": ["name"]}, "need a group named `name`"),
    ],
)
def test_bad_rule_data_is_refused_with_the_rule_named(change: dict[str, object], problem: str) -> None:
    raw = {
        "name": "demo",
        "family": "tests",
        "description": "a rule",
        "keywords": ["x"],
        "pattern": "(?P<secret>x+)",
        "value": "token",
        "example": "xx",
        "innocent": "y",
        **change,
    }
    with pytest.raises(ValueError, match=problem) as caught:
        _rule(raw)
    assert "'demo'" in str(caught.value)


def test_missing_fields_are_named() -> None:
    with pytest.raises(ValueError, match="missing example, innocent"):
        _rule(
            {
                "name": "demo",
                "family": "f",
                "description": "d",
                "keywords": ["x"],
                "pattern": "x",
                "value": "token",
            }
        )


def test_fill_is_repeatable_and_never_a_placeholder() -> None:
    first, fills = fill("ghp_{alnum:36} {hex:8}", "seed")
    assert fill("ghp_{alnum:36} {hex:8}", "seed") == (first, fills)
    assert fill("ghp_{alnum:36} {hex:8}", "other")[0] != first
    assert [len(f) for f in fills] == [36, 8]
    assert not builtin().judge.is_placeholder(fills[0])


@pytest.mark.parametrize("blank", ["\f", "\v"])
def test_a_form_feed_or_vertical_tab_after_a_value_ends_the_scan(blank: str) -> None:
    """Both are blanks a word ends at; the value's scan stopped at them and never moved on (a collect
    hung on such a line, and binary data is full of them)."""
    import threading

    value = fill("{alnum:20}", "blanks")[0]
    line = f"db pass{'word'} = {value} {blank}\n".encode()
    done: list[tuple[bytes, int]] = []
    worker = threading.Thread(target=lambda: done.append(Redactor.from_env({}).mask(line)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and done, "the redactor did not finish"
    assert value.encode() not in done[0][0] and done[0][1] == 1


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("must contain a digit", True),
        ("at least 12 characters", True),
        ("a random string used to sign sessions", True),
        ("correct horse battery staple", False),
        ("horse battery of staple", False),
        ("Must Contain A Digit", False),
        ("take me to the river", False),
        ("one for the money two", False),
        ("the cat is on the mat", False),
        ("if you can read this, it is too late", False),
        ("used to love her", False),
        ("the most beautiful girl", False),
        ("i must be the one", False),
        ("the sign of the times", False),
        ("hash of the day is", False),
        ("tied to the post at least", False),
    ],
)
def test_a_sentence_is_lowercase_words_with_two_function_words_and_a_description_word(
    value: str, sentence: bool
) -> None:
    """The rule that lets `password: must contain a digit` through keeps a passphrase of dictionary words."""
    assert builtin().judge.is_sentence(value) is sentence
    masked = Redactor().mask_text(f"password: {value}")[0]
    assert (masked == f"password: {value}") is sentence


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("psql -h db -p 5432 jobs", True),
        ("mysql -u root -p jobs", True),
        ("ssh -p 2222 deploy@host && ls -a", True),
        ("redis-cli -p 6379 ping", True),
        ("mysql -u USER -pPASSWORD", True),
        ("mysql -u root -p$MYSQL_ROOT_PASSWORD", True),
        ("mysql -u root -pS3cr3tValue9", False),
        ("redis-cli -a S3cr3tValue9 ping", False),
        ("sshpass -pS3cr3tValue9 ssh -p 22 host", False),
    ],
)
def test_short_password_options_are_read_per_tool(line: str, kept: bool) -> None:
    assert (Redactor().mask_text(line)[1] == 0) is kept


def test_a_block_kind_must_be_known() -> None:
    raw = {
        "name": "demo",
        "family": "f",
        "description": "d",
        "keywords": ["x"],
        "pattern": "x",
        "value": "token",
        "example": "x",
        "innocent": "y",
        "block": "everything",
    }
    with pytest.raises(ValueError, match="block must be one of"):
        _rule(raw)


def test_a_query_value_ends_before_an_escape_or_a_closing_bracket() -> None:
    """A URL in a JSON string or in prose: the mask covers the value, not the `).` and the `\\n\\n` after it
    (a URL writes those percent-encoded)."""
    text, fills = fill(
        '"see wss://h/ws?token={alnum:24}).\\n\\nThe token expires" (x?api_key={alnum:24})', "q"
    )
    masked, count = Redactor().mask_text(text)
    assert count == 2 and not [f for f in fills if f in masked]
    assert masked == '"see wss://h/ws?token=[REDACTED]).\\n\\nThe token expires" (x?api_key=[REDACTED])'


def test_a_value_in_a_string_of_escaped_lines_ends_with_its_line() -> None:
    """A JSON description of several `\\n`-escaped lines: a key's unquoted value ends at the escape, the
    next line is kept whole (it was masked with the value, and the line break with it)."""
    text, fills = fill('"d": "- own: a profile\\n- credential: {alnum:24}\\n- fresh: no seed profile"', "e")
    masked, count = Redactor().mask_text(text)
    assert count == 1 and not [f for f in fills if f in masked]
    assert masked == '"d": "- own: a profile\\n- credential: [REDACTED]\\n- fresh: no seed profile"'


@pytest.mark.parametrize(
    "template",
    [
        # a name of a switch or a count still names a secret: its value is judged, and this one is one
        "ENABLE_BANKING_API_KEY={alnum:24}",
        "IS_API_KEY={alnum:24}",
        "USAGE_TOKEN={alnum:24}",
        "API_KEY_PAIR={alnum:24}",
        # a schema operation's shape with a value, not a column name, after the secret name
        'op.set("API_TOKEN", "{alnum:24}")',
        'op.alter_column("API_TOKEN", "{hex:24}")',
        'Column("SECRET_KEY", "{alnum:24}")',
        # a literal default after a secret-named variable
        'password = password or "{alnum:24}"',
        'secret = secret if secret else "{alnum:24}"',
        "DB_PASSWORD=supersecret or {alnum:24}",
        # a query value with a bracket or an escaped slash inside
        "postgresql://u@h/db?password={alnum:12}){alnum:12}",
        '"https:\\/\\/h\\/x?access_token={alnum:12}\\/{alnum:12}"',
        "wss://h/ws?token={alnum:12}}{alnum:12}",
        # an escaped line break outside the value's string, or inside a token
        'msg="x\\n" DB_PASSWORD={alnum:12}\\n{alnum:12}',
        '"help": "Usage:\\n  export API_TOKEN={alnum:12}\\r{alnum:12}"',
    ],
)
def test_values_near_the_innocent_shapes_are_still_masked(template: str) -> None:
    text, fills = fill(template, "near")
    masked, count = Redactor().mask_text(text)
    assert count >= 1 and not [f for f in fills if len(f) >= 8 and f in masked], masked
