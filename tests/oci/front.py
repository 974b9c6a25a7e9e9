"""A front for the test registry that sends blob downloads to a separate blob store, as GHCR and S3-backed
registries do: `GET /v2/<name>/blobs/<digest>` answers 307 to another host, everything else passes through.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Front:
    """The front's and the blob store's addresses, and the Authorization headers the store was sent."""

    host: str = ""
    store: str = ""
    store_authorization: list[str | None] = field(default_factory=list)


def _relay(
    handler: BaseHTTPRequestHandler, upstream: str, path: str, headers: dict[str, str], rewrite: str
) -> None:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else None
    conn = http.client.HTTPConnection(upstream, timeout=30)
    try:
        conn.request(handler.command, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        handler.send_response(resp.status)
        for name, value in resp.getheaders():
            if name.lower() in _HOP:
                continue
            if name.lower() == "location":
                value = value.replace(f"http://{upstream}", f"http://{rewrite}")
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
    finally:
        conn.close()


@contextmanager
def serve(registry: str, authorization: str) -> Iterator[Front]:
    """Run the front and the blob store for `registry` (host:port); the store reads with `authorization`."""
    front = Front()

    class Store(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            front.store_authorization.append(self.headers.get("Authorization"))
            path = urllib.parse.urlsplit(self.path).path
            _relay(self, registry, path, {"Authorization": authorization}, front.store)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Handler(BaseHTTPRequestHandler):
        def _pass(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if self.command == "GET" and "/blobs/sha256:" in parts.path:
                self.send_response(307)
                self.send_header("Location", f"http://{front.store}{parts.path}?signature=test")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            _relay(self, registry, self.path, headers, front.host)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler), ThreadingHTTPServer(("127.0.0.1", 0), Store)]
    front.host = f"127.0.0.1:{servers[0].server_address[1]}"
    front.store = f"127.0.0.1:{servers[1].server_address[1]}"
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield front
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
