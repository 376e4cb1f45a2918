"""The synthetic writer produces real pyramidal OME-TIFFs that other tools read the same way."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from htan_cds.errors import ImagingError
from htan_cds.imaging.ome import parse_ome_xml
from htan_cds.imaging.synthetic import (
    default_levels,
    write_synthetic_he_tiff,
    write_synthetic_ome_tiff,
)

NAMES = ["DAPI", "CD45", "panCK", "aSMA"]


def test_subifd_pyramid_structure(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    write_synthetic_ome_tiff(path, width=1000, height=700, channel_names=NAMES, tile=256)
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        assert series.axes == "CYX"
        assert series.shape == (4, 700, 1000)
        assert [lv.shape for lv in series.levels] == [(4, 700, 1000), (4, 350, 500), (4, 175, 250)]
        page = tf.pages.first
        assert page.subifds is not None and len(page.subifds) == 2
        assert (page.tilewidth, page.tilelength) == (256, 256)
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        ome = parse_ome_xml(tf.ome_metadata)
    pixels = ome.images[0].pixels
    assert [c.name for c in pixels.channels] == NAMES
    assert pixels.physical_size_x == pytest.approx(0.65)
    assert pixels.type.value == "uint16"


def test_content_looks_like_tissue(tmp_path: Path) -> None:
    """Nuclei: a bright, blobby nuclear channel over a dark background, consistent across levels."""
    path = tmp_path / "a.ome.tif"
    write_synthetic_ome_tiff(path, width=512, height=512, channel_names=NAMES, seed=3)
    full = tifffile.imread(path, level=0)
    half = tifffile.imread(path, level=1)
    dapi = full[0].astype(float)
    assert dapi.max() > 5 * np.percentile(dapi, 10)  # foreground much brighter than glass
    assert 0.05 < (dapi > dapi.mean()).mean() < 0.7  # blobs, not a flat field
    assert abs(full.mean() - half.mean()) / full.mean() < 0.05  # same tissue at each level
    assert not np.array_equal(full[0], full[1])  # channels differ


def test_deterministic_by_seed(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{n}.ome.tif" for n in "abc")
    for path, seed in ((a, 1), (b, 1), (c, 2)):
        write_synthetic_ome_tiff(path, width=300, height=200, channel_names=NAMES[:2], seed=seed)
    assert np.array_equal(tifffile.imread(a), tifffile.imread(b))
    assert not np.array_equal(tifffile.imread(a), tifffile.imread(c))


def test_pages_layout_not_in_ome(tmp_path: Path) -> None:
    path = tmp_path / "p.ome.tif"
    write_synthetic_ome_tiff(path, width=600, height=600, channel_names=NAMES[:2], layout="pages")
    with tifffile.TiffFile(path) as tf:
        assert len(tf.pages) == 2 * 3  # 2 channels x 3 levels, all top-level
        assert tf.pages.first.subifds is None
        ome = parse_ome_xml(tf.ome_metadata)
    assert len(ome.images) == 1  # the OME-XML describes level 0 only


def test_he_is_rgb_and_bright_background(tmp_path: Path) -> None:
    path = tmp_path / "he.ome.tif"
    write_synthetic_he_tiff(path, width=640, height=480)
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        assert series.axes == "YXS" and series.shape == (480, 640, 3)
        assert series.dtype == np.uint8
        assert len(series.levels) == 3  # 640, 320, 160: the last fits one tile
        rgb = series.asarray()
    corner = rgb[:20, :20].reshape(-1, 3).mean(axis=0)
    assert corner.min() > 180  # glass is near white
    tissue = rgb[200:280, 280:360].reshape(-1, 3).mean(axis=0)
    assert tissue[1] < tissue[0] and tissue[1] < tissue[2]  # pink/purple: green absorbed most


def test_large_levels_written_tile_by_tile(tmp_path: Path) -> None:
    """Past the whole-plane limit the writer streams tiles; the result must be the same image."""
    import htan_cds.imaging.synthetic as synthetic

    small = tmp_path / "whole.ome.tif"
    tiled = tmp_path / "tiled.ome.tif"
    write_synthetic_ome_tiff(small, width=700, height=500, channel_names=NAMES[:2])
    limit = synthetic._WHOLE_PLANE_LIMIT
    synthetic._WHOLE_PLANE_LIMIT = 0
    try:
        write_synthetic_ome_tiff(tiled, width=700, height=500, channel_names=NAMES[:2])
    finally:
        synthetic._WHOLE_PLANE_LIMIT = limit
    for level in range(2):
        a = tifffile.imread(small, level=level).astype(int)
        b = tifffile.imread(tiled, level=level).astype(int)
        assert a.shape == b.shape
        # Only the noise block offset differs between the two paths.
        assert np.abs(a - b).mean() < 10


def test_fast_enough_for_the_demo(tmp_path: Path) -> None:
    """The demo writes ~100 of these: 1024^2 x 4 channels must cost well under a second.

    Measured as this process's CPU time, not wall time: on a shared machine (CI, or other
    suites running) the wall clock measures the neighbours; a slow algorithm still fails.
    """
    write_synthetic_ome_tiff(tmp_path / "warm.ome.tif", width=64, height=64, channel_names=["x"])
    start = time.process_time()
    write_synthetic_ome_tiff(tmp_path / "t.ome.tif", width=1024, height=1024, channel_names=NAMES)
    assert time.process_time() - start < 1.5


def test_default_levels() -> None:
    assert default_levels(256, 256, 256) == 1
    assert default_levels(257, 100, 256) == 2
    assert default_levels(16384, 16384, 256) == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "size must be positive"),
        ({"tile": 100}, "multiple of 16"),
        ({"channel_names": []}, "at least one channel"),
        ({"pixel_type": "nonsense"}, "unknown pixel type"),
        ({"layout": "weird"}, "unknown pyramid layout"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"width": 64, "height": 64, "channel_names": ["a"]}
    args.update(kwargs)
    with pytest.raises(ImagingError, match=message):
        write_synthetic_ome_tiff(tmp_path / "x.ome.tif", **args)  # type: ignore[arg-type]


def test_rgb_channel_names_mean_a_brightfield_slide(tmp_path: Path) -> None:
    """The demo asks for Red/Green/Blue uint8 channels for H&E: that is an RGB image."""
    path = tmp_path / "he.ome.tif"
    write_synthetic_ome_tiff(
        path, width=300, height=200, channel_names=["Red", "Green", "Blue"], pixel_type="uint8"
    )
    with tifffile.TiffFile(path) as tf:
        assert tf.series[0].axes == "YXS"
        assert tf.pages.first.photometric == tifffile.PHOTOMETRIC.RGB
