"""Issue 11.4 (client side): what a hostile DRS server sends is bounded.

- a gzip bomb (3 MB on the wire, 3 GiB inflated) as a DRS JSON answer stops at the client's
  cap, and the CLI process's peak memory stays far below the bomb (measured with ``wait4``);
- an answer that never ends is cut at the same cap;
- ``Retry-After: 99999`` is not honoured beyond the retry policy's cap;
- the ``cgc:`` destination waits at most one rate-limit window for a server's reset.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from htan_cds.drs.client import DrsClient
from htan_cds.drs.retry import RetryPolicy
from htan_cds.errors import DrsError
from htan_cds.net.bounded import DEFAULT_JSON_CAP
from tests._servers import serve_in_thread
from tests.security.hostile import Hostile

pytestmark = pytest.mark.network


# Runs the CLI and, at its exit, writes the process's own VmHWM. ``wait4``'s ru_maxrss would
# not do: Linux carries the parent's peak across fork+exec into the child's figure, so a CLI
# started from a big pytest process would report pytest's size.
_LAUNCH = (
    "import atexit, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(out, 'w').write(line.split()[1])\n"
    "atexit.register(_hwm)\n"
    "runpy.run_module('htan_cds.cli.main', run_name='__main__')\n"
)


def _cli_with_peak_rss(tmp: Path, *args: str, timeout: float = 300) -> tuple[int, str, int]:
    """Run ``htan-cds ARGS``; return (exit code, stdout, peak RSS in bytes of that process)."""
    hwm = tmp / "vmhwm"
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCH, str(hwm), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout, int(hwm.read_text()) * 1024


@pytest.mark.parametrize("mode", ["bomb", "huge"])
def test_endless_or_inflating_json_stops_at_the_cap(tmp_path: Path, mode: str) -> None:
    with Hostile(mode=mode) as evil:
        code, out, peak = _cli_with_peak_rss(
            tmp_path, "import", evil.uri(), "--to", str(tmp_path / "d"), "--json"
        )
    assert code == 1, out
    error = json.loads(out)["files"][0]["error"]
    assert f"{DEFAULT_JSON_CAP:,}" in error, error
    # The bomb inflates to 3 GiB; the process stays near the 32 MiB cap plus the interpreter.
    assert peak < 400 << 20, f"peak RSS {peak / 2**20:.0f} MiB"


def test_retry_after_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float, *args: Any) -> Any:
        waits.append(delay)
        return await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    with Hostile(mode="retry") as evil:

        async def run() -> Any:
            async with DrsClient(retry=RetryPolicy(attempts=3)) as client:
                return (await client.resolve_bulk([evil.uri()]))[evil.uri()]

        result = asyncio.run(run())
    assert isinstance(result, DrsError)
    assert waits and max(waits) <= RetryPolicy().max_retry_after <= 120
    assert RetryPolicy().wait_for("99999", 1) <= 120


class _RateLimitedSb(BaseHTTPRequestHandler):
    """A Seven Bridges API stand-in that always answers a bulk import with 429 and a reset
    99,999 s away (headers as SB documents them: X-RateLimit-Limit/Remaining/Reset)."""

    def do_GET(self) -> None:
        body = json.dumps({"id": "alice/p", "name": "p", "href": "x", "type": "v2"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"status": 429, "code": 1000, "message": "Rate limit exceeded!"})
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-RateLimit-Limit", "500")
        self.send_header("X-RateLimit-Remaining", "0")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 99_999))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        return


def test_cgc_waits_at_most_one_window_for_a_servers_reset() -> None:
    from htan_cds.errors import WorkspaceError
    from htan_cds.transfer.source import SourceRow
    from htan_cds.workspace.cgc_destination import CgcImporter, CgcLimits

    sleeps: list[float] = []
    with serve_in_thread(_RateLimitedSb) as url:
        importer = CgcImporter(
            "alice/p",
            url=url + "/v2",
            token="t",
            limits=CgcLimits(window_seconds=300.0, submit_attempts=3),
            sleep=sleeps.append,
        )
        rows = [SourceRow(drs_uri="drs://example.org/x", name="x", metadata={}, row_number=1)]
        with pytest.raises(WorkspaceError, match="rate limited"):
            importer.run(rows)
    assert sleeps and max(sleeps) <= 300.0, sleeps
