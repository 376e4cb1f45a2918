"""``htan_cds.imaging.open_array``: lazy zarr/dask arrays over HTTP ranges (real servers on
loopback: a byte-counting range server, and ``htan-cds serve`` for DRS URIs with access control)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from htan_cds.errors import AccessDenied, UsageError
from htan_cds.imaging import open_array, open_pyramid
from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess
from tests.imaging.conftest import start_range_server
from tests.viewer._commons import GROUP, ViewerCommons


def test_local_file_levels_and_pixels(viewer_images: Path) -> None:
    path = viewer_images / "mif.ome.tif"
    full = tifffile.imread(path)
    array = open_array(path)
    assert array.shape == full.shape and array.dtype == full.dtype
    np.testing.assert_array_equal(array[3, 100:400, 250:700], full[3, 100:400, 250:700])
    smallest = open_array(path, level=-1)
    assert smallest.shape[1] < 256 and smallest.shape[0] == 6
    with pytest.raises(UsageError):
        open_array(path, level=9)


def test_over_http_reads_only_the_tiles_it_needs(viewer_images: Path) -> None:
    path = viewer_images / "cycif.ome.tif"
    full = tifffile.imread(path)
    with start_range_server(viewer_images) as server:
        server.reset()
        array = open_array(f"{server.url}/cycif.ome.tif")
        opened = server.stats()["bytes_sent"]
        tile = array[40, 256:512, 512:768]  # exactly one 256 x 256 tile of one channel
        np.testing.assert_array_equal(tile, full[40, 256:512, 512:768])
        read = server.stats()["bytes_sent"] - opened
        with tifffile.TiffFile(path) as tf:
            page = tf.series[0].pages[40]
            index = 1 * page.chunked[1] + 2  # tile row 1, column 2
            compressed = page.databytecounts[index]
        assert read <= 2 * compressed + 16384, (read, compressed)
        assert opened + read < path.stat().st_size / 10  # IFDs of 44 x 3 planes + one tile
        pyramid = open_pyramid(f"{server.url}/cycif.ome.tif", dask=True)
        assert [level.shape[1] for level in pyramid] == [768, 384, 192]
        np.testing.assert_array_equal(pyramid[0][5, :64, :64].compute(), full[5, :64, :64])


def test_drs_uris_with_access_control(live: ServerProcess, viewer_commons: ViewerCommons) -> None:
    open_uri = f"drs://127.0.0.1:{live.port}/{viewer_commons.id('he')}"
    rgb = open_array(open_uri, level=1)
    assert rgb.shape[-1] == 3 and rgb.dtype == np.uint8
    expected = tifffile.imread(viewer_commons.entries["he"].path, level=1)
    np.testing.assert_array_equal(rgb[100:200, 50:90], expected[100:200, 50:90])
    controlled = f"drs://127.0.0.1:{live.port}/{viewer_commons.id('pages')}"
    with pytest.raises(AccessDenied):
        open_array(controlled)
    token = TokenStore(viewer_commons.home).create([GROUP], label="open_array test")
    array = open_array(controlled, token=token)
    expected = tifffile.imread(viewer_commons.entries["pages"].path)
    np.testing.assert_array_equal(array[1, :300, :300], expected[1, :300, :300])
