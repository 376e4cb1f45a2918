"""The fast tile path keeps every pixel and every refusal: the rendered-tile cache (bounded,
after the access check), segments decoded side by side, the uint8 composite and the direct
JPEG encoder give what the plain path gives."""

from __future__ import annotations

import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from htan_cds.imaging import decode, iiif
from htan_cds.imaging.display import ChannelDisplay, _lut, composite
from htan_cds.imaging.readers import open_reader
from htan_cds.imaging.segment_cache import SEGMENTS
from htan_cds.imaging.tile_cache import TileCache
from htan_cds.server.tokens import TokenStore
from tests.viewer._commons import GROUP, ViewerCommons

TILE = "/256,256,256,256/256,256/0/default.jpg"


def _iiif(commons: ViewerCommons, role: str, suffix: str) -> str:
    return "/iiif/3/" + quote(commons.id(role), safe="") + suffix


# -- the cache itself --------------------------------------------------------------------------


def test_cache_is_bounded_in_bytes_and_least_recently_used_goes_first() -> None:
    cache = TileCache(budget=8000, entries=100)
    for n in range(10):
        assert cache.put(("t", n), bytes(900))
    assert cache.used <= 8000 and len(cache) == 8
    assert cache.get(("t", 0)) is None and cache.get(("t", 1)) is None  # evicted first
    assert cache.get(("t", 2)) is not None  # now the most recently used
    cache.put(("t", 10), bytes(900))
    assert cache.get(("t", 2)) is not None and cache.get(("t", 3)) is None
    assert not cache.put(("big",), bytes(1001))  # over an eighth of the budget: not kept
    assert cache.get(("big",)) is None


def test_cache_is_bounded_in_entries() -> None:
    cache = TileCache(budget=1 << 20, entries=3)
    for n in range(5):
        cache.put(n, b"x" * 10)
    assert len(cache) == 3 and cache.used == 30
    assert [cache.get(n) is not None for n in range(5)] == [False, False, True, True, True]


def test_repeated_tile_comes_from_the_cache_with_the_same_body(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    target = _iiif(viewer_commons, "mif", "/512,256,256,256/256,256/0/default.jpg")
    client.app.state.rendered_tiles.clear()  # type: ignore[attr-defined]
    first = client.get(target, params={"channels": "0,2"})
    again = client.get(target, params={"channels": "0,2"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.headers["x-tile-cache"] == "miss" and again.headers["x-tile-cache"] == "hit"
    assert again.content == first.content
    assert again.headers["link"] == first.headers["link"]
    # Any change of what is shown is another tile.
    for params in ({"channels": "0,1"}, {"channels": "0,2", "colors": "ff0000,00ff00"}):
        other = client.get(target, params=params)
        assert other.headers["x-tile-cache"] == "miss" and other.content != first.content
    png = client.get(target.replace(".jpg", ".png"), params={"channels": "0,2"})
    assert png.headers["x-tile-cache"] == "miss" and png.headers["content-type"] == "image/png"


def test_server_timing_gives_the_apps_own_time_per_image(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    target = _iiif(viewer_commons, "mif", "/0,512,256,256/256,256/0/default.jpg")
    client.app.state.rendered_tiles.clear()  # type: ignore[attr-defined]
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        response = client.get(target, params={"channels": "1,2"})
        elapsed_ms = (time.perf_counter() - start) * 1000
        match = re.fullmatch(
            r'tile;dur=(\d+\.\d{3});desc="(hit|miss)"', response.headers["server-timing"]
        )
        assert match, response.headers["server-timing"]
        assert match[2] == response.headers["x-tile-cache"]
        assert 0 < float(match[1]) < elapsed_ms  # a part of what the client waited
        timings.append(float(match[1]))
    assert timings[1] < timings[0]  # the cache hit skips the decode and the encoding


def test_a_bad_plane_is_refused_every_time(viewer_commons: ViewerCommons) -> None:
    """Page lookups are remembered, refusals are not."""
    reader = open_reader(viewer_commons.entries["mif"].path)
    try:
        first = reader.read(0, [1], (0, 8, 1), (0, 8, 1))
        np.testing.assert_array_equal(reader.read(0, [1], (0, 8, 1), (0, 8, 1)), first)
        for _ in range(2):
            with pytest.raises(decode.ImagingError, match="outside the image's C axis"):
                reader.read(0, [99], (0, 8, 1), (0, 8, 1))
    finally:
        reader.close()


def test_cache_never_serves_a_controlled_tile_without_a_grant(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    store = TokenStore(viewer_commons.home)
    good = store.create([GROUP], label="tile cache test")
    wrong = store.create(["phs000999"], label="tile cache test, other study")
    target = _iiif(viewer_commons, "pages", TILE)
    client.app.state.rendered_tiles.clear()  # type: ignore[attr-defined]
    allowed = client.get(target, headers={"Authorization": f"Bearer {good}"})
    cached = client.get(target, headers={"Authorization": f"Bearer {good}"})
    assert allowed.status_code == 200 and cached.headers["x-tile-cache"] == "hit"
    assert cached.headers["cache-control"].startswith("private")
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {wrong}"}, 403)):
        refused = client.get(target, headers=headers)
        assert refused.status_code == status
        assert "x-tile-cache" not in refused.headers
        assert allowed.content not in refused.content
    store.revoke(good)  # a grant withdrawn after the tile was cached
    after = client.get(target, headers={"Authorization": f"Bearer {good}"})
    assert after.status_code == 401 and "x-tile-cache" not in after.headers


# -- decoding side by side ---------------------------------------------------------------------


def test_segments_decoded_side_by_side_equal_one_after_the_other(
    viewer_commons: ViewerCommons, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = viewer_commons.entries["cycif"].path
    reader = open_reader(path)
    try:
        channels = list(range(0, 44, 3))
        boxes = [((0, 700, 1), (0, 1000, 1)), ((100, 612, 1), (300, 812, 1))]
        monkeypatch.setattr(decode, "DECODE_WORKERS", 1)
        serial = []
        for ys, xs in boxes:
            SEGMENTS.clear()
            serial.append(reader.read(0, channels, ys, xs))
        monkeypatch.setattr(decode, "DECODE_WORKERS", 4)

        def parallel(box: tuple[tuple[int, int, int], tuple[int, int, int]]) -> npt.NDArray:
            return reader.read(0, channels, *box)

        SEGMENTS.clear()
        with ThreadPoolExecutor(4) as pool:  # concurrent requests, each decoding in parallel
            results = list(pool.map(parallel, boxes * 4))
        for n, got in enumerate(results):
            np.testing.assert_array_equal(got, serial[n % 2])
    finally:
        reader.close()


def test_a_failing_segment_fails_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def __init__(self) -> None:
            self.decode_args: dict[str, object] = {}

        @staticmethod
        def decode(raw: bytes, index: int) -> tuple[None, None, None]:
            raise ValueError(f"corrupt {index}")

    monkeypatch.setattr(decode, "DECODE_WORKERS", 2)
    monkeypatch.setattr(decode, "PARALLEL_MIN_SEGMENTS", 2)  # the pool's path, not the serial one
    with pytest.raises(decode.ImagingError, match="cannot decode segment 1"):
        decode.decode_all([(Broken(), 0, b""), (Broken(), 1, b"x"), (Broken(), 2, b"")])
    assert decode.decode_all([(Broken(), 0, b""), (Broken(), 1, b"")]) == [None, None]


# -- the composite and the encoder -------------------------------------------------------------


def _widening_reference(planes: npt.NDArray, displays: list[ChannelDisplay]) -> npt.NDArray:
    """The same lookup tables summed in 16 bits and clipped once (the previous code path)."""
    index = planes.view(planes.dtype.str.replace("i", "u"))
    acc = np.zeros((3, *planes.shape[1:]), dtype=np.uint16)
    for plane, d in zip(index, displays, strict=True):
        for k in range(3):
            if d.color[k]:
                acc[k] += _lut(planes.dtype.str, d.color[k], d.low, d.high)[plane]
    return np.moveaxis(np.minimum(acc, 255).astype(np.uint8), 0, -1)


@settings(max_examples=120, deadline=None)
@given(
    dtype=st.sampled_from(["u1", "i1", "<u2", "<i2"]),
    colors=st.lists(
        st.tuples(*[st.sampled_from([0, 1, 90, 200, 255])] * 3), min_size=1, max_size=6
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_uint8_composite_equals_the_16_bit_sum_exactly(
    dtype: str, colors: list[tuple[int, int, int]], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    info = np.iinfo(np.dtype(dtype))
    planes = rng.integers(info.min, info.max, (len(colors), 9, 13), endpoint=True).astype(dtype)
    displays = [
        ChannelDisplay(i, c, float(min(lo, hi)), float(max(lo, hi)))
        for i, (c, lo, hi) in enumerate(
            zip(
                colors,
                rng.integers(info.min, info.max, len(colors)),
                rng.integers(info.min, info.max, len(colors)),
                strict=True,
            )
        )
    ]
    np.testing.assert_array_equal(
        composite(planes, displays), _widening_reference(planes, displays)
    )


@pytest.mark.parametrize("size", [(1, 1), (7, 300), (255, 256), (256, 256), (513, 129)])
def test_direct_jpeg_is_pillows_jpeg(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    pixels[: size[0] // 2] //= 3  # smooth and noisy parts
    request = iiif.parse_image_request("full", "max", "0", "default.jpg")
    body = iiif.finish(pixels, request)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=iiif.JPEG_QUALITY)
    assert body[:2] == b"\xff\xd8"
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(body))), np.asarray(Image.open(out))
    )


# -- the warm-up at start ----------------------------------------------------------------------


def test_warm_up_leaves_nothing_for_a_first_view_to_import() -> None:
    """In a fresh interpreter: after the warm-up, showing a tile imports no module (the first
    request after start used to wait for ome-types, numpy.ma, anyio's backend, codecs)."""
    import subprocess
    import sys

    code = (
        "import sys, importlib\n"
        "from htan_cds.server import iiif_routes\n"
        "iiif_routes._preload()\n"
        "before = set(sys.modules)\n"
        "import numpy as np, imagecodecs\n"
        "from htan_cds.imaging import display, iiif, tiles\n"
        "from htan_cds.imaging.ome import parse_ome_xml\n"
        "np.percentile(np.arange(9, dtype=np.uint16), (1.0, 99.5))\n"
        "parse_ome_xml(iiif_routes._WARM_OME)\n"
        "px = np.zeros((8, 8, 3), np.uint8)\n"
        "iiif.finish(px, iiif.parse_image_request('full', 'max', '0', 'default.jpg'))\n"
        "imagecodecs.deflate_decode, imagecodecs.delta_decode\n"
        "import anyio._backends._asyncio\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(new)\n"
        "assert not new, new\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
