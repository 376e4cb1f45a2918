"""A small commons holding real images (open and controlled), built directly like the server's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from htan_cds.catalog.schema import migrate
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore

GROUP = "phs002371"
# (Channel Name, Target Name, Antibody Name) of mif.ome.tif's channel metadata CSV.
PANEL = [
    ("DAPI", "DNA", ""),
    ("CD45", "PTPRC", "D9M8I"),
    ("panCK", "KRT", "AE1/AE3"),
    ("aSMA", "ACTA2", "1A4"),
    ("CD8", "CD8A", "C8/144B"),
    ("Ki67", "MKI67", "D3B5"),
]


@dataclass
class ImageCommons:
    """The home and the ids of its objects by role."""

    home: DataHome
    open_image: str
    controlled_image: str
    he_image: str
    table: str
    broken_image: str


def _id(n: int) -> str:
    return f"dg.HCDS/{uuid.UUID(int=0xFEED_0000 + n)}"


def build_image_commons(root: Path, images: Path) -> ImageCommons:
    """A data home whose store holds ``images``' mif, H&E and a controlled copy, plus a CSV."""
    home = DataHome.open(root)
    store = LocalObjectStore(home.objects_dir)
    broken = root.parent / "broken.ome.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 64)
    table = root.parent / "cells.csv"
    table.write_text("cell,x,y\n1,2,3\n")
    channel_csv = root.parent / "mif_channels.csv"
    channel_csv.write_text(
        "Channel ID,Channel Name,Target Name,Antibody Name,Cycle Number\n"
        + "".join(f"Channel:0:{i},{n},{t},{a},{i // 4 + 1}\n" for i, (n, t, a) in enumerate(PANEL))
    )
    rows = [
        (_id(1), "HTA9_1_1_mif.ome.tif", images / "mif.ome.tif", "open", None),
        (_id(2), "HTA9_2_1_secret.ome.tif", images / "pages.ome.tif", "controlled", GROUP),
        (_id(3), "HTA9_1_2_he.ome.tif", images / "he.ome.tif", "open", None),
        (_id(4), "HTA9_1_1_cells.csv", table, "open", None),
        (_id(5), "HTA9_1_3_broken.ome.tif", broken, "open", None),
        (_id(6), "HTA9_1_1_mif_channels.csv", channel_csv, "open", None),
    ]
    con = duckdb.connect(str(home.catalog_path))
    try:
        migrate(con)
        con.execute("INSERT INTO commons_meta VALUES ('drs_authority', '127.0.0.1:8000')")
        for i, (drs_id, name, path, access, group) in enumerate(rows):
            stored = store.put_file(path)
            con.execute(
                "INSERT INTO files (drs_id, drs_host, name, size, md5, sha256, object_key, "
                "HTAN_Data_File_ID, access, consent_group, created_time, Filename, "
                "Channel_Metadata_Filename) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    drs_id,
                    name,
                    stored.size,
                    stored.md5,
                    stored.sha256,
                    stored.key,
                    f"HTA9_1_{i}",
                    access,
                    group,
                    datetime(2024, 5, 1, 12, 0, 0),
                    f"imaging_level_2/{name}",
                    "imaging_level_2/HTA9_1_1_mif_channels.csv" if i == 0 else None,
                ],
            )
    finally:
        con.close()
    return ImageCommons(home, _id(1), _id(2), _id(3), _id(4), _id(5))
