"""The Catalog API on a small hand-built catalog with known answers."""

from __future__ import annotations

import threading

import pytest

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.manifests import manifest_frame
from htan_cds.catalog.readonly import ReadOnlyViolation
from htan_cds.errors import CatalogError


def test_find_filters_and_computes_local_uris(small_catalog: Catalog) -> None:
    frame = small_catalog.find(FileFilter(center=["HMS"], level=["2"]))
    assert sorted(frame["drs_id"]) == ["dg.HCDS/a1", "dg.HCDS/a2"]
    assert set(frame["drs_uri"]) == {
        "drs://127.0.0.1:9999/dg.HCDS/a1",
        "drs://127.0.0.1:9999/dg.HCDS/a2",
    }
    required = {"drs_id", "drs_uri", "name", "size", "md5", "sha256", "HTAN_Data_File_ID"}
    assert required <= set(frame.columns)


def test_external_files_keep_their_uri(small_catalog: Catalog) -> None:
    frame = small_catalog.find(FileFilter(level=["Level 4"]))
    assert frame["drs_uri"].tolist() == ["drs://nci-crdc.datacommons.io/dg.4DFC/ext"]


def test_or_within_and_across_facets(small_catalog: Catalog) -> None:
    assert small_catalog.count(FileFilter(level=["2", "3"])) == 4
    assert small_catalog.count(FileFilter(level=["2", "3"], center=["HTAN OHSU"])) == 1
    assert small_catalog.count(FileFilter(access=["controlled"])) == 1
    assert small_catalog.count(FileFilter(biospecimen=["HTA9_2_2"])) == 1
    assert small_catalog.count(FileFilter(text=["fastq"])) == 1
    assert small_catalog.count(FileFilter(participant=["HTA7_1"])) == 3


def test_sort_and_pages(small_catalog: Catalog) -> None:
    first = small_catalog.find(sort="size", limit=2)
    assert first["size"].tolist() == [50, 100]
    second = small_catalog.find(sort="size", limit=2, offset=2)
    assert not set(first["drs_id"]) & set(second["drs_id"])
    assert small_catalog.find(sort="drs_id", descending=True, limit=1)["drs_id"][0] == (
        "dg.HCDS/b2"
    )
    with pytest.raises(CatalogError):
        small_catalog.find(sort="nope; DROP TABLE files")


def test_facets_ignore_their_own_selection(small_catalog: Catalog) -> None:
    facets = small_catalog.facets(FileFilter(center=["HTAN HMS"]))
    assert dict(facets["center"]) == {"HTAN HMS": 3, "HTAN OHSU": 3}
    assert dict(facets["level"]) == {"Level 2": 2, "Level 3": 1}
    assert dict(facets["access"]) == {"open": 3}
    unfiltered = small_catalog.facets()
    assert dict(unfiltered["access"]) == {"open": 5, "controlled": 1}
    assert unfiltered["center"][0] == ("HTAN HMS", 3) or unfiltered["center"][0][1] == 3


def test_summary_participants_biospecimens(small_catalog: Catalog) -> None:
    assert small_catalog.summary() == {
        "participants": 3,
        "samples": 3,
        "files": 6,
        "total_size": 550,
        "files_without_size": 0,
    }
    flt = FileFilter(center=["HTAN OHSU"])
    assert small_catalog.participants(flt)["HTAN_Participant_ID"].tolist() == [
        "HTA9_2",
        "HTA9_3",
    ]
    assert small_catalog.biospecimens(flt)["HTAN_Biospecimen_ID"].tolist() == [
        "HTA9_2_1",
        "HTA9_2_2",
    ]
    assert len(small_catalog.participants()) == 3


def test_get_file_with_imaging_and_ordered_channels(small_catalog: Catalog) -> None:
    record = small_catalog.get_file("dg.HCDS/a1")
    assert record is not None
    assert record["drs_uri"] == "drs://127.0.0.1:9999/dg.HCDS/a1"
    assert record["biospecimen_ids"] == ["HTA7_1_1"]
    assert record["imaging"]["SizeX"] == 512
    assert [c["Channel_Name"] for c in record["channels"]] == ["DNA_1", "CD45"]
    assert small_catalog.get_file("dg.HCDS/none") is None


def test_sql_reads_and_refuses_writes(small_catalog: Catalog) -> None:
    frame = small_catalog.sql("SELECT level, count(*) AS n FROM files GROUP BY level ORDER BY 1")
    assert frame["n"].sum() == 6
    uris = small_catalog.sql("WITH x AS (SELECT * FROM files_v) SELECT drs_uri FROM x")
    assert "drs://127.0.0.1:9999/dg.HCDS/b1" in uris["drs_uri"].tolist()
    for query in (
        "DELETE FROM files",
        "DROP TABLE files",
        "INSERT INTO files (drs_id, name) VALUES ('x', 'y')",
        "SELECT 1; DELETE FROM files",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "ATTACH '/tmp/x.db' AS x",
        "COPY files TO '/tmp/out.csv'",
        "SELECT getenv('HOME')",
        "PRAGMA version",
        "SET threads = 1",
        "SELECT * FROM information_schema.tables",
    ):
        with pytest.raises(ReadOnlyViolation):
            small_catalog.sql(query)
    assert small_catalog.count() == 6


def test_manifest_keeps_newest_release_per_file_id(small_catalog: Catalog) -> None:
    frame = manifest_frame(small_catalog, FileFilter(center=["HMS"]))
    by_id = dict(zip(frame["HTAN_Data_File_ID"], frame["drs_id"], strict=True))
    # Release 10.0 beats Release 3.0 (numeric, not string, comparison).
    assert by_id["HTA7_1_1001"] == "dg.HCDS/a2"
    assert frame.set_index("HTAN_Data_File_ID").loc["HTA7_1_1001", "n_uris"] == 2
    assert len(frame) == 2


def test_queries_from_threads(small_catalog: Catalog) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert small_catalog.count(FileFilter(center=["HMS"])) == 3
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_read_only_open_needs_a_catalog(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from htan_cds.config import DataHome

    with pytest.raises(CatalogError, match="no catalog"):
        Catalog.open(DataHome.open(tmp_path / "empty"), read_only=True)


def test_prepared_manifest_has_unique_safe_names(small_catalog: Catalog) -> None:
    from htan_cds.catalog.manifest_writer import prepare_manifest
    from htan_cds.catalog.manifests import manifest_table

    small_catalog.connection.execute(
        "UPDATE files SET name = 'plain.ome.tif' WHERE drs_id IN ('dg.HCDS/a3', 'dg.HCDS/b1')"
    )
    small_catalog.connection.execute("UPDATE files SET name = 'a/b' WHERE drs_id = 'dg.HCDS/b2'")
    prepared = prepare_manifest(manifest_table(small_catalog, FileFilter()), "htan-portal")
    names = [r.name for r in prepared.rows]
    assert len(set(names)) == len(names) == 5
    assert "/" not in "".join(names)
    assert {"plain.ome.tif", "plain_2.ome.tif"} <= set(names)
    assert {f.code for f in prepared.findings} >= {"name_duplicate", "name_unsafe"}
    assert all(r.drs_uri.startswith("drs://") for r in prepared.rows)
    assert {r.metadata["data_file_id"] for r in prepared.rows} >= {"HTA7_1_1001", "HTA9_3_1001"}


def test_find_narrow_columns(small_catalog: Catalog) -> None:
    frame = small_catalog.find(sort="size", limit=3, columns=["name", "size"])
    assert list(frame.columns) == ["drs_uri", "drs_id", "name", "size"]
    assert frame["size"].tolist() == [50, 100, 100]
    with pytest.raises(CatalogError):
        small_catalog.find(columns=["nope"])
