"""Fixtures of the catalog tests: a small hand-built catalog with known content."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from htan_cds.catalog import Catalog
from htan_cds.config import DataHome


def _file(drs_id: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "drs_id": drs_id,
        "name": f"{drs_id.split('/')[-1]}.ome.tif",
        "size": 100,
        "md5": "0" * 32,
        "access": "open",
        "created_time": datetime(2024, 1, 1),
    }
    row.update(values)
    return row


@pytest.fixture
def small_catalog(tmp_path: Path) -> Iterator[Catalog]:
    """Six files: two centers, levels 2–4, one controlled, one file id with two DRS objects."""
    home = DataHome.open(tmp_path / "home")
    catalog = Catalog.open(home)
    catalog.set_meta("drs_authority", "127.0.0.1:9999")
    hms = {"HTAN_Center": "HTAN HMS", "atlas_name": "HTAN HMS", "assay": "t-CyCIF"}
    ohsu = {"HTAN_Center": "HTAN OHSU", "atlas_name": "HTAN OHSU", "assay": "CyCIF"}
    catalog.insert_rows(
        "files",
        [
            _file(
                "dg.HCDS/a1",
                HTAN_Data_File_ID="HTA7_1_1001",
                level="Level 2",
                HTAN_Participant_ID="HTA7_1",
                biospecimen_ids=["HTA7_1_1"],
                Data_Release="Release 3.0",
                Tissue_or_Organ_of_Origin="Colon, NOS",
                **hms,
            ),
            _file(
                "dg.HCDS/a2",
                HTAN_Data_File_ID="HTA7_1_1001",
                level="Level 2",
                HTAN_Participant_ID="HTA7_1",
                biospecimen_ids=["HTA7_1_1"],
                Data_Release="Release 10.0",
                Tissue_or_Organ_of_Origin="Colon, NOS",
                **hms,
            ),
            _file(
                "dg.HCDS/a3",
                HTAN_Data_File_ID="HTA7_1_1002",
                level="Level 3",
                size=50,
                HTAN_Participant_ID="HTA7_1",
                biospecimen_ids=["HTA7_1_1"],
                Tissue_or_Organ_of_Origin="Colon, NOS",
                **hms,
            ),
            _file(
                "dg.HCDS/b1",
                HTAN_Data_File_ID="HTA9_2_1001",
                level="Level 2",
                HTAN_Participant_ID="HTA9_2",
                biospecimen_ids=["HTA9_2_1"],
                Tissue_or_Organ_of_Origin="Breast, NOS",
                **ohsu,
            ),
            _file(
                "dg.HCDS/b2",
                name="reads_R1.fastq.gz",
                HTAN_Data_File_ID="HTA9_2_1002",
                level="Level 1",
                HTAN_Participant_ID="HTA9_2",
                biospecimen_ids=["HTA9_2_2"],
                access="controlled",
                consent_group="phs002371",
                HTAN_Center="HTAN OHSU",
                assay="Bulk WES",
            ),
            _file(
                "dg.4DFC/ext",
                drs_host="nci-crdc.datacommons.io",
                drs_uri="drs://nci-crdc.datacommons.io/dg.4DFC/ext",
                HTAN_Data_File_ID="HTA9_3_1001",
                level="Level 4",
                HTAN_Participant_ID="HTA9_3",
                **ohsu,
            ),
        ],
    )
    catalog.insert_rows(
        "participants",
        [
            {"HTAN_Participant_ID": p, "HTAN_Center": c}
            for p, c in (("HTA7_1", "HTAN HMS"), ("HTA9_2", "HTAN OHSU"), ("HTA9_3", "HTAN OHSU"))
        ],
    )
    catalog.insert_rows(
        "biospecimens",
        [
            {"HTAN_Biospecimen_ID": b, "HTAN_Participant_ID": b.rsplit("_", 1)[0]}
            for b in ("HTA7_1_1", "HTA9_2_1", "HTA9_2_2")
        ],
    )
    catalog.insert_rows(
        "file_biospecimens",
        [
            {"drs_id": d, "HTAN_Biospecimen_ID": b}
            for d, b in (
                ("dg.HCDS/a1", "HTA7_1_1"),
                ("dg.HCDS/a2", "HTA7_1_1"),
                ("dg.HCDS/a3", "HTA7_1_1"),
                ("dg.HCDS/b1", "HTA9_2_1"),
                ("dg.HCDS/b2", "HTA9_2_2"),
            )
        ],
    )
    catalog.insert_rows("imaging", [{"drs_id": "dg.HCDS/a1", "SizeX": 512, "SizeC": 2}])
    catalog.insert_rows(
        "channels",
        [
            {"drs_id": "dg.HCDS/a1", "channel_index": 1, "Channel_Name": "CD45"},
            {"drs_id": "dg.HCDS/a1", "channel_index": 0, "Channel_Name": "DNA_1"},
        ],
    )
    yield catalog
    catalog.close()
