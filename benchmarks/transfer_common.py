"""Shared pieces of the benchmarks: an nginx byte server, a minimal DRS server, small test
objects, the aria2c peer command and a timed run that reports peak RSS.

The DRS server (``python benchmarks/transfer_common.py serve OBJECTS.json PORT``) runs in its own
process so it never competes with the importer for the GIL; it answers service-info (bulk limit
1000), single and bulk object requests, and hands out access URLs on nginx inline, the way a
commons with presigned URLs does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google_crc32c
import httpx

NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    {access_log}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20) -> None:
    """Wait until ``url`` answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# With ``log_bytes``, nginx logs the body bytes and status of every response (see Nginx.since).
_BYTES_LOG = "log_format bytes '$body_bytes_sent $status';\n    access_log {tmp}/access.log bytes;"


class Nginx:
    """nginx serving ``root`` on a free loopback port (one worker: the machine has 2 cores).

    ``log_bytes=True`` counts what crossed the wire in nginx's own access log, read back with
    :meth:`mark` and :meth:`since`.
    """

    def __init__(self, root: Path, *, log_bytes: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.log = self.tmp / "access.log"
        user = "user root;" if os.geteuid() == 0 else ""
        access_log = _BYTES_LOG.format(tmp=self.tmp) if log_bytes else "access_log off;"
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                user=user, tmp=self.tmp, port=self.port, root=root, access_log=access_log
            )
        )
        self.proc = subprocess.Popen(
            ["/usr/sbin/nginx", "-c", str(conf), "-p", str(self.tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _entries(self) -> list[tuple[int, int]]:
        time.sleep(0.05)  # nginx writes the log line after the response
        if not self.log.exists():
            return []
        lines = self.log.read_text().split()
        return [(int(lines[i]), int(lines[i + 1])) for i in range(0, len(lines) - 1, 2)]

    def mark(self) -> int:
        """A position in the byte log (``log_bytes=True``)."""
        return len(self._entries())

    def since(self, mark: int) -> tuple[int, int]:
        """(bytes sent, requests) since ``mark``."""
        entries = self._entries()[mark:]
        return sum(b for b, _ in entries), len(entries)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def small_objects(src: Path, count: int, size: int) -> list[dict[str, Any]]:
    """Write ``count`` distinct files of ``size`` bytes into ``src``; their DRS object specs.

    Add each spec's ``url`` (where the bytes are served) before giving them to DrsServer.
    """
    objects = []
    seed = os.urandom(size)
    for i in range(count):
        data = i.to_bytes(8, "big") + seed[8:]
        name = f"s{i:05d}.bin"
        (src / name).write_bytes(data)
        objects.append(
            {
                "id": f"obj{i:05d}",
                "name": name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "md5": hashlib.md5(data).hexdigest(),
                "crc32c": f"{google_crc32c.value(data):08x}",
            }
        )
    return objects


@dataclass
class SmallCommons:
    """Small objects behind nginx with the minimal DRS server in front (see small_commons)."""

    work: Path
    objects: list[dict[str, Any]]
    drs: DrsServer
    urls: Path  # their nginx URLs, one a line: the aria2c peer's input


@contextlib.contextmanager
def small_commons(
    count: int,
    size: int,
    prefix: str,
    checksums: Callable[[dict[str, Any]], list[dict[str, str]] | None] | None = None,
) -> Iterator[SmallCommons]:
    """``count`` objects of ``size`` bytes served until the block ends, in a temporary folder.

    ``checksums(spec)`` gives the checksums the DRS server declares for an object (default:
    sha-256 and md5)."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    src = work / "src"
    src.mkdir()
    nginx = drs = None
    try:
        objects = small_objects(src, count, size)
        for o in objects:
            declared = checksums(o) if checksums else None
            if declared is not None:
                o["checksums"] = declared
        nginx = Nginx(src)
        for o in objects:
            o["url"] = f"{nginx.url}/{o['name']}"
        drs = DrsServer(objects, work)
        urls = work / "urls.txt"
        urls.write_text("\n".join(o["url"] for o in objects) + "\n")
        yield SmallCommons(work, objects, drs, urls)
    finally:
        if drs:
            drs.stop()
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def aria2c_command(urls: Path, out: Path) -> list[str]:
    """The peer: aria2c fetching the URLs listed in ``urls`` into ``out``, 16 at a time."""
    return [
        "aria2c",
        "-q",
        "-j16",
        "-x1",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "-d",
        str(out),
        "-i",
        str(urls),
    ]


class DrsServer:
    """The minimal DRS server below, as a child process."""

    def __init__(self, objects: list[dict[str, Any]], workdir: Path) -> None:
        self.port = free_port()
        spec = workdir / "objects.json"
        spec.write_text(json.dumps(objects))
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "serve", str(spec), str(self.port)],
            stdout=subprocess.DEVNULL,
        )
        wait_http(f"http://127.0.0.1:{self.port}/ga4gh/drs/v1/service-info")

    def uri(self, oid: str) -> str:
        return f"drs://127.0.0.1:{self.port}/{oid}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def installed_package(work: Path) -> dict[str, str]:
    """The environment for timing the CLI as an installed package runs: a copy of the package
    under ``work`` with its bytecode compiled (``pip install`` compiles it too), first on
    ``PYTHONPATH``. Without it, an environment with ``PYTHONDONTWRITEBYTECODE=1`` (this VM's)
    compiles each of the ~70 project modules the import loads from source on every start
    (standard-library and site-packages modules have their bytecode from installation)."""
    import importlib.util

    spec = importlib.util.find_spec("htan_cds")
    assert spec is not None and spec.submodule_search_locations
    site = work / "site"
    shutil.copytree(
        spec.submodule_search_locations[0],
        site / "htan_cds",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(site / "htan_cds")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    return env


def run_measured(cmd: list[str], **kw: Any) -> tuple[float, int, int]:
    """Run ``cmd``; return (wall seconds, exit code, peak RSS in bytes of that process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, int(usage.ru_maxrss) * 1024


def _serve(spec_path: str, port: int) -> None:
    from aiohttp import web

    objects = {o["id"]: o for o in json.loads(Path(spec_path).read_text())}
    authority = f"127.0.0.1:{port}"

    def drs(o: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": o["id"],
            "self_uri": f"drs://{authority}/{o['id']}",
            "name": o["name"],
            "size": o["size"],
            "created_time": "2024-01-01T00:00:00Z",
            "checksums": o.get("checksums")
            or [
                {"type": "sha-256", "checksum": o["sha256"]},
                {"type": "md5", "checksum": o["md5"]},
            ],
            "access_methods": [{"type": "https", "access_url": {"url": o["url"]}}],
        }

    async def info(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": "bench",
                "name": "bench",
                "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"},
                "organization": {"name": "bench", "url": "http://127.0.0.1"},
                "version": "1",
                "drs": {"maxBulkRequestLength": 1000},
            }
        )

    async def one(request: web.Request) -> web.Response:
        o = objects.get(request.match_info["oid"])
        return web.json_response(drs(o)) if o else web.json_response({"msg": "no"}, status=404)

    async def bulk(request: web.Request) -> web.Response:
        ids = (await request.json())["bulk_object_ids"]
        found = [drs(objects[i]) for i in ids if i in objects]
        return web.json_response(
            {
                "summary": {"requested": len(ids), "resolved": len(found)},
                "resolved_drs_object": found,
                "unresolved_drs_objects": [],
            }
        )

    app = web.Application()
    app.router.add_get("/ga4gh/drs/v1/service-info", info)
    app.router.add_post("/ga4gh/drs/v1/objects", bulk)
    app.router.add_get("/ga4gh/drs/v1/objects/{oid:.+}", one)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        _serve(sys.argv[2], int(sys.argv[3]))
    else:
        print(__doc__)
