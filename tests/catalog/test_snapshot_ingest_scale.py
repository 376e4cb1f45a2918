"""Parquet snapshots, ingest idempotence and the --scale metadata-only builder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.snapshot import MANIFEST_NAME, export_snapshot, import_snapshot
from htan_cds.catalog.sources.ingest import parse_access
from htan_cds.config import DataHome
from htan_cds.errors import CatalogError, UsageError
from tests.conftest import run_cli, shared_path


def test_snapshot_round_trip(small_catalog: Catalog, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    manifest = export_snapshot(small_catalog, snap)
    assert manifest["schema_version"] >= 1 and manifest["tables"]["files"] == 6
    assert json.loads((snap / MANIFEST_NAME).read_text())["files"]["files"]["sha256"]
    with pytest.raises(CatalogError, match="immutable"):
        export_snapshot(small_catalog, snap)
    other = Catalog.open(DataHome.open(tmp_path / "other"))
    import_snapshot(other, snap)
    a = small_catalog.find().drop(columns=["drs_uri"])
    b = other.find().drop(columns=["drs_uri"])
    assert a.to_dict("records").__repr__() == b.to_dict("records").__repr__()
    assert other.authority == "127.0.0.1:9999"
    assert other.facets() == small_catalog.facets()
    other.close()


def test_snapshot_refuses_damage(small_catalog: Catalog, tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    export_snapshot(small_catalog, snap)
    with (snap / "files.parquet").open("ab") as fh:
        fh.write(b"x")
    other = Catalog.open(DataHome.open(tmp_path / "other"))
    with pytest.raises(CatalogError, match="sha-256"):
        import_snapshot(other, snap)
    manifest = json.loads((snap / MANIFEST_NAME).read_text())
    manifest["schema_version"] = 999
    (snap / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(CatalogError, match="newer"):
        import_snapshot(other, snap)
    other.close()


def test_snapshot_cli(tmp_path: Path, small_catalog: Catalog) -> None:
    small_catalog.close()
    snap = tmp_path / "cli-snap"
    home = small_catalog.home.root
    assert run_cli("catalog", "export", str(snap), home=home).returncode == 0
    result = run_cli("catalog", "import", str(snap), "--json", home=tmp_path / "h2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"]["files"] == 6


def test_ingest_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    shutil.copy(shared_path("data", "images", "64x64.ome.tif"), src / "img.ome.tif")
    (src / "nested" / "features.csv").write_text("CellID,CD45\n1,2.5\n")
    (src / ".hidden").write_text("skip me")
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "Filename,HTAN Data File ID,HTAN Participant ID,HTAN Biospecimen ID,Level\n"
        "img.ome.tif,HTA7_1_5001,HTA7_1,HTA7_1_1,2\n"
    )
    home = tmp_path / "home"
    args = ("ingest", str(src), "--metadata", str(meta), "--center", "HMS", "--json")
    first = run_cli(*args, "--access", "controlled:phs002371", home=home)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert (out["files"], out["added"]) == (2, 2)
    second = json.loads(run_cli(*args, home=home).stdout)
    assert (second["added"], second["unchanged"]) == (0, 2)
    assert second["drs_uris"] == out["drs_uris"]
    # Same bytes touched (new mtime) are re-hashed but still not registered twice.
    (src / "nested" / "features.csv").write_text("CellID,CD45\n1,2.5\n")
    third = json.loads(run_cli(*args, home=home).stdout)
    assert third["added"] == 0
    with Catalog.open(DataHome.open(home), read_only=True) as catalog:
        assert catalog.count() == 2
        img = catalog.find(FileFilter(participant=["HTA7_1"]))
        assert img["HTAN_Data_File_ID"].tolist() == ["HTA7_1_5001"]
        assert img["level"].tolist() == ["Level 2"]
        assert img["consent_group"].tolist() == ["phs002371"]
        record = catalog.get_file(img["drs_id"][0])
        assert record is not None and record["imaging"]["SizeX"] == 64
        assert list(record["biospecimen_ids"]) == ["HTA7_1_1"]


def test_parse_access() -> None:
    assert parse_access("open") == ("open", None)
    assert parse_access("controlled:phs002371") == ("controlled", "phs002371")
    for bad in ("controlled", "closed", "controlled:"):
        with pytest.raises(UsageError):
            parse_access(bad)


def test_scale_metadata_only(tmp_path: Path) -> None:
    result = run_cli(
        "demo", "--no-serve", "--scale", "20000", "--metadata-only", "--json", home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"] == 20000
    with Catalog.open(DataHome.open(tmp_path), read_only=True) as catalog:
        facets = catalog.facets()
        assert sum(n for _, n in facets["center"]) == 20000
        assert catalog.find(FileFilter(center=["HMS"]), sort="size", limit=10).shape[0] == 10
        assert len(catalog.biospecimens()) > 0
