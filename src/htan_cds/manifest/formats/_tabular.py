"""Reading delimited manifests: header mapping, blank rows, unnamed columns, tolerant parsing.

Writing lives in ``_writing.py``; the dialect (BOM, delimiter) in ``_dialect.py``; formula
escapes in ``_cells.py``. The names below are re-exported so format modules import one place.
"""

from __future__ import annotations

import csv
import itertools
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from htan_cds.errors import ManifestFormatError
from htan_cds.manifest.formats._arrow import open_records
from htan_cds.manifest.formats._cells import unescape_column, unescape_row
from htan_cds.manifest.formats._dialect import BOM, header_fields, sniff_delimiter, strip_line
from htan_cds.manifest.formats._tolerant import tolerant_records
from htan_cds.manifest.formats._writing import check_columns, metadata_columns, write_table
from htan_cds.manifest.registry import (
    BATCH_ROWS,
    AnyColumnBatch,
    ArrowColumnBatch,
    ColumnBatch,
    ReadContext,
)
from htan_cds.manifest.row import ManifestRow, make_row

__all__ = [
    "BOM",
    "check_columns",
    "header_fields",
    "metadata_columns",
    "read_table",
    "read_table_columns",
    "strip_line",
    "write_table",
]

_BLANK_LINE = "\r\n\t ;," + BOM


def _find(header: list[str], candidates: Sequence[str]) -> int | None:
    """The index of the first of ``candidates`` in ``header``, as people retype column names:
    case, spaces, hyphens and underscores alike ("File Name" is ``file_name``)."""
    lowered = [_spelling(h) for h in header]
    for candidate in candidates:
        if _spelling(candidate) in lowered:
            return lowered.index(_spelling(candidate))
    return None


def _spelling(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def _dedupe_header(header: list[str], ctx: ReadContext) -> list[str]:
    """Repeated column names made distinct (``header_duplicate``). Empty names are the columns
    :func:`_open_table` drops (no header, no value: a spreadsheet's trailing commas), never
    repeats of each other."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for col in header:
        if col and col in seen:
            seen[col] += 1
            new = f"{col} ({seen[col]})"
            ctx.warn(
                None,
                "header_duplicate",
                f"column {col!r} appears twice; kept as {new!r}",
                value=col,
            )
            out.append(new)
        else:
            seen[col] = 1
            out.append(col)
    return out


@dataclass
class _Table:
    """An opened delimited manifest: where the URI, name and metadata are, and the records.

    ``ncols`` is the header's width; a record of at least ``short_ok`` cells lacks only columns
    that were dropped (no header, no value), so it is padded without a warning.
    """

    header: list[str]
    uri_index: int
    name_index: int | None
    records: Iterator[list[str]]
    ncols: int
    meta: list[tuple[str, int]] = field(default_factory=list)
    short_ok: int = 0
    header_line: str = ""
    delimiter: str = ","


def _records(
    lines: Iterator[str], delimiter: str, ncols: int, tolerant: bool, ctx: ReadContext
) -> Iterator[list[str]]:
    if tolerant:
        return tolerant_records(lines, delimiter, ncols, ctx)
    return csv.reader(lines, delimiter=delimiter, strict=False)


def _skip_to_header(lines: Iterator[str]) -> str | None:
    return next((ln for ln in lines if ln.strip(_BLANK_LINE)), None)


def _columns_with_values(
    ctx: ReadContext, delimiter: str, ncols: int, tolerant: bool, indexes: set[int]
) -> set[int]:
    """Which of the columns at ``indexes`` hold a value in some row (a second, early-ending read).

    Without a way to read the file again every such column counts as holding values, so nothing
    can be dropped that was not looked at.
    """
    if ctx.reopen is None:
        return set(indexes)
    lines = ctx.reopen()
    found: set[int] = set()
    try:
        if _skip_to_header(lines) is None:
            return found
        for cells in _records(lines, delimiter, ncols, tolerant, ReadContext()):
            for index in indexes - found:
                if index < len(cells) and cells[index].strip():
                    found.add(index)
            if found == indexes:
                break
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()
    return found


def _open_table(
    lines: Iterator[str],
    ctx: ReadContext,
    uri_columns: Sequence[str],
    name_columns: Sequence[str],
    tolerant: bool,
) -> _Table:
    header_line = _skip_to_header(lines)
    if header_line is None:
        raise ManifestFormatError("the manifest is empty")
    delimiter = sniff_delimiter(header_line)
    ctx.delimiter = delimiter
    raw = next(csv.reader([strip_line(header_line)], delimiter=delimiter), [])
    names = [h.strip() for h in unescape_row(raw)]
    ncols = len(names)
    unnamed = {i for i, h in enumerate(names) if not h}
    dropped: set[int] = set()
    if unnamed:
        with_values = _columns_with_values(ctx, delimiter, ncols, tolerant, unnamed)
        dropped = unnamed - with_values
        for index in sorted(with_values):
            names[index] = f"column_{index + 1}"
            ctx.warn(
                None,
                "header_missing",
                f"column {index + 1} has no header but holds values; kept as {names[index]!r}",
                value=names[index],
            )
        ctx.dropped_columns.extend(i + 1 for i in sorted(dropped))
    header = _dedupe_header(names, ctx)
    ctx.header = [h for i, h in enumerate(header) if i not in dropped]
    kept = [h if i not in dropped else "" for i, h in enumerate(header)]
    uri_wanted = (ctx.uri_column,) if ctx.uri_column else uri_columns
    uri_index = _find(kept, uri_wanted)
    if uri_index is None:
        option = " (--drs-column)" if ctx.uri_column else "; name it with --drs-column"
        raise ManifestFormatError(
            f"no {' / '.join(uri_wanted)} column{option} in the header {ctx.header[:8]!r}"
        )
    name_index = _find(kept, name_columns)
    if ctx.name_column:
        name_index = _find(kept, (ctx.name_column,))
        if name_index is None:
            raise ManifestFormatError(
                f"no {ctx.name_column} column (--name-column) in the header {ctx.header[:8]!r}"
            )
    meta = [
        (col, i)
        for i, col in enumerate(header)
        if i not in (uri_index, name_index) and i not in dropped
    ]
    short_ok = ncols
    while short_ok - 1 in dropped:
        short_ok -= 1
    records = _records(lines, delimiter, ncols, tolerant, ctx)
    return _Table(
        header, uri_index, name_index, records, ncols, meta, short_ok, header_line, delimiter
    )


def _is_blank(cells: list[str]) -> bool:
    return not "".join(cells).strip()


def _odd_row(cells: list[str], table: _Table, number: int, ctx: ReadContext) -> list[str] | None:
    """A record off the fast path: ``None`` for a blank one (counted), else its cells.

    Blank records are skipped and counted in ``ctx.blank_rows``. Missing cells are padded, extra
    cells kept (as ``extra_N`` metadata by the caller), each with a ``row_shape`` warning —
    except empty extra cells and cells of dropped trailing columns, which carry nothing.
    """
    if _is_blank(cells):
        ctx.blank_rows += 1
        return None
    ncols = table.ncols
    if len(cells) > ncols:
        if not "".join(cells[ncols:]).strip():
            return cells[:ncols]
    elif len(cells) < ncols and len(cells) >= table.short_ok:
        return cells + [""] * (ncols - len(cells))
    if len(cells) != ncols:
        ctx.warn(
            number,
            "row_shape",
            f"row has {len(cells)} cells, the header has {ncols}",
            value=cells[table.uri_index] if table.uri_index < len(cells) else None,
        )
    if len(cells) < ncols:
        return cells + [""] * (ncols - len(cells))
    return cells


def _needs_unescape(chunk: list[list[str]]) -> bool:
    # One C-level join per batch: only a batch holding a cell that starts with ' is looked at.
    return "\x00'" in "\x00" + "\x00".join(itertools.chain.from_iterable(chunk))


def read_table(
    lines: Iterator[str],
    ctx: ReadContext,
    *,
    uri_columns: Sequence[str],
    name_columns: Sequence[str],
    tolerant: bool = False,
) -> Iterator[ManifestRow]:
    """Rows of a delimited manifest whose header names the URI and name columns.

    The delimiter (``,`` ``;`` tab) is sniffed from the header. Every other column goes into
    ``metadata`` under its header name. Blank rows (every cell empty) are skipped and counted in
    ``ctx.blank_rows``; a column without a header is dropped when it holds no value anywhere and
    kept as ``column_N`` otherwise (``header_missing`` warning); rows with too few or too many
    cells are padded or keep the extras as ``extra_N`` metadata, each with a ``row_shape``
    warning. Formula escapes (``'=…``) are undone.
    """
    table = _open_table(lines, ctx, uri_columns, name_columns, tolerant)
    uri_index, name_index, ncols, meta = table.uri_index, table.name_index, table.ncols, table.meta
    meta_keys = tuple(col for col, _ in meta)
    # itemgetter + zip builds each row's metadata in C; a comprehension is a call per row.
    pick: Callable[[list[str]], tuple[str, ...]] = (
        operator.itemgetter(*(i for _, i in meta)) if len(meta) > 1 else lambda c: ()
    )
    several = len(meta) > 1
    number = 0
    while chunk := list(itertools.islice(table.records, BATCH_ROWS)):
        if _needs_unescape(chunk):
            chunk = [unescape_row(cells) for cells in chunk]
        for cells in chunk:
            if len(cells) == ncols and not (not cells[uri_index] or cells[uri_index].isspace()):
                number += 1
                if several:
                    row_meta = dict(zip(meta_keys, pick(cells), strict=False))
                else:
                    row_meta = {col: cells[i] for col, i in meta}
            else:
                odd = _odd_row(cells, table, number + 1, ctx)
                if odd is None:
                    continue
                number += 1
                row_meta = {col: odd[i] for col, i in meta}
                for k in range(len(odd) - ncols):
                    row_meta[f"extra_{k + 1}"] = odd[ncols + k]
                cells = odd
            name = cells[name_index] if name_index is not None else None
            yield make_row(cells[uri_index], name or None, row_meta, number)


def read_table_columns(
    lines: Iterator[str],
    ctx: ReadContext,
    key_columns: Sequence[str],
    *,
    uri_columns: Sequence[str],
    name_columns: Sequence[str],
    tolerant: bool = False,
) -> Iterator[AnyColumnBatch]:
    """The same rows as :func:`read_table`, as column batches for checking (no row objects).

    A file on disk is parsed by Arrow (``_arrow.py``): clean batches stay Arrow arrays, and the
    cross-row checks hash them with NumPy (``crossrow.arrow_hasher``). Otherwise, and for
    whatever Arrow hands back, a batch whose records all have the header's width and a
    non-blank URI is cut into columns by list comprehensions; any other batch goes record by
    record with :func:`read_table`'s rules.
    """
    table = _open_table(lines, ctx, uri_columns, name_columns, tolerant)
    key_index = _key_index(table, key_columns)
    cutter = _Cutter(table, ctx, key_index)
    fast = None
    if not tolerant:
        fast = open_records(
            ctx,
            table.header_line,
            table.delimiter,
            table.ncols,
            table.uri_index,
            table.name_index,
            key_index,
        )
    records = table.records
    if fast is not None:
        from htan_cds.manifest.crossrow import arrow_hasher

        cutter.hasher = arrow_hasher()
        for item in fast:
            if isinstance(item, ArrowColumnBatch):
                item.first, item.hasher = cutter.number + 1, cutter.hasher
                cutter.number += len(item)
                yield item
            elif (batch := cutter.cut(item)) is not None:
                yield batch
        if fast.complete:
            return
        # Arrow stopped: the csv reader goes on from the same record (it reports the problem).
        records = itertools.islice(records, fast.consumed, None)
    while chunk := list(itertools.islice(records, BATCH_ROWS)):
        if (batch := cutter.cut(chunk)) is not None:
            yield batch


class _Cutter:
    """Cuts chunks of records into column batches, numbering rows across chunks."""

    def __init__(self, table: _Table, ctx: ReadContext, key_index: int | None) -> None:
        self.table, self.ctx, self.key_index = table, ctx, key_index
        self.number = 0
        self.hasher: Any = None

    def cut(self, chunk: list[list[str]]) -> ColumnBatch | None:
        table, ncols, uri_index = self.table, self.table.ncols, self.table.uri_index
        uris = [c[uri_index] for c in chunk] if set(map(len, chunk)) == {ncols} else None
        unescaped = False
        if uris is None or not all(uris) or any(map(str.isspace, uris)):
            # Blank or odd rows are judged on the cells as read_table sees them: a formula
            # escape of white space ('\t) is a blank cell.
            if _needs_unescape(chunk):
                chunk, unescaped = [unescape_row(cells) for cells in chunk], True
            kept: list[list[str]] = []
            for cells in chunk:
                if len(cells) != ncols or not cells[uri_index].strip():
                    odd = _odd_row(cells, table, self.number + len(kept) + 1, self.ctx)
                    if odd is None:
                        continue
                    cells = odd
                kept.append(cells)
            chunk = kept
            if not chunk:
                return None
            uris = [c[uri_index] for c in chunk]
        count = len(chunk)
        blanks = [""] * count
        name_index, key_index = table.name_index, self.key_index
        names = [c[name_index] for c in chunk] if name_index is not None else blanks
        keys = [c[key_index] for c in chunk] if key_index is not None else blanks
        if not unescaped:
            uris = unescape_column(uris) or uris
            names = unescape_column(names) or names
            keys = unescape_column(keys) or keys
        batch = ColumnBatch(
            uris,
            names,
            keys,
            list(range(self.number + 1, self.number + count + 1)),
            self.hasher,
        )
        self.number += count
        return batch


def _key_index(table: _Table, key_columns: Sequence[str]) -> int | None:
    """The first of ``key_columns`` the table has (case and ``_``/space insensitive)."""
    wanted = [_loose(k) for k in key_columns]
    loose = {_loose(col): i for col, i in table.meta}
    return next((loose[k] for k in wanted if k in loose), None)


def _loose(name: str) -> str:
    return name.strip().lower().replace(" ", "_")
