"""``terra``: a Terra / AnVIL data table, tab-separated, one row per file.

Shape (Terra's load files, firecloud-orchestration ``utils/TSVParser.scala`` and
``TSVFormatter.scala``): tab-separated with CSV quoting, the first header is
``entity:<table>_id`` (``update:<table>_id`` for updates) and holds each row's id, and lines
holding only tabs are ignored. The DRS column is ``pfb:ga4gh_drs_uri`` (AnVIL/Gen3 PFB imports),
``drs_uri`` or ``object_id`` (a Gen3 GUID such as ``dg.ANV0/<uuid>``, a compact id to resolve
through ``[drs.prefixes]``); the name column ``pfb:file_name``, ``file_name`` or ``name``.

Written as ``entity:<table>_id, drs_uri, file_name, <metadata…>``: the table and ids of a file
read from Terra are kept; otherwise the table is ``file`` and each id is the row's HTAN Data
File ID or DRS object id, made unique (Terra merges rows that share an id) and limited to
letters, digits, ``_``, ``.`` and ``-``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
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

URI_COLUMNS = ("pfb:ga4gh_drs_uri", "drs_uri", "object_id", "ga4gh_drs_uri")
NAME_COLUMNS = ("pfb:file_name", "file_name", "name")
ID_COLUMN_RE = re.compile(r"(?:entity|update):[A-Za-z0-9_.-]+_id", re.IGNORECASE)
DEFAULT_ID_COLUMN = "entity:file_id"
_ID_SOURCES = ("HTAN_Data_File_ID", "data_file_id", "HTAN Data File ID", "drs_id")
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of a Terra data table; the ``entity:…_id`` column stays in metadata as written."""
    return read_table(lines, ctx, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


def sniff(head: list[str]) -> int:
    """The first header is ``entity:<table>_id`` (or ``update:…``)."""
    fields = header_fields(head)
    return 80 if fields and ID_COLUMN_RE.fullmatch(fields[0]) else 0


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=URI_COLUMNS, name_columns=NAME_COLUMNS)


class _Ids:
    """Unique, Terra-safe row ids: the row's own, its HTAN file id or its DRS object id."""

    def __init__(self, column: str) -> None:
        self.column = column
        self._used: set[str] = set()

    def __call__(self, row: ManifestRow) -> str:
        meta = row.metadata
        wanted = meta.get(self.column) or next((meta[k] for k in _ID_SOURCES if meta.get(k)), "")
        if not wanted:
            wanted = row.drs_uri.rstrip("/").rsplit("/", 1)[-1]
        base = _BAD_ID_CHARS.sub("_", wanted).strip("_") or f"row_{row.row_number}"
        candidate, number = base, 2
        while candidate in self._used:
            candidate, number = f"{base}_{number}", number + 1
        self._used.add(candidate)
        return candidate


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """Write ``entity:<table>_id<TAB>drs_uri<TAB>file_name<TAB><metadata…>`` (LF, no BOM)."""
    learned, stream = metadata_columns(rows, columns)
    id_column = next((c for c in learned if ID_COLUMN_RE.fullmatch(c)), DEFAULT_ID_COLUMN)
    metadata = [c for c in learned if c != id_column]
    lead: list[tuple[str, Callable[[ManifestRow], str]]] = [
        (id_column, _Ids(id_column)),
        ("drs_uri", lambda r: r.drs_uri),
        ("file_name", lambda r: r.name or ""),
    ]
    # The id column is filled by the lead getter; it must not count as a lost metadata value.
    return write_table(stream, out, lead=lead, columns=metadata, options=options, delimiter="\t")


FORMAT = ManifestFormat(
    name="terra",
    description="Terra/AnVIL data table TSV: entity:<table>_id plus a DRS column",
    reader=read,
    sniff=sniff,
    columns=columns,
    writer=write,
    delimiters=("\t",),
    table=TableSpec(URI_COLUMNS, NAME_COLUMNS),
)
