"""Fixtures of the viewer tests: a commons of synthetic pyramids (+ ../shared's real images
when present), served in-process and as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from fastapi.testclient import TestClient

from htan_cds.imaging.synthetic import write_synthetic_he_tiff, write_synthetic_ome_tiff
from htan_cds.server import ServerConfig, create_app
from tests._servers import ServerProcess, start_server
from tests.conftest import SHARED
from tests.viewer._commons import GROUP, Entry, ViewerCommons, build_commons, object_id

MARKERS = ["DAPI", "CD45", "panCK", "aSMA", "CD8", "Ki67"]
CYCIF = [f"M{i:02d}" for i in range(44)]  # a 44-channel CyCIF-like panel
SHARED_IMAGES = (
    sorted(
        p.name
        for p in (SHARED / "data" / "images").glob("*")
        if p.suffix in (".tif", ".tiff", ".svs")
    )
    if (SHARED / "data" / "images").is_dir()
    else []
)


@pytest.fixture(scope="session")
def viewer_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic images of every layout the viewer must handle."""
    root = tmp_path_factory.mktemp("viewer-images")
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
    write_synthetic_ome_tiff(
        root / "cycif.ome.tif", width=1024, height=768, channel_names=CYCIF, seed=5
    )
    # No pyramid: tiled and compressed, and uncompressed strips (the bounded-cost paths).
    write_synthetic_ome_tiff(
        root / "flat.ome.tif",
        width=3000,
        height=2000,
        channel_names=MARKERS[:2],
        levels=1,
        seed=6,
    )
    write_striped_ome_tiff(root / "strips.ome.tif", width=2500, height=1800)
    (root / "cells.csv").write_text("cell,x,y\n1,2,3\n")
    return root


def write_striped_ome_tiff(path: Path, *, width: int, height: int) -> None:
    """An untiled, uncompressed 2-channel uint16 OME-TIFF in 16-row strips (no pyramid)."""
    yy, xx = np.mgrid[0:height, 0:width]
    data = np.stack(
        [(xx * 7 + yy * 3) % 4096, ((xx // 50 + yy // 50) % 2) * 3000 + yy % 97]
    ).astype(np.uint16)
    tifffile.imwrite(
        path,
        data,
        ome=True,
        rowsperstrip=16,
        metadata={"axes": "CYX", "Channel": {"Name": ["Ramp", "Checks"]}},
    )


def viewer_entries(images: Path) -> dict[str, Entry]:
    entries = {
        "mif": Entry(object_id(1), "HTA9_1_1_mif.ome.tif", images / "mif.ome.tif"),
        "pages": Entry(
            object_id(2), "HTA9_2_1_pages.ome.tif", images / "pages.ome.tif", "controlled", GROUP
        ),
        "he": Entry(object_id(3), "HTA9_1_2_he.ome.tif", images / "he.ome.tif"),
        "cycif": Entry(object_id(4), "HTA9_1_4_cycif.ome.tif", images / "cycif.ome.tif"),
        "flat": Entry(object_id(5), "HTA9_1_5_flat.ome.tif", images / "flat.ome.tif"),
        "strips": Entry(object_id(7), "HTA9_1_7_strips.ome.tif", images / "strips.ome.tif"),
        "table": Entry(object_id(6), "HTA9_1_1_cells.csv", images / "cells.csv"),
    }
    for n, name in enumerate(SHARED_IMAGES):
        entries[f"shared:{name}"] = Entry(
            object_id(100 + n), name, SHARED / "data" / "images" / name
        )
    return entries


@pytest.fixture(scope="session")
def viewer_commons(tmp_path_factory: pytest.TempPathFactory, viewer_images: Path) -> ViewerCommons:
    root = tmp_path_factory.mktemp("viewer-commons") / "home"
    return build_commons(root, viewer_entries(viewer_images))


@pytest.fixture(scope="session")
def client(viewer_commons: ViewerCommons) -> Iterator[TestClient]:
    app = create_app(ServerConfig(home=viewer_commons.home))
    with TestClient(app, base_url="http://127.0.0.1:8000") as tc:
        yield tc


@pytest.fixture(scope="session")
def live(viewer_commons: ViewerCommons) -> Iterator[ServerProcess]:
    with start_server(viewer_commons.home.root) as server:
        yield server
