"""Start real ``htan-cds serve`` processes on loopback for tests (bounded in time)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class ServerProcess:
    """A running server: its base URL, data home and process handle."""

    url: str
    port: int
    home: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def start_server(
    home: Path,
    *extra_args: str,
    port: int | None = None,
    ready_path: str = "/ga4gh/drs/v1/service-info",
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """Run ``htan-cds --home HOME serve --port P ...`` until the block ends."""
    port = port or _free_port()
    log_path = home.parent / f"server-{port}.log"
    full_env = dict(os.environ)
    full_env.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "htan_cds.cli.main",
                "--home",
                str(home),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(url=url, port=port, home=home, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log()[-3000:]}")
            try:
                if httpx.get(url + ready_path, timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {timeout}s:\n{server.log()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
