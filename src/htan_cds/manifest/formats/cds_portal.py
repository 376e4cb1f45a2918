"""``cds-portal``: the CDS (CRDC General Commons) portal's cart download.

Current form: ``drs_uri, name, Participant ID, Md5sum, Associated File, …, File Size (in bytes),
User Comments`` written with a UTF-8 BOM, CRLF line ends and every value in quotes, but with
embedded quotes not doubled (``"a "quoted" word"``), which RFC 4180 readers mangle. The older
form is ``Participant ID,File Name,File ID,Md5sum,User Comments`` (File ID holds the DRS id).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
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

LEAD_COLUMNS = ("drs_uri", "name", "Participant ID", "Md5sum", "Associated File")
TAIL_COLUMNS = ("File Size (in bytes)", "User Comments")
OLD_COLUMNS = ("Participant ID", "File Name", "File ID", "Md5sum", "User Comments")


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of either cart form, tolerating undoubled quotes and multi-line comments."""
    return read_table(
        lines,
        ctx,
        uri_columns=("drs_uri", "File ID"),
        name_columns=("name", "File Name"),
        tolerant=True,
    )


def sniff(head: list[str]) -> int:
    """The cart's own layouts: ``drs_uri, name, Participant ID, …`` or the older form.

    Positions matter, not only names: another format's file may carry a ``Participant ID``
    metadata column, and must still read back as that format.
    """
    fields = [f.lower() for f in header_fields(head)]
    if fields[:3] == ["drs_uri", "name", "participant id"]:
        return 60
    if fields[:1] == ["participant id"] and "file id" in fields and "drs_uri" not in fields:
        return 60
    return 0


def _meta(column: str) -> Callable[[ManifestRow], str]:
    return lambda row: row.metadata.get(column, "")


# Gen3 / generic spellings of the cart's own columns, renamed so they land in the cart's columns.
_ALIASES = {"md5sum": "Md5sum", "file_size": "File Size (in bytes)"}


def _cart_names(row: ManifestRow) -> ManifestRow:
    meta = row.metadata
    if not any(alias in meta and target not in meta for alias, target in _ALIASES.items()):
        return row
    renamed = {
        (_ALIASES[k] if k in _ALIASES and _ALIASES[k] not in meta else k): v
        for k, v in meta.items()
    }
    return ManifestRow(row.drs_uri, row.name, renamed, row.row_number)


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """Write the current cart form: BOM, CRLF, every value quoted.

    Embedded quotes are doubled (RFC 4180) rather than copied raw as the portal does: our reader
    takes both, and other tools only the doubled form. ``md5sum`` and ``file_size`` (Gen3's
    names) fill ``Md5sum`` and ``File Size (in bytes)`` when those are absent.
    """
    if columns is None:
        rows = (
            [_cart_names(r) for r in rows] if isinstance(rows, Sequence) else map(_cart_names, rows)
        )
    lead = [("drs_uri", lambda r: r.drs_uri), ("name", lambda r: r.name or "")]
    lead += [(col, _meta(col)) for col in LEAD_COLUMNS[2:]]
    return write_table(
        rows,
        out,
        lead=lead,
        columns=columns,
        options=options,
        quoting=csv.QUOTE_ALL,
        lineterminator="\r\n",
        bom=True,
        tail=TAIL_COLUMNS,
    )


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(
        lines,
        ctx,
        keys,
        uri_columns=("drs_uri", "File ID"),
        name_columns=("name", "File Name"),
        tolerant=True,
    )


FORMAT = ManifestFormat(
    name="cds-portal",
    description="CDS portal cart download (BOM, CRLF, raw quotes) and its older 5-column form",
    reader=read,
    sniff=sniff,
    columns=columns,
    writer=write,
    delimiters=(",", ";", "\t"),
    table=TableSpec(("drs_uri", "File ID"), ("name", "File Name"), tolerant=True),
)
