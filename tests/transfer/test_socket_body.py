"""Large plain-HTTP bodies read from the socket (transfer/socket_body.py), under fault injection.

A raw TCP server on loopback answers each request with exactly the bytes a test scripts (status
line, headers, body pieces, pauses, a reset or a close), so the reader meets what a broken or
hostile byte server really sends: short bodies, resets mid-body, a stalled peer, a
``Content-Length`` larger than the range asked for, chunked and compressed bodies.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest

from htan_cds.drs.checksums import expected_checksums
from htan_cds.drs.retry import RetryPolicy
from htan_cds.transfer import FileStatus, ImportOptions, run_import, socket_body
from htan_cds.transfer.verify import PartialFile
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

MiB = 1 << 20
BODY = payload("socket-body", 3 * MiB + 12345)

# What one connection does after reading the request: ("send", bytes) | ("sleep", s) |
# ("reset",) | ("close",).
Script = list[tuple[object, ...]]


class RawServer:
    """Answers every connection on 127.0.0.1 with the scripted steps (one script per request)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/obj"

    def _serve(self) -> None:
        while self.scripts:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            script = self.scripts.pop(0)
            threading.Thread(target=self._answer, args=(conn, script), daemon=True).start()

    def _answer(self, conn: socket.socket, script: Script) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        self.requests.append(head)
        try:
            for step in script:
                if step[0] == "send":
                    conn.sendall(step[1])  # type: ignore[arg-type]
                elif step[0] == "sleep":
                    time.sleep(step[1])  # type: ignore[arg-type]
                elif step[0] == "reset":
                    # SO_LINGER 0: close() sends an RST instead of a FIN.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.scripts.clear()
        self._sock.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool


def _head(status: str, length: int, **extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {length}", "Content-Type: x/y"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _fetch(
    server: RawServer,
    path: Path,
    executor: ThreadPoolExecutor,
    *,
    pos: int = 0,
    end: int = len(BODY),
    timeout: float = 5.0,
    outer: float | None = None,
) -> tuple[bool, int | BaseException, list[int]]:
    """GET the server's object through aiohttp, then read the body from the socket when
    eligible; returns (eligible, bytes written or the error, progress reports)."""
    reports: list[int] = []

    async def go() -> tuple[bool, int | BaseException]:
        partial = PartialFile(path, len(BODY), _sha256(), fresh=True)
        try:
            async with aiohttp.ClientSession() as session, session.get(server.url) as resp:
                ok = socket_body.eligible(resp, end - pos)
                if not ok:
                    return ok, len(await resp.read())
                job = socket_body.read_from_socket(
                    resp,
                    partial,
                    pos,
                    end,
                    executor=executor,
                    timeout=timeout,
                    on_bytes=reports.append,
                )
                try:
                    async with asyncio.timeout(outer):
                        return ok, await job
                except (socket_body.BodyBroken, TimeoutError) as exc:
                    return ok, exc
        finally:
            partial.close()

    ok, got = asyncio.run(go())
    return ok, got, reports


def _sha256() -> list:  # type: ignore[type-arg]
    return expected_checksums([("sha-256", hashlib.sha256(BODY).hexdigest())])


def test_a_whole_body_is_stored_hashed_and_reported(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    # Pieces of odd sizes and a pause: blocks straddle what each recv returns.
    cut = [0, 1000, 700_001, 2 * MiB + 3, len(BODY)]
    steps: Script = [("send", _head("200 OK", len(BODY)) + BODY[: cut[1]])]
    for a, b in itertools.pairwise(cut[1:]):
        steps += [("sleep", 0.01), ("send", BODY[a:b])]
    server = RawServer([steps])
    path = tmp_path / "f.part"
    ok, got, reports = _fetch(server, path, executor)
    assert ok and got == len(BODY)
    assert path.read_bytes() == BODY
    assert sum(reports) == len(BODY)
    partial = PartialFile(path, len(BODY), _sha256(), fresh=False)
    try:
        partial.mark_written(0, len(BODY))
        assert partial.finish().verified
    finally:
        partial.close()
    server.close()


def test_a_short_body_returns_what_arrived(tmp_path: Path, executor: ThreadPoolExecutor) -> None:
    half = len(BODY) // 2
    server = RawServer([[("send", _head("200 OK", len(BODY)) + BODY[:half]), ("close",)]])
    path = tmp_path / "f.part"
    ok, got, reports = _fetch(server, path, executor)
    assert ok and got == half  # fetch_range sees the shortfall and retries from here
    assert path.read_bytes()[:half] == BODY[:half]
    assert sum(reports) == half
    server.close()


def test_a_reset_mid_body_keeps_the_bytes_stored(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    part = 2 * MiB
    server = RawServer(
        [[("send", _head("200 OK", len(BODY)) + BODY[:part]), ("sleep", 0.2), ("reset",)]]
    )
    path = tmp_path / "f.part"
    ok, got, _ = _fetch(server, path, executor)
    assert ok
    # Either the reset arrived while reading (BodyBroken with the count) or, if the kernel
    # delivered the reset as an end of stream, a short count; the bytes stored are intact.
    written = got.written if isinstance(got, socket_body.BodyBroken) else got
    assert isinstance(written, int) and 0 < written <= part
    assert path.read_bytes()[:written] == BODY[:written]
    server.close()


def test_a_stalled_peer_is_bounded_by_the_read_timeout(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    server = RawServer([[("send", _head("200 OK", len(BODY)) + BODY[:MiB]), ("sleep", 30)]])
    started = time.monotonic()
    ok, got, _ = _fetch(server, tmp_path / "f.part", executor, timeout=0.5)
    assert ok and isinstance(got, socket_body.BodyBroken)
    assert isinstance(got.__cause__, TimeoutError)
    assert got.written == MiB
    assert time.monotonic() - started < 10
    server.close()


def test_a_cancelled_read_ends_its_thread_at_once(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    # The per-file timeout cancels the fetch: the thread must stop before the file closes.
    server = RawServer([[("send", _head("200 OK", len(BODY)) + BODY[:MiB]), ("sleep", 30)]])
    started = time.monotonic()
    ok, got, _ = _fetch(server, tmp_path / "f.part", executor, timeout=60, outer=0.5)
    assert ok and isinstance(got, TimeoutError)
    assert time.monotonic() - started < 10
    # No thread is left reading: the pool has a free worker right away.
    assert executor.submit(lambda: 1).result(timeout=2) == 1
    server.close()


def test_a_content_length_larger_than_the_range_is_not_believed(
    tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    # The server claims (and sends) more than the 2 MiB asked for; nothing past them is stored.
    end = 2 * MiB
    server = RawServer([[("send", _head("200 OK", len(BODY)) + BODY)]])
    path = tmp_path / "f.part"
    ok, got, _ = _fetch(server, path, executor, end=end)
    assert ok and got == end
    assert path.read_bytes()[:end] == BODY[:end]
    assert path.read_bytes()[end:] == b"\0" * (len(BODY) - end)
    server.close()


def test_bytes_aiohttp_held_may_exceed_a_block(tmp_path: Path) -> None:
    # aiohttp may hold more of the body than one block when it is paused: stored first, in order.
    held = 3 * socket_body.BLOCK + 5
    ours, peer = socket.socketpair()

    def send() -> None:
        with peer:
            peer.sendall(BODY[held : 2 * MiB])

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    partial = PartialFile(tmp_path / "f.part", len(BODY), _sha256(), fresh=True)
    reports: list[int] = []
    try:
        got = socket_body._pump(ours, partial, 0, 2 * MiB, BODY[:held], 5.0, reports.append)
        assert partial.frontier == 2 * MiB  # hashed in order, nothing left for a re-read
    finally:
        partial.close()
        ours.close()
        sender.join(5)
    assert got == 2 * MiB and sum(reports) == 2 * MiB
    assert (tmp_path / "f.part").read_bytes()[: 2 * MiB] == BODY[: 2 * MiB]


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ("gzip", _head("200 OK", len(gzip.compress(b"abc", mtime=0)), Content_Encoding="gzip")),
        ("small", _head("200 OK", 1000)),
    ],
)
def test_other_bodies_stay_on_aiohttp(
    name: str, head: bytes, tmp_path: Path, executor: ThreadPoolExecutor
) -> None:
    body = {
        "chunked": b"5\r\nhello\r\n0\r\n\r\n",
        "gzip": gzip.compress(b"abc", mtime=0),
        "small": b"x" * 1000,
    }[name]
    server = RawServer([[("send", head + body)]])
    ok, _, _ = _fetch(server, tmp_path / "f.part", executor, end=len(BODY))
    assert not ok
    server.close()


def _opts(**kw: object) -> ImportOptions:
    base: dict[str, object] = {
        "concurrency": 4,
        "part_size": 2 * MiB,
        "retry": RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, max_retry_after=5),
    }
    base.update(kw)
    return ImportOptions(**base)  # type: ignore[arg-type]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[..., object] = socket_body._pump

    def pump(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(socket_body, "_pump", pump)
    return calls


def test_import_faults_on_the_socket_path_end_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault kinds of test_faults.py, on bodies large enough for the socket reader.
    calls = _spy(monkeypatch)
    plans = {
        "clean": [],
        "reset": ["reset"],
        "trunc": ["truncate", "truncate"],
        "limit": ["429"],
        "expired": ["truncate", "expire"],
        "corrupt": ["corrupt"],
    }
    with FaultServer(retry_after="0") as server:
        for name, plan in plans.items():
            server.add(name, payload(name, 5 * MiB + 17))
            server.faults[name] = list(plan)
        report = run_import([server.uri(n) for n in plans], tmp_path / "dest", _opts())
        objects = dict(server.objects)
    by_uri = {f.drs_uri: f for f in report.files}
    for name in plans:
        res = by_uri[server.uri(name)]
        assert res.status is FileStatus.DONE and res.verified, (name, res.error)
        assert (tmp_path / "dest" / f"{name}.bin").read_bytes() == objects[name], name
    assert calls, "no body went through the socket reader"


def test_wrong_bytes_on_the_socket_path_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy(monkeypatch)
    with FaultServer() as server:
        server.add("bad", payload("bad", 3 * MiB))
        server.faults["bad"] = ["corrupt"] * 20
        report = run_import([server.uri("bad")], tmp_path / "dest", _opts(part_size=64 * MiB))
    assert report.files[0].status is FileStatus.FAILED
    assert "checksum mismatch" in (report.files[0].error or "")
    assert not (tmp_path / "dest" / "bad.bin").exists()
    assert calls
