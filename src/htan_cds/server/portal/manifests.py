"""The manifest formats the portal offers; the files are written by the catalog's one writer.

``htan_cds.catalog.manifest_writer`` serves both the portal and ``htan-cds manifest create``:
one row per HTAN Data File ID, unique safe names, full DRS URIs (CGC no longer accepts compact
ones), the same columns for the same format.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        ManifestFormat("terra", "Terra data table TSV", "tsv", "text/tab-separated-values"),
    )
}
DEFAULT_FORMAT = "cgc"


def manifest_format(name: str | None) -> ManifestFormat:
    """The offered format called ``name`` (default CGC CSV); a clear error for anything else."""
    key = (name or DEFAULT_FORMAT).strip().lower()
    fmt = FORMATS.get(key)
    if fmt is None:
        raise UsageError(f"unknown manifest format {name!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def write_cart_manifest(files: Iterable[dict[str, Any]], dest: Path, fmt: ManifestFormat) -> int:
    """Write file records as a manifest in ``fmt`` to ``dest``; return the number of rows.

    The records go through the catalog's one manifest writer's row mapping
    (``htan_cds.catalog.manifest_writer``) and ``repair_rows`` (unique safe names, full URIs).
    Cart downloads use ``write_selection_manifest`` directly, as ``manifest create`` does.
    """
    from htan_cds.catalog.manifest_writer import rows_from_records
    from htan_cds.manifest import repair_rows, write_manifest

    repaired = repair_rows(rows_from_records(files, fmt.name))
    return int(write_manifest(repaired.rows, dest, fmt.name))
