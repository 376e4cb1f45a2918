"""``bigquery``: CSV exports of ISB-CGC's HTAN DRS mapping tables.

``cds_drs_map_r5`` has ``name, entityId, HTAN_Data_File_ID, drs_uri``; ``gc_drs_map_current`` adds
``HTAN_Center`` and holds the compact ``dg.4DFC/<uuid>`` form. Read-only: to give one back to
BigQuery users, write ``cgc`` (same columns, ``drs_uri`` first).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from htan_cds.manifest.formats._tabular import header_fields, read_table, read_table_columns
from htan_cds.manifest.registry import AnyColumnBatch, ManifestFormat, ReadContext, TableSpec
from htan_cds.manifest.row import ManifestRow

COLUMNS = ("name", "entityId", "HTAN_Data_File_ID", "drs_uri")


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of a mapping-table export; ``entityId``/``HTAN_Data_File_ID``/… become metadata."""
    return read_table(lines, ctx, uri_columns=("drs_uri",), name_columns=("name",))


def sniff(head: list[str]) -> int:
    """The mapping tables' fixed schema: ``name, entityId, HTAN_Data_File_ID, drs_uri`` first.

    Exact positions: a ``cgc`` file converted from one keeps those columns as metadata after
    ``name,drs_uri`` and must read back as ``cgc``.
    """
    listed = [f.lower() for f in header_fields(head)]
    if listed[:4] == [c.lower() for c in COLUMNS]:
        return 40
    return 0


def columns(
    lines: Iterator[str], ctx: ReadContext, keys: Sequence[str]
) -> Iterator[AnyColumnBatch]:
    """Column batches for checking (same rows as :func:`read`)."""
    return read_table_columns(lines, ctx, keys, uri_columns=("drs_uri",), name_columns=("name",))


FORMAT = ManifestFormat(
    name="bigquery",
    description="ISB-CGC mapping table export: name,entityId,HTAN_Data_File_ID,drs_uri",
    reader=read,
    sniff=sniff,
    columns=columns,
    table=TableSpec(("drs_uri",), ("name",)),
)
