"""Shared pieces of the transfer benchmarks: an nginx byte server and a minimal DRS server.

The DRS server (``python benchmarks/transfer_common.py serve OBJECTS.json PORT``) runs in its own
process so it never competes with the importer for the GIL; it answers service-info (bulk limit
1000), single and bulk object requests, and hands out access URLs on nginx inline, the way a
commons with presigned URLs does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
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


class Nginx:
    """nginx serving ``root`` on a free loopback port (one worker: the machine has 2 cores)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, tmp=self.tmp, port=self.port, root=root))
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-c", str(conf), "-p", str(self.tmp)])
        wait_http(self.url + "/")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


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
            "checksums": [
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
