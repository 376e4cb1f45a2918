"""Fixtures of the imaging tests: synthetic images and a byte-counting Range server process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from htan_cds.imaging.synthetic import write_synthetic_he_tiff, write_synthetic_ome_tiff
from tests._servers import stop_process, wait_until_ready
from tests.conftest import REPO, free_port

MARKERS = ["DAPI", "CD45", "panCK", "aSMA", "CD8", "Ki67"]


@dataclass
class RangeServerProcess:
    """A running range server: base URL and its byte counters."""

    url: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, int]:
        data: dict[str, int] = httpx.get(self.url + "/__stats", timeout=5).json()
        return data

    def reset(self) -> None:
        httpx.post(self.url + "/__reset", timeout=5)


@contextlib.contextmanager
def start_range_server(root: Path, *, ranges: bool = True) -> Iterator[RangeServerProcess]:
    """Run ``tests/imaging/_range_server.py`` on a free loopback port until the block ends."""
    port = free_port()
    args = [sys.executable, "-m", "tests.imaging._range_server", str(root), str(port)]
    if not ranges:
        args.append("--no-range")
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RangeServerProcess(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_ready(
            lambda: bool(server.stats()), process, timeout=20, what="range server", interval=0.05
        )
        yield server
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of synthetic images: SubIFD pyramid, levels-as-pages pyramid, H&E, a big one."""
    root = tmp_path_factory.mktemp("images")
    write_synthetic_ome_tiff(
        root / "mif.ome.tif", width=1536, height=1280, channel_names=MARKERS, seed=1
    )
    write_synthetic_ome_tiff(
        root / "pages.ome.tif",
        width=1200,
        height=1000,
        channel_names=MARKERS[:3],
        layout="pages",
        seed=2,
    )
    write_synthetic_he_tiff(root / "he.ome.tif", width=1300, height=1100, seed=3)
    # Uncompressed, so byte budgets mean something (about 130 MB on disk).
    write_synthetic_ome_tiff(
        root / "big.ome.tif",
        width=4096,
        height=4096,
        channel_names=MARKERS[:3],
        seed=4,
        compression=None,
    )
    return root


@pytest.fixture(scope="session")
def range_server(images: Path) -> Iterator[RangeServerProcess]:
    """The range server over :func:`images`."""
    with start_range_server(images) as server:
        yield server
