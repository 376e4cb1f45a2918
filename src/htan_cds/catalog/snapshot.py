"""Versioned Parquet snapshots of the catalog: ``manifest.json`` plus one Parquet file per table.

A snapshot is immutable: a replica or a colleague imports the same index. The manifest records
the schema version, row counts and each file's sha-256 so an import can refuse a damaged or
newer-schema snapshot instead of loading half of it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from htan_cds import __version__
from htan_cds.catalog.schema import CURRENT_SCHEMA_VERSION
from htan_cds.catalog.store import TABLES, Catalog
from htan_cds.errors import CatalogError

SNAPSHOT_FORMAT = "htan-cds-catalog-snapshot"
SNAPSHOT_FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_snapshot(catalog: Catalog, directory: Path) -> dict[str, Any]:
    """Write every catalog table to ``directory`` as Parquet; return the manifest written.
    :class:`CatalogError` when ``directory`` is a file or cannot be made."""
    if directory.exists() and not directory.is_dir():
        raise CatalogError(f"{directory} is a file, not a folder", hint="give a folder name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create folder {directory}: {exc.strerror or exc}") from None
    if (directory / MANIFEST_NAME).exists():
        raise CatalogError(f"{directory} already holds a snapshot; snapshots are immutable")
    tables: dict[str, int] = {}
    files: dict[str, dict[str, Any]] = {}
    with catalog.cursor() as cur:
        for table in TABLES:
            path = directory / f"{table}.parquet"
            cur.execute(
                f"COPY (SELECT * FROM {table}) TO {_literal(path)} "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
            tables[table] = int(row[0]) if row else 0
            files[table] = {"path": path.name, "sha256": _sha256(path), "rows": tables[table]}
    manifest = {
        "format": SNAPSHOT_FORMAT,
        "format_version": SNAPSHOT_FORMAT_VERSION,
        "schema_version": CURRENT_SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "htan_cds_version": __version__,
        "tables": tables,
        "files": files,
    }
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    """The snapshot's manifest, checked for format and schema version."""
    path = directory / MANIFEST_NAME
    if directory.exists() and not directory.is_dir():
        raise CatalogError(
            f"{directory} is a file, not a catalog snapshot",
            hint="give the folder `htan-cds catalog export` wrote",
        )
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CatalogError(f"{directory} is not a catalog snapshot (no {MANIFEST_NAME})") from exc
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != SNAPSHOT_FORMAT:
        raise CatalogError(f"{path} is not a {SNAPSHOT_FORMAT} manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > CURRENT_SCHEMA_VERSION:
        raise CatalogError(
            f"snapshot schema version {version} is newer than this htan-cds "
            f"({CURRENT_SCHEMA_VERSION})",
            hint="upgrade htan-cds",
        )
    return manifest


def import_snapshot(catalog: Catalog, directory: Path, verify: bool = True) -> dict[str, Any]:
    """Replace the catalog's rows with the snapshot in ``directory`` (one transaction)."""
    manifest = read_manifest(directory)
    entries: dict[str, dict[str, Any]] = manifest.get("files", {})
    for table, entry in entries.items():
        if table not in TABLES:
            raise CatalogError(f"snapshot names unknown table {table!r}")
        path = directory / str(entry["path"])
        if not path.is_file():
            raise CatalogError(f"snapshot file missing: {path}")
        if verify and _sha256(path) != entry.get("sha256"):
            raise CatalogError(f"snapshot file {path} does not match its recorded sha-256")
    con = catalog.connection
    con.execute("BEGIN TRANSACTION")
    try:
        for table in TABLES:
            con.execute(f"DELETE FROM {table}")
            listed = entries.get(table)
            if listed is None:
                continue
            path = directory / str(listed["path"])
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet({_literal(path)})")
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        raise CatalogError(f"cannot import snapshot {directory}: {exc}") from exc
    catalog.refresh_derived()
    return manifest
