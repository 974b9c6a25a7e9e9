"""The HTML report in a real browser: it renders, logs nothing to the console and fetches nothing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from evidence_kit.report.render import render, render_diff
from tests.test_report import DIFF, make_bundle

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
INSTALLED = (Path("/usr/bin/chromium"),)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
LOCAL = ("file:", "data:", "about:", "chrome:", "chrome-error:", "blob:")


def _browser() -> str:
    found = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    found = found or next((str(p) for p in INSTALLED if p.is_file()), None)
    if found is None:
        message = "Chromium is not installed: run `apt-get install -y chromium` (Debian/Ubuntu)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


class Load:
    """What Chromium did with one page: console lines, the page's network requests, a screenshot."""

    def __init__(self, page: Path, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.png = work / "page.png"
        netlog = work / "netlog.json"
        run = subprocess.run(
            [
                _browser(),
                *FLAGS,
                f"--user-data-dir={work / 'profile'}",
                f"--log-net-log={netlog}",
                f"--screenshot={self.png}",
                "--window-size=1280,2000",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        self.console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
        self.requests = page_requests(json.loads(netlog.read_text()))


def page_requests(log: dict[str, object]) -> list[str]:
    """URLs the page asked for over the network; the browser's own background traffic has no page origin."""
    constants = log["constants"]
    assert isinstance(constants, dict)
    start = constants["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    events = log["events"]
    assert isinstance(events, list)
    for event in events:
        params = event.get("params") or {}
        if event.get("type") != start or "url" not in params or params["url"].startswith(LOCAL):
            continue
        # NOTE: Chromium's own update and sign-in probes carry no initiator and no file:// isolation key.
        if params.get("initiator") != "not an origin" or "file://" in str(
            params.get("network_isolation_key")
        ):
            found.append(params["url"])
    return found


def png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values the decoded pixels hold (1 for a blank page)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + size]
        pos += 12 + size
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels[: 4 * 1024 * 1024]))


def test_the_probe_detects_a_network_fetch(tmp_path: Path) -> None:
    connections: list[str] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(0.2)
        port = server.getsockname()[1]
        stop = threading.Event()

        def refuse() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                connections.append("connected")
                conn.close()

        thread = threading.Thread(target=refuse, daemon=True)
        thread.start()
        page = tmp_path / "probe.html"
        page.write_text(
            f'<!DOCTYPE html><title>probe</title><img src="http://127.0.0.1:{port}/x.png"><p>probe</p>'
        )
        try:
            load = Load(page, tmp_path / "probe")
        finally:
            stop.set()
            thread.join()
    assert f"http://127.0.0.1:{port}/x.png" in load.requests
    assert connections


def test_the_report_renders_offline_without_console_errors(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b")
    _, html = render(bundle, tmp_path / "b" / "report")
    load = Load(html, tmp_path / "load")
    assert load.console == []
    assert load.requests == []
    width, height, colours = png_facts(load.png)
    assert (width, height) == (1280, 2000) and load.png.stat().st_size > 30_000 and colours > 20
    # NOTE: without its Content-Security-Policy the page must still fetch nothing: no reference in the markup.
    bare = html.with_name("bare.html")
    bare.write_text(
        "\n".join(line for line in html.read_text().splitlines() if "Content-Security-Policy" not in line)
    )
    assert Load(bare, tmp_path / "bare").requests == []


def test_the_diff_renders_offline_without_console_errors(tmp_path: Path) -> None:
    _, html = render_diff(DIFF, tmp_path / "diff")
    load = Load(html, tmp_path / "load")
    assert load.console == [] and load.requests == []
    assert png_facts(load.png)[2] > 20
