"""`oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]` references: parsed, checked, printed."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from evidence_kit.errors import EvidenceError

SCHEME = "oci://"
_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$")
_FORM = "oci://REGISTRY/REPOSITORY[:TAG] or oci://REGISTRY/REPOSITORY@sha256:DIGEST"
# NOTE: Docker Hub's name in references is not the host that serves its API.
_API_HOSTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


@dataclass(frozen=True)
class Reference:
    """A parsed reference; `tag` and `digest` may both be empty (a whole repository, for `list`)."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        text = f"{SCHEME}{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def repo(self) -> str:
        """The repository alone: `oci://REGISTRY/REPOSITORY`."""
        return f"{SCHEME}{self.registry}/{self.repository}"

    @property
    def host(self) -> str:
        """The host (and port) whose /v2/ API serves this reference."""
        return _API_HOSTS.get(self.registry, self.registry)

    @property
    def hostname(self) -> str:
        """The host name without port or IPv6 brackets."""
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def loopback(self) -> bool:
        """True for registries on this machine (localhost, 127.0.0.0/8, ::1): plain HTTP is allowed."""
        name = self.hostname.lower()
        if name == "localhost" or name.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    def at(self, digest: str) -> Reference:
        """The same repository, pinned to a digest."""
        return Reference(self.registry, self.repository, "", digest)

    def with_tag(self, tag: str) -> Reference:
        """The same repository at a tag."""
        return Reference(self.registry, self.repository, tag, "")

    @property
    def target(self) -> str:
        """What /v2/<name>/manifests/ is asked for: the digest when there is one, else the tag."""
        return self.digest or self.tag


def is_reference(text: object) -> bool:
    """True when `text` is meant as a registry reference (it starts with `oci://`)."""
    return isinstance(text, str) and text.startswith(SCHEME)


def parse(text: str) -> Reference:
    """Parse an `oci://` reference; EvidenceError naming the part that is wrong and the expected form."""
    if not is_reference(text):
        raise EvidenceError(f"{text!r} is not a registry reference", hint=f"write it as {_FORM}")
    rest = text[len(SCHEME) :]
    registry, _, path = rest.partition("/")
    if not registry or not path:
        raise EvidenceError(
            f"{text}: a reference names a registry and a repository", hint=f"write it as {_FORM}"
        )
    if not _HOST.match(registry):
        raise EvidenceError(
            f"{text}: {registry!r} is not a registry host[:port]", hint=f"write it as {_FORM}"
        )
    digest = ""
    if "@" in path:
        path, _, digest = path.partition("@")
        if not DIGEST.match(digest):
            raise EvidenceError(
                f"{text}: {digest!r} is not a sha256 digest",
                hint="a digest is `sha256:` and 64 lower-case hex digits, as `evidence push` prints it",
            )
    tag = ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, _, tag = path.rpartition(":")
        if not TAG.match(tag):
            raise EvidenceError(
                f"{text}: {tag!r} is not a valid tag",
                hint="a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            )
    if not _REPOSITORY.match(path):
        raise EvidenceError(
            f"{text}: {path!r} is not a valid repository name",
            hint="repository names are lower-case letters and digits, separated by `/`, `.`, `_` or `-`",
        )
    return Reference(registry.lower(), path, tag, digest)
