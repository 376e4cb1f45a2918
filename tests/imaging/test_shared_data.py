"""Every real image and OME-XML document in ../shared/data reads (or fails clearly)."""

from __future__ import annotations

from pathlib import Path

import pytest

from htan_cds.errors import ImagingError
from htan_cds.imaging.info import read_image_info
from htan_cds.imaging.ome import parse_ome_xml
from htan_cds.imaging.preview import render
from tests.conftest import run_cli, shared_path

# name -> (SizeX, SizeY, SizeC, pixel type, levels, layout, compression)
EXPECTED = {
    "2048x2048_ome6_tiled.ome.tif": (2048, 2048, 3, "uint16", 2, "subifd", "deflate"),
    "64x64.ome.tif": (64, 64, 4, "uint16", 1, "none", "none"),
    "viv-multi-channel.ome.tif": (439, 167, 3, "int8", 1, "none", "deflate"),
    "ome-types-2ch.ome.tiff": (6, 6, 2, "uint8", 1, "none", "none"),
    "CMU-1-Small-Region.svs": (2220, 2967, 3, "uint8", 1, "none", "jpeg"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shared_image_reads(name: str) -> None:
    path = shared_path("data", "images", name)
    info = read_image_info(path)
    size_x, size_y, size_c, pixel_type, levels, layout, compression = EXPECTED[name]
    assert (info.size_x, info.size_y, info.size_c) == (size_x, size_y, size_c)
    assert info.pixel_type == pixel_type
    assert len(info.levels) == levels
    assert info.pyramid_layout == layout
    assert info.compression == compression
    assert info.file_size == path.stat().st_size
    row = info.to_catalog_row("dg.HCDS/x")
    assert row["SizeX"] == size_x and row["PyramidLevels"] == levels
    assert row["Pyramid"] is (levels > 1)


def test_bioformats_pyramid_details() -> None:
    info = read_image_info(shared_path("data", "images", "2048x2048_ome6_tiled.ome.tif"))
    assert info.format == "ome-tiff"
    assert (info.tile_width, info.tile_height) == (1024, 1024)
    assert [(lv.width, lv.downsample) for lv in info.levels] == [(2048, 1.0), (1024, 2.0)]
    assert info.creator and "Bio-Formats" in info.creator
    assert not info.bigtiff


def test_svs_metadata_from_description() -> None:
    info = read_image_info(shared_path("data", "images", "CMU-1-Small-Region.svs"))
    assert info.format == "svs" and info.rgb
    assert info.physical_size_x == pytest.approx(0.499)
    assert info.physical_size_x_unit == "µm"
    assert info.nominal_magnification == 20
    assert info.microscope == "Aperio ScanScope CPAPERIOCS"
    assert (info.tile_width, info.tile_height) == (240, 240)


def test_markers_csv_joined_where_ome_has_no_names() -> None:
    images = shared_path("data", "images")
    bare = read_image_info(images / "64x64.ome.tif")
    assert all(c.name is None for c in bare.channels)
    info = read_image_info(images / "64x64.ome.tif", channels_csv=images / "markers.csv")
    assert [c.name for c in info.channels] == ["DAPI", "panCK", "S100", "Keratin"]
    assert info.channels[0].id == "Channel:0:0"  # OME ids kept
    assert not info.warnings
    rows = info.channel_rows("dg.HCDS/x")
    assert rows[1]["Channel_Name"] == "panCK" and rows[1]["channel_index"] == 1


def test_markers_csv_count_mismatch_is_a_warning() -> None:
    images = shared_path("data", "images")
    info = read_image_info(
        images / "viv-multi-channel.ome.tif", channels_csv=images / "markers.csv"
    )
    assert [c.name for c in info.channels] == ["DAPI", "panCK", "S100"]
    assert any("4 channel(s)" in w for w in info.warnings)


def _ome_documents() -> list[Path]:
    folder = shared_path("data", "ome-xml")
    return sorted(p for p in folder.glob("*.ome.xml") if p.name != "bad.ome.xml")


def test_every_valid_ome_xml_parses() -> None:
    docs = _ome_documents()
    assert len(docs) >= 40
    for doc in docs:
        ome = parse_ome_xml(doc.read_bytes(), source=doc.name)
        assert ome is not None, doc.name
        if ome.images:
            info = read_image_info(doc)
            assert info.size_x == ome.images[0].pixels.size_x


def test_old_schema_documents_are_upgraded() -> None:
    info = read_image_info(shared_path("data", "ome-xml", "seq0000xy01c1.ome.xml"))
    assert info.channels[0].name == "Mono"


def test_instrument_is_reported() -> None:
    info = read_image_info(shared_path("data", "ome-xml", "instrument.ome.xml"))
    assert info.objective and "60x" in info.objective
    assert info.nominal_magnification == 60
    assert info.to_catalog_row()["NominalMagnification"] == 60


def test_bad_ome_xml_is_a_clear_error() -> None:
    bad = shared_path("data", "ome-xml", "bad.ome.xml")
    with pytest.raises(ImagingError, match="Channel ID 'InvalidName' is malformed"):
        parse_ome_xml(bad.read_bytes(), source=bad.name)
    result = run_cli("info", str(bad))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "invalid OME-XML" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shared_image_previews(name: str) -> None:
    preview = render(shared_path("data", "images", name), max_size=256)
    assert max(preview.image.size) <= 256
    assert preview.image.mode == "RGB"
    extrema = preview.image.getextrema()
    if name != "ome-types-2ch.ome.tiff":  # that sample's pixels are all zero
        assert any(hi > lo for lo, hi in extrema), "preview is a flat colour"


def test_bioformats_preview_uses_the_reduced_level() -> None:
    preview = render(shared_path("data", "images", "2048x2048_ome6_tiled.ome.tif"), max_size=1000)
    assert preview.level == 1 and preview.image.size == (1000, 1000)
