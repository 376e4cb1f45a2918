"""A DRS server on loopback that misbehaves on purpose (tests only).

It is a real aiohttp server in its own thread: DRS resolution (single and bulk, optionally in
Gen3's ``resolved_drs_objects`` dialect), ``/access`` with signed, expiring URLs that require an
AccessURL header, byte serving with ranges, and Gen3's API-key exchange. Faults are queued per
object and consumed one per request: ``500``, ``reset`` (connection dropped before any byte),
``truncate`` (half the body then close), ``429`` (with ``Retry-After``), ``202`` (on
resolution), ``expire`` (403 as for an expired signed URL), ``corrupt`` (wrong bytes).
Every byte served is counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

API = "/ga4gh/drs/v1"
HEADER = "X-Fault-Token"
# The visa issuer this server names in its DRS 1.5 Authorizations (passport_auth_issuers).
PASSPORT_ISSUER = "https://broker.fault.test"
_SECRET = "fault-server-signing-secret-0123456789"


def passport(issuer: str = PASSPORT_ISSUER, sub: str = "tester") -> str:
    """A GA4GH passport JWT holding one visa from ``issuer`` (signatures not checked here)."""
    visa = jwt.encode({"iss": issuer, "sub": sub, "ga4gh_visa_v1": {}}, _SECRET, "HS256")
    return jwt.encode({"iss": issuer, "sub": sub, "ga4gh_passport_v1": [visa]}, _SECRET, "HS256")


def gen3_api_key(iss: str, key_id: str = "good-key") -> str:
    """A Gen3 API key as fence's ``generate_api_key`` makes it: a JWT with ``pur: api_key`` and
    ``iss`` = the commons' BASE_URL (uc-cdis/fence, fence/jwt/token.py)."""
    claims = {"pur": "api_key", "iss": iss, "aud": [iss], "sub": "tester", "jti": key_id}
    return jwt.encode(claims, _SECRET, "HS256")


def payload(seed: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes for an object."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


@dataclass
class FaultServer:
    """Configure objects and faults, then ``start()``; ``url``/``authority`` once running."""

    bulk_limit: int | None = 50
    gen3_style: bool = False
    inline_urls: bool = False
    url_ttl: float = 600.0
    retry_after: str = "1"
    chunk_delay: float = 0.0
    chunk_size: int = 64 * 1024
    require_token: str | None = None
    require_passport: str | None = None
    ignore_range: bool = False
    # CRDC answers with type "s3"/"gs" methods carrying only an access_id; /access gives https.
    access_type: str = "https"
    token_lifetime: int = 1200
    # Answer byte ("data") or DRS API ("api") requests with a 307 to this origin (same path).
    redirect_to: str | None = None
    redirect_what: str = "data"
    objects: dict[str, bytes] = field(default_factory=dict)
    # Checksums to declare instead of sha-256 + md5, per object id.
    declared: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    api_faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bytes_served: int = 0
    # Byte requests being answered right now, and the most seen at once.
    data_in_flight: int = 0
    data_peak: int = 0
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    exchanges: int = 0
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    def add(self, oid: str, data: bytes) -> str:
        """Add an object; returns its DRS URI (valid once started)."""
        self.objects[oid] = data
        return oid

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    def uri(self, oid: str) -> str:
        return f"drs://{self.authority}/{oid}"

    # ---- DRS ---------------------------------------------------------------------------
    def _object(self, oid: str) -> dict[str, Any]:
        data = self.objects[oid]
        method: dict[str, Any] = {"type": self.access_type}
        if self.inline_urls:
            method["access_url"] = self._access(oid)
        else:
            method["access_id"] = self.access_type
        return {
            "id": oid,
            "self_uri": self.uri(oid),
            "size": len(data),
            "created_time": "2024-01-01T00:00:00Z",
            "name": f"{oid}.bin",
            "checksums": self.declared.get(oid)
            or [
                {"type": "sha-256", "checksum": hashlib.sha256(data).hexdigest()},
                {"type": "md5", "checksum": hashlib.md5(data).hexdigest()},
            ],
            "access_methods": [method],
        }

    def _access(self, oid: str) -> dict[str, Any]:
        exp = int(time.time() + self.url_ttl)
        return {"url": f"{self.url}/data/{oid}?exp={exp}", "headers": [f"{HEADER}: secret-{oid}"]}

    def _auth_ok(self, request: web.Request) -> bool:
        if self.require_token is None:
            return True
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        token = auth[7:]
        try:
            jwt.decode(token, _SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return token == self.require_token
        return True

    def _api_fault(self, oid: str) -> web.Response | None:
        queue = self.api_faults.get(oid)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault == "202":
            return web.Response(status=202, headers={"Retry-After": "0"})
        if fault == "429":
            return web.Response(status=429, headers={"Retry-After": self.retry_after})
        return web.Response(status=int(fault) if fault.isdigit() else 500)

    async def service_info(self, request: web.Request) -> web.Response:
        self.requests["service-info"] += 1
        info: dict[str, Any] = {
            "id": "fault.server",
            "name": "fault server",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"},
            "organization": {"name": "tests", "url": "http://127.0.0.1"},
            "version": "1",
        }
        if self.bulk_limit:
            info["drs"] = {"maxBulkRequestLength": self.bulk_limit}
        return web.json_response(info)

    def _redirect(self, request: web.Request, what: str) -> web.Response | None:
        if self.redirect_to is None or self.redirect_what != what:
            return None
        return web.Response(status=307, headers={"Location": self.redirect_to + request.path_qs})

    async def post_object(self, request: web.Request) -> web.Response:
        """DRS 1.5 POST resolution/access carrying passports in the body."""
        moved = self._redirect(request, "api")
        if moved is not None:
            return moved
        body = await request.json()
        if self.require_passport not in (body.get("passports") or []):
            return web.json_response({"msg": "passport refused", "status_code": 403}, status=403)
        self.requests["passport"] += 1
        return await self._object_route(request.match_info["oid"])

    def _authorizations(self, oid: str) -> dict[str, Any]:
        # DRS 1.5 schema Authorizations: what OPTIONS /objects/{id} answers.
        if self.require_passport is not None:
            return {
                "drs_object_id": oid,
                "supported_types": ["PassportAuth"],
                "passport_auth_issuers": [PASSPORT_ISSUER],
            }
        if self.require_token is not None:
            return {"drs_object_id": oid, "supported_types": ["BearerAuth"]}
        return {"drs_object_id": oid, "supported_types": ["None"]}

    async def options_object(self, request: web.Request) -> web.Response:
        self.requests["options"] += 1
        oid = request.match_info["oid"]
        if oid not in self.objects:
            return web.json_response({"msg": "not found", "status_code": 404}, status=404)
        return web.json_response(self._authorizations(oid))

    async def options_bulk(self, request: web.Request) -> web.Response:
        self.requests["options"] += 1
        body = await request.json()
        ids = [i for i in body.get("bulk_object_ids", []) if i in self.objects]
        return web.json_response(
            {
                "summary": {"requested": len(ids), "resolved": len(ids)},
                "resolved_drs_object": [self._authorizations(i) for i in ids],
            }
        )

    async def bulk_access(self, request: web.Request) -> web.Response:
        self.requests["bulk_access"] += 1
        body = await request.json()
        out = []
        for item in body.get("bulk_object_access_ids", []):
            oid = item["bulk_object_id"]
            if oid in self.objects:
                url = self._access(oid)
                out.append({"drs_object_id": oid, "drs_access_id": self.access_type, **url})
        return web.json_response(
            {"summary": {"requested": len(out)}, "resolved_drs_object_access_urls": out}
        )

    async def get_object(self, request: web.Request) -> web.Response:
        oid = request.match_info["oid"]
        self.requests["object"] += 1
        moved = self._redirect(request, "api")
        if moved is not None:
            return moved
        if self.require_passport is not None:
            return web.json_response({"msg": "passport needed", "status_code": 401}, status=401)
        if not self._auth_ok(request):
            return web.json_response({"msg": "no", "status_code": 401}, status=401)
        fault = self._api_fault(oid)
        if fault is not None:
            return fault
        return await self._object_route(oid)

    async def _object_route(self, oid: str) -> web.Response:
        suffix = f"/access/{self.access_type}"
        if oid.endswith(suffix):
            return await self._access_route(oid[: -len(suffix)])
        if oid not in self.objects:
            return web.json_response({"msg": "not found", "status_code": 404}, status=404)
        return web.json_response(self._object(oid))

    async def _access_route(self, oid: str) -> web.Response:
        self.requests["access"] += 1
        if oid not in self.objects:
            return web.json_response({"msg": "not found", "status_code": 404}, status=404)
        return web.json_response(self._access(oid))

    async def bulk(self, request: web.Request) -> web.Response:
        self.requests["bulk"] += 1
        if not self._auth_ok(request):
            return web.json_response({"msg": "no", "status_code": 401}, status=401)
        body = await request.json()
        ids = body.get("bulk_object_ids", [])
        if self.bulk_limit and len(ids) > self.bulk_limit:
            return web.json_response({"msg": "too many", "status_code": 413}, status=413)
        found = [self._object(i) for i in ids if i in self.objects]
        missing = [i for i in ids if i not in self.objects]
        key = "resolved_drs_objects" if self.gen3_style else "resolved_drs_object"
        out: dict[str, Any] = {key: found}
        if not self.gen3_style:
            out["summary"] = {"requested": len(ids), "resolved": len(found)}
        out["unresolved_drs_objects"] = (
            [{"error_code": 404, "object_ids": missing}] if missing else []
        )
        return web.json_response(out)

    async def token(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            claims = jwt.decode(
                str(body.get("api_key")), _SECRET, algorithms=["HS256"], audience=self.url + "/user"
            )
        except jwt.PyJWTError:
            claims = {}
        if claims.get("jti") != "good-key":
            return web.json_response({"error": "bad key"}, status=401)
        self.exchanges += 1
        exp = int(time.time()) + self.token_lifetime
        token = jwt.encode(
            {"sub": "tester", "exp": exp},
            _SECRET,
            algorithm="HS256",
        )
        return web.json_response({"access_token": token})

    # ---- bytes -------------------------------------------------------------------------
    async def data(self, request: web.Request) -> web.StreamResponse:
        oid = request.match_info["oid"]
        self.requests["data"] += 1
        if oid not in self.objects:
            return web.Response(status=404)
        if request.headers.get(HEADER) != f"secret-{oid}":
            return web.Response(status=401, text="AccessURL header missing")
        moved = self._redirect(request, "data")
        if moved is not None:
            return moved
        if float(request.query.get("exp", "0")) < time.time():
            return web.Response(status=403, text="Request has expired")
        fault = self.faults[oid].pop(0) if self.faults.get(oid) else None
        if fault == "500":
            return web.Response(status=500)
        if fault == "429":
            return web.Response(status=429, headers={"Retry-After": self.retry_after})
        if fault == "expire":
            return web.Response(status=403, text="Request has expired")
        if fault == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        data = self.objects[oid]
        start, end = 0, len(data)
        status = 200
        rng = request.headers.get("Range")
        if rng and rng.startswith("bytes=") and not self.ignore_range:
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = min(len(data), int(b) + 1) if b else len(data)
            status = 206
        body = data[start:end]
        if fault == "corrupt":
            body = bytes(x ^ 0xFF for x in body[:16]) + body[16:]
        headers = {"Content-Length": str(len(body)), "Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        resp = web.StreamResponse(status=status, headers=headers)
        self.data_in_flight += 1
        self.data_peak = max(self.data_peak, self.data_in_flight)
        try:
            return await self._send(request, resp, body, fault)
        finally:
            self.data_in_flight -= 1

    async def _send(
        self, request: web.Request, resp: web.StreamResponse, body: bytes, fault: str | None
    ) -> web.StreamResponse:
        await resp.prepare(request)
        limit = len(body) // 2 if fault == "truncate" else len(body)
        pos = 0
        while pos < limit:
            piece = body[pos : min(limit, pos + self.chunk_size)]
            await resp.write(piece)
            self.bytes_served += len(piece)
            pos += len(piece)
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        if fault == "truncate":
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write_eof()
        return resp

    # ---- lifecycle ---------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"{API}/service-info", self.service_info)
        app.router.add_post(f"{API}/objects", self.bulk)
        app.router.add_post(f"{API}/objects/access", self.bulk_access)
        app.router.add_route("OPTIONS", f"{API}/objects", self.options_bulk)
        app.router.add_route("OPTIONS", API + "/objects/{oid:.+}", self.options_object)
        app.router.add_post(API + "/objects/{oid:.+}", self.post_object)
        app.router.add_get(API + "/objects/{oid:.+}", self.get_object)
        app.router.add_get("/data/{oid:.+}", self.data)
        app.router.add_post("/user/credentials/api/access_token", self.token)
        return app

    def start(self) -> FaultServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            server = site._server
            assert server is not None and server.sockets
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
