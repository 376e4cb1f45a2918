"""Turn query strings and cart bodies into catalog filters, sorts and pages the portal can trust.

The explorer's URL is its state (``/explore?atlas=…&assay=…&tab=files&sort=size&order=desc``),
so the same parameter names serve the pages, the JSON API and shared links. Every name that
reaches SQL is checked against a whitelist here; values only ever travel as bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from htan_cds.catalog.filters import FileFilter
from htan_cds.errors import UsageError
from htan_cds.server.limits import MAX_SAFE_INT

# Facets in sidebar order, with the labels the CDS portal and the HTAN manual use.
FACETS: list[tuple[str, str]] = [
    ("atlas", "Study / Atlas"),
    ("center", "HTAN Center"),
    ("organ", "Organ"),
    ("diagnosis", "Primary Diagnosis"),
    ("assay", "Assay"),
    ("level", "Level"),
    ("format", "File Format"),
    ("release", "Release"),
    ("access", "Access"),
    ("source", "Source"),
]
FACET_NAMES = frozenset(name for name, _ in FACETS)
# Filters that are not sidebar facets but may still arrive in a shared link or a cart.
_EXTRA_FILTERS = frozenset({"participant", "biospecimen", "text", "drs_ids", "marker"})
FILTER_NAMES = FACET_NAMES | _EXTRA_FILTERS

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Column:
    """A sortable table column: its API key, SQL expression and label."""

    key: str
    sql: str
    label: str


# Keys are what the browser sends; SQL is fixed here so a sort key can never inject anything.
FILE_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("name", "f.name", "File Name"),
        Column("HTAN_Data_File_ID", "f.HTAN_Data_File_ID", "HTAN Data File ID"),
        Column("atlas_name", "f.atlas_name", "Study / Atlas"),
        Column("HTAN_Participant_ID", "f.HTAN_Participant_ID", "Participant"),
        Column("assay", "f.assay", "Assay"),
        Column("level", "f.level", "Level"),
        Column("File_Format", "f.File_Format", "Format"),
        Column("size", "f.size", "Size"),
        Column("access", "f.access", "Access"),
        Column("Data_Release", "f.Data_Release", "Release"),
        Column("source", "f.source", "Source"),
    )
}
PARTICIPANT_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("HTAN_Participant_ID", "m.pid", "Participant"),
        Column("atlas_name", "coalesce(p.atlas_name, m.atlas_name)", "Study / Atlas"),
        Column("Tissue_or_Organ_of_Origin", "p.Tissue_or_Organ_of_Origin", "Organ"),
        Column("Primary_Diagnosis", "p.Primary_Diagnosis", "Primary Diagnosis"),
        Column("Gender", "p.Gender", "Gender"),
        Column("Age_at_Diagnosis_years", "p.Age_at_Diagnosis_years", "Age at Diagnosis"),
        Column("files", "m.files", "Files"),
        Column("total_size", "m.total_size", "Size"),
    )
}
SAMPLE_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("HTAN_Biospecimen_ID", "m.bid", "Sample"),
        Column("HTAN_Participant_ID", "coalesce(b.HTAN_Participant_ID, m.pid)", "Participant"),
        Column("Biospecimen_Type", "b.Biospecimen_Type", "Type"),
        Column("Tissue_or_Organ_of_Origin", "b.Tissue_or_Organ_of_Origin", "Organ"),
        Column("Preservation_Method", "b.Preservation_Method", "Preservation"),
        Column("files", "m.files", "Files"),
        Column("total_size", "m.total_size", "Size"),
    )
}
TABLE_COLUMNS: dict[str, dict[str, Column]] = {
    "files": FILE_COLUMNS,
    "participants": PARTICIPANT_COLUMNS,
    "samples": SAMPLE_COLUMNS,
}
DEFAULT_SORT = {
    "files": "name",
    "participants": "HTAN_Participant_ID",
    "samples": "HTAN_Biospecimen_ID",
}


@dataclass(frozen=True)
class Page:
    """Which slice of a sorted table to return."""

    sort: Column
    descending: bool
    offset: int
    limit: int


def filter_from_items(items: Iterable[tuple[str, str]]) -> FileFilter:
    """A :class:`FileFilter` from ``(name, value)`` pairs; names outside the filter set are ignored.

    Ignoring (not refusing) unknown names lets one query string also carry ``tab``, ``sort``,
    ``page``…; values are deduplicated so a doubled link parameter does not change counts.
    """
    values: dict[str, list[str]] = {}
    for name, value in items:
        if name in FILTER_NAMES and value.strip():
            bucket = values.setdefault(name, [])
            if value not in bucket:
                bucket.append(value)
    return FileFilter.from_mapping(dict(values))


def filter_from_json(data: Any) -> FileFilter:
    """A :class:`FileFilter` from a JSON object (as stored in a cart); unknown keys refused."""
    if not isinstance(data, Mapping):
        raise UsageError("a filter must be a JSON object of facet -> list of values")
    cleaned: dict[str, list[str]] = {}
    for key, value in data.items():
        if key not in FILTER_NAMES:
            raise UsageError(f"unknown filter {key!r}")
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise UsageError(f"filter {key!r} must be a string or a list of strings")
        cleaned[key] = list(dict.fromkeys(items))
    return FileFilter.from_mapping(dict(cleaned))


def parse_page(
    table: str,
    sort: str | None,
    order: str | None,
    offset: int | str | None,
    limit: int | str | None,
) -> Page:
    """Validate sort key, direction and paging of ``files``, ``participants`` or ``samples``."""
    columns = TABLE_COLUMNS.get(table)
    if columns is None:
        raise UsageError(f"unknown table {table!r}")
    key = sort or DEFAULT_SORT[table]
    column = columns.get(key)
    if column is None:
        raise UsageError(f"cannot sort {table} by {key!r}; choose one of {', '.join(columns)}")
    if order not in (None, "", "asc", "desc"):
        raise UsageError("order must be asc or desc")
    start = _non_negative_int(offset, "offset", 0)
    size = _non_negative_int(limit, "limit", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise UsageError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    return Page(sort=column, descending=order == "desc", offset=start, limit=size)


def _non_negative_int(value: int | str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a whole number") from None
    if number < 0:
        raise UsageError(f"{name} must not be negative")
    if number > MAX_SAFE_INT:
        raise UsageError(f"{name} must be at most {MAX_SAFE_INT}")
    return number
