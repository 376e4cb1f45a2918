"""``table``: any delimited table whose DRS column is named (``--drs-column``) or common.

Not a format anyone writes: the reader for spreadsheets and exports no other format claims. The
DRS column is ``--drs-column`` or the first of ``drs_uri``, ``pfb:ga4gh_drs_uri``,
``ga4gh_drs_uri``, ``object_id``; the name column ``--name-column`` or the first of ``name``,
``file_name``, ``pfb:file_name``, ``filename``. Read-only: write ``cgc`` or ``terra``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from htan_cds.manifest.formats._tabular import header_fields, read_table, read_table_columns
from htan_cds.manifest.registry import AnyColumnBatch, ManifestFormat, ReadContext, TableSpec
from htan_cds.manifest.row import ManifestRow

URI_COLUMNS = ("drs_uri", "pfb:ga4gh_drs_uri", "ga4gh_drs_uri", "object_id")
NAME_COLUMNS = ("name", "file_name", "pfb:file_name", "filename")


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of the table; every column but the URI and name goes into metadata."""
    return read_table(lines, ctx, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


def sniff(head: list[str]) -> int:
    """A table with one of the usual DRS columns other formats do not claim (lowest score)."""
    fields = {f.lower() for f in header_fields(head)}
    return 5 if fields & set(URI_COLUMNS) else 0


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


FORMAT = ManifestFormat(
    name="table",
    description="any delimited table with a DRS column (--drs-column NAME); read-only",
    reader=read,
    sniff=sniff,
    columns=columns,
    delimiters=(",", ";", "\t"),
    table=TableSpec(URI_COLUMNS, NAME_COLUMNS),
)
