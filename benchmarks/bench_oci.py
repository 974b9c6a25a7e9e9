"""Benchmark: `evidence push` and `pull` of a 100 MB bundle against `curl` moving the same blob.

A bundle holding one 100 MB artifact of random bytes (incompressible, so its archive is ~100 MB) is
packed once. Against a real registry (the CNCF distribution server, `docker-registry`, on loopback):

- push: `oci.push.push(ARCHIVE, ref)` into a fresh repository (verifies the bundle, hashes the archive,
  uploads config, manifest.json and archive, puts the manifest and its tags) against `curl` doing the
  monolithic upload of the archive blob alone (`POST /blobs/uploads/`, then `PUT ?digest=` with the
  file), also into a fresh repository: the transfer limit;
- pull: `oci.pull.pull(ref@digest, DIR)` (every digest checked, the archive unpacked and verified, the
  folder and archive moved into DIR) against `curl -o FILE` of the same blob;
- push again: the same bundle into the same repository (uploads nothing; reported only);
- `evidence verify ARCHIVE` alone, the share of both that is not transfer (reported only).

    python benchmarks/bench_oci.py [--quick] [--runs N] [--size-mb N] [--workdir DIR]

Each figure is the median of N runs (default 3) taken in turns. Exits 1 when a target is missed, 2
when `docker-registry` or `curl` is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evidence_kit.bundle.archive import pack  # noqa: E402
from evidence_kit.bundle.digest import file_sha256  # noqa: E402
from evidence_kit.bundle.verify import verify  # noqa: E402
from evidence_kit.bundle.writer import BundleWriter  # noqa: E402
from evidence_kit.model import CollectorResult, Output  # noqa: E402
from evidence_kit.oci import pull, push, reference  # noqa: E402
from evidence_kit.redact.redactor import Redactor  # noqa: E402
from tests.oci import registry  # noqa: E402

MB = 1_000_000
PUSH_TARGET = 3.5  # evidence push time, as a multiple of curl's upload, at most
PULL_TARGET = 6.0  # evidence pull time, as a multiple of curl's download, at most


def make_bundle(folder: Path, size: int) -> Path:
    """A bundle with one `size`-byte artifact of random bytes, and its archive beside it."""
    writer = BundleWriter(folder, Redactor())
    with (folder / "random.bin").open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * 1024 * 1024))
            f.write(chunk)
            left -= len(chunk)
    writer.add(
        "files", Output("random.bin", "a large artifact", "application/gzip", source=folder / "random.bin")
    )
    bundle = writer.finish(
        service="bench",
        phase="1",
        git_sha="c" * 40,
        results=[CollectorResult("files", "ok")],
        host={"name": "h", "platform": "p", "python": "3"},
        ci=None,
    )
    (folder / "random.bin").unlink()
    created = json.loads((bundle / "manifest.json").read_text())["created"]
    epoch = int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    return pack(bundle, bundle.with_name(bundle.name + ".tar.gz"), epoch)


def curl_upload(host: str, repo: str, archive: Path, digest: str) -> None:
    """The monolithic upload the distribution spec describes: POST for a session, PUT the whole blob."""
    head = subprocess.run(
        [
            "curl",
            "-sS",
            "-f",
            "-X",
            "POST",
            "-D",
            "-",
            "-o",
            "/dev/null",
            f"http://{host}/v2/{repo}/blobs/uploads/",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    location = next(
        line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("location:")
    )
    if location.startswith("/"):
        location = f"http://{host}{location}"
    subprocess.run(
        [
            "curl",
            "-sS",
            "-f",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "-T",
            str(archive),
            f"{location}&digest={digest}",
            "-o",
            "/dev/null",
        ],
        check=True,
    )


def curl_download(host: str, repo: str, digest: str, dest: Path) -> None:
    subprocess.run(
        ["curl", "-sS", "-f", "-o", str(dest), f"http://{host}/v2/{repo}/blobs/{digest}"], check=True
    )


def timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 MB instead of 100 MB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=0)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    size = (args.size_mb or (20 if args.quick else 100)) * MB
    exe = shutil.which(registry.BINARY)
    if exe is None or shutil.which("curl") is None:
        print(f"needs `{registry.BINARY}` and `curl`: {registry.INSTALL} curl", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-oci-", dir=args.workdir))
    os.environ["EVIDENCE_CACHE_DIR"] = str(work / "cache")
    try:
        archive = make_bundle(work / "bundle", size)
        digest = "sha256:" + file_sha256(archive)[0]
        print(f"bundle archive: {archive.stat().st_size / MB:.1f} MB; {args.runs} runs in turns")
        with registry.serve(work / "registry", exe=exe) as running:
            names = ("push", "curl-up", "pull", "curl-down", "again", "verify")
            times: dict[str, list[float]] = {k: [] for k in names}
            for n in range(args.runs):
                ref = reference.parse(running.ref(f"bench/push{n}"))
                done = push.push(archive, ref)
                fresh = reference.parse(running.ref(f"bench/p{n}"))
                times["push"].append(timed(push.push, archive, fresh))
                times["curl-up"].append(timed(curl_upload, running.host, f"bench/c{n}", archive, digest))
                out = work / f"pulled{n}"
                times["pull"].append(timed(pull.pull, done.reference, out))
                fetched = work / f"curl{n}.bin"
                times["curl-down"].append(timed(curl_download, running.host, f"bench/c{n}", digest, fetched))
                times["again"].append(timed(push.push, archive, ref))
                times["verify"].append(timed(verify, archive))
                shutil.rmtree(out)
                fetched.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    mb = size / MB
    rows = [
        (
            "push",
            "evidence push (verify, hash, upload, tag)",
            med["push"],
            med["push"] / med["curl-up"],
            PUSH_TARGET,
        ),
        ("push", "curl POST + PUT of the archive blob", med["curl-up"], 1.0, None),
        (
            "pull",
            "evidence pull (digests, unpack, verify, move)",
            med["pull"],
            med["pull"] / med["curl-down"],
            PULL_TARGET,
        ),
        ("pull", "curl GET of the archive blob", med["curl-down"], 1.0, None),
        (
            "push",
            "evidence push again (nothing to upload)",
            med["again"],
            med["again"] / med["curl-up"],
            None,
        ),
        (
            "both",
            "evidence verify ARCHIVE alone (part of both)",
            med["verify"],
            med["verify"] / med["curl-up"],
            None,
        ),
    ]
    print("\n| case | method | seconds | MB/s | vs curl | target |\n|---|---|---|---|---|---|")
    missed = False
    for case, method, seconds, ratio, target in rows:
        ok = target is None or ratio <= target
        missed = missed or not ok
        goal = f"<= {target:.1f}x {'met' if ok else 'MISSED'}" if target else ""
        print(f"| {case} | {method} | {seconds:.3f} | {mb / seconds:.0f} | {ratio:.2f}x | {goal} |")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
