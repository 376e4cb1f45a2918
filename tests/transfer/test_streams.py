"""How many ranged streams a file gets: one in-order stream while files fill the slots (nothing
is read back for hashing), the idle slots shared out when few files are left."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from htan_cds.drs.retry import RetryPolicy
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

PART = 64 * 1024


def _opts() -> ImportOptions:
    return ImportOptions(
        concurrency=4,
        part_size=PART,
        retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05),
    )


def test_many_files_are_fetched_as_one_stream_each(tmp_path: Path) -> None:
    size = 16 * PART
    with FaultServer(chunk_size=16 * 1024, chunk_delay=0.001) as server:
        uris = []
        for i in range(8):
            server.add(f"f{i}", payload(f"f{i}", size))
            uris.append(server.uri(f"f{i}"))
        report = run_import(uris, tmp_path / "dest", _opts())
        peak = server.data_peak
    assert [f.status for f in report.files] == [FileStatus.DONE] * 8
    for i in range(8):
        data = (tmp_path / "dest" / f"f{i}.bin").read_bytes()
        assert hashlib.sha256(data).hexdigest() == report.files[i].checksum
    assert peak <= 4
    # Parts of a file fetched one after another land in order and are hashed from memory;
    # only the last file, alone at the end, may widen and read some bytes back.
    assert report.bytes_reread < size


def test_a_lone_large_file_uses_the_idle_slots(tmp_path: Path) -> None:
    size = 16 * PART
    with FaultServer(chunk_size=16 * 1024, chunk_delay=0.002) as server:
        server.add("big", payload("big", size))
        report = run_import([server.uri("big")], tmp_path / "dest", _opts())
        peak = server.data_peak
    assert report.files[0].status is FileStatus.DONE
    assert (tmp_path / "dest" / "big.bin").read_bytes() == payload("big", size)
    assert 2 <= peak <= 4
