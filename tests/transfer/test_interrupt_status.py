"""``import status`` is right while an import runs and right after a ``kill -9``; Ctrl-C stops
an import with one line saying how much was done and that running again resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

COUNT = 60
SIZE = 64 * 1024


@pytest.fixture(scope="module")
def slow() -> Iterator[FaultServer]:
    """60 × 64 KiB objects served in 16 KiB chunks; ``chunk_delay`` (seconds between chunks)
    is set by each test: slow while the test looks at a running import, 0 to finish it."""
    with FaultServer(chunk_size=16 * 1024) as server:
        for i in range(COUNT):
            server.add(f"s{i:03d}", payload(f"s{i}", SIZE))
        yield server


def _start(srv: FaultServer, dest: Path, *extra: str) -> subprocess.Popen[str]:
    uris = [srv.uri(oid) for oid in srv.objects]
    return subprocess.Popen(
        [sys.executable, "-m", "htan_cds.cli.main", "import", *uris, "--to", str(dest), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _in_place(dest: Path) -> set[str]:
    if not dest.is_dir():
        return set()
    return {p.name for p in dest.iterdir() if p.is_file()}


def _wait_for_files(dest: Path, proc: subprocess.Popen[str], n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(_in_place(dest)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import did not get going"
        time.sleep(0.02)


def _status(dest: Path) -> dict[str, object]:
    result = run_cli("import", "status", str(dest), "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_status_during_an_import_and_right_after_kill_9(slow: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    slow.chunk_delay = 0.3  # 1.2 s per file: the import outlasts a status command's start-up
    proc = _start(slow, dest, "--quiet", "--concurrency", "2")
    try:
        _wait_for_files(dest, proc, 6)
        before = _in_place(dest)
        during = _status(dest)
        after = _in_place(dest)
        assert during["running"] is True
        by_status = during["by_status"]
        assert isinstance(by_status, dict)
        # Every file in place before the question is counted; none that arrived later is.
        assert len(before) <= by_status["verified"] <= len(after)
        _wait_for_files(dest, proc, len(after) + 2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    on_disk = _in_place(dest)
    assert 0 < len(on_disk) < COUNT
    status = _status(dest)
    assert status["running"] is False
    files = status["files"]
    assert isinstance(files, list)
    verified = {Path(f["path"]).name for f in files if f["status"] == "verified" and f["in_place"]}
    assert verified == on_disk  # exactly the files the kill left in place
    by_status = status["by_status"]
    assert isinstance(by_status, dict)
    assert by_status["verified"] == len(on_disk)
    human = run_cli("import", "status", str(dest))
    assert "Run the same import command again to resume." in human.stderr
    assert "Traceback" not in human.stderr

    slow.chunk_delay = 0
    again = run_cli("import", *(slow.uri(o) for o in slow.objects), "--to", str(dest), "--quiet")
    assert again.returncode == 0, again.stderr
    final = _status(dest)["by_status"]
    assert isinstance(final, dict) and final["verified"] == COUNT
    assert len(_in_place(dest)) == COUNT


def test_ctrl_c_says_how_much_was_done_in_one_line(slow: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    slow.chunk_delay = 0.3
    proc = _start(slow, dest, "--quiet", "--concurrency", "2")
    try:
        _wait_for_files(dest, proc, 5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    (line,) = lines
    done = len(_in_place(dest))
    assert line.startswith("interrupted: "), line
    assert f"of {COUNT} files imported" in line and "run the same command again to resume" in line
    imported = int(line.removeprefix("interrupted: ").split(" of ")[0])
    assert 0 < imported <= done  # files still moving into place may land after the count
    # Nothing half-written under a final name: every file in place has its full size.
    assert all((dest / name).stat().st_size == SIZE for name in _in_place(dest))

    # Without --quiet the progress display is stopped cleanly and the same line ends stderr.
    proc = _start(slow, tmp_path / "loud", "--concurrency", "2")
    try:
        _wait_for_files(tmp_path / "loud", proc, 3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted: "), err

    slow.chunk_delay = 0
    resumed = run_cli("import", *(slow.uri(o) for o in slow.objects), "--to", str(dest), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert len(_in_place(dest)) == COUNT
