"""kill -9 in the middle of a multi-file import, then a re-run: all verified, and the re-run
fetches about what was missing (bytes counted on the server)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.transfer.fault_server import FaultServer, payload

pytestmark = [pytest.mark.network, pytest.mark.slow]

PART = 256 * 1024
CONCURRENCY = 2


def _cli(dest: Path, uris: list[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "htan_cds.cli.main",
        "import",
        *uris,
        "--to",
        str(dest),
        "--part-size",
        "256KiB",
        "--concurrency",
        str(CONCURRENCY),
        "--quiet",
        *extra,
    ]


def test_kill_9_then_rerun_fetches_only_what_was_missing(tmp_path: Path) -> None:
    sizes = [3 << 20, 2 << 20, 1 << 20, 1 << 20, 700_000, 2 << 20]
    with FaultServer(chunk_delay=0.01, chunk_size=32 * 1024) as srv:
        uris = [srv.uri(srv.add(f"f{i}", payload(f"f{i}", n))) for i, n in enumerate(sizes)]
        total = sum(sizes)
        dest = tmp_path / "dest"
        proc = subprocess.Popen(_cli(dest, uris), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while srv.bytes_served < total * 0.45:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "import made no progress"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        time.sleep(0.2)  # let the server notice the dropped connections
        served_before = srv.bytes_served
        assert served_before < total, "the import finished before the kill"

        srv.chunk_delay = 0.0
        report_path = tmp_path / "report.json"
        result = subprocess.run(
            _cli(dest, uris, "--json-report", str(report_path)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        rerun = srv.bytes_served - served_before

    missing = total - served_before
    # Lost at the kill: at most the parts in flight (plus what sat in socket buffers).
    slack = CONCURRENCY * PART + (1 << 20)
    assert rerun <= missing + slack, (rerun, missing, slack)
    assert rerun < total * 0.7
    for i, n in enumerate(sizes):
        data = (dest / f"f{i}.bin").read_bytes()
        assert len(data) == n
        assert data == payload(f"f{i}", n)
    report = json.loads(report_path.read_text())
    statuses = {f["drs_uri"]: f["status"] for f in report["files"]}
    assert set(statuses.values()) <= {"done", "skipped"}
    for f in report["files"]:
        data = (dest / Path(f["path"]).name).read_bytes()
        assert f["checksum"] == hashlib.sha256(data).hexdigest()

    status = subprocess.run(
        [sys.executable, "-m", "htan_cds.cli.main", "import", "status", str(dest), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    ledger = json.loads(status.stdout)
    assert ledger["by_status"]["verified"] == len(sizes)
