"""Writing delimited manifests: column order, no silently dropped value, formula escapes."""

from __future__ import annotations

import csv
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal, TextIO, cast

from htan_cds.errors import ManifestError
from htan_cds.manifest.formats._cells import escape_row, may_need_escape
from htan_cds.manifest.formats._dialect import BOM
from htan_cds.manifest.registry import BATCH_ROWS, DEFAULT_WRITE, WriteOptions
from htan_cds.manifest.row import ManifestRow

if TYPE_CHECKING:
    from _csv import Writer as CsvWriter

# Writers learn the metadata columns from this many leading rows when no columns are given.
_COLUMN_SCAN_ROWS = 10000


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
    options: WriteOptions = DEFAULT_WRITE,
    delimiter: str = ",",
    quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL,
    lineterminator: str = "\n",
    bom: bool = False,
    tail: Sequence[str] = (),
    lead_row: Callable[[ManifestRow], list[str]] | None = None,
) -> int:
    """Write rows as a delimited table: ``lead`` columns, then metadata, then ``tail`` metadata.

    ``lead`` names the first columns and how to get each value; ``lead_row`` may give all of
    them in one call (faster). ``options.delimiter`` overrides ``delimiter``; with
    ``options.escape_formulas`` every cell a spreadsheet would run as a formula is written with
    a leading ``'`` (``_cells.py``).

    Rows go out in batches: a batch with no cell to escape and no lone carriage return is
    handed to ``csv.writer.writerows`` whole; any other goes row by row.
    """
    meta_cols, stream = metadata_columns(rows, columns)
    lead_names = {name for name, _ in lead}
    middle = [c for c in meta_cols if c not in lead_names and c not in tail]
    meta_out = middle + list(tail)
    known = set(meta_cols) | set(meta_out) | lead_names
    delimiter = options.delimiter or delimiter
    escape = options.escape_formulas
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    # csv's minimal quoting leaves a lone "\r" bare when lines end in "\n", and readers then
    # take it as a line end; rows holding one are written fully quoted instead.
    quote_all = csv.writer(
        out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=lineterminator
    )
    if bom:
        out.write(BOM)
    header = [name for name, _ in lead] + meta_out
    writer.writerow(escape_row(header) if escape else header)
    getters = [fn for _, fn in lead]
    make_lead = lead_row or (lambda row: [fn(row) for fn in getters])
    # itemgetter picks every metadata value in C; rows that lack a column take the slow path.
    pick = _picker(meta_out)
    width = len(meta_out)

    def values_of(row: ManifestRow) -> list[str]:
        meta = row.metadata
        try:
            picked = pick(meta)
            exact = len(meta) == width  # all columns present and no other key
        except KeyError:
            picked = [meta.get(c, "") for c in meta_out]
            exact = False
        if not exact and not known.issuperset(meta):
            check_columns(row, known)
        values = make_lead(row)
        values.extend(picked)
        return values

    count = 0
    iterator = iter(stream)
    while chunk := list(itertools.islice(iterator, BATCH_ROWS)):
        write_batch(list(map(values_of, chunk)), writer, quote_all, escape)
        count += len(chunk)
    return count


def write_batch(
    batch: list[list[str]], writer: CsvWriter, quote_all: CsvWriter, escape: bool
) -> None:
    """Write rows of cells: with ``writerows`` when no cell needs an escape or holds a
    carriage return, else row by row (escaped; a row holding ``"\r"`` fully quoted)."""
    joined = "\x00" + "\x00".join(itertools.chain.from_iterable(batch))
    if "\r" in joined or (escape and may_need_escape(joined)):
        for values in batch:
            if escape:
                values = escape_row(values)
            if "\r" in "".join(values):
                quote_all.writerow(values)
            else:
                writer.writerow(values)
    else:
        writer.writerows(batch)


def _picker(columns: Sequence[str]) -> Callable[[dict[str, str]], Sequence[str]]:
    if not columns:
        return lambda meta: ()
    if len(columns) == 1:
        column = columns[0]
        return lambda meta: (meta[column],)
    getter = operator.itemgetter(*columns)
    return cast(Callable[[dict[str, str]], Sequence[str]], getter)
