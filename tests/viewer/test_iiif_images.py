"""IIIF tiles of every kind of image: info.json against ``htan-cds info``, tile sizes at the top
and bottom of the pyramid, pixels against the full-resolution array, channel composition."""

from __future__ import annotations

import io
import math
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import tifffile
from fastapi.testclient import TestClient
from PIL import Image

from htan_cds.imaging.info import read_image_info
from htan_cds.imaging.tiles import MAX_DECODE_SAMPLES
from tests.viewer._commons import ViewerCommons
from tests.viewer.conftest import SHARED_IMAGES

IMAGES = ["mif", "pages", "he", "cycif", "flat", "strips"] + [f"shared:{n}" for n in SHARED_IMAGES]
OPEN = [r for r in IMAGES if r != "pages"]


def base(commons: ViewerCommons, role: str) -> str:
    return "/iiif/3/" + quote(commons.id(role), safe="")


def get_image(client: TestClient, url: str, **kw: Any) -> Image.Image:
    response = client.get(url, **kw)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return Image.open(io.BytesIO(response.content))


def full_array(path: Any) -> tuple[np.ndarray, bool]:
    """Level 0 as (C, Y, X), or (Y, X, 3) for RGB; from tifffile, independently of the server."""
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        data = series.asarray(level=0)
        axes = series.axes
    if axes.endswith("S") and data.shape[-1] in (3, 4):
        return data.reshape(-1, *data.shape[-3:])[0][..., :3], True
    if "C" in axes or "I" in axes or "Q" in axes:
        channel_axis = next(a for a in "CIQ" if a in axes)
        # Middle Z, first T (what the service shows by default).
        index = []
        for a, n in zip(axes, data.shape, strict=True):
            if a in ("Y", "X", channel_axis):
                index.append(slice(None))
            else:
                index.append(n // 2 if a == "Z" else 0)
        data = data[tuple(index)]
        reduced = [a for a in axes if a in ("Y", "X", channel_axis)]
        data = np.moveaxis(data, reduced.index(channel_axis), 0)
        return data, False
    return data.reshape(1, *data.shape[-2:]), False


def auth(commons: ViewerCommons, role: str, tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['good']}"} if role == "pages" else {}


@pytest.fixture(scope="module")
def tokens(viewer_commons: ViewerCommons) -> dict[str, str]:
    from htan_cds.server.tokens import TokenStore

    store = TokenStore(viewer_commons.home)
    return {
        "good": store.create(["phs002371"], label="viewer test"),
        "wrong": store.create(["phs000999"], label="viewer test, other study"),
    }


@pytest.mark.parametrize("role", IMAGES)
def test_info_json_agrees_with_htan_cds_info(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str], role: str
) -> None:
    entry = viewer_commons.entries[role]
    expected = read_image_info(entry.path)  # what `htan-cds info --json` prints
    response = client.get(
        base(viewer_commons, role) + "/info.json", headers=auth(viewer_commons, role, tokens)
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["width"], info["height"]) == (expected.size_x, expected.size_y)
    assert info["id"] == "http://127.0.0.1:8000" + base(viewer_commons, role)
    assert info["type"] == "ImageService3" and info["profile"] in ("level1", "level2")
    factors = info["tiles"][0]["scaleFactors"]
    for level in expected.levels:
        assert round(level.downsample) in factors, (level, factors)
    assert factors == [2**i for i in range(len(factors))]
    assert (
        math.ceil(max(expected.size_x, expected.size_y) / factors[-1]) <= info["tiles"][0]["width"]
    )
    if expected.tile_width and 128 <= expected.tile_width <= 1024:
        assert info["tiles"][0]["width"] == expected.tile_width
    channels = client.get(
        base(viewer_commons, role) + "/channels.json", headers=auth(viewer_commons, role, tokens)
    ).json()
    assert channels["rgb"] == expected.rgb
    if not expected.rgb:
        assert len(channels["channels"]) == expected.size_c
        names = [c.name for c in expected.channels]
        assert [c["name"] for c in channels["channels"]] == [
            n or f"Channel {i}" for i, n in enumerate(names)
        ]


@pytest.mark.parametrize("role", IMAGES)
def test_tiles_at_top_and_bottom_of_the_pyramid(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str], role: str
) -> None:
    url = base(viewer_commons, role)
    headers = auth(viewer_commons, role, tokens)
    info = client.get(url + "/info.json", headers=headers).json()
    width, height, tile = info["width"], info["height"], info["tiles"][0]["width"]
    factors = info["tiles"][0]["scaleFactors"]
    # Top (full resolution): the first tile and the last one of the first row, as OpenSeadragon
    # asks for them (region in full-resolution pixels, size in output pixels).
    tw, th = min(tile, width), min(tile, height)
    image = get_image(client, f"{url}/0,0,{tw},{th}/{tw},{th}/0/default.jpg", headers=headers)
    assert image.size == (tw, th)
    last_x = (math.ceil(width / tile) - 1) * tile
    edge_w = width - last_x
    image = get_image(
        client, f"{url}/{last_x},0,{edge_w},{th}/{edge_w},{th}/0/default.png", headers=headers
    )
    assert image.size == (edge_w, th)
    # Bottom: the whole image in one tile at the largest scale factor.
    s = factors[-1]
    size = (math.ceil(width / s), math.ceil(height / s))
    image = get_image(client, f"{url}/full/{size[0]},{size[1]}/0/default.jpg", headers=headers)
    assert image.size == size
    # One level up from the bottom, second tile when there is one.
    if len(factors) > 1:
        s = factors[-2]
        region_w = min(tile * s, width)
        out = (math.ceil(region_w / s), math.ceil(min(tile * s, height) / s))
        image = get_image(
            client,
            f"{url}/0,0,{region_w},{min(tile * s, height)}/{out[0]},{out[1]}/0/default.jpg",
            headers=headers,
        )
        assert image.size == out


def _region(width: int, height: int) -> tuple[int, int, int, int]:
    w, h = min(300, width), min(200, height)
    return (width - w) // 3, (height - h) // 2, w, h


@pytest.mark.parametrize("role", IMAGES)
def test_a_region_equals_the_same_region_of_the_full_resolution_array(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str], role: str
) -> None:
    entry = viewer_commons.entries[role]
    data, rgb = full_array(entry.path)
    height, width = data.shape[:2] if rgb else data.shape[1:]
    x, y, w, h = _region(width, height)
    url = f"{base(viewer_commons, role)}/{x},{y},{w},{h}/max/0/default.png"
    headers = auth(viewer_commons, role, tokens)
    if rgb:
        got = np.asarray(get_image(client, url, headers=headers).convert("RGB"))
        expected = data[y : y + h, x : x + w]
        if expected.dtype == np.uint8:
            np.testing.assert_array_equal(got, expected)
        return
    channel = data.shape[0] - 1  # the last channel: index mapping matters
    crop = data[channel, y : y + h, x : x + w].astype(np.float64)
    lo, hi = float(crop.min()), float(crop.max())
    hi = hi if hi > lo else lo + 1
    params = {"channels": str(channel), "colors": "ffffff", "min": repr(lo), "max": repr(hi)}
    got = np.asarray(get_image(client, url, params=params, headers=headers).convert("RGB"))
    expected = np.clip((crop - lo) / (hi - lo), 0, 1) * 255
    assert got.shape == (h, w, 3)
    assert np.abs(got[..., 0].astype(np.float64) - expected).max() <= 1.0
    assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()


@pytest.mark.parametrize("role", ["mif", "cycif", "pages", "strips"])
def test_turning_a_channel_off_changes_the_pixels(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str], role: str
) -> None:
    url = f"{base(viewer_commons, role)}/full/256,/0/default.png"
    headers = auth(viewer_commons, role, tokens)
    both = np.asarray(get_image(client, url, params={"channels": "0,1"}, headers=headers))
    one = np.asarray(get_image(client, url, params={"channels": "0"}, headers=headers))
    none = np.asarray(get_image(client, url, params={"channels": ""}, headers=headers))
    assert both.shape == one.shape == none.shape
    assert (both != one).mean() > 0.05
    assert none.max() == 0 and one.max() > 0
    # Channel 1 alone in green: only the green component is lit.
    green = np.asarray(
        get_image(client, url, params={"channels": "1", "colors": "00ff00"}, headers=headers)
    )
    assert green[..., 1].max() > 0 and green[..., 0].max() == 0 and green[..., 2].max() == 0


def test_channels_by_name_colours_and_ranges(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    url = f"{base(viewer_commons, 'cycif')}/full/128,/0/default.png"
    by_name = get_image(client, url, params={"channels": "m40", "colors": "#ff0000"})
    by_index = get_image(client, url, params={"channels": "40", "colors": "ff0000"})
    assert np.array_equal(np.asarray(by_name), np.asarray(by_index))
    dim = np.asarray(get_image(client, url, params={"channels": "40", "max": "60000"}))
    bright = np.asarray(get_image(client, url, params={"channels": "40", "max": "600"}))
    assert bright.astype(int).sum() > dim.astype(int).sum()
    for bad in ({"channels": "nope"}, {"channels": "0", "colors": "zzzzzz"}, {"min": "x"}):
        response = client.get(url, params=bad)
        assert response.status_code == 400, (bad, response.text)
        assert "msg" in response.json()


def test_rgb_images_ignore_channel_parameters(
    client: TestClient, viewer_commons: ViewerCommons
) -> None:
    url = f"{base(viewer_commons, 'he')}/500,400,256,256/max/0/default.png"
    plain = np.asarray(get_image(client, url))
    asked = np.asarray(get_image(client, url, params={"channels": "0", "colors": "ff0000"}))
    assert np.array_equal(plain, asked)
    assert plain.std() > 5  # it is a real picture, not a blank tile


@pytest.mark.parametrize("role", ["flat", "strips"])
def test_images_without_a_pyramid_have_a_bounded_cost(
    client: TestClient, viewer_commons: ViewerCommons, role: str
) -> None:
    url = f"{base(viewer_commons, role)}/full/max/0/default.jpg"
    get_image(client, url)  # opens the reader, computes the automatic ranges
    readers = client.app.state.image_readers  # type: ignore[attr-defined]
    stats = readers._items[viewer_commons.id(role)].reader.stats
    before = stats.decoded_samples
    image = get_image(client, f"{base(viewer_commons, role)}/full/200,/0/default.jpg")
    assert image.width == 200
    assert stats.decoded_samples - before <= MAX_DECODE_SAMPLES


def test_not_images_and_unknown_ids(client: TestClient, viewer_commons: ViewerCommons) -> None:
    assert client.get(base(viewer_commons, "table") + "/info.json").status_code == 404
    assert client.get("/iiif/3/dg.HCDS%2Fnope/info.json").status_code == 404
    redirect = client.get(base(viewer_commons, "mif"), follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"].endswith(base(viewer_commons, "mif") + "/info.json")
    # An unescaped slash in the id is accepted too.
    unescaped = client.get(f"/iiif/3/{viewer_commons.id('mif')}/info.json")
    assert unescaped.status_code == 200
