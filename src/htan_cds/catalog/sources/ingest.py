"""``htan-cds ingest``: register local files in the catalog and the object store.

Checksums are computed once, while the bytes are copied into the content-addressed store; a
file whose path, size and mtime are unchanged since the last ingest is not read again.
Re-ingesting the same bytes under the same name is idempotent (no new DRS id). OME-TIFF
metadata and channels are read through the imaging area's ``read_image_info``.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from htan_cds.catalog.filters import normalise_value
from htan_cds.catalog.store import LOCAL_ID_PREFIX, Catalog
from htan_cds.config import DataHome
from htan_cds.errors import UsageError
from htan_cds.storage.local import LocalObjectStore

# Metadata CSV headers (spaces or underscores, any case) -> files column.
_METADATA_COLUMNS = {
    "htan_data_file_id": "HTAN_Data_File_ID",
    "htan_participant_id": "HTAN_Participant_ID",
    "htan_center": "HTAN_Center",
    "atlas_name": "atlas_name",
    "component": "Component",
    "level": "level",
    "assay": "assay",
    "imaging_assay_type": "assay",
    "file_format": "File_Format",
    "data_release": "Data_Release",
    "tissue_or_organ_of_origin": "Tissue_or_Organ_of_Origin",
    "primary_diagnosis": "Primary_Diagnosis",
    "entityid": "entityId",
    "description": "description",
    "channel_metadata_filename": "Channel_Metadata_Filename",
}
_LIST_COLUMNS = {
    "htan_biospecimen_id": "biospecimen_ids",
    "htan_parent_biospecimen_id": "biospecimen_ids",
    "htan_parent_data_file_id": "HTAN_Parent_Data_File_ID",
}
_FORMATS = {
    ".ome.tif": "OME-TIFF",
    ".ome.tiff": "OME-TIFF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".svs": "SVS",
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".fastq.gz": "fastq",
    ".fq.gz": "fastq",
    ".bam": "bam",
    ".vcf": "vcf",
    ".h5ad": "h5ad",
    ".json": "json",
}

IngestProgress = Callable[[int, int], None]


def parse_access(text: str) -> tuple[str, str | None]:
    """``open`` or ``controlled:GROUP`` -> (access, consent group)."""
    if text == "open":
        return "open", None
    kind, _, group = text.partition(":")
    if kind != "controlled" or not group.strip():
        raise UsageError(
            f"--access must be 'open' or 'controlled:GROUP' (e.g. phs002371), not {text!r}"
        )
    return "controlled", group.strip()


def guess_format(name: str) -> str | None:
    """The HTAN File Format for a file name, by its (longest) known suffix."""
    lower = name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            return _FORMATS[suffix]
    return None


def _read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """Metadata rows keyed by relative Filename and by base name."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise UsageError(f"cannot read metadata {path}: {exc.strerror}") from exc
    by_name: dict[str, dict[str, Any]] = {}
    for row in rows:
        norm = {k.strip().lower().replace(" ", "_"): (v or "").strip() for k, v in row.items() if k}
        key = norm.get("filename") or norm.get("name")
        if not key:
            raise UsageError(f"{path}: every row needs a Filename or name column")
        values: dict[str, Any] = {}
        for header, value in norm.items():
            if not value:
                continue
            if header in _METADATA_COLUMNS:
                values[_METADATA_COLUMNS[header]] = value
            elif header in _LIST_COLUMNS:
                values[_LIST_COLUMNS[header]] = [v.strip() for v in value.split(",") if v.strip()]
        if "level" in values:
            values["level"] = normalise_value("level", values["level"])
        by_name[key] = values
        by_name.setdefault(Path(key).name, values)
    return by_name


def _image_rows(path: Path, drs_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    try:
        from htan_cds.imaging import read_image_info  # type: ignore[attr-defined,unused-ignore]

        info = read_image_info(path)
    except Exception:  # not an image the reader understands: the file is still registered
        return None, []
    image: dict[str, Any] = dict(info.to_catalog_row(drs_id))
    channels = [dict(c.to_catalog_row(drs_id)) for c in getattr(info, "channels", [])]
    return image, channels


def ingest_directory(
    home: DataHome,
    directory: Path,
    *,
    metadata: Path | None = None,
    center: str | None = None,
    access: str = "open",
    progress: IngestProgress | None = None,
    authority: str | None = None,
) -> dict[str, Any]:
    """Register every file under ``directory``; return counts (``added``, ``unchanged``).

    ``authority`` (``HOST[:PORT]``) names the commons' DRS URIs, as ``catalog set-authority``
    does; left out, the catalog keeps the one it has.
    """
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    access_kind, consent_group = parse_access(access)
    meta = _read_metadata(metadata) if metadata else {}
    center_name = normalise_value("center", center) if center else None
    paths = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )
    store = LocalObjectStore(home.objects_dir)
    added = unchanged = 0
    drs_ids: list[str] = []
    with Catalog.open(home) as catalog:
        if authority is not None:
            from htan_cds.catalog.authority import set_authority

            set_authority(catalog, authority)
        con = catalog.connection
        for i, path in enumerate(paths):
            rel = path.relative_to(directory).as_posix()
            stat = path.stat()
            source = str(path.resolve())
            known = con.execute(
                "SELECT s.drs_id FROM ingest_sources s JOIN files f USING (drs_id) "
                "WHERE s.source_path = ? AND s.size = ? AND s.mtime_ns = ?",
                [source, stat.st_size, stat.st_mtime_ns],
            ).fetchone()
            if known:
                unchanged += 1
                drs_ids.append(str(known[0]))
                if progress:
                    progress(i + 1, len(paths))
                continue
            # Controlled bytes are readable by the data home's owner only (0600/0700).
            stored = store.put_file(path, private=access_kind != "open")
            existing = con.execute(
                "SELECT drs_id FROM files WHERE sha256 = ? AND name = ?",
                [stored.sha256, path.name],
            ).fetchone()
            if existing:
                drs_id = str(existing[0])
                unchanged += 1
            else:
                drs_id = f"{LOCAL_ID_PREFIX}/{uuid.uuid4()}"
                row: dict[str, Any] = {
                    "drs_id": drs_id,
                    "Filename": rel,
                    "name": path.name,
                    "size": stored.size,
                    "md5": stored.md5,
                    "sha256": stored.sha256,
                    "object_key": stored.key,
                    "File_Format": guess_format(path.name),
                    "HTAN_Center": center_name,
                    "atlas_name": center_name,
                    "access": access_kind,
                    "consent_group": consent_group,
                    "created_time": datetime.now(UTC).replace(tzinfo=None),
                    **meta.get(rel, meta.get(path.name, {})),
                }
                image, channels = (
                    _image_rows(path, drs_id)
                    if (row["File_Format"] or "") in ("OME-TIFF", "TIFF", "SVS")
                    else (None, [])
                )
                if image is not None:
                    row.setdefault("level", "Level 2")
                    row.setdefault("Component", "ImagingLevel2")
                catalog.insert_rows("files", [row])
                if row.get("biospecimen_ids"):
                    catalog.insert_rows(
                        "file_biospecimens",
                        [
                            {"drs_id": drs_id, "HTAN_Biospecimen_ID": b}
                            for b in row["biospecimen_ids"]
                        ],
                    )
                if image is not None:
                    catalog.insert_rows("imaging", [image])
                    catalog.insert_rows("channels", channels)
                added += 1
            con.execute(
                "INSERT OR REPLACE INTO ingest_sources "
                "(source_path, size, mtime_ns, sha256, drs_id) VALUES (?, ?, ?, ?, ?)",
                [source, stat.st_size, stat.st_mtime_ns, stored.sha256, drs_id],
            )
            drs_ids.append(drs_id)
            if progress:
                progress(i + 1, len(paths))
        if added:
            catalog.refresh_derived()
        authority = catalog.authority
    return {
        "files": len(paths),
        "added": added,
        "unchanged": unchanged,
        "drs_authority": authority,
        "drs_uris": [f"drs://{authority}/{d}" for d in drs_ids],
    }
