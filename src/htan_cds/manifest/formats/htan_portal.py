"""``htan-portal``: what the HTAN Data Portal's "Download manifest" writes.

The full form is ``drs_uri,name,atlas_name,biospecimen,assay_name,level,data_file_id,
parent_biospecimen_id,parent_data_file_id``; the 2024 form has only ``drs_uri,name``. The portal
writes unquoted values and no final newline; the reader takes that (and anything RFC 4180).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from htan_cds.manifest.formats._tabular import (
    header_fields,
    metadata_columns,
    read_table,
    read_table_columns,
    write_table,
)
from htan_cds.manifest.registry import (
    DEFAULT_WRITE,
    AnyColumnBatch,
    ManifestFormat,
    ReadContext,
    TableSpec,
    WriteOptions,
)
from htan_cds.manifest.row import ManifestRow

COLUMNS = (
    "drs_uri",
    "name",
    "atlas_name",
    "biospecimen",
    "assay_name",
    "level",
    "data_file_id",
    "parent_biospecimen_id",
    "parent_data_file_id",
)
_METADATA = COLUMNS[2:]


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of an HTAN portal manifest (either form)."""
    return read_table(lines, ctx, uri_columns=("drs_uri",), name_columns=("name",))


def sniff(head: list[str]) -> int:
    """The full header (its nine columns first), or exactly ``drs_uri,name`` (the 2024 form)."""
    fields = header_fields(head)
    # The full form's nine columns come first, in this order, in the portal's files and ours.
    if fields[: len(COLUMNS)] == list(COLUMNS):
        return 50
    if fields == ["drs_uri", "name"]:
        return 20
    return 0


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """Write the full 9-column form; other metadata columns follow the portal's own.

    Values are quoted only when they must be (a comma, quote or line break inside), which for
    real portal data means never, as the portal writes them. Unlike the portal, the file ends
    with a newline: POSIX tools expect one and every reader accepts it.
    """
    learned, stream = metadata_columns(rows, columns)
    metadata = list(_METADATA) + [c for c in learned if c not in _METADATA]
    return write_table(
        stream, out, lead=_LEAD, columns=metadata, options=options, lead_row=_lead_row
    )


_LEAD = [("drs_uri", lambda r: r.drs_uri), ("name", lambda r: r.name or "")]


def _lead_row(row: ManifestRow) -> list[str]:
    return [row.drs_uri, row.name or ""]


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=("drs_uri",), name_columns=("name",))


FORMAT = ManifestFormat(
    name="htan-portal",
    description="HTAN Data Portal manifest: drs_uri,name,atlas_name,…,parent_data_file_id",
    reader=read,
    sniff=sniff,
    columns=columns,
    writer=write,
    delimiters=(",", ";", "\t"),
    table=TableSpec(("drs_uri",), ("name",)),
)
