"""Redaction: every built-in kind of secret is masked and counted, in memory and streamed."""

from __future__ import annotations

import io

import pytest

from evidence_kit.redact.redactor import CHUNK, MASK, Redactor, secret_values

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
CASES = [
    ("postgresql://app:pa55word@db:5432/jobs", "pa55word"),
    ("postgresql+psycopg://svc:s3cr3t%21@127.0.0.1/x", "s3cr3t%21"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ('{"authorization": "Token abcdef123456"}', "abcdef123456"),
    ("curl -H 'X: y' --oauth Bearer abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
    ("key id AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("token ghp_" + "a1B2" * 9, "ghp_" + "a1B2" * 9),
    # NOTE: was `"github_pat_" + "x" * 40`, a placeholder, which issue 12 says must stay as written.
    ("github_pat_" + "11AB0CD" + "x1Y2z3" * 7, "github_pat_" + "11AB0CD" + "x1Y2z3" * 7),
    (f"cookie {JWT} end", JWT),
    ("JOBS_DB_PASSWORD=hunter2hunter2 ./run.sh", "hunter2hunter2"),
]


@pytest.mark.parametrize(("text", "secret"), CASES)
def test_builtin_secret_is_masked_and_counted(text: str, secret: str) -> None:
    masked, count = Redactor().mask_text(text)
    assert secret not in masked
    assert MASK.decode() in masked
    assert count >= 1


def test_private_key_block_is_masked_whole() -> None:
    text = (
        "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nAAAABG5vbmU=\n"
        "-----END OPENSSH PRIVATE KEY-----\nafter\n"
    )
    masked, count = Redactor().mask_text(text)
    assert "b3BlbnNzaC1rZXktdjEAAAA" not in masked and "AAAABG5vbmU=" not in masked
    assert masked.startswith("before\n") and masked.endswith("after\n")
    assert count == 1


def test_plain_text_is_left_alone() -> None:
    text = "SELECT status, count(*) FROM jobs GROUP BY status;\nhttp://localhost:8000/health\n"
    assert Redactor().mask_text(text) == (text, 0)


def test_literal_values_and_config_patterns() -> None:
    red = Redactor(
        literals=["tenant-secret-42"], patterns=[r"sk_live_(?P<secret>[A-Za-z0-9]+)", r"INTERNAL-\d+"]
    )
    masked, count = red.mask_text("a tenant-secret-42 b sk_live_abcDEF123 c INTERNAL-7731")
    assert "tenant-secret-42" not in masked and "abcDEF123" not in masked and "INTERNAL-7731" not in masked
    assert "sk_live_" in masked
    assert count == 3


def test_secret_values_from_env_names() -> None:
    env = {
        "STRIPE_API_KEY": "sk_abcdefgh",
        "HOME": "/root",
        # NOTE: was "ghs_xxxxxxxx", a placeholder, which issue 12 says must never be masked.
        "GITHUB_TOKEN": "ghs_k3Jq9Lm2",
        "SHORT_TOKEN": "ab",
        "PLAIN": "visible-value",
    }
    assert set(secret_values(env)) == {"sk_abcdefgh", "ghs_k3Jq9Lm2"}
    assert "visible-value" in secret_values(env, extra_names=["PLAIN"])


def test_stream_matches_memory_across_chunk_boundaries() -> None:
    secret = "postgresql://u:topsecretpw@h/db"
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "QUJD\n" * 10 + "-----END RSA PRIVATE KEY-----\n"
    filler = "x" * (CHUNK - 20) + "\n"
    data = (filler + secret + "\n" + key + filler + key).encode()
    red = Redactor()
    out: list[bytes] = []
    count, truncated = red.stream(io.BytesIO(data), lambda b: out.append(bytes(b)))
    streamed = b"".join(out)
    assert streamed == red.mask(data)[0]
    assert b"topsecretpw" not in streamed and b"QUJD" not in streamed
    assert count == 3 and not truncated


def test_stream_limit_truncates_and_says_so() -> None:
    out: list[bytes] = []
    count, truncated = Redactor().stream(
        io.BytesIO(b"line\n" * 1000), lambda b: out.append(bytes(b)), limit=100
    )
    assert len(b"".join(out)) == 100
    assert truncated and count == 0
