"""Parsing `oci://` references: every accepted form and every refusal, as data."""

from __future__ import annotations

import pytest

from evidence_kit.errors import EvidenceError
from evidence_kit.oci.reference import Reference, is_reference, parse

DIGEST = "sha256:" + "ab" * 32

GOOD = [
    ("oci://ghcr.io/acme/jobs", Reference("ghcr.io", "acme/jobs")),
    ("oci://ghcr.io/acme/jobs:svc-3.6", Reference("ghcr.io", "acme/jobs", "svc-3.6")),
    (f"oci://ghcr.io/acme/jobs@{DIGEST}", Reference("ghcr.io", "acme/jobs", "", DIGEST)),
    (f"oci://ghcr.io/acme/jobs:t@{DIGEST}", Reference("ghcr.io", "acme/jobs", "t", DIGEST)),
    ("oci://localhost:5000/a/b/c:x", Reference("localhost:5000", "a/b/c", "x")),
    ("oci://127.0.0.1:5000/evidence", Reference("127.0.0.1:5000", "evidence")),
    ("oci://[::1]:5000/evidence:v1", Reference("[::1]:5000", "evidence", "v1")),
    ("oci://Registry.Example.com/a__b/c-d.e", Reference("registry.example.com", "a__b/c-d.e")),
]

BAD = [
    ("ghcr.io/acme/jobs", "not a registry reference"),
    ("oci://ghcr.io", "names a registry and a repository"),
    ("oci:///acme/jobs", "names a registry and a repository"),
    ("oci://ghcr.io/Acme/jobs", "not a valid repository name"),
    ("oci://ghcr.io/acme//jobs", "not a valid repository name"),
    ("oci://ghcr.io/acme/jobs:-bad", "not a valid tag"),
    ("oci://ghcr.io/acme/jobs:" + "x" * 129, "not a valid tag"),
    ("oci://ghcr.io/acme/jobs@sha256:abc", "not a sha256 digest"),
    ("oci://ghcr.io/acme/jobs@md5:" + "a" * 32, "not a sha256 digest"),
    ("oci://bad_host!/acme/jobs", "not a registry host"),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_parses(text: str, expected: Reference) -> None:
    ref = parse(text)
    assert ref == expected
    assert parse(str(ref)) == ref


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[0][:40] for b in BAD])
def test_refuses(text: str, message: str) -> None:
    with pytest.raises(EvidenceError) as caught:
        parse(text)
    assert message in caught.value.message and caught.value.hint


@pytest.mark.parametrize(
    ("text", "loopback"),
    [
        ("oci://localhost:5000/a", True),
        ("oci://127.0.0.1:5000/a", True),
        ("oci://127.9.9.9/a", True),
        ("oci://[::1]:5000/a", True),
        ("oci://ghcr.io/a", False),
        ("oci://10.0.0.1:5000/a", False),
        ("oci://localhost.example.com/a", False),
    ],
)
def test_loopback(text: str, loopback: bool) -> None:
    assert parse(text).loopback is loopback


def test_docker_hub_api_host_and_helpers() -> None:
    assert parse("oci://docker.io/acme/jobs").host == "registry-1.docker.io"
    ref = parse("oci://ghcr.io/acme/jobs:t")
    assert (
        str(ref.at(DIGEST)) == f"oci://ghcr.io/acme/jobs@{DIGEST}" and ref.repo == "oci://ghcr.io/acme/jobs"
    )
    assert is_reference("oci://x/y") and not is_reference("./oci:/x") and not is_reference(None)
