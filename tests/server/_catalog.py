"""A small commons built directly (schema + rows + bytes), independent of ``htan-cds demo``."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from htan_cds.catalog.schema import migrate
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore

CONTROLLED_GROUP = "phs002371"
AUTHORITY = "127.0.0.1:8000"


@dataclass
class SampleFile:
    """One file of the test commons: its id, name and bytes."""

    drs_id: str
    name: str
    data: bytes
    access: str = "open"
    group: str | None = None
    biospecimen: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


@dataclass
class SampleCommons:
    """What the fixture built: the home and the files by role."""

    home: DataHome
    files: list[SampleFile] = field(default_factory=list)

    @property
    def open(self) -> list[SampleFile]:
        return [f for f in self.files if f.access == "open"]

    @property
    def controlled(self) -> list[SampleFile]:
        return [f for f in self.files if f.access != "open"]


def _id(n: int) -> str:
    return f"dg.HCDS/{uuid.UUID(int=0x1234_0000 + n)}"


def build_commons(root: Path, *, big_bytes: int = 3 * 1024 * 1024) -> SampleCommons:
    """Create a data home with 6 open files (one ``big_bytes`` long) and 2 controlled ones."""
    home = DataHome.open(root)
    store = LocalObjectStore(home.objects_dir)
    files = [
        SampleFile(
            _id(1),
            "HTA9_1_1_level2.ome.tif",
            b"II*\x00" + bytes(range(256)) * 64,
            biospecimen="HTA9_1_1",
        ),
        SampleFile(_id(2), "HTA9_1_1_level3.csv", b"cell,x,y\n1,2,3\n", biospecimen="HTA9_1_1"),
        SampleFile(
            _id(3), "HTA9_1_2 image (a).ome.tif", b"second image " * 1000, biospecimen="HTA9_1_2"
        ),
        SampleFile(_id(4), "empty.txt", b""),
        SampleFile(_id(5), "big.bin", hashlib.sha256(b"seed").digest() * (big_bytes // 32)),
        SampleFile("plain-id-6", "plain.txt", b"plain id without slash\n", biospecimen="HTA9_1_3"),
        SampleFile(
            _id(7),
            "secret_level2.ome.tif",
            b"controlled bytes " * 100,
            "controlled",
            CONTROLLED_GROUP,
            biospecimen="HTA9_2_1",
        ),
        SampleFile(_id(8), "other_study.tif", b"other study", "controlled", "phs000999.c1"),
    ]
    con = duckdb.connect(str(home.catalog_path))
    try:
        migrate(con)
        con.execute("INSERT INTO commons_meta VALUES ('drs_authority', ?)", [AUTHORITY])
        for i, f in enumerate(files):
            stored = store.put_stream(__import__("io").BytesIO(f.data))
            assert stored.sha256 == f.sha256
            con.execute(
                "INSERT INTO files (drs_id, drs_host, name, size, md5, sha256, object_key, "
                "mime_type, HTAN_Data_File_ID, biospecimen_ids, access, consent_group, "
                "created_time, HTAN_Center) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    f.drs_id,
                    f.name,
                    len(f.data),
                    f.md5,
                    f.sha256,
                    stored.key,
                    "image/tiff" if f.name.endswith(".tif") else None,
                    f"HTA9_1_{i}",
                    [f.biospecimen] if f.biospecimen else [],
                    f.access,
                    f.group,
                    datetime(2024, 5, 1, 12, 0, 0),
                    "HTAN TNP SARDANA",
                ],
            )
        # A row served by another commons (CRDC): never answered by this server.
        con.execute(
            "INSERT INTO files (drs_id, drs_host, name, size, access) VALUES "
            "('dg.4DFC/00000000-0000-0000-0000-000000000001', 'nci-crdc.datacommons.io', "
            "'remote.tif', 10, 'open')"
        )
    finally:
        con.close()
    return SampleCommons(home=home, files=files)
