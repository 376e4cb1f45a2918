"""Remote reads over HTTP Range against a real loopback server that counts the bytes it sends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.errors import AccessDenied, ImagingError
from htan_cds.imaging.info import read_image_info
from htan_cds.imaging.preview import render
from htan_cds.imaging.remote import HttpRangeFile
from tests.conftest import run_cli
from tests.imaging.conftest import MARKERS, RangeServerProcess, start_range_server


def test_info_reads_a_sliver_of_the_file(range_server: RangeServerProcess, images: Path) -> None:
    size = (images / "big.ome.tif").stat().st_size
    range_server.reset()
    info = read_image_info(f"{range_server.url}/big.ome.tif")
    sent = range_server.stats()["bytes_sent"]
    assert info.bytes_read == sent  # the client's count is what the server really sent
    assert info.file_size == size
    assert sent <= 0.005 * size, f"info read {sent} of {size} bytes"
    assert [c.name for c in info.channels] == MARKERS[:3]
    assert len(info.levels) == 5 and info.pyramid_layout == "subifd"


def test_preview_reads_only_the_chosen_level(
    range_server: RangeServerProcess, images: Path
) -> None:
    size = (images / "big.ome.tif").stat().st_size
    range_server.reset()
    preview = render(f"{range_server.url}/big.ome.tif", max_size=512, channels=["DAPI", "CD45"])
    sent = range_server.stats()["bytes_sent"]
    assert preview.level == 3  # 4096 / 2**3 = 512: the smallest level covering 512 px
    assert preview.image.size == (512, 512)
    assert preview.bytes_read == sent
    assert sent <= 0.02 * size, f"preview read {sent} of {size} bytes"
    # Two channels of a 512^2 uint16 level, uncompressed, plus metadata: no more.
    assert sent < 2 * 512 * 512 * 2 + 600_000


def test_remote_and_local_previews_match(range_server: RangeServerProcess, images: Path) -> None:
    remote = render(f"{range_server.url}/mif.ome.tif", max_size=300)
    local = render(images / "mif.ome.tif", max_size=300)
    assert remote.image.tobytes() == local.image.tobytes()


def test_levels_as_pages_over_http(range_server: RangeServerProcess) -> None:
    info = read_image_info(f"{range_server.url}/pages.ome.tif")
    assert info.pyramid_layout == "pages"
    assert [lv.width for lv in info.levels] == [1200, 600, 300, 150]
    preview = render(f"{range_server.url}/pages.ome.tif", max_size=300)
    assert preview.level == 2 and preview.image.size == (300, 250)


def test_he_over_http_is_native_rgb(range_server: RangeServerProcess) -> None:
    preview = render(f"{range_server.url}/he.ome.tif", max_size=256)
    assert preview.info.rgb and preview.channels == []
    r, g, b = np.asarray(preview.image, dtype=float).reshape(-1, 3).mean(axis=0)
    assert g < r and g < b  # eosin/haematoxylin: pink-purple, not false colour


def test_server_without_range_support_is_refused(images: Path) -> None:
    with start_range_server(images, ranges=False) as server:
        with pytest.raises(ImagingError, match="ignores HTTP Range"):
            read_image_info(f"{server.url}/mif.ome.tif")
        # It must give up after the probe, without reading the body it did not ask for.
        assert server.stats()["requests"] <= 1
        with pytest.raises(ImagingError, match="ignores HTTP Range"):
            HttpRangeFile(f"{server.url}/big.ome.tif")


def test_missing_and_refused(range_server: RangeServerProcess) -> None:
    with pytest.raises(ImagingError, match="not found"):
        read_image_info(f"{range_server.url}/nope.ome.tif")
    with pytest.raises(AccessDenied, match="access refused"):
        read_image_info(f"{range_server.url}/__deny/mif.ome.tif?X-Signature=secret")
    try:
        read_image_info(f"{range_server.url}/__deny/mif.ome.tif?X-Signature=secret")
    except AccessDenied as exc:
        assert "secret" not in str(exc)  # signed URL query strings are never printed


def test_cli_info_and_preview_over_http(range_server: RangeServerProcess, tmp_path: Path) -> None:
    result = run_cli("info", f"{range_server.url}/mif.ome.tif", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["size_x"] == 1536 and data["pyramid"] is True
    assert data["catalog_row"]["SizeC"] == len(MARKERS)
    assert 0 < data["bytes_read"] < data["file_size"] * 0.2
    out = tmp_path / "p.png"
    result = run_cli(
        "preview",
        f"{range_server.url}/mif.ome.tif",
        "-o",
        str(out),
        "--channels",
        "DAPI,panCK",
        "--max-size",
        "256",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["channels"] == ["DAPI", "panCK"] and summary["width"] == 256
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reads=st.lists(
        st.tuples(st.integers(0, 1_300_000), st.integers(0, 200_000)), min_size=1, max_size=8
    ),
    block=st.sampled_from([512, 4096, 16384]),
)
def test_range_file_reads_exact_bytes(
    range_server: RangeServerProcess, images: Path, reads: list[tuple[int, int]], block: int
) -> None:
    local = (images / "he.ome.tif").read_bytes()
    with HttpRangeFile(
        f"{range_server.url}/he.ome.tif", block_size=block, cache_blocks=8
    ) as remote:
        assert remote.size == len(local)
        for offset, size in reads:
            remote.seek(offset)
            assert remote.read(size) == local[offset : offset + size]
            assert remote.tell() == min(offset + size, len(local)) or offset > len(local)
            assert len(remote._cache) <= 8  # the cache stays bounded
        remote.seek(-10, 2)
        assert remote.read() == local[-10:]


def test_prefetch_fills_the_cache_concurrently(
    range_server: RangeServerProcess, images: Path
) -> None:
    local = (images / "mif.ome.tif").read_bytes()
    with HttpRangeFile(f"{range_server.url}/mif.ome.tif", block_size=4096) as remote:
        offsets = [10, 100_000, 2_000_000, 2_001_000, len(local) - 5, len(local) + 99]
        remote.prefetch(offsets)
        assert remote.requests == 1 + 4  # the probe, then one per distinct block in the file
        for offset in offsets[:-1]:
            remote.seek(offset)
            assert remote.read(3) == local[offset : offset + 3]
        assert remote.requests == 5  # every read came from the prefetched blocks
        remote.prefetch([10])  # already cached: no request
        assert remote.requests == 5
