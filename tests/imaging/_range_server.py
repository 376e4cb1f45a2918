"""A tiny static file server with HTTP Range support that counts the bytes it sends.

Run as a real process: ``python -m tests.imaging._range_server ROOT PORT [--no-range]``.
``GET /__stats`` returns ``{"bytes_sent", "requests"}`` (file requests only);
``POST /__reset`` zeroes them. ``/__deny/<path>`` answers 403 (for access-refused tests).
Also used by the imaging benchmark, so it stays dependency-free.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bytes_sent = 0
        self.requests = 0


class RangeHandler(BaseHTTPRequestHandler):
    """GET/HEAD of files under the server's root, with single-range support."""

    server: RangeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _json(self, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path == "/__reset":
            with self.server.stats.lock:
                self.server.stats.bytes_sent = 0
                self.server.stats.requests = 0
            self._json({"ok": True})
        else:
            self.send_error(404)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        if self.path == "/__stats":
            with self.server.stats.lock:
                self._json(
                    {
                        "bytes_sent": self.server.stats.bytes_sent,
                        "requests": self.server.stats.requests,
                    }
                )
            return
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        rel = self.path.split("?", 1)[0].lstrip("/")
        if rel.startswith("__deny/"):
            self.send_error(403)
            return
        path = (self.server.root / rel).resolve()
        if self.server.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start, stop = 0, size
        status = 200
        header = self.headers.get("Range")
        if header and self.server.ranges:
            match = _RANGE.match(header.strip())
            if match is None:
                self.send_error(400)
                return
            first, last = match.groups()
            if first:
                start = int(first)
                stop = min(int(last) + 1, size) if last else size
            else:
                start, stop = max(0, size - int(last)), size
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes" if self.server.ranges else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.end_headers()
        if head:
            return
        sent = 0
        with path.open("rb") as fh:
            fh.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = fh.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
                remaining -= len(chunk)
        with self.server.stats.lock:
            self.server.stats.bytes_sent += sent
            self.server.stats.requests += 1


class RangeServer(ThreadingHTTPServer):
    """The server: a root folder, Range on or off, and byte counters."""

    daemon_threads = True

    def __init__(self, root: Path, port: int, *, ranges: bool = True) -> None:
        super().__init__(("127.0.0.1", port), RangeHandler)
        self.root = root.resolve()
        self.ranges = ranges
        self.stats = _Stats()


def main(argv: list[str]) -> None:
    root, port = Path(argv[0]), int(argv[1])
    server = RangeServer(root, port, ranges="--no-range" not in argv)
    sys.stdout.write(f"serving {root} on {port} (pid {os.getpid()})\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
