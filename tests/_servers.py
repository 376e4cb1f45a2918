"""Start real ``htan-cds serve`` processes on loopback for tests (bounded in time)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(
    probe: Callable[[], bool],
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    what: str = "server",
    log: Callable[[], str] = lambda: "",
    interval: float = 0.1,
) -> None:
    """Poll ``probe`` (a connection error counts as not ready) until it says yes.

    Raises RuntimeError with the end of ``log()`` if ``process`` exits or ``timeout`` passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log()[-3000:]}")
        try:
            if probe():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready in {timeout}s:\n{log()[-3000:]}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate ``process``, killing it if it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def start_server(
    home: Path,
    *extra_args: str,
    port: int | None = None,
    ready_path: str = "/ga4gh/drs/v1/service-info",
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    scheme: str = "http",
) -> Iterator[ServerProcess]:
    """Run ``htan-cds --home HOME serve --port P ...`` until the block ends.

    ``scheme="https"`` is for a server given ``--ssl-certfile``/``--ssl-keyfile`` in
    ``extra_args`` (its self-signed certificate is not verified while waiting).
    """
    port = port or free_port()
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
    url = f"{scheme}://127.0.0.1:{port}"
    server = ServerProcess(url=url, port=port, home=home, process=process, log_path=log_path)
    try:
        wait_until_ready(
            lambda: httpx.get(url + ready_path, timeout=2, verify=False).status_code < 500,
            process,
            timeout=timeout,
            log=server.log,
        )
        yield server
    finally:
        stop_process(process)


@contextlib.contextmanager
def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A ThreadingHTTPServer with ``handler`` on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
