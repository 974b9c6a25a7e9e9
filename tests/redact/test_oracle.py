"""An independent oracle: every secret detect-secrets finds in the secret corpus is gone from the bundle.

(Not run on the look-alike corpus: its entropy plugins flag the digests and SHAs that must stay.)
"""

from __future__ import annotations

from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from tests.redact import corpus
from tests.redact.test_corpus import collect_tree


def test_every_secret_detect_secrets_finds_is_gone_from_the_bundle(tmp_path: Path) -> None:
    contents = corpus.files((p.file, p.text) for p in corpus.planted())
    service = tmp_path / "service"
    bundle = collect_tree(service, contents)
    found: dict[str, set[str]] = {}
    with default_settings():
        scan = SecretsCollection()
        for name in sorted(contents):
            scan.scan_file(str(service / name))
    for filename, secret in scan:
        if secret.secret_value:
            found.setdefault(secret.secret_value, set()).add(f"{secret.type} in {Path(filename).name}")
    # NOTE: the oracle must have found a fair share of the corpus for its verdict to mean anything.
    assert len(found) >= 100, sorted(found)
    blobs = b"\n".join(corpus.tree_bytes(bundle).values())
    leaked = {value: sorted(where) for value, where in found.items() if value.encode() in blobs}
    assert not leaked, leaked
