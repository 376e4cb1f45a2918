"""A hostile DRS server on loopback (tests only): records everything it is sent.

It answers like a DRS 1.5 server (``GET/POST /objects/{id}``, bulk ``POST /objects``,
``OPTIONS`` Authorizations, ``/access``, bytes; shapes from the DRS 1.5 OpenAPI in
``../shared/spec/drs-1.5.0.openapi.yaml``) so that a client goes all the way, and it can
misbehave the ways a hostile server would: claim to accept passports from any issuer, redirect
elsewhere, send a gzip bomb or a huge JSON answer, hang, or ask to be retried in 99,999 s.
It listens on its own loopback address (127.0.0.2 by default), so it is another host, not just
another port, to the client.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API = "/ga4gh/drs/v1"


@dataclass
class Seen:
    """One request as the hostile server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of ``inflated`` zero bytes (about 1/1000 of that on the wire)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [comp.compress(block) for _ in range(inflated >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


@dataclass
class Hostile:
    """Configure, then ``with Hostile(...) as h:``; ``h.seen`` lists every request."""

    host: str = "127.0.0.2"
    mode: str = "drs"  # drs | bomb | huge | hang | retry | redirect
    redirect_to: str | None = None
    accept_passports_from: list[str] | None = None
    bomb_size: int = 3 << 30
    # Served for GET /page (an internal page whose first line must never be echoed back).
    page: bytes = b"SECRET-internal-admin-line\n<html><body>internal</body></html>\n"
    objects: dict[str, bytes] = field(default_factory=lambda: {"obj": b"hostile bytes\n" * 64})
    # Per object: a declared size (a lie, e.g. 1 PB) and a name (e.g. "../../escape").
    declared_sizes: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _bomb: bytes = b""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    def uri(self, oid: str = "obj") -> str:
        return f"drs://{self.authority}/{oid}"

    def leaked(self, *secrets: str) -> list[str]:
        """Which of ``secrets`` reached this server (headers or bodies), as ``path: secret``."""
        out = []
        for req in self.seen:
            text = " ".join(f"{k}: {v}" for k, v in req.headers.items())
            text += " " + req.body.decode("latin-1")
            out += [f"{req.method} {req.path}: {s[:12]}…" for s in secrets if s and s in text]
        return out

    def _object(self, oid: str) -> dict[str, Any]:
        data = self.objects[oid]
        return {
            "id": oid,
            "self_uri": self.uri(oid),
            "size": self.declared_sizes.get(oid, len(data)),
            "created_time": "2024-01-01T00:00:00Z",
            "name": self.names.get(oid, f"{oid}.bin"),
            "checksums": [{"type": "sha-256", "checksum": hashlib.sha256(data).hexdigest()}],
            "access_methods": [
                {"type": "https", "access_url": {"url": f"{self.url}/data/{oid}"}},
            ],
        }

    async def _any(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body))
        if self.mode == "redirect" and self.redirect_to:
            return web.Response(status=307, headers={"Location": self.redirect_to + request.path})
        if request.path == "/page":
            return web.Response(body=self.page, content_type="text/html")
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "retry":
            return web.Response(status=503, headers={"Retry-After": "99999"})
        if self.mode == "bomb" and request.path.startswith(API + "/objects"):
            return web.Response(
                body=self._bomb,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        if self.mode == "huge" and request.path.startswith(API + "/objects"):
            return await self._huge(request)
        return await self._drs(request)

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        # A JSON answer that never ends: '{"id": "' then endless bytes.
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"id": "')
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(4096):
                await resp.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def _drs(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == API + "/service-info":
            return web.json_response(
                {
                    "id": "hostile",
                    "name": "hostile",
                    "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"},
                    "organization": {"name": "x", "url": self.url},
                    "version": "1",
                    "drs": {"maxBulkRequestLength": 100},
                }
            )
        if path.startswith("/data/"):
            oid = path[len("/data/") :]
            return web.Response(body=self.objects.get(oid, b""))
        if path.startswith(API + "/objects/"):
            oid = path[len(API + "/objects/") :]
            if request.method == "OPTIONS":
                if self.accept_passports_from is None:
                    return web.Response(status=405)
                return web.json_response(
                    {
                        "drs_object_id": oid,
                        "supported_types": ["PassportAuth", "BearerAuth"],
                        "passport_auth_issuers": self.accept_passports_from,
                    }
                )
            if oid in self.objects:
                return web.json_response(self._object(oid))
            return web.json_response({"msg": "no", "status_code": 404}, status=404)
        if path == API + "/objects" and request.method == "POST":
            return web.json_response(
                {
                    "summary": {"requested": 1, "resolved": len(self.objects)},
                    "resolved_drs_object": [self._object(o) for o in self.objects],
                    "unresolved_drs_objects": [],
                }
            )
        return web.json_response({"msg": "no", "status_code": 404}, status=404)

    def start(self) -> Hostile:
        if self.mode == "bomb":
            self._bomb = gzip_bomb(self.bomb_size)
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application(client_max_size=1 << 24)
            app.router.add_route("*", "/{tail:.*}", self._any)
            runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            loop.run_until_complete(site.start())
            assert site._server is not None
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("hostile server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> Hostile:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
