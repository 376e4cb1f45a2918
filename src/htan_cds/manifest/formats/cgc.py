"""``cgc``: the SB-CGC DRS import manifest, CSV or TSV, ``drs_uri`` and ``name`` plus metadata."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from htan_cds.manifest.formats._tabular import (
    header_fields,
    read_table,
    read_table_columns,
    write_table,
)
from htan_cds.manifest.registry import ColumnBatch, ManifestFormat, ReadContext
from htan_cds.manifest.row import ManifestRow

URI_COLUMNS = ("drs_uri",)
NAME_COLUMNS = ("name",)


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of a CGC manifest (delimiter sniffed from the header: comma or tab)."""
    return read_table(lines, ctx, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


def sniff(head: list[str]) -> int:
    """Any table with a ``drs_uri`` column is at least a CGC manifest (lowest useful score)."""
    fields = [f.lower() for f in header_fields(head)]
    return 10 if "drs_uri" in fields else 0


def _name(row: ManifestRow) -> str:
    return row.name or ""


def write(rows: Iterable[ManifestRow], out: TextIO, columns: Sequence[str] | None = None) -> int:
    """Write ``drs_uri,name,<metadata…>`` as RFC 4180 CSV with LF line ends."""
    return write_table(
        rows, out, lead=[("drs_uri", lambda r: r.drs_uri), ("name", _name)], columns=columns
    )


def write_tsv(
    rows: Iterable[ManifestRow], out: TextIO, columns: Sequence[str] | None = None
) -> int:
    """The same manifest tab-separated (CGC accepts both)."""
    return write_table(
        rows,
        out,
        lead=[("drs_uri", lambda r: r.drs_uri), ("name", _name)],
        columns=columns,
        delimiter="\t",
    )


def columns(lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]) -> Iterator[ColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


FORMAT = ManifestFormat(
    name="cgc",
    description="SB-CGC DRS import manifest: drs_uri,name plus metadata columns (CSV or TSV)",
    reader=read,
    sniff=sniff,
    columns=columns,
    writer=write,
)
