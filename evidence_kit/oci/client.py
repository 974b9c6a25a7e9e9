"""A small client of the OCI distribution spec (v1.1): blobs, manifests, tags and referrers of one repository.

It speaks HTTP/1.1 with the standard library's `http.client` over one kept-alive connection per host,
streams blobs from and to files (hashing as they pass), answers Basic and Bearer challenges with the
credentials of `auth.py`, follows redirects (dropping the Authorization header when the host changes)
and turns every failure into an EvidenceError that names the reference and the fix.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
import ssl
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from evidence_kit import __version__
from evidence_kit.bundle.digest import read_buffer
from evidence_kit.errors import EvidenceError
from evidence_kit.oci import auth
from evidence_kit.oci.reference import Reference

TIMEOUT_S = 60.0
MANIFEST_LIMIT = 4 * 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
_BLOCK = 1024 * 1024
_REDIRECTS = 5
_USER_AGENT = f"evidence-kit/{__version__}"


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry holds it: its exact bytes, media type and digest."""

    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        """The manifest parsed; {} when it is not a JSON object."""
        try:
            value = json.loads(self.data)
        except (ValueError, UnicodeDecodeError):
            return {}
        return value if isinstance(value, dict) else {}


Body = bytes | Path | None


def sha256(data: bytes) -> str:
    """`sha256:<hex>` of bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _oci_error(data: bytes) -> str:
    """The registry's error codes and messages, from its JSON error body, or its text."""
    try:
        errors = json.loads(data).get("errors")
        parts = [
            f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)
        ]
        if parts:
            return "; ".join(parts)
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        pass
    return data[:200].decode("utf-8", "replace").strip()


class Registry:
    """One repository of one registry, as `pull` or `pull,push`, with its credentials found on demand."""

    def __init__(
        self,
        ref: Reference,
        *,
        push: bool = False,
        insecure: bool = False,
        env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.ref = ref
        self.push = push
        self.env = os.environ if env is None else env
        self.timeout = timeout
        self.scheme = "http" if insecure or ref.loopback else "https"
        self.base = f"{self.scheme}://{ref.host}"
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self._authorization: str | None = None
        self._credentials: auth.Credentials | None = None
        self._looked_up = False
        self._tls: ssl.SSLContext | None = None

    # -- plumbing -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection."""
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        conn = self._connections.get(key)
        if conn is None:
            if scheme == "https":
                # NOTE: loading the system's CA certificates takes tens of ms; only HTTPS needs them.
                self._tls = self._tls or ssl.create_default_context()
                conn = http.client.HTTPSConnection(
                    netloc, timeout=self.timeout, context=self._tls, blocksize=_BLOCK
                )
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout, blocksize=_BLOCK)
            self._connections[key] = conn
        return conn

    def _unreachable(self, url: str, exc: BaseException) -> EvidenceError:
        parts = urllib.parse.urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}"
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            hint = (
                "the registry does not speak HTTPS with a certificate this machine trusts; if it serves "
                "plain HTTP, pass --insecure (without it, plain HTTP is only used on this machine)"
            )
            return EvidenceError(f"TLS with {where} failed for {self.ref}: {exc}", hint=hint)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        if isinstance(exc, socket.gaierror):
            hint = f"check the registry's name in the reference ({self.ref.registry})"
        elif isinstance(exc, TimeoutError | socket.timeout):
            reason = f"no answer within {self.timeout:g} s"
            hint = "check that the registry is up and reachable, then try again"
        else:
            hint = (
                "check that the registry is up and that host and port in the reference are right "
                f"(oci://{self.ref.registry}/...)"
            )
        return EvidenceError(f"cannot reach the registry at {where} for {self.ref}: {reason}", hint=hint)

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: Body
    ) -> http.client.HTTPResponse:
        """One request on the kept-alive connection; one retry on a fresh connection if the old one died."""
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            conn = self._connection(parts.scheme, parts.netloc)
            try:
                with _opened(body) as payload:
                    size = _size(body)
                    sent = dict(headers)
                    if size is not None:
                        sent["Content-Length"] = str(size)
                    sent.setdefault("User-Agent", _USER_AGENT)
                    conn.request(method, target, body=payload, headers=sent)
                return conn.getresponse()
            # NOTE: a kept-alive connection the server closed, or one whose last answer was left unread.
            except (
                http.client.RemoteDisconnected,
                http.client.ImproperConnectionState,
                BrokenPipeError,
                ConnectionResetError,
            ) as exc:
                conn.close()
                self._connections.pop((parts.scheme, parts.netloc), None)
                if attempt == 2:
                    raise self._unreachable(url, exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._connections.pop((parts.scheme, parts.netloc), None)
                raise self._unreachable(url, exc) from exc
        raise AssertionError("unreachable")

    def _credentials_for_registry(self) -> auth.Credentials | None:
        if not self._looked_up:
            self._credentials = auth.find(self.ref.registry, self.env)
            self._looked_up = True
        return self._credentials

    def _denied(self, status: int, data: bytes) -> EvidenceError:
        creds = self._credentials
        action = "push to" if self.push else "pull from"
        detail = _oci_error(data)
        if creds is None:
            return EvidenceError(
                f"the registry {self.ref.registry} needs credentials to {action} {self.ref.repo} ({detail})",
                hint=f"set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run `docker login {self.ref.registry}`"
                + ("; for ghcr.io, GITHUB_TOKEN" if self.ref.registry == "ghcr.io" else ""),
            )
        if status == 403:
            return EvidenceError(
                f"the registry {self.ref.registry} denied {creds.username!r} ({creds.source}) the right to "
                f"{action} {self.ref.repo} ({detail})",
                hint="use credentials with that right"
                + (
                    "; a workflow needs `permissions: packages: write` to push to ghcr.io"
                    if self.push
                    else ""
                ),
            )
        return EvidenceError(
            f"the registry {self.ref.registry} refused the credentials of {creds.username!r} from "
            f"{creds.source} for {self.ref.repo} ({detail})",
            hint="check the user name and password or token"
            + (
                f" (or run `docker login {self.ref.registry}` again)"
                if creds.source.startswith(("/", "docker-credential"))
                else ""
            ),
        )

    def _token(self, challenge: auth.Challenge) -> str:
        """A Bearer token from the challenge's realm, for this repository's pull (and push) scope."""
        realm = challenge.params.get("realm", "")
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise EvidenceError(
                f"the registry {self.ref.registry} asked for a token from {realm!r}, which is not a URL",
                hint="the registry is misconfigured; ask its operator",
            )
        if parts.scheme == "http" and self.scheme != "http":
            raise EvidenceError(
                f"the registry {self.ref.registry} asked for a token over plain HTTP ({realm})",
                hint="refusing to send credentials without TLS; ask the registry's operator to serve the "
                "token service over HTTPS",
            )
        scope = f"repository:{self.ref.repository}:{'pull,push' if self.push else 'pull'}"
        query = [("scope", scope)]
        asked = challenge.params.get("scope", "")
        # NOTE: the registry asks for the scope of one request; ours covers every request of this command.
        if asked and not asked.startswith(f"repository:{self.ref.repository}:"):
            query.append(("scope", asked))
        if challenge.params.get("service"):
            query.insert(0, ("service", challenge.params["service"]))
        creds = self._credentials_for_registry()
        headers = {"Accept": "application/json"}
        body: Body = None
        if creds is not None and creds.identity_token:
            method, url = "POST", realm
            form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", creds.secret),
                ("client_id", "evidence-kit"),
                *query,
            ]
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            method = "GET"
            sep = "&" if parts.query else "?"
            url = realm + sep + urllib.parse.urlencode(query)
            if creds is not None:
                headers["Authorization"] = creds.basic()
        resp = self._send(method, url, headers, body)
        data = resp.read(MANIFEST_LIMIT)
        if resp.status in (401, 403):
            raise self._denied(401, data)
        if resp.status != 200:
            raise EvidenceError(
                f"the token service {parts.netloc} of {self.ref.registry} answered {resp.status} "
                f"for {self.ref.repo}: {_oci_error(data)}",
                hint="try again later; if it persists, the registry's token service is failing",
            )
        try:
            answer = json.loads(data)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, UnicodeDecodeError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise EvidenceError(
                f"the token service {parts.netloc} of {self.ref.registry} gave no token",
                hint="the registry is misconfigured; ask its operator",
            )
        return f"Bearer {token}"

    def _authorize(self, resp: http.client.HTTPResponse, data: bytes) -> None:
        """Answer a 401: Basic with the credentials, or a Bearer token; refuse to loop."""
        challenge = auth.parse_challenge(resp.getheader("WWW-Authenticate") or "")
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise EvidenceError(
                f"the registry {self.ref.registry} asked for an authentication scheme evidence-kit does not "
                f"speak ({resp.getheader('WWW-Authenticate')!r}) for {self.ref.repo}",
                hint="evidence-kit speaks Basic and Bearer token authentication",
            )
        tried = self._authorization is not None
        if challenge.scheme == "basic":
            creds = self._credentials_for_registry()
            if creds is None or tried:
                raise self._denied(401, data)
            self._authorization = creds.basic()
            return
        if tried and "insufficient_scope" not in (resp.getheader("WWW-Authenticate") or ""):
            raise self._denied(401, data)
        self._authorization = self._token(challenge)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        follow: bool = True,
    ) -> http.client.HTTPResponse:
        """A request (a path or an absolute URL), authenticated, redirects followed; the body unread."""
        url = path if "://" in path else self.base + path
        ours = urllib.parse.urlsplit(self.base).netloc
        for _ in range(3):
            sent = dict(headers or {})
            if self._authorization and urllib.parse.urlsplit(url).netloc == ours:
                sent["Authorization"] = self._authorization
            resp = self._send(method, url, sent, body)
            if resp.status == 401:
                data = resp.read(MANIFEST_LIMIT)
                before = self._authorization
                self._authorize(resp, data)
                if self._authorization == before:
                    raise self._denied(401, data)
                continue
            if follow and resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                return self._follow(method, url, resp, headers or {})
            return resp
        raise self._denied(401, b"")

    def _follow(
        self, method: str, url: str, resp: http.client.HTTPResponse, headers: Mapping[str, str]
    ) -> http.client.HTTPResponse:
        for _ in range(_REDIRECTS):
            resp.read()
            location = resp.getheader("Location")
            if not location:
                return resp
            url = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                break
            sent = dict(headers)
            # NOTE: the registry's credentials stay with the registry; blob stores get signed URLs instead.
            if (
                self._authorization
                and urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(self.base).netloc
            ):
                sent["Authorization"] = self._authorization
            resp = self._send(method, url, sent, None)
            if resp.status not in (301, 302, 303, 307, 308):
                return resp
        raise EvidenceError(
            f"the registry {self.ref.registry} redirected {self.ref} too often",
            hint="the registry is misconfigured; ask its operator",
        )

    def _unexpected(
        self, resp: http.client.HTTPResponse, what: str, data: bytes | None = None
    ) -> EvidenceError:
        data = resp.read(MANIFEST_LIMIT) if data is None else data
        if resp.status in (401, 403):
            return self._denied(resp.status, data)
        detail = _oci_error(data) or resp.reason
        if resp.status == 404 and b"NAME_UNKNOWN" in data:
            return EvidenceError(
                f"the registry {self.ref.registry} has no repository {self.ref.repository} ({what})",
                hint=f"check the repository name; `evidence push BUNDLE {self.ref.repo}:TAG` creates it",
            )
        hint = "try again later; if it persists, ask the registry's operator"
        if resp.status in (404, 405) and "blobs/uploads" in what:
            hint = "the registry does not accept uploads here; check the reference"
        return EvidenceError(
            f"the registry {self.ref.registry} answered {resp.status} {resp.reason} to {what} "
            f"for {self.ref}: {detail}",
            hint=hint,
        )

    # -- the distribution API ---------------------------------------------------------------------------

    def _manifest_path(self, target: str) -> str:
        return f"/v2/{self.ref.repository}/manifests/{target}"

    def head_manifest(self, target: str) -> str | None:
        """The digest a tag or digest names, or None when the registry does not have it."""
        resp = self.request(
            "HEAD", self._manifest_path(target), headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        resp.read()
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(resp, f"HEAD manifest {target}", b"")
        digest = resp.getheader("Docker-Content-Digest")
        if digest and digest.startswith("sha256:"):
            return digest
        return self.get_manifest(target).digest

    def get_manifest(self, target: str, missing_ok: bool = False) -> Manifest:
        """The manifest a tag or digest names, its digest checked; 404 is an error naming the tag."""
        resp = self.request("GET", self._manifest_path(target), headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if resp.status == 404 and not missing_ok:
            data = resp.read(MANIFEST_LIMIT)
            if b"NAME_UNKNOWN" in data:
                raise self._unexpected(resp, f"the manifest {target}", data)
            kind = "digest" if target.startswith("sha256:") else "tag"
            raise EvidenceError(
                f"{self.ref.repo} has no {kind} {target}",
                hint=f"`evidence list {self.ref.repo}` shows the bundles it holds",
            )
        if resp.status == 404:
            resp.read()
            return Manifest(b"", "", "")
        if resp.status != 200:
            raise self._unexpected(resp, f"GET manifest {target}")
        length = int(resp.getheader("Content-Length") or 0)
        if length > MANIFEST_LIMIT:
            resp.close()
            raise EvidenceError(
                f"the manifest of {self.ref.repo} at {target} is {length} bytes, more than a bundle's",
                hint="this is not an evidence bundle; pass the reference `evidence push` printed",
            )
        data = resp.read(MANIFEST_LIMIT + 1)
        if len(data) > MANIFEST_LIMIT:
            resp.close()
            raise EvidenceError(
                f"the manifest of {self.ref.repo} at {target} is larger than {MANIFEST_LIMIT} bytes",
                hint="this is not an evidence bundle; pass the reference `evidence push` printed",
            )
        digest = sha256(data)
        if target.startswith("sha256:") and digest != target:
            raise EvidenceError(
                f"the registry answered {self.ref.repo}@{target} with a manifest whose digest is {digest}",
                hint="the registry's content is damaged or tampered with; push the bundle again",
            )
        media = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        return Manifest(data, media, digest)

    def put_manifest(self, target: str, data: bytes, media_type: str) -> http.client.HTTPMessage:
        """Store a manifest under a tag or its digest; the response's headers (OCI-Subject among them)."""
        resp = self.request(
            "PUT", self._manifest_path(target), headers={"Content-Type": media_type}, body=data
        )
        if resp.status not in (200, 201):
            raise self._unexpected(resp, f"PUT manifest {target}")
        resp.read()
        return resp.headers

    def has_blob(self, digest: str) -> bool:
        """True when the repository holds the blob."""
        resp = self.request("HEAD", f"/v2/{self.ref.repository}/blobs/{digest}")
        resp.read()
        if resp.status == 404:
            return False
        if resp.status != 200:
            raise self._unexpected(resp, f"HEAD blob {digest}", b"")
        return True

    def upload_blob(self, digest: str, source: bytes | Path) -> None:
        """Upload a blob monolithically (POST, then PUT with the digest); the registry checks the digest."""
        resp = self.request("POST", f"/v2/{self.ref.repository}/blobs/uploads/", body=b"")
        if resp.status != 202:
            raise self._unexpected(resp, "POST blobs/uploads")
        resp.read()
        location = resp.getheader("Location")
        if not location:
            raise EvidenceError(
                f"the registry {self.ref.registry} started an upload without saying where to send it",
                hint="the registry does not follow the OCI distribution spec here; ask its operator",
            )
        url = urllib.parse.urljoin(self.base + "/", location)
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.urlencode(
            [*urllib.parse.parse_qsl(parts.query, keep_blank_values=True), ("digest", digest)]
        )
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        resp = self.request(
            "PUT", url, headers={"Content-Type": "application/octet-stream"}, body=source, follow=False
        )
        data = resp.read(MANIFEST_LIMIT)
        if resp.status == 400 and b"DIGEST_INVALID" in data:
            raise EvidenceError(
                f"the registry {self.ref.registry} computed another digest than {digest} for the upload",
                hint="the file changed while it was uploaded; try again",
            )
        if resp.status != 201:
            raise self._unexpected(resp, f"PUT blob {digest}", data)

    def download_blob(self, digest: str, size: int, dest: BinaryIO) -> None:
        """Stream a blob into `dest`, checking its size and digest; EvidenceError naming the blob if not."""
        resp = self.request("GET", f"/v2/{self.ref.repository}/blobs/{digest}")
        if resp.status != 200:
            raise self._unexpected(resp, f"GET blob {digest}")
        h = hashlib.sha256()
        view = read_buffer()
        got = 0
        try:
            while n := resp.readinto(view):
                got += n
                if got > size:
                    break
                h.update(view[:n])
                dest.write(view[:n])
        except (OSError, http.client.HTTPException) as exc:
            resp.close()
            raise self._unreachable(self.base, exc) from exc
        finally:
            if got > size:
                resp.close()
        actual = "sha256:" + h.hexdigest()
        if got != size or actual != digest:
            found = f"{got} bytes, not {size}" if got < size else f"more than {size} bytes"
            raise EvidenceError(
                f"the blob {digest} of {self.ref} does not match its descriptor: "
                + (f"its digest is {actual}" if got == size else found),
                hint="the registry's copy is damaged or was tampered with; push the bundle again",
            )

    def read_blob(self, digest: str, size: int, limit: int = MANIFEST_LIMIT * 16) -> bytes:
        """A small blob's bytes, size and digest checked."""
        if size > limit:
            raise EvidenceError(
                f"the blob {digest} of {self.ref} is {size} bytes, more than the {limit} expected here",
                hint="this is not an evidence bundle's artifact; pass the reference `evidence push` printed",
            )
        buf = io.BytesIO()
        self.download_blob(digest, size, buf)
        return buf.getvalue()

    def tags(self) -> list[str]:
        """Every tag of the repository, page by page."""
        found: list[str] = []
        url = f"/v2/{self.ref.repository}/tags/list?n=1000"
        for _ in range(10_000):
            resp = self.request("GET", url)
            if resp.status != 200:
                raise self._unexpected(resp, "GET tags/list")
            data = resp.read(MANIFEST_LIMIT * 16)
            try:
                tags = json.loads(data).get("tags") or []
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise EvidenceError(
                    f"the registry {self.ref.registry} answered the tag list of {self.ref.repo} with no JSON",
                    hint="the registry does not follow the OCI distribution spec here; ask its operator",
                ) from None
            found += [t for t in tags if isinstance(t, str)]
            link = _next_link(resp.getheader("Link"))
            if not link:
                break
            url = urllib.parse.urljoin(self.base + url, link)
        return found

    def referrers(self, digest: str) -> list[dict[str, Any]] | None:
        """The descriptors of the manifests whose subject is `digest`; None when there is no referrers API."""
        url = f"/v2/{self.ref.repository}/referrers/{digest}"
        found: list[dict[str, Any]] = []
        for _ in range(1000):
            resp = self.request("GET", url, headers={"Accept": OCI_INDEX})
            if resp.status == 404 and not found:
                resp.read()
                return None
            if resp.status != 200:
                raise self._unexpected(resp, f"GET referrers {digest}")
            data = resp.read(MANIFEST_LIMIT)
            try:
                manifests = json.loads(data).get("manifests") or []
            except (ValueError, UnicodeDecodeError, AttributeError):
                return None
            found += [m for m in manifests if isinstance(m, dict)]
            link = _next_link(resp.getheader("Link"))
            if not link:
                break
            url = urllib.parse.urljoin(self.base + url, link)
        return found


def _next_link(header: str | None) -> str | None:
    """The target of `Link: <...>; rel="next"`."""
    if not header:
        return None
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None


def _size(body: Body) -> int | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return len(body)
    return body.stat().st_size


@contextmanager
def _opened(body: Body) -> Iterator[bytes | BinaryIO | None]:
    if isinstance(body, Path):
        with body.open("rb") as f:
            yield f
    else:
        yield body
