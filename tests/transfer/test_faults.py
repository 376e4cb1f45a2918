"""Fault injection: every file ends verified or reported failed, none is corrupt."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from htan_cds.drs.retry import RetryPolicy
from htan_cds.transfer import FileStatus, ImportOptions, ProgressEvent, run_import
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, max_retry_after=5)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


def _opts(**kw: object) -> ImportOptions:
    base: dict[str, object] = {
        "concurrency": 4,
        "part_size": 64 * 1024,
        "retry": FAST_RETRY,
        "check_free_space": True,
    }
    base.update(kw)
    return ImportOptions(**base)  # type: ignore[arg-type]


def _assert_no_partials(dest: Path) -> None:
    # Only verified files may appear outside the state folder.
    for path in dest.rglob("*"):
        if ".htan-cds" in path.parts:
            continue
        assert not path.name.endswith(".part")


def test_every_fault_kind_ends_verified(server: FaultServer, tmp_path: Path) -> None:
    plans = {
        "clean": [],
        "e500": ["500", "500"],
        "reset": ["reset", "reset"],
        "trunc": ["truncate", "truncate"],
        "limit": ["429"],
        "expired": ["truncate", "expire", "expire"],
        "onecorrupt": ["corrupt"],
    }
    uris = []
    for name, plan in plans.items():
        server.add(name, payload(name, 300_000))
        server.faults[name] = list(plan)
        uris.append(server.uri(name))
    server.api_faults["clean"] = ["202", "429"]
    server.retry_after = "0"
    dest = tmp_path / "dest"
    events: list[ProgressEvent] = []
    report = run_import(uris, dest, _opts(verify_all=True), events.append)
    by_uri = {f.drs_uri: f for f in report.files}
    for name in plans:
        res = by_uri[server.uri(name)]
        assert res.status is FileStatus.DONE, (name, res.error)
        data = (dest / f"{name}.bin").read_bytes()
        assert data == server.objects[name], name
        assert res.checksum == hashlib.sha256(data).hexdigest()
    assert server.requests["bulk_access"] >= 1  # first URLs in bulk
    assert server.requests["access"] >= 1  # the expired URL was renewed (once for all parts)
    assert {e.kind for e in events} >= {"plan", "start", "bytes", "done"}
    _assert_no_partials(dest)


def test_wrong_bytes_every_time_is_reported_and_never_left(
    server: FaultServer, tmp_path: Path
) -> None:
    server.add("bad", payload("bad", 200_000))
    server.faults["bad"] = ["corrupt"] * 50
    server.add("good", payload("good", 1000))
    dest = tmp_path / "dest"
    report = run_import([server.uri("bad"), server.uri("good")], dest, _opts(verify_attempts=2))
    res = {f.drs_uri: f for f in report.files}
    assert res[server.uri("bad")].status is FileStatus.FAILED
    assert "checksum mismatch" in (res[server.uri("bad")].error or "")
    assert not (dest / "bad.bin").exists()
    assert not list((dest / ".htan-cds" / "partial").glob("*"))
    assert (dest / "good.bin").read_bytes() == server.objects["good"]
    assert not report.ok


def test_persistent_5xx_fails_cleanly(server: FaultServer, tmp_path: Path) -> None:
    server.add("down", payload("down", 5000))
    server.faults["down"] = ["500"] * 100
    report = run_import([server.uri("down")], tmp_path / "d", _opts())
    assert report.files[0].status is FileStatus.FAILED
    assert "gave up" in (report.files[0].error or "")
    assert not (tmp_path / "d" / "down.bin").exists()


def test_retry_after_is_honoured(server: FaultServer, tmp_path: Path) -> None:
    server.add("slow", payload("slow", 1000))
    server.faults["slow"] = ["429"]
    server.retry_after = "1"
    t0 = time.monotonic()
    report = run_import([server.uri("slow")], tmp_path / "d", _opts())
    assert report.ok
    assert time.monotonic() - t0 >= 0.9


def test_gen3_bulk_dialect_and_missing_objects(tmp_path: Path) -> None:
    with FaultServer(gen3_style=True, bulk_limit=3, inline_urls=True) as srv:
        uris = [srv.uri(srv.add(f"o{i}", payload(f"o{i}", 10_000 + i))) for i in range(7)]
        uris.append(srv.uri("missing"))
        report = run_import(uris, tmp_path / "d", _opts())
        assert srv.requests["bulk"] == 3  # 8 ids in chunks of 3
        assert srv.requests["access"] == 0  # inline URLs need no /access call
    res = {f.drs_uri: f for f in report.files}
    assert all(res[u].status is FileStatus.DONE for u in uris[:-1])
    assert res[uris[-1]].status is FileStatus.FAILED
    assert "404" in (res[uris[-1]].error or "")


def test_access_urls_come_in_bulk_batches(server: FaultServer, tmp_path: Path) -> None:
    uris = [server.uri(server.add(f"b{i}", payload(f"b{i}", 2000 + i))) for i in range(20)]
    report = run_import(uris, tmp_path / "d", _opts())
    assert report.ok
    assert server.requests["bulk_access"] >= 1
    assert server.requests["access"] == 0  # no per-object /access round trips


def test_server_ignoring_range_and_empty_objects(tmp_path: Path) -> None:
    with FaultServer(ignore_range=True) as srv:
        big = srv.uri(srv.add("norange", payload("norange", 500_000)))
        empty = srv.uri(srv.add("empty", b""))
        report = run_import([big, empty], tmp_path / "d", _opts())
    assert report.ok, [f.error for f in report.files]
    assert (tmp_path / "d" / "norange.bin").read_bytes() == payload("norange", 500_000)
    assert (tmp_path / "d" / "empty.bin").read_bytes() == b""
