"""``cgc``: the SB-CGC DRS import manifest, ``name`` and ``drs_uri`` plus metadata columns.

CGC reads comma- or tab-separated manifests and finds the two columns by name, in any order.
We write ``name,drs_uri,<metadata…>`` — the order of ISB-CGC's own CGC manifests — because
``drs_uri`` first is the HTAN portal's layout, and a file we write must read back as what it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from htan_cds.manifest.formats._tabular import (
    header_fields,
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

URI_COLUMNS = ("drs_uri",)
# CGC writes "name"; a sheet someone retitled ("File Name", "filename") is read the same way.
NAME_COLUMNS = ("name", "file_name", "filename")
# CGC's documented manifest formats (CSV, TSV); a semicolon file must be converted.
DELIMITERS = (",", "\t")


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of a CGC manifest (delimiter sniffed from the header: comma, tab or semicolon)."""
    return read_table(lines, ctx, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


def sniff(head: list[str]) -> int:
    """Any table with a ``drs_uri`` column is at least a CGC manifest (lowest useful score)."""
    fields = [f.lower() for f in header_fields(head)]
    return 10 if "drs_uri" in fields else 0


def _name(row: ManifestRow) -> str:
    return row.name or ""


_LEAD = [("name", _name), ("drs_uri", lambda r: r.drs_uri)]


def _lead_row(row: ManifestRow) -> list[str]:
    return [row.name or "", row.drs_uri]


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """Write ``name,drs_uri,<metadata…>`` as RFC 4180 CSV with LF line ends (or TSV)."""
    return write_table(rows, out, lead=_LEAD, columns=columns, options=options, lead_row=_lead_row)


def write_tsv(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """The same manifest tab-separated (CGC accepts both)."""
    return write_table(
        rows, out, lead=_LEAD, columns=columns, options=options, delimiter="\t", lead_row=_lead_row
    )


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


FORMAT = ManifestFormat(
    name="cgc",
    description="SB-CGC DRS import manifest: name,drs_uri plus metadata columns (CSV or TSV)",
    reader=read,
    sniff=sniff,
    columns=columns,
    writer=write,
    delimiters=DELIMITERS,
    table=TableSpec(URI_COLUMNS, NAME_COLUMNS),
)
