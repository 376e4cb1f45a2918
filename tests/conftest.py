"""Shared fixtures: ../shared data (skipped when absent), CLI runner, real server processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Starlette's TestClient runs the app in a thread, where anyio imports its file module on first
# use. Python 3.11 shares the AST constructor's recursion counter between threads, and pytest's
# import hook may compile in the main thread at the same moment: after a hypothesis test, the
# portal tests then failed with "SystemError: AST constructor recursion depth mismatch". Imported
# here, up front, in the main thread.
import anyio._core._fileio  # noqa: F401
import pytest
from hypothesis import HealthCheck, settings

from tests._servers import ServerProcess, free_port, start_server

# Property tests check behaviour, never speed: a per-example deadline or the too-slow health
# check measures the machine's other load (CI and shared machines), not the code under test.
# Speed is measured by benchmarks/. Tests that set their own settings keep them.
settings.register_profile(
    "htan-cds",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("htan-cds")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Test this checkout's code, in this process and in every subprocess (CLI, servers), even when
# the installed package points elsewhere (another clone installed editable on the same machine).
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
)


def shared_path(*parts: str) -> Path:
    """A path inside ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is absent ({path} not found): real-data test skipped")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_path()


def run_cli(
    *args: str, home: Path | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``htan-cds`` console entry point in a subprocess."""
    env = dict(os.environ)
    if home is not None:
        env["HTAN_CDS_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "htan_cds.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=timeout,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty data home for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def demo_port() -> int:
    """The loopback port the demo commons is built for and served on in this session."""
    return free_port()


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory, demo_port: int) -> Path:
    """A data home holding the demo commons, built once per test session.

    It is built for ``demo_port`` so that the DRS URIs the catalog writes name the server that
    ``demo_server`` starts, as they do for a user who runs ``htan-cds demo --port P``.
    """
    path = tmp_path_factory.mktemp("demo-home")
    result = run_cli(
        "--home", str(path), "demo", "--no-serve", "--port", str(demo_port), timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"demo build failed: {result.stderr[-2000:]}")
    return path


@pytest.fixture(scope="session")
def demo_server(demo_home: Path, demo_port: int) -> Iterator[ServerProcess]:
    """``htan-cds serve`` on the demo commons, a real process on loopback."""
    with start_server(demo_home, port=demo_port) as server:
        yield server


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's S3 server on loopback (the stand-in for AWS S3); yields its endpoint URL.

    One server serves the whole session, so each test uses a bucket name of its own.
    """
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()
