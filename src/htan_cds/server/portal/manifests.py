"""Cart -> manifest file, written by the manifest toolkit in the format the user picked.

Names are made unique and safe by ``repair_rows`` (two HTAN files can share a basename), and
every DRS URI is the full hostname form, because CGC no longer accepts compact ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htan_cds.errors import UsageError


@dataclass(frozen=True)
class ManifestFormat:
    """A manifest format the portal offers: toolkit name, label, file extension, media type."""

    name: str
    label: str
    extension: str
    media_type: str


# Order is the order of the format choice in the cart; the first is the default.
FORMATS: dict[str, ManifestFormat] = {
    f.name: f
    for f in (
        ManifestFormat("cgc", "CGC CSV (name, drs_uri)", "csv", "text/csv"),
        ManifestFormat("cds-portal", "CDS portal CSV", "csv", "text/csv"),
        ManifestFormat("htan-portal", "HTAN portal CSV", "csv", "text/csv"),
        ManifestFormat("gen3", "Gen3 JSON", "json", "application/json"),
    )
}
DEFAULT_FORMAT = "cgc"

# Catalog columns carried into each row's metadata under their HTAN attribute names, so the
# CDS/HTAN portal writers can fill their extra columns and CGC keeps them as file metadata.
_METADATA_FIELDS = (
    "HTAN_Data_File_ID",
    "HTAN_Participant_ID",
    "HTAN_Center",
    "atlas_name",
    "assay",
    "level",
    "File_Format",
    "Data_Release",
    "size",
    "md5",
    "sha256",
    "access",
    "consent_group",
    "drs_id",
)


# Each portal's writer fills its own columns from metadata keys named as that portal names them;
# renaming (not copying) keeps one column per value.
_RENAMES: dict[str, dict[str, str]] = {
    "cds-portal": {
        "HTAN_Participant_ID": "Participant ID",
        "md5": "Md5sum",
        "size": "File Size (in bytes)",
    },
    "htan-portal": {
        "HTAN_Biospecimen_ID": "biospecimen",
        "assay": "assay_name",
        "HTAN_Data_File_ID": "data_file_id",
    },
    "gen3": {"size": "file_size", "md5": "md5sum"},
}


def manifest_format(name: str | None) -> ManifestFormat:
    """The offered format called ``name`` (default CGC CSV); a clear error for anything else."""
    key = (name or DEFAULT_FORMAT).strip().lower()
    fmt = FORMATS.get(key)
    if fmt is None:
        raise UsageError(f"unknown manifest format {name!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def _rows(files: Iterable[dict[str, Any]], fmt: ManifestFormat) -> Iterator[Any]:
    from htan_cds.manifest import ManifestRow

    renames = _RENAMES.get(fmt.name, {})
    for number, record in enumerate(files, start=1):
        metadata = {
            key: _text(record.get(key)) for key in _METADATA_FIELDS if record.get(key) is not None
        }
        samples = record.get("biospecimen_ids")
        if samples:
            metadata["HTAN_Biospecimen_ID"] = ";".join(str(s) for s in samples)
        if renames:
            metadata = {renames.get(k, k): v for k, v in metadata.items()}
        yield ManifestRow(
            drs_uri=str(record["drs_uri"]),
            name=record.get("name"),
            metadata=metadata,
            row_number=number,
        )


def write_cart_manifest(files: Iterable[dict[str, Any]], dest: Path, fmt: ManifestFormat) -> int:
    """Write the files as a manifest in ``fmt`` to ``dest``; return the number of rows."""
    from htan_cds.manifest import repair_rows, write_manifest

    repaired = repair_rows(list(_rows(files, fmt)))
    with dest.open("w", encoding="utf-8", newline="") as fh:
        return int(write_manifest(repaired.rows, fh, fmt.name))


def _text(value: Any) -> str:
    return str(value)
