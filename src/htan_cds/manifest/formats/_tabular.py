"""Shared machinery of the CSV/TSV manifest formats: header mapping, tolerant parsing, writing."""

from __future__ import annotations

import csv
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

from htan_cds.errors import ManifestError, ManifestFormatError
from htan_cds.manifest.formats._tolerant import tolerant_records
from htan_cds.manifest.registry import BATCH_ROWS, ColumnBatch, ReadContext
from htan_cds.manifest.row import ManifestRow, make_row

BOM = "\ufeff"
# Writers learn the metadata columns from this many leading rows when no columns are given.
_COLUMN_SCAN_ROWS = 10000


def strip_line(line: str) -> str:
    """A line without its BOM and line ending."""
    return line.lstrip(BOM).rstrip("\r\n")


def guess_delimiter(header_line: str) -> str:
    """Tab when the header has more tab-separated than comma-separated fields, else comma."""
    text = strip_line(header_line)
    return "\t" if text.count("\t") > text.count(",") else ","


def header_fields(head_lines: list[str]) -> list[str]:
    """The fields of the first non-blank line (for sniffers), stripped and without BOM."""
    for line in head_lines:
        text = strip_line(line)
        if text.strip():
            delimiter = guess_delimiter(text)
            fields = next(csv.reader([text], delimiter=delimiter), [])
            return [f.strip() for f in fields]
    return []


def _find(header: list[str], candidates: Sequence[str]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered.index(candidate.lower())
    return None


def _dedupe_header(header: list[str], ctx: ReadContext) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for col in header:
        if col in seen:
            seen[col] += 1
            new = f"{col} ({seen[col]})"
            ctx.warn(None, "header_duplicate", f"column {col!r} appears twice; kept as {new!r}")
            out.append(new)
        else:
            seen[col] = 1
            out.append(col)
    return out


@dataclass
class _Table:
    """An opened delimited manifest: header, where the URI and name are, and the records."""

    header: list[str]
    uri_index: int
    name_index: int | None
    records: Iterator[list[str]]

    @property
    def ncols(self) -> int:
        return len(self.header)


def _open_table(
    lines: Iterator[str],
    ctx: ReadContext,
    uri_columns: Sequence[str],
    name_columns: Sequence[str],
    tolerant: bool,
) -> _Table:
    header_line = next((ln for ln in lines if ln.strip("\r\n\t " + BOM)), None)
    if header_line is None:
        raise ManifestFormatError("the manifest is empty")
    delimiter = guess_delimiter(header_line)
    raw = next(csv.reader([strip_line(header_line)], delimiter=delimiter), [])
    header = _dedupe_header([h.strip() for h in raw], ctx)
    ctx.header = header
    uri_index = _find(header, uri_columns)
    if uri_index is None:
        raise ManifestFormatError(
            f"no {' / '.join(uri_columns)} column in the header {header[:8]!r}"
        )
    records: Iterator[list[str]]
    if tolerant:
        records = tolerant_records(lines, delimiter, len(header), ctx)
    else:
        records = csv.reader(lines, delimiter=delimiter, strict=False)
    return _Table(header, uri_index, _find(header, name_columns), records)


def _odd_row(cells: list[str], ncols: int, number: int, ctx: ReadContext) -> list[str] | None:
    """A blank record (``None``: skipped, not counted) or a ragged one padded, with a warning."""
    if not cells or (len(cells) == 1 and not cells[0].strip()):
        return None
    return _reshape(cells, ncols, number + 1, ctx)


def read_table(
    lines: Iterator[str],
    ctx: ReadContext,
    *,
    uri_columns: Sequence[str],
    name_columns: Sequence[str],
    tolerant: bool = False,
) -> Iterator[ManifestRow]:
    """Rows of a delimited manifest whose header names the URI and name columns.

    Every other column goes into ``metadata`` under its header name. Blank lines are skipped and
    not counted; rows with too few or too many cells are padded or keep the extras as
    ``extra_N`` metadata, each with a ``row_shape`` warning in ``ctx``.
    """
    table = _open_table(lines, ctx, uri_columns, name_columns, tolerant)
    header, uri_index, name_index, ncols = (
        table.header,
        table.uri_index,
        table.name_index,
        table.ncols,
    )
    meta = [(col, i) for i, col in enumerate(header) if i not in (uri_index, name_index)]
    meta_keys = tuple(col for col, _ in meta)
    # itemgetter + zip builds each row's metadata in C; a comprehension is a call per row.
    pick: Callable[[list[str]], tuple[str, ...]] = (
        operator.itemgetter(*(i for _, i in meta)) if len(meta) > 1 else lambda c: ()
    )
    number = 0
    several = len(meta) > 1
    for cells in table.records:
        if len(cells) == ncols and (ncols > 1 or cells[0].strip()):
            number += 1
            if several:
                row_meta = dict(zip(meta_keys, pick(cells), strict=False))
            else:
                row_meta = {col: cells[i] for col, i in meta}
        else:
            odd = _odd_row(cells, ncols, number, ctx)
            if odd is None:
                continue
            cells = odd
            number += 1
            row_meta = {col: cells[i] for col, i in meta}
            for k in range(len(cells) - ncols):
                row_meta[f"extra_{k + 1}"] = cells[ncols + k]
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
) -> Iterator[ColumnBatch]:
    """The same rows as :func:`read_table`, as column batches for checking (no row objects).

    A batch whose records all have the header's width is cut into columns by list
    comprehensions; any other batch goes record by record with :func:`read_table`'s rules.
    """
    table = _open_table(lines, ctx, uri_columns, name_columns, tolerant)
    ncols, uri_index, name_index = table.ncols, table.uri_index, table.name_index
    key_index = next((table.header.index(c) for c in key_columns if c in table.header), None)
    number = 0
    while chunk := list(itertools.islice(table.records, BATCH_ROWS)):
        if ncols > 1 and set(map(len, chunk)) == {ncols}:
            count = len(chunk)
        else:
            kept: list[list[str]] = []
            for cells in chunk:
                if len(cells) != ncols or (ncols == 1 and not cells[0].strip()):
                    odd = _odd_row(cells, ncols, number + len(kept), ctx)
                    if odd is None:
                        continue
                    cells = odd
                kept.append(cells)
            chunk, count = kept, len(kept)
            if not count:
                continue
        blanks = [""] * count
        yield ColumnBatch(
            [c[uri_index] for c in chunk],
            [c[name_index] for c in chunk] if name_index is not None else blanks,
            [c[key_index] for c in chunk] if key_index is not None else blanks,
            list(range(number + 1, number + count + 1)),
        )
        number += count


def _reshape(cells: list[str], ncols: int, number: int, ctx: ReadContext) -> list[str]:
    ctx.warn(number, "row_shape", f"row has {len(cells)} cells, the header has {ncols}")
    if len(cells) < ncols:
        return cells + [""] * (ncols - len(cells))
    return cells


def metadata_columns(
    rows: Iterable[ManifestRow], columns: Sequence[str] | None
) -> tuple[list[str], Iterator[ManifestRow]]:
    """The metadata columns to write, and the rows (some may have been read ahead to learn them).

    With ``columns`` given they are used as-is. Otherwise, a list is scanned whole and a stream
    is read ahead by up to 10,000 rows; :func:`check_columns` refuses a later row with a new key.
    """
    if columns is not None:
        return list(columns), iter(rows)
    if isinstance(rows, Sequence):
        head: list[ManifestRow] = list(rows)
        rest: Iterator[ManifestRow] = iter(())
    else:
        iterator = iter(rows)
        head = list(itertools.islice(iterator, _COLUMN_SCAN_ROWS))
        rest = iterator
    seen: dict[str, None] = {}
    for row in head:
        for key in row.metadata:
            seen.setdefault(key, None)
    return list(seen), itertools.chain(head, rest)


def check_columns(row: ManifestRow, known: set[str]) -> None:
    """Refuse to drop a metadata value silently: every key must have a column."""
    if not known.issuperset(row.metadata):
        missing = sorted(set(row.metadata) - known)
        raise ManifestError(
            f"row {row.row_number} has metadata column(s) {missing!r} the output has no column for",
            hint="pass the full column list",
        )


def write_table(
    rows: Iterable[ManifestRow],
    out: TextIO,
    *,
    lead: Sequence[tuple[str, Callable[[ManifestRow], str]]],
    columns: Sequence[str] | None,
    delimiter: str = ",",
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
    lineterminator: str = "\n",
    bom: bool = False,
    tail: Sequence[str] = (),
) -> int:
    """Write rows as a delimited table: ``lead`` columns, then metadata, then ``tail`` metadata."""
    meta_cols, stream = metadata_columns(rows, columns)
    lead_names = {name for name, _ in lead}
    middle = [c for c in meta_cols if c not in lead_names and c not in tail]
    meta_out = middle + list(tail)
    known = set(meta_cols) | set(meta_out)
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    # csv's minimal quoting leaves a lone "\r" bare when lines end in "\n", and readers then
    # take it as a line end; rows holding one are written fully quoted instead.
    quote_all = csv.writer(
        out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=lineterminator
    )
    if bom:
        out.write(BOM)
    writer.writerow([name for name, _ in lead] + meta_out)
    count = 0
    for row in stream:
        check_columns(row, known | lead_names)
        get = row.metadata.get
        values = [fn(row) for _, fn in lead] + [get(c, "") for c in meta_out]
        if "\r" in "".join(values):
            quote_all.writerow(values)
        else:
            writer.writerow(values)
        count += 1
    return count
