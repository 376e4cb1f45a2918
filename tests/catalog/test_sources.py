"""Builders: the BigQuery path (stand-in client, real ISB-CGC rows) and exported table files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.queries import ROLE_COLUMNS, Release
from htan_cds.catalog.sources.bigquery import bigquery_sql, build_from_bigquery
from htan_cds.catalog.sources.files import build_from_files, detect_role
from htan_cds.config import DataHome
from htan_cds.errors import UsageError
from tests.catalog.bigquery_standin import BigQueryStandIn
from tests.conftest import run_cli, shared_path

MANIFESTS = ("data", "manifests")


def _csv(path: Path) -> str:
    return f"SELECT * FROM read_csv('{path}', all_varchar=true)"


def _fixture_tables(bq: BigQueryStandIn, dataset: str, suffix: str, drs_map: str) -> None:
    """ISB-CGC tables: real shared rows where they exist, small fixtures for the rest."""
    m = shared_path(*MANIFESTS)
    imaging_rows = m / (
        "isb-cgc_imaging_level2_metadata_current_rows.csv"
        if suffix == "current"
        else "isb-cgc_imaging_level2_metadata_r5_rows.csv"
    )
    map_rows = m / (
        "isb-cgc_gc_drs_map_current_head100.csv"
        if suffix == "current"
        else "isb-cgc_cds_drs_map_r5_head100.csv"
    )
    imaging_manifest = m / "isb-cgc_cds_imaging_manifest_full_uri.csv"
    # The real DRS map holds the imaging files too; the shared head rows do not, so the
    # imaging manifest's rows (name + drs_uri) are added, matched to imaging rows by name.
    bq.add_table(
        f"isb-cgc-bq.{dataset}.{drs_map}_{suffix}",
        f"{_csv(map_rows)} UNION ALL BY NAME {_csv(imaging_manifest)}",
    )
    bq.add_table(f"isb-cgc-bq.{dataset}.imaging_level2_metadata_{suffix}", _csv(imaging_rows))
    bq.ensure_columns(
        f"isb-cgc-bq.{dataset}.imaging_level2_metadata_{suffix}",
        {c: "VARCHAR" for c in ROLE_COLUMNS["imaging"]},
    )
    local = bq.tables[f"isb-cgc-bq.{dataset}.imaging_level2_metadata_{suffix}"]
    bq.con.execute(
        f"UPDATE {local} SET Channel_Metadata_Filename = 'WD-76845-002_channels.csv', "
        "Imaging_Assay_Type = 't-CyCIF', SizeX = '1024', SizeC = '1' "
        "WHERE Filename = 'imaging_level_2/WD-76845-002.ome.tif'"
    )
    bq.add_table(
        f"isb-cgc-bq.{dataset}.id_provenance_{suffix}",
        """SELECT * FROM (VALUES
            ('HTA3_70005_3600639', 'scrna/a.fastq.gz', 'syn53283905', 'ScRNA-seqLevel1',
             'Release 5.0', 'HTAN BU', 'HTA3_70005_1', NULL, 'HTA3_70005'),
            ('HTA7_1_1453', 'bulk/S1.bam', 'syn26546212', 'BulkWESLevel2',
             'Release 3.0', 'HTAN HMS', 'HTA7_1_2', NULL, 'HTA7_1')
        ) t(HTAN_Data_File_ID, Filename, entityId, Component, Data_Release, HTAN_Center,
            HTAN_Assayed_Biospecimen_ID, HTAN_Parent_Data_File_ID, HTAN_Participant_ID)""",
    )
    bq.add_table(
        f"isb-cgc-bq.{dataset}.imaging_channel_metadata_{suffix}",
        """SELECT 'WD-76845-002_channels.csv' AS Channel_Metadata_Filename, 2 AS lineNum,
              [{'attributeName': 'Channel Name', 'attributeValue': 'DNA_1'},
               {'attributeName': 'Target Name', 'attributeValue': 'DNA'}] AS channel_attributes""",
    )
    bq.add_table(
        f"isb-cgc-bq.{dataset}.biospecimen_{suffix}",
        "SELECT 'HTA3_70005_1' AS HTAN_Biospecimen_ID, 'HTA3_70005' AS HTAN_Parent_ID, "
        "'Tissue' AS Biospecimen_Type, 'FFPE' AS Preservation_Method, 'HTAN BU' AS HTAN_Center",
    )
    bq.add_table(
        f"isb-cgc-bq.{dataset}.clinical_tier1_demographics_{suffix}",
        "SELECT 'HTA3_70005' AS HTAN_Participant_ID, 'female' AS Gender, 'white' AS Race, "
        "'not reported' AS Ethnicity, 'Alive' AS Vital_Status",
    )
    bq.add_table(
        f"isb-cgc-bq.{dataset}.clinical_tier1_diagnosis_{suffix}",
        "SELECT 'HTA3_70005' AS HTAN_Participant_ID, 'Lung, NOS' AS Tissue_or_Organ_of_Origin, "
        "'Squamous cell carcinoma in situ, NOS' AS Primary_Diagnosis, '21900' AS Age_at_Diagnosis",
    )


def test_bigquery_sql_is_bigquery_and_names_real_tables() -> None:
    current = bigquery_sql("current")
    assert "`isb-cgc-bq.HTAN.gc_drs_map_current`" in current["files"]
    assert "`isb-cgc-bq.HTAN.id_provenance_current`" in current["files"]
    r5 = bigquery_sql("r5")
    assert "`isb-cgc-bq.HTAN_versioned.cds_drs_map_r5`" in r5["files"]
    assert "gc_drs_map_r6" in bigquery_sql("r6")["files"]
    for sql in (*current.values(), *r5.values()):
        sqlglot.parse_one(sql, read="bigquery")  # valid BigQuery syntax
    with pytest.raises(UsageError):
        Release.parse("release-5")


def test_bigquery_build_current_on_real_rows(tmp_path: Path) -> None:
    bq = BigQueryStandIn()
    _fixture_tables(bq, "HTAN", "current", "gc_drs_map")
    home = DataHome.open(tmp_path / "home")
    result = build_from_bigquery(home, billing_project="stand-in", client=bq)
    assert len(bq.queries) == 5
    # 100 real map rows + 30 imaging manifest rows, one catalog file per DRS object.
    assert result["files"] == 130
    with Catalog.open(home, read_only=True) as catalog:
        files = catalog.find()
        # Compact dg.4DFC ids from gc_drs_map become CRDC hostname URIs.
        assert files["drs_uri"].str.startswith("drs://nci-crdc.datacommons.io/dg.4DFC/").all()
        # One HTAN Data File ID with two DRS ids in the real rows stays two files.
        counts = files["HTAN_Data_File_ID"].value_counts()
        assert counts["HTA3_70005_3600639"] == 2
        row = files[files["HTAN_Data_File_ID"] == "HTA3_70005_3600639"].iloc[0]
        assert row["level"] == "Level 1" and row["access"] == "controlled"
        assert row["consent_group"] == "phs002371"
        assert list(row["biospecimen_ids"]) == ["HTA3_70005_1"]
        assert row["Tissue_or_Organ_of_Origin"] == "Lung, NOS"
        sardana = catalog.find(FileFilter(center=["HTAN TNP SARDANA"], level=["2"]))
        assert len(sardana) == 30
        assert set(sardana["Data_Release"]) == {"Release 2.0"} or len(sardana) == 30
        record = catalog.get_file(
            sardana[sardana["name"] == "WD-76845-002.ome.tif"]["drs_id"].iloc[0]
        )
        assert record is not None and record["imaging"]["SizeX"] == 1024
        assert record["assay"] == "t-CyCIF"
        assert [(c["Channel_Name"], c["Target"]) for c in record["channels"]] == [("DNA_1", "DNA")]
        participant = catalog.participants(FileFilter(participant=["HTA3_70005"]))
        assert participant["Age_at_Diagnosis_years"].iloc[0] == 59


def test_bigquery_build_r5_uses_cds_naming(tmp_path: Path) -> None:
    bq = BigQueryStandIn()
    _fixture_tables(bq, "HTAN_versioned", "r5", "cds_drs_map")
    home = DataHome.open(tmp_path / "home")
    result = build_from_bigquery(home, billing_project="stand-in", release="r5", client=bq)
    assert result["files"] == 130
    with Catalog.open(home, read_only=True) as catalog:
        assert catalog.get_meta("release") == "r5"
        files = catalog.find(FileFilter(text=["S1.bam"]))
        assert files["drs_uri"].iloc[0].startswith("drs://nci-crdc.datacommons.io/dg.4DFC/")
        assert files["HTAN_Participant_ID"].iloc[0] == "HTA7_1"


def test_bigquery_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    try:
        import google.cloud.bigquery  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("google-cloud-bigquery is installed")
    result = run_cli(
        "catalog", "build", "--from-bigquery", "--billing-project", "p", home=tmp_path / "h"
    )
    assert result.returncode == 2
    assert "google-cloud-bigquery" in result.stderr and "Traceback" not in result.stderr


def test_build_from_shared_files_and_portal_json(tmp_path: Path) -> None:
    m = shared_path(*MANIFESTS)
    portal = tmp_path / "crdcgc_drs_mapping.json"
    # The portal's asset is BigQuery's NEWLINE_DELIMITED_JSON export of the mapping table.
    portal.write_text(
        "\n".join(
            json.dumps({"name": n, "entityId": e, "HTAN_Data_File_ID": f, "drs_uri": u})
            for n, e, f, u in (
                ("x.ome.tif", "syn1", "HTA9_1_19512", "drs://nci-crdc.datacommons.io/dg.4DFC/a"),
                ("y.ome.tif", "syn2", "HTA9_1_19513", "dg.4DFC/b"),
            )
        )
        + "\n"
    )
    home = tmp_path / "home"
    result = run_cli(
        "catalog",
        "build",
        "--from-files",
        str(m / "isb-cgc_gc_drs_map_current_head100.csv"),
        "--from-files",
        str(m / "isb-cgc_imaging_level2_metadata_current_rows.csv"),
        "--from-files",
        str(m / "isb-cgc_cds_imaging_manifest_full_uri.csv"),
        "--from-files",
        str(portal),
        "--json",
        home=home,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"] == 132
    with Catalog.open(DataHome.open(home), read_only=True) as catalog:
        assert catalog.count(FileFilter(center=["HTAN TNP SARDANA"])) == 30
        assert catalog.count(FileFilter(participant=["HTA9_1"])) == 2


def test_detect_role_and_unknown_files(tmp_path: Path) -> None:
    assert detect_role(["name", "drs_uri"]) == "drs_map"
    assert detect_role(["entityId", "Data_Release", "CDS_Release", "Filename"]) == "imaging"
    assert detect_role(["HTAN_Assayed_Biospecimen_ID", "HTAN_Data_File_ID"]) == "provenance"
    assert detect_role(["foo"]) is None
    odd = tmp_path / "odd.csv"
    odd.write_text("foo,bar\n1,2\n")
    with pytest.raises(UsageError, match="cannot tell"):
        build_from_files(DataHome.open(tmp_path / "h"), [odd])
