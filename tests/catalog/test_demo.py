"""The demo commons built by ``htan-cds demo --no-serve`` (the shared ``demo_home`` fixture)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from htan_cds.catalog import Catalog
from htan_cds.catalog.demo_data import (
    BIOSPECIMEN_ID_RE,
    DATA_FILE_ID_RE,
    PARTICIPANT_ID_RE,
)
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore


@pytest.fixture(scope="module")
def demo(demo_home: Path) -> Catalog:
    return Catalog.open(DataHome.open(demo_home), read_only=True)


def test_shape(demo: Catalog) -> None:
    summary = demo.summary()
    assert summary["participants"] == 40
    assert summary["samples"] == 120
    assert 250 <= summary["files"] <= 400
    facets = demo.facets()
    assert len(facets["center"]) >= 7
    assert {"HTAN HMS", "HTAN TNP SARDANA", "HTAN HTAPP"} <= {v for v, _ in facets["center"]}
    assert {"Level 1", "Level 2", "Level 3", "Level 4"} <= {v for v, _ in facets["level"]}
    assert len(facets["assay"]) >= 6
    assert len(facets["organ"]) >= 4
    assert dict(facets["access"])["controlled"] > 0


def test_ids_follow_htan_patterns(demo: Catalog) -> None:
    participants = demo.participants()["HTAN_Participant_ID"]
    assert all(PARTICIPANT_ID_RE.match(p) for p in participants)
    biospecimens = demo.biospecimens()["HTAN_Biospecimen_ID"]
    assert len(biospecimens) == 120
    assert all(BIOSPECIMEN_ID_RE.match(b) for b in biospecimens)
    files = demo.find()
    assert files["HTAN_Data_File_ID"].is_unique
    assert all(DATA_FILE_ID_RE.match(f) for f in files["HTAN_Data_File_ID"])
    assert all(d.startswith("dg.HCDS/") for d in files["drs_id"])
    # Every file's biospecimen belongs to its participant.
    for pid, bios in zip(files["HTAN_Participant_ID"], files["biospecimen_ids"], strict=True):
        assert all(b.startswith(pid + "_") for b in bios)


def test_controlled_files_have_consent_group(demo: Catalog) -> None:
    files = demo.find()
    controlled = files[files["access"] == "controlled"]
    assert len(controlled) > 0
    assert set(controlled["consent_group"]) == {"phs002371"}
    assert files[files["access"] == "open"]["consent_group"].isna().all()


def test_every_file_has_its_bytes(demo: Catalog, demo_home: Path) -> None:
    store = LocalObjectStore(DataHome.open(demo_home).objects_dir)
    for row in demo.find().itertuples():
        with store.open(row.object_key) as fh:
            data = fh.read()
        assert len(data) == row.size
        assert hashlib.sha256(data).hexdigest() == row.sha256 == row.object_key
        assert hashlib.md5(data, usedforsecurity=False).hexdigest() == row.md5


def test_images_are_pyramidal_ome_tiffs_with_catalog_metadata(demo: Catalog) -> None:
    import tifffile

    images = demo.find()
    images = images[(images["level"] == "Level 2") & (images["File_Format"] == "OME-TIFF")]
    assert len(images) >= 40
    row = images.iloc[0]
    record = demo.get_file(row["drs_id"])
    assert record is not None
    assert record["imaging"]["SizeX"] > 0
    assert record["imaging"]["SizeC"] == len(record["channels"])
    path = LocalObjectStore(demo.home.objects_dir).path_for(row["object_key"])
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        page = tif.series[0]
        assert len(page.levels) >= 2
        assert page.shape[-1] == record["imaging"]["SizeX"]


def test_demo_authority(demo: Catalog) -> None:
    assert demo.authority.startswith("127.0.0.1:")
    assert demo.find(limit=1)["drs_uri"][0].startswith(f"drs://{demo.authority}/dg.HCDS/")


def _content(home: Path) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    """(drs_id, name, size, md5, sha256) of every catalog file, and md5 of every stored object."""
    with Catalog.open(DataHome.open(home), read_only=True) as catalog:
        rows = catalog.sql("SELECT drs_id, name, size, md5, sha256 FROM files ORDER BY drs_id")
    objects = {
        str(p.relative_to(home)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted((home / "objects").rglob("*"))
        if p.is_file()
    }
    return [tuple(r) for r in rows.itertuples(index=False)], objects


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    """Rebuilding the demo must not change the bytes behind a DRS id (a re-import would then
    "skip" a stale file as identical); tifffile's time-based OME UUID used to do that."""
    from htan_cds.catalog.demo import build_demo, plan_demo

    homes = [tmp_path / "first", tmp_path / "second"]
    for home in homes:
        build_demo(DataHome.open(home), seed=0, image_size=128, workers=2)
    first, second = (_content(h) for h in homes)
    assert first[0] == second[0]  # DRS ids, names, sizes and checksums
    assert first[1] == second[1]  # the stored bytes themselves
    assert len(first[0]) > 250 and len(first[1]) > 200
    other_ids = {f.row["drs_id"] for f in plan_demo(seed=1, image_size=128).files}
    assert {r[0] for r in first[0]}.isdisjoint(other_ids)  # the seed does matter
