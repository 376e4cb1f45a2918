"""Loopback stand-ins for the DRS servers HTAN users really download from (tests only).

One aiohttp server in its own thread answers, per object, in the shape of:

* **Gen3 indexd + fence** (NCI CRDC at nci-crdc.datacommons.io, BDC, AnVIL, Kids First):
  ``indexd_to_drs`` of uc-cdis/indexd ``indexd/drs/blueprint.py`` — ``contents: []``, ``form``,
  ``version`` (the record's ``rev``), ``aliases``, timezone-less ``created_time``,
  ``mime_type: application/json`` whatever the file, ``checksums`` from the record's ``hashes``,
  and one access method per stored URL carrying BOTH the inline cloud URL (``s3://``, ``gs://``)
  and ``access_id`` = the URL scheme; ids answered with or without their ``dg.XXXX/`` prefix
  (``get_with_nonstrict_prefix``); no DRS bulk endpoint. ``/objects/{id}/access/{access_id}``
  is fence's (uc-cdis/fence ``fence/blueprints/ga4gh.py`` → ``get_signed_url_for_file``):
  ``{"url": <signed https URL>}``, 401 without a token for controlled files, open files without
  one. ``/user/credentials/api/access_token`` exchanges an API key whose JWT ``iss`` is this
  commons' ``/user`` URL (fence ``generate_api_key``) for a short-lived access token.
* **Seven Bridges** CGC DRS (docs.cancergenomicscloud.org, "Get info about a DRS object" and
  "Get an URL for downloading a file"): methods ``{"type": "s3", "region": …, "access_id":
  "aws-us-east-1"}`` without ``access_url``; ``/access`` answers ``{"url": …}`` only.
* **Headers as an object**: an inline https URL whose ``headers`` is ``{"Name": "value"}``
  (the DRS spec's own example, the GA4GH starter kit; data-repository-service-schemas #307).
* **Public buckets**: ``gs://`` URLs with no ``access_id`` (Azul/HCA, IDC), read anonymously from
  the cloud's public endpoint, here ``/gcs/{bucket}/{key}`` on this server
  (``HTAN_CDS_GS_PUBLIC_URL`` points there).
* **Bundles** as indexd's ``bundle_to_drs`` writes them: ``contents`` with ``id``, ``name`` and
  ``drs_uri``; nested and cyclic ones on request.

The "cloud" that signed URLs point to is ``/s3/{bucket}/{key}?X-Amz-Expires=…&X-Amz-Signature=…``
(S3 presigned-URL query shape) on this same server: it checks the signature and expiry (403
"Request has expired" as S3 does), honours Range, and counts every byte it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
import socketserver
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jwt
from aiohttp import web

API = "/ga4gh/drs/v1"
CRDC_HOST = "nci-crdc.datacommons.io"
_SECRET = b"stand-in-signing-secret"
_JWT_KEY = "stand-in-fence-jwt-key-0123456789abcdef"
# Seven Bridges-style methods (access_id only); the last two answer /access with headers.
_SB_SHAPES = ("sb", "access-headers-list", "access-headers-object")
_HEADER_SHAPES = ("headers-object", "inline-list", "access-headers-list", "access-headers-object")


@dataclass
class StoredObject:
    """One object: its bytes, how it is described, and where its bytes are."""

    did: str
    data: bytes
    name: str
    # indexd | sb | headers-object | public-gs | inline-list | access-headers-list|-object
    shape: str = "indexd"
    controlled: bool = False
    hashes: dict[str, str] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    # Edits the object's JSON before it is sent (deviations from the schema, see the callers).
    tweak: Callable[[dict[str, Any]], None] | None = None


@dataclass
class RealShapesServer:
    """Configure objects with :meth:`add`/:meth:`add_bundle`, then ``start()``."""

    hostname: str = CRDC_HOST  # what self_uri names (indexd's configured hostname)
    url_ttl: float = 3600.0
    objects: dict[str, StoredObject] = field(default_factory=dict)
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    byte_faults: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_served: int = 0
    exchanges: int = 0
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve https (a test CA's certificate)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # ---- configuration --------------------------------------------------------------------
    def add(
        self,
        did: str,
        data: bytes,
        name: str,
        *,
        shape: str = "indexd",
        controlled: bool = False,
        hashes: dict[str, str] | None = None,
        clouds: tuple[str, ...] = ("gs", "s3"),
    ) -> StoredObject:
        """Store an object; indexd ones get one URL per cloud (gs and s3, as CRDC mirrors)."""
        key = did.rsplit("/", 1)[-1]
        urls = [f"{c}://{'gdc-htan-' + c}-bucket/{key}/{name}" for c in clouds]
        obj = StoredObject(
            did=did,
            data=data,
            name=name,
            shape=shape,
            controlled=controlled,
            hashes=hashes if hashes is not None else {"md5": hashlib.md5(data).hexdigest()},
            urls=urls,
        )
        self.objects[did] = obj
        return obj

    def add_bundle(
        self,
        did: str,
        name: str,
        members: list[tuple[str, str]],
        *,
        contents: list[dict[str, Any]] | None = None,
    ) -> None:
        """A bundle of ``(member id, member name)`` (members may be bundles); ``contents``
        replaces the ``contents`` list as sent (for members shaped other than indexd's)."""
        self.bundles[did] = {"name": name, "members": members, "contents": contents}

    def drs_uri(self, did: str) -> str:
        return f"drs://{self.hostname}/{did}"

    def api_key(self, iss: str | None = None) -> dict[str, str]:
        """A ``credentials.json`` as this commons' fence would issue it (``iss``: the commons'
        ``/user`` URL, by default this stand-in's own)."""
        key = jwt.encode(
            {"iss": iss or f"{self.url}/user", "sub": "42", "purpose": "api_key", "aud": ["fence"]},
            _JWT_KEY,
            algorithm="HS256",
        )
        return {"api_key": key, "key_id": "kid-standin"}

    # ---- helpers ---------------------------------------------------------------------------
    def _find(self, did: str) -> str | None:
        # indexd's get_with_nonstrict_prefix: "dg.4DFC/<uuid>" or "<uuid>" both find it.
        for table in (self.objects, self.bundles):
            if did in table:
                return did
            for known in table:
                if known.rsplit("/", 1)[-1] == did:
                    return known
        return None

    def _authorized(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        try:
            jwt.decode(auth[7:], _JWT_KEY, algorithms=["HS256"], audience="fence-access")
        except jwt.PyJWTError:
            return False
        return True

    def _sign(self, path: str) -> str:
        exp = int(time.time() + self.url_ttl)
        sig = hmac.new(_SECRET, f"{path}|{exp}".encode(), hashlib.sha256).hexdigest()
        return f"{self.url}{path}?X-Amz-Expires={exp}&X-Amz-Signature={sig}"

    def _indexd_object(self, obj: StoredObject) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": obj.did,
            "description": None,
            "mime_type": "application/json",  # indexd's constant, whatever the file is
            "name": obj.name,
            "created_time": "2023-11-07T18:03:41.123456",  # no time zone, as indexd stores it
            "updated_time": "2023-11-07T18:03:41.123456",
            "size": len(obj.data),
            "aliases": [],
            "contents": [],
            "self_uri": self.drs_uri(obj.did),
            "version": "3f1c2a9b",
            "form": "object",
            "checksums": [{"checksum": v, "type": k} for k, v in obj.hashes.items()],
        }
        if obj.shape == "indexd":
            out["access_methods"] = [
                {
                    "type": u.split(":")[0],
                    "access_url": {"url": u},
                    "access_id": u.split(":")[0],
                    "region": "",
                }
                for u in obj.urls
            ]
        elif obj.shape in _SB_SHAPES:
            out["access_methods"] = [
                {"type": "s3", "region": "us-east-1", "access_id": "aws-us-east-1"}
            ]
        elif obj.shape == "headers-object":
            access = self._access_for(obj)
            access["headers"] = {"X-Stand-In-Key": f"k-{obj.did}"}
            out["access_methods"] = [{"type": "https", "access_url": access}]
        elif obj.shape == "inline-list":
            access = self._access_for(obj)
            access["headers"] = [f"X-Stand-In-Key: k-{obj.did}"]
            out["access_methods"] = [{"type": "https", "access_url": access}]
        elif obj.shape == "public-gs":
            key = obj.did.rsplit("/", 1)[-1]
            out["access_methods"] = [
                {"type": "gs", "access_url": {"url": f"gs://public-bucket/{key}/{obj.name}"}}
            ]
        return out

    def _access_for(self, obj: StoredObject) -> dict[str, Any]:
        key = obj.did.rsplit("/", 1)[-1]
        return {"url": self._sign(f"/s3/signed-bucket/{key}/{quote(obj.name)}")}

    def _bundle(self, did: str) -> dict[str, Any]:
        bundle = self.bundles[did]
        contents = [
            {"id": mid, "name": mname, "drs_uri": [self.drs_uri(mid)]}
            for mid, mname in bundle["members"]
        ]
        if bundle.get("contents") is not None:
            contents = bundle["contents"]
        return {
            "id": did,
            "name": bundle["name"],
            "self_uri": self.drs_uri(did),
            "size": 0,
            "created_time": "2023-11-07T18:03:41",
            "checksums": [],
            "contents": contents,
            "aliases": [],
            "version": "",
            "form": "bundle",
        }

    # ---- routes ----------------------------------------------------------------------------
    async def get_object(self, request: web.Request) -> web.Response:
        oid = request.match_info["oid"]
        if "/access/" in oid:
            did, _, access_id = oid.rpartition("/access/")
            return await self._access(request, did, access_id)
        self.requests["object"] += 1
        queue = self.api_faults.get(oid)
        if queue:
            fault = queue.pop(0)
            status = int(fault)
            return web.Response(status=status, headers={"Retry-After": "0"})
        found = self._find(oid)
        if found is None:
            return web.json_response({"msg": "no record found", "status_code": 404}, status=404)
        if found in self.bundles:
            return web.json_response(self._bundle(found))
        stored = self.objects[found]
        answer = self._indexd_object(stored)
        if stored.tweak is not None:
            stored.tweak(answer)
        return web.json_response(answer)

    async def _access(self, request: web.Request, did: str, access_id: str) -> web.Response:
        self.requests["access"] += 1
        found = self._find(did)
        if found is None or found not in self.objects:
            return web.json_response({"msg": "no record found", "status_code": 404}, status=404)
        obj = self.objects[found]
        if obj.controlled and not self._authorized(request):
            return web.json_response({"msg": "unauthorized", "status_code": 401}, status=401)
        if obj.shape in _SB_SHAPES and access_id != "aws-us-east-1":
            return web.json_response({"msg": "bad access id", "status_code": 400}, status=400)
        if obj.shape == "indexd" and access_id not in {u.split(":")[0] for u in obj.urls}:
            return web.json_response({"msg": "no such protocol", "status_code": 400}, status=400)
        access = self._access_for(obj)  # fence: {"url": …} and nothing else
        # /access answering an AccessURL with headers, in the schema's list form or the
        # spec example's object form (data-repository-service-schemas #307).
        if obj.shape == "access-headers-list":
            access["headers"] = [f"X-Stand-In-Key: k-{obj.did}"]
        elif obj.shape == "access-headers-object":
            access["headers"] = {"X-Stand-In-Key": f"k-{obj.did}"}
        return web.json_response(access)

    async def token(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            claims = jwt.decode(
                body.get("api_key", ""), _JWT_KEY, algorithms=["HS256"], audience="fence"
            )
        except jwt.PyJWTError:
            return web.json_response({"error": "invalid api key"}, status=401)
        self.exchanges += 1
        token = jwt.encode(
            {"sub": claims["sub"], "aud": "fence-access", "exp": int(time.time()) + 1200},
            _JWT_KEY,
            algorithm="HS256",
        )
        return web.json_response({"access_token": token})

    async def signed_bytes(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        exp = request.query.get("X-Amz-Expires", "0")
        want = hmac.new(_SECRET, f"{path}|{exp}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, request.query.get("X-Amz-Signature", "")):
            return web.Response(status=403, text="SignatureDoesNotMatch")
        if int(exp) < time.time():
            return web.Response(status=403, text="Request has expired")
        key = request.match_info["key"]
        obj = self._by_key(key)
        if obj is None:
            return web.Response(status=404, text="NoSuchKey")
        needs_header = obj.shape in _HEADER_SHAPES
        if needs_header and request.headers.get("X-Stand-In-Key") != f"k-{obj.did}":
            return web.Response(status=403, text="AccessURL header missing")
        return await self._serve(request, obj)

    async def public_bytes(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["bucket"] != "public-bucket" or "Authorization" in request.headers:
            return web.Response(status=403, text="AccessDenied")
        obj = self._by_key(request.match_info["key"])
        if obj is None or obj.shape != "public-gs":
            return web.Response(status=404, text="NoSuchKey")
        return await self._serve(request, obj)

    def _by_key(self, key: str) -> StoredObject | None:
        uuid = key.split("/", 1)[0]
        for obj in self.objects.values():
            if obj.did.rsplit("/", 1)[-1] == uuid:
                return obj
        return None

    async def _serve(self, request: web.Request, obj: StoredObject) -> web.StreamResponse:
        self.requests["data"] += 1
        queue = self.byte_faults.get(obj.did)
        if queue:
            fault = queue.pop(0)
            if fault == "expire":
                return web.Response(status=403, text="Request has expired")
            return web.Response(status=int(fault), headers={"Retry-After": "0"})
        data = obj.data
        start, end, status = 0, len(data), 200
        rng = request.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start, end, status = int(a), min(len(data), int(b) + 1) if b else len(data), 206
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        resp = web.StreamResponse(status=status, headers=headers)
        await resp.prepare(request)
        pos = start
        while pos < end:
            piece = data[pos : min(end, pos + (1 << 20))]
            await resp.write(piece)
            self.bytes_served += len(piece)
            pos += len(piece)
        await resp.write_eof()
        return resp

    # ---- lifecycle -------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()

        async def not_found(_request: web.Request) -> web.Response:
            self.requests["bulk"] += 1
            return web.json_response({"msg": "not found", "status_code": 404}, status=404)

        app.router.add_post(f"{API}/objects", not_found)  # indexd has no DRS bulk endpoint
        app.router.add_post(f"{API}/objects/access", not_found)
        app.router.add_get(API + "/objects/{oid:.+}", self.get_object)
        app.router.add_post("/user/credentials/api/access_token", self.token)
        app.router.add_get("/s3/signed-bucket/{key:.+}", self.signed_bytes)
        app.router.add_get("/gcs/{bucket}/{key:.+}", self.public_bytes)
        return app

    def start(self) -> RealShapesServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self.tls)
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
            raise RuntimeError("stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> RealShapesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP ``CONNECT`` proxy on loopback (RFC 9110 §9.3.6) that tunnels only to 127.0.0.1
    and records every tunnel it opened (``tunnels``: ``host:port`` strings)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        line = self.rfile.readline(8192).decode("latin-1")
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        method, target, _ = ([*line.split(" "), "", ""])[:3]
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host != "127.0.0.1" or not port.isdigit():
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.server.tunnels.append(target)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        client = self.connection

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(1 << 16):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join(30)
        upstream.close()
