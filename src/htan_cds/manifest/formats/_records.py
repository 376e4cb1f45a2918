"""Whole records of a delimited manifest in batches, for converting without row objects.

The same rows as :func:`~htan_cds.manifest.formats._tabular.read_table` yields, with the same
rules (header mapping, blank rows skipped and counted, short rows padded, ``row_shape``
warnings, formula escapes undone) — but as columns, ``BATCH_ROWS`` rows a batch, cut in C
(``zip(*records)``). A row with extra non-empty cells
(which ``read_table`` keeps as ``extra_N`` metadata) raises :class:`NeedsRows`: the caller
starts again on the row path, which has the rules for columns that appear mid-file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from htan_cds.manifest.formats._cells import unescape_cell, unescape_row
from htan_cds.manifest.formats._tabular import _needs_unescape, _odd_row, _open_table, _Table
from htan_cds.manifest.registry import BATCH_ROWS, ReadContext, TableSpec


class NeedsRows(Exception):
    """A record the batch path does not carry (extra cells): convert row by row instead."""


@dataclass
class Columns:
    """One batch: ``columns[i]`` holds column ``i``'s cells (escapes undone), all one length;
    ``joined[i]``, when not ``None``, is ``"\x00" + "\x00".join(columns[i])`` (computed while
    reading, reused by the writer's checks)."""

    columns: list[list[str]]
    joined: list[str | None]


@dataclass
class RecordTable:
    """An opened delimited manifest: where the columns are, and its record batches.

    ``meta`` lists ``(key, index)`` of every metadata column in header order (the keys
    ``read_table`` gives a row's ``metadata``); ``batches`` yields ``(first row number,
    columns)`` of ``ncols`` columns, ``BATCH_ROWS`` rows a batch but the last (fewer) — the
    batches ``ManifestReader.batches`` gives.
    """

    ncols: int
    uri_index: int
    name_index: int | None
    meta: list[tuple[str, int]]
    batches: Iterator[tuple[int, Columns]]


def open_records(lines: Iterator[str], ctx: ReadContext, spec: TableSpec) -> RecordTable:
    """Open a delimited manifest (header read now; :class:`ManifestFormatError` when none)."""
    table = _open_table(lines, ctx, spec.uri_columns, spec.name_columns, spec.tolerant)
    return RecordTable(
        table.ncols, table.uri_index, table.name_index, table.meta, _batches(table, ctx)
    )


def _fast_columns(chunk: list[list[str]], ncols: int, uri_index: int) -> Columns | None:
    """A full batch as columns with escapes undone, when every record has the header's width
    and a non-blank URI (checked in bulk); ``None`` sends it record by record."""
    if set(map(len, chunk)) != {ncols}:
        return None
    columns: list[list[str]] = []
    joined: list[str | None] = []
    for values in zip(*chunk, strict=True):
        column = list(values)
        text = "\x00" + "\x00".join(column)
        if "\x00'" in text:
            columns.append([unescape_cell(v) for v in column])
            joined.append(None)
        else:
            columns.append(column)
            joined.append(text)
    uris = columns[uri_index]
    if not all(uris) or any(map(str.isspace, uris)):
        return None
    return Columns(columns, joined)


def _batches(table: _Table, ctx: ReadContext) -> Iterator[tuple[int, Columns]]:
    ncols, uri_index = table.ncols, table.uri_index
    pending: list[list[str]] = []
    number = 0
    while chunk := list(itertools.islice(table.records, BATCH_ROWS)):
        if not pending and len(chunk) == BATCH_ROWS:
            fast = _fast_columns(chunk, ncols, uri_index)
            if fast is not None:
                yield number + 1, fast
                number += BATCH_ROWS
                continue
        if _needs_unescape(chunk):
            chunk = [unescape_row(cells) for cells in chunk]
        for cells in chunk:
            uri = cells[uri_index] if len(cells) == ncols else ""
            if not uri or uri.isspace():
                odd = _odd_row(cells, table, number + 1, ctx)
                if odd is None:
                    continue
                if len(odd) > ncols:
                    raise NeedsRows(f"row {number + 1} has {len(odd)} cells")
                cells = odd
            number += 1
            pending.append(cells)
            if len(pending) == BATCH_ROWS:
                yield number - BATCH_ROWS + 1, _columns(pending)
                pending = []
    if pending:
        yield number - len(pending) + 1, _columns(pending)


def _columns(records: list[list[str]]) -> Columns:
    columns = [list(values) for values in zip(*records, strict=True)]
    return Columns(columns, [None] * len(columns))
