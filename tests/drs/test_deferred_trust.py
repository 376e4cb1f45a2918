"""TLS contexts whose CA store loads at the first handshake (htan_cds.net.tls) verify exactly
as contexts that loaded it at once: a server the store trusts is reached, another is refused.

aiohttp makes its default contexts as it is imported (``aiohttp/connector.py``,
``_make_ssl_context``); the CLI imports it inside ``deferred_trust()``. Each case runs in a
fresh interpreter, so aiohttp is imported there for the first time, and the environment names
the CA bundle through OpenSSL's own ``SSL_CERT_FILE`` (read when the store is loaded).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests._servers import self_signed_cert

pytestmark = pytest.mark.network

_CLIENT = """
import asyncio, json, ssl, sys
from htan_cds.net.tls import deferred_trust
with deferred_trust():
    import aiohttp
import aiohttp.connector as connector
ctx = connector._SSL_CONTEXT_VERIFIED
pending_before = ctx.__dict__.get("_htan_cds_trust_pending", False)
assert "set_default_verify_paths" not in vars(ssl.SSLContext)  # the switch is off again
assert type(ssl.create_default_context()) is ssl.SSLContext  # later contexts load at once
async def get():
    async with aiohttp.ClientSession() as session:  # ssl=True: aiohttp's verified default
        try:
            async with session.get(sys.argv[1]) as resp:
                return resp.status, await resp.text()
        except aiohttp.ClientConnectorCertificateError as exc:
            return None, str(exc)
status, text = asyncio.run(get())
print(json.dumps({"pending_before": pending_before, "status": status, "text": text,
                  "pending_after": "_htan_cds_trust_pending" in ctx.__dict__,
                  "verify_mode": int(ctx.verify_mode), "check_hostname": ctx.check_hostname}))
"""


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello over tls"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _tls_server(cert: Path, key: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _client(url: str, ca_file: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if "CA_BUNDLE" not in k and "SSL_CERT" not in k}
    env["SSL_CERT_FILE"] = str(ca_file)
    proc = subprocess.run(
        [sys.executable, "-c", _CLIENT, url], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_a_deferred_store_trusts_what_the_environment_names(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    with _tls_server(cert, key) as url:
        out = _client(url, cert)
    assert out["pending_before"] is True  # nothing was loaded at import
    assert out["status"] == 200 and out["text"] == "hello over tls"
    assert out["pending_after"] is False  # loaded by the handshake
    assert out["verify_mode"] == int(ssl.CERT_REQUIRED) and out["check_hostname"] is True


def test_a_deferred_store_still_refuses_a_server_it_does_not_trust(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    other_cert, _ = self_signed_cert(other)  # a CA that did not sign the server's certificate
    with _tls_server(cert, key) as url:
        out = _client(url, other_cert)
    assert out["pending_before"] is True
    assert out["status"] is None and "certificate" in str(out["text"]).lower()
    assert out["pending_after"] is False  # the store was loaded, and it refused
