"""A commons of images for the viewer tests: synthetic pyramids of every layout and the real
images of ../shared, open and controlled, in a data home built like ``htan-cds ingest`` does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from htan_cds.catalog.schema import migrate
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore

GROUP = "phs002371"


@dataclass
class Entry:
    """One object of the commons: its DRS id, file name, source file and access."""

    drs_id: str
    name: str
    path: Path
    access: str = "open"
    group: str | None = None
    file_id: str | None = None
    channel_csv: str | None = None


@dataclass
class ViewerCommons:
    home: DataHome
    entries: dict[str, Entry] = field(default_factory=dict)

    def id(self, role: str) -> str:
        return self.entries[role].drs_id


def object_id(n: int) -> str:
    return f"dg.HCDS/{uuid.UUID(int=0xC0FFEE_0000 + n)}"


def build_commons(
    root: Path, entries: dict[str, Entry], authority: str = "127.0.0.1:8000"
) -> ViewerCommons:
    """A data home whose catalog and local store hold ``entries`` (keyed by role)."""
    home = DataHome.open(root)
    store = LocalObjectStore(home.objects_dir)
    con = duckdb.connect(str(home.catalog_path))
    try:
        migrate(con)
        con.execute("INSERT INTO commons_meta VALUES ('drs_authority', ?)", [authority])
        for entry in entries.values():
            stored = store.put_file(entry.path)
            con.execute(
                "INSERT INTO files (drs_id, drs_host, name, size, md5, sha256, object_key, "
                "HTAN_Data_File_ID, access, consent_group, created_time, Filename, "
                "Channel_Metadata_Filename) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.drs_id,
                    entry.name,
                    stored.size,
                    stored.md5,
                    stored.sha256,
                    stored.key,
                    entry.file_id,
                    entry.access,
                    entry.group,
                    datetime(2024, 5, 1, 12, 0, 0),
                    f"imaging_level_2/{entry.name}",
                    entry.channel_csv,
                ],
            )
    finally:
        con.close()
    return ViewerCommons(home, entries)
