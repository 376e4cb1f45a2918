"""Server-side bounds (issue 11, items 4 and 8): body size, bulk size, JSON depth, numbers,
non-JSON bodies and slow clients, replayed against real server processes on loopback.

Before the fix: with ``--workspace`` a middleware (the workspace's DRS bridge) read any body
whole and answered bulk requests of workspace ids past the 1,000-id limit; 5,000-deep JSON, a
non-JSON cart, a huge ``offset`` and a Range of 5,000 digits were 500s; a client that never
finished its headers held its connection for ever.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.config import DataHome
from htan_cds.server.signing import signed_url
from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess, free_port, stop_process, wait_until_ready
from tests.security._routes import app_routes
from tests.security.conftest import Commons

MIB = 1024 * 1024
DRS = "/ga4gh/drs/v1"


def _post_routes(commons: Commons) -> list[str]:
    routes = app_routes(commons.home, workspace=True)
    paths = [r.fill({"object_id": "plain-id", "access_id": "https"}) for r in routes]
    return sorted({p for r, p in zip(routes, paths, strict=True) if "POST" in r.methods})


def _headers(server: ServerProcess, token: str) -> dict[str, str]:
    # A same-site browser with a valid token: the request reaches every handler's parsing.
    return {
        "sec-fetch-site": "same-origin",
        "origin": server.url,
        "authorization": f"Bearer {token}",
        "x-sbg-auth-token": token,
        "content-type": "application/json",
    }


@pytest.fixture(scope="module")
def token(secure_commons: Commons) -> str:
    return TokenStore(DataHome.open(secure_commons.home)).create(["phs002371"], label="fuzzer")


def test_body_cap_holds_with_workspace(secure_server: ServerProcess, token: str) -> None:
    """The 8 MiB cap, declared and streamed, on the paths the workspace bridge intercepts."""
    big_ids = json.dumps({"bulk_object_ids": ["hcds-ws/" + "a" * (12 * MIB)]}).encode()
    declared = httpx.post(secure_server.url + f"{DRS}/objects", content=big_ids, timeout=60)
    assert declared.status_code == 413, declared.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must hold while streaming
        yield b'{"bulk_object_ids": ["hcds-ws/'
        for _ in range(12):
            yield b"a" * MIB
        yield b'"]}'

    streamed = httpx.post(secure_server.url + f"{DRS}/objects", content=chunks(), timeout=60)
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["status_code"] == 413
    headers = _headers(secure_server, token)
    form = {**headers, "content-type": "application/x-www-form-urlencoded"}
    for path, kind in (
        ("/api/cart/summary", headers),
        ("/v2/bulk/drs/imports/create", headers),
        ("/import-redirect/signin", form),
        ("/api/cart/manifest", form),
    ):
        answer = httpx.post(secure_server.url + path, content=chunks(), headers=kind, timeout=60)
        # Starlette's form parser stops a field at 1 MB first (400); JSON bodies meet the cap.
        expected = {400, 413} if kind is form else {413}
        assert answer.status_code in expected, (path, answer.status_code)
    assert httpx.get(secure_server.url + f"{DRS}/service-info").status_code == 200


def test_bulk_cap_holds_for_workspace_ids(secure_server: ServerProcess) -> None:
    ids = [f"hcds-ws/{i:024x}" for i in range(1001)]
    answer = httpx.post(secure_server.url + f"{DRS}/objects", json={"bulk_object_ids": ids})
    assert answer.status_code == 413, answer.text
    assert "1000" in answer.json()["msg"]


def test_workspace_alone_caps_bodies(tmp_path: Path) -> None:
    """``htan-cds workspace serve`` (no commons around it) holds the same cap."""
    import subprocess
    import sys

    port = free_port()
    log = tmp_path / "ws.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "htan_cds.cli.main", "--home", str(tmp_path / "home")),
                *("workspace", "serve", "--port", str(port), "--header-timeout", "1"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(
            lambda: httpx.get(url + "/v2/user").status_code == 401,
            process,
            timeout=60,
            log=log.read_text,
        )
        body = b'{"bulk_object_ids": ["hcds-ws/' + b"a" * (9 * MIB) + b'"]}'
        assert httpx.post(url + f"{DRS}/objects", content=body, timeout=60).status_code == 413
        deep = b"[" * 5000 + b"]" * 5000
        answer = httpx.post(url + f"{DRS}/objects", content=deep)
        assert 400 <= answer.status_code < 500
        # It times out slow clients too (started with --header-timeout 1).
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"GET /v2/user HTTP/1.1\r\nHost: x\r\n")
        data, took = _closed_within(slow, 8)
        assert data.startswith(b"HTTP/1.1 408") and took < 6
    finally:
        stop_process(process)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"cart": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"bulk_object_ids": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"a":' * 100 + b"1" + b"}" * 100,
        b"\xff\xfe\x00garbage",
        b"not json at all",
        b"",
        b"1e999999",
    ],
    ids=["deep", "deep-cart", "deep-ids", "deep-100", "bad-utf8", "text", "empty", "huge-num"],
)
def test_bad_bodies_are_4xx_on_every_post_route(
    secure_server: ServerProcess, secure_commons: Commons, token: str, body: bytes
) -> None:
    headers = _headers(secure_server, token)
    for path in _post_routes(secure_commons):
        for auth in (headers, {k: v for k, v in headers.items() if "auth" not in k}):
            answer = httpx.post(secure_server.url + path, content=body, headers=auth, timeout=60)
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:200])


@pytest.fixture(scope="module")
def post_routes(secure_commons: Commons) -> list[str]:
    return _post_routes(secure_commons)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.data(),
    body=st.one_of(
        st.binary(max_size=300),
        _JSON.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"cart": _JSON}).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"bulk_object_ids": _JSON}).map(lambda v: json.dumps(v).encode()),
        st.integers(min_value=30, max_value=4000).map(lambda n: b"[" * n + b"]" * n),
    ),
)
def test_fuzzed_bodies_never_500(
    secure_server: ServerProcess,
    post_routes: list[str],
    token: str,
    data: st.DataObject,
    body: bytes,
) -> None:
    path = data.draw(st.sampled_from(post_routes))
    headers = _headers(secure_server, token)
    answer = httpx.post(secure_server.url + path, content=body, headers=headers, timeout=60)
    assert answer.status_code < 500, (path, body[:80], answer.status_code, answer.text[:200])


def _open_object(commons: Commons) -> tuple[str, int]:
    row = next(r for r in commons.open if r.get("object_key") and int(r["size"]) > 10)
    return str(row["drs_id"]), int(row["size"])


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    first=st.one_of(st.just(""), st.integers(min_value=0).map(str), st.just("9" * 5000)),
    last=st.one_of(st.just(""), st.integers(min_value=0).map(str), st.just("9" * 5000)),
)
def test_absurd_ranges_are_answered(
    secure_server: ServerProcess, secure_commons: Commons, first: str, last: str
) -> None:
    drs_id, size = _open_object(secure_commons)
    home = DataHome.open(secure_commons.home)
    url = signed_url(secure_server.url, home.secret_key(), "/bytes/" + drs_id, 300)
    answer = httpx.get(url, headers={"range": f"bytes={first}-{last}"}, timeout=60)
    assert answer.status_code in (200, 206, 416), (first[:30], last[:30], answer.status_code)
    if answer.status_code == 206:
        assert 0 < len(answer.content) <= size


@pytest.mark.parametrize(
    "query",
    [
        "offset=99999999999999999999999",
        "offset=9223372036854775808",
        "offset=" + "9" * 5000,
        "limit=" + "9" * 5000,
        "offset=-1",
        "offset=1e400",
    ],
)
def test_huge_offsets_are_400(secure_server: ServerProcess, token: str, query: str) -> None:
    headers = {"x-sbg-auth-token": token}
    for path in ("/api/files", "/api/participants", "/api/samples", "/v2/projects", "/v2/files"):
        answer = httpx.get(f"{secure_server.url}{path}?{query}", headers=headers, timeout=60)
        assert 400 <= answer.status_code < 500, (path, query[:40], answer.status_code)
    name, value = query.split("=")
    for number in (value, int(value) if value.lstrip("-").isdigit() and len(value) < 30 else None):
        if number is None:
            continue
        cart = {"cart": {"filters": [{}]}, name: number}
        answer = httpx.post(
            secure_server.url + "/api/cart/files",
            json=cart,
            headers={"sec-fetch-site": "same-origin"},
            timeout=60,
        )
        assert 400 <= answer.status_code < 500, (query[:40], answer.status_code)


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Read until the server closes; the bytes it sent and how long that took."""
    start = time.monotonic()
    data = b""
    while time.monotonic() - start < seconds:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return data, time.monotonic() - start
        data += chunk
    raise AssertionError(f"connection still open after {seconds} s (got {data[:60]!r})")


def test_slow_headers_are_timed_out(secure_server: ServerProcess) -> None:
    """Raw sockets: partial headers, nothing at all, a trickle; a normal client still served.

    The server runs with ``--header-timeout 2``.
    """
    partial = _connect(secure_server)
    partial.sendall(b"GET /ga4gh/drs/v1/service-info HTTP/1.1\r\nHost: x\r\n")
    silent = _connect(secure_server)
    idle_crowd = [_connect(secure_server) for _ in range(40)]
    for sock in idle_crowd:
        sock.sendall(b"GET / HTTP/1.1\r\n")
    # Served while 42 slow clients hold connections.
    assert httpx.get(secure_server.url + f"{DRS}/service-info", timeout=5).status_code == 200
    data, took = _closed_within(partial, 8)
    assert data.startswith(b"HTTP/1.1 408"), data
    assert 1.5 < took < 6
    _, took = _closed_within(silent, 8)
    assert took < 6
    for sock in idle_crowd:
        _closed_within(sock, 8)
        sock.close()

    trickle = _connect(secure_server)
    start = time.monotonic()
    closed = False
    for byte in b"GET /ga4gh/drs/v1/service-info HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 300:
        try:
            trickle.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
        readable, _, _ = select.select([trickle], [], [], 0.05)
        if readable:
            closed = True  # the 408 (or the close) arrived mid-trickle
            break
    assert closed and time.monotonic() - start < 8

    # Keep-alive: a second request on the same connection gets its own deadline.
    alive = _connect(secure_server)
    alive.sendall(b"GET /ga4gh/drs/v1/service-info HTTP/1.1\r\nHost: x\r\n\r\n")
    first = alive.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    alive.sendall(b"GET /ga4gh/drs/v1/serv")
    data, took = _closed_within(alive, 8)
    assert b"408" in data and took < 6
