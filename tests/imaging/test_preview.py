"""Preview rendering: level choice, channel selection, colours, contrast, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from htan_cds.errors import ImagingError
from htan_cds.imaging.info import read_image_info
from htan_cds.imaging.model import Channel, ImageInfo, Level
from htan_cds.imaging.preview import choose_level, composite, render, select_channels
from tests.conftest import run_cli, shared_path
from tests.imaging.conftest import MARKERS


def _info(widths: list[int]) -> ImageInfo:
    return ImageInfo(
        source="x",
        format="ome-tiff",
        size_x=widths[0],
        size_y=widths[0],
        size_c=3,
        channels=[Channel(0, name="DAPI"), Channel(1, name="CD3", target="CD3e"), Channel(2)],
        levels=[Level(i, w, w, widths[0] / w) for i, w in enumerate(widths)],
    )


def test_choose_level_is_smallest_covering_the_size() -> None:
    info = _info([8192, 4096, 2048, 1024, 512])
    assert choose_level(info, 1024) == 3
    assert choose_level(info, 1000) == 3
    assert choose_level(info, 1025) == 2
    assert choose_level(info, 100) == 4
    assert choose_level(info, 10_000) == 0


def test_select_channels_by_name_target_index() -> None:
    info = _info([100])
    assert [c.index for c in select_channels(info, None)] == [0, 1, 2]
    assert [c.index for c in select_channels(info, ["cd3e", "dapi", "2"])] == [1, 0, 2]
    with pytest.raises(ImagingError, match=r"no channel 'CD8'.*DAPI, CD3, Channel 2"):
        select_channels(info, ["CD8"])


def test_composite_is_additive_and_robust_to_outliers() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(100, 200, (64, 64)).astype(np.uint16)
    a[0, 0] = 65535  # one hot pixel must not crush the contrast
    b = np.zeros((64, 64), np.uint16)
    b[:, 32:] = 1000
    out = composite([a, b], [(0, 0, 255), (255, 0, 0)])
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert out[..., 2].mean() > 100  # blue spread over its range despite the outlier
    assert out[:, :32, 0].max() == 0 and out[:, 32:, 0].min() == 255
    assert out[..., 1].max() == 0


def test_preview_colours_follow_ome_colours(images: Path) -> None:
    # The synthetic writer gives DAPI blue and CD45 green in the OME-XML.
    preview = render(images / "mif.ome.tif", channels=["DAPI"], max_size=128)
    pixels = np.asarray(preview.image)
    assert pixels[..., 2].max() > 200 and pixels[..., 0].max() == 0
    preview = render(images / "mif.ome.tif", channels=["CD45"], max_size=128)
    pixels = np.asarray(preview.image)
    assert pixels[..., 1].max() > 200 and pixels[..., 2].max() == 0


def test_preview_uses_smallest_sufficient_level(images: Path) -> None:
    info = read_image_info(images / "mif.ome.tif")
    assert [lv.width for lv in info.levels] == [1536, 768, 384, 192]
    preview = render(images / "mif.ome.tif", max_size=300)
    assert preview.level == 2 and preview.image.size == (300, 250)
    assert [c.name for c in preview.channels] == MARKERS[:4]  # default: the first four


def test_channels_csv_names_usable_in_preview(tmp_path: Path) -> None:
    images = shared_path("data", "images")
    out = tmp_path / "p.png"
    result = run_cli(
        "preview",
        str(images / "64x64.ome.tif"),
        "-o",
        str(out),
        "--channels",
        "panCK,Keratin",
        "--channels-csv",
        str(images / "markers.csv"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["channels"] == ["panCK", "Keratin"]
    assert Image.open(out).size == (64, 64)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    result = run_cli("preview", str(tmp_path / "missing.tif"), "-o", str(tmp_path / "o.png"))
    assert result.returncode == 2 and "no such file" in result.stderr
    assert "Traceback" not in result.stderr
    text = tmp_path / "not.tif"
    text.write_text("hello")
    result = run_cli("info", str(text))
    assert result.returncode == 2 and "not a readable TIFF" in result.stderr


@pytest.mark.parametrize("command", ["info", "preview"])
def test_a_folder_is_named_as_a_folder(tmp_path: Path, command: str) -> None:
    """Pointing at the folder an import wrote is a first mistake; the error says what it is."""
    extra = ["-o", str(tmp_path / "o.png")] if command == "preview" else []
    result = run_cli(command, str(tmp_path), *extra)
    assert result.returncode == 2, result.stderr
    assert "is a directory" in result.stderr and "no such file" not in result.stderr
    assert "Traceback" not in result.stderr


def test_open_array_names_a_folder(tmp_path: Path) -> None:
    from htan_cds.imaging import open_array

    with pytest.raises(ImagingError, match="is a directory"):
        open_array(str(tmp_path))


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    """``python -m htan_cds`` is the CLI, exit code included."""
    result = subprocess.run(
        [sys.executable, "-m", "htan_cds", "info", str(tmp_path / "missing.tif")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "no such file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_info_human_output() -> None:
    result = run_cli("info", str(shared_path("data", "images", "2048x2048_ome6_tiled.ome.tif")))
    assert result.returncode == 0, result.stderr
    assert "2 level(s), subifd: 2048x2048, 1024x1024" in result.stdout
    assert "1024x1024" in result.stdout and "deflate" in result.stdout


def test_z_stack_previews_middle_plane_and_bigtiff_is_reported(tmp_path: Path) -> None:
    """A TZCYX BigTIFF (no pyramid) goes through the zarr path; Z picks the middle plane."""
    import tifffile

    data = np.zeros((2, 5, 2, 64, 80), np.uint16)
    for z in range(5):
        data[0, z, :, 10 * z : 10 * z + 10, :] = 1000  # a band that moves with Z
    path = tmp_path / "stack.ome.tif"
    tifffile.imwrite(
        path, data, bigtiff=True, metadata={"axes": "TZCYX", "Channel": {"Name": ["A", "B"]}}
    )
    info = read_image_info(path)
    assert info.bigtiff and (info.size_t, info.size_z, info.size_c) == (2, 5, 2)
    preview = render(path, channels=["A"], max_size=80)
    pixels = np.asarray(preview.image).max(axis=2)
    assert pixels[20:30].min() > 200 and pixels[:20].max() == 0  # z = 2: rows 20..29
