"""``manifest convert``: read, check, optionally repair, and write a manifest, with its report.

Two paths give the same bytes and the same report. The row path reads :class:`ManifestRow`
objects and hands them to the format's writer; it serves every format. The column path serves
the million-row case — a delimited input (a format with a :class:`TableSpec`) written as
``cgc`` to a file — without building an object per row: whole records in batches
(``formats/_records.py``), checked and repaired as columns (``Checker.add_columns``,
``Repairer.repair_columns``; a batch that needs row-by-row repair is made into rows for that
batch alone), written by joins from the columns (``formats/_column_writing.py``). A file the
column path does not carry (a row with extra cells) is converted again on the row path.
``tests/manifest/test_fast_convert.py`` runs both on random manifests and compares them.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TextIO

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.errors import UsageError
from htan_cds.manifest._check_aside import CheckAside, aside_pays, column_batch, file_id_plan
from htan_cds.manifest.checks import FILE_ID_COLUMNS, Checker, CheckReport
from htan_cds.manifest.files import ManifestReader, write_options, write_to
from htan_cds.manifest.formats._column_writing import ColumnWriter
from htan_cds.manifest.formats._records import NeedsRows, RecordTable
from htan_cds.manifest.registry import WriteOptions
from htan_cds.manifest.repair import Repairer, UriPreference
from htan_cds.manifest.row import Finding, ManifestRow, make_row

# Output formats the column path writes: their lead columns (then metadata in header order).
_COLUMN_LEADS = {"cgc": ("name", "drs_uri")}

Progress = Callable[[ManifestReader], AbstractContextManager[Callable[[], None] | None]]


@dataclass
class ConvertRequest:
    """What ``manifest convert`` was asked (the CLI's options, see its help)."""

    file: str
    to: str
    output: str
    fmt: str = "auto"
    fix: bool = False
    keep_all_uris: bool = False
    keep_delimiter: bool = False
    escape_formulas: bool = True
    drs_column: str | None = None
    name_column: str | None = None


@dataclass
class ConvertResult:
    """What a conversion did: the report ``payload`` (``--report``/``--json``), the check
    report, the repairer (``None`` without ``--fix``), and whether it ``failed`` (exit 1)."""

    payload: dict[str, Any]
    label: str
    check: CheckReport
    written: int
    repairer: Repairer | None
    dropped: list[Finding]
    failed: bool


def _no_progress(reader: ManifestReader) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


def convert_manifest(
    request: ConvertRequest,
    *,
    registry: PrefixRegistry | None = None,
    prefer: UriPreference | None = None,
    progress: Progress = _no_progress,
    columns: bool = True,
    check_aside: bool = False,
) -> ConvertResult:
    """Convert ``request.file`` to ``request.to`` at ``request.output``.

    ``prefer`` picks among several URIs of one HTAN file id (with ``fix`` and without
    ``keep_all_uris``); ``columns=False`` forces the row path (the reference);
    ``check_aside`` lets a big input be checked in a spawned child process (the CLI's choice:
    a program calling this must guard its main module, as ``multiprocessing`` requires). Errors:
    :class:`UsageError` for options that do not go together, ``ManifestError`` for unreadable
    input or unwritable output.
    """
    if request.keep_all_uris and not request.fix:
        raise UsageError("--keep-all-uris goes with --fix (without --fix every row is kept)")
    use_columns = (
        columns and request.to in _COLUMN_LEADS and request.file != "-" and request.output != "-"
    )
    if use_columns:
        try:
            return _convert(request, registry, prefer, progress, columns=True, aside=check_aside)
        except NeedsRows:
            pass  # a row the column path does not carry: all again, row by row
    return _convert(request, registry, prefer, progress, columns=False, aside=False)


def _convert(
    request: ConvertRequest,
    registry: PrefixRegistry | None,
    prefer: UriPreference | None,
    progress: Progress,
    *,
    columns: bool,
    aside: bool,
) -> ConvertResult:
    checker = Checker(registry=registry)
    repairer = (
        Repairer(registry=registry, keep_all_uris=request.keep_all_uris, prefer=prefer)
        if request.fix
        else None
    )
    with (
        ManifestReader(
            request.file,
            request.fmt,
            drs_column=request.drs_column,
            name_column=request.name_column,
        ) as reader,
        progress(reader) as tick,
    ):
        delimiter = _output_delimiter(reader, request.keep_delimiter, request.to)
        fmt, options = write_options(request.to, delimiter, request.escape_formulas)
        table = reader.records() if columns else None
        if table is not None:
            size = _size(request.file)
            checking = None
            if aside and aside_pays(size):
                checking = CheckAside(
                    request.file, request.fmt, request.drs_column, request.name_column, registry
                )
            try:
                written = write_to(
                    request.output,
                    _column_writer(
                        table, request, options, checker, repairer, tick, size, checking
                    ),
                    fmt.encoding,
                )
                check_report = checking.result() if checking is not None else None
            finally:
                if checking is not None:
                    checking.close()
        else:
            writer = fmt.writer
            assert writer is not None
            rows = itertools.chain.from_iterable(_row_batches(reader, checker, repairer, tick))
            written = write_to(
                request.output, lambda out: writer(rows, out, None, options), fmt.encoding
            )
            check_report = None
        if check_report is None:
            check_report = checker.finish_from(reader.context, reader.format)
    return _result(request, reader, check_report, written, delimiter, repairer)


def _column_writer(
    table: RecordTable,
    request: ConvertRequest,
    options: WriteOptions,
    checker: Checker,
    repairer: Repairer | None,
    tick: Callable[[], None] | None,
    size: int | None,
    aside: CheckAside | None,
) -> Callable[[TextIO], int]:
    """What writes the output on the column path (``checker`` unused when checked aside)."""
    lead = _COLUMN_LEADS[request.to]

    def write(out: TextIO) -> int:
        writer = ColumnWriter(
            out,
            lead=lead,
            metadata=[k for k, _ in table.meta if k not in lead],
            delimiter=options.delimiter or ",",
            escape=options.escape_formulas,
        )
        with _no_cycle_collection():
            _column_pass(table, writer, None if aside else checker, repairer, tick, size)
        return writer.close()

    return write


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off: a batch allocates thousands of lists and strings that
    form no cycle (reference counting frees them), and the collector's passes over them cost a
    fifth of a million-row conversion while freeing nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _row_batches(
    reader: ManifestReader,
    checker: Checker,
    repairer: Repairer | None,
    tick: Callable[[], None] | None,
) -> Iterator[list[ManifestRow]]:
    """The row path: batches of rows, checked as they pass, repaired with ``--fix``."""
    batches = _tapped(reader.batches(), checker, tick)
    if repairer is not None:
        return repairer.repair_batches(batches)
    return batches


def _tapped(
    batches: Iterator[list[ManifestRow]], checker: Checker, tick: Callable[[], None] | None
) -> Iterator[list[ManifestRow]]:
    for batch in batches:
        checker.add_many(batch)
        if tick is not None:
            tick()
        yield batch


def _column_pass(
    table: RecordTable,
    writer: ColumnWriter,
    checker: Checker | None,
    repairer: Repairer | None,
    tick: Callable[[], None] | None,
    size: int | None = None,
) -> None:
    """The column path: each record batch checked, repaired and written as columns.

    ``size`` (the input's bytes, when known) sizes the repairer's tables after the first batch.
    """
    uri_index, name_index, meta = table.uri_index, table.name_index, table.meta
    meta_keys = [k for k, _ in meta]
    lead = set(_COLUMN_LEADS["cgc"])
    out_meta = [i for k, i in meta if k not in lead]
    out_keys = [k for k in meta_keys if k not in lead]
    plan = file_id_plan(meta, FILE_ID_COLUMNS)
    for first, batch in table.batches:
        cols, joined = batch.columns, batch.joined
        seen = column_batch(table, cols, first, plan)
        uris, names, file_ids, numbers = seen.uris, seen.names, seen.keys, seen.numbers
        count = len(uris)
        name_joined = joined[name_index] if name_index is not None else None
        if checker is not None:
            checker.add_columns(seen)
        metadata = [cols[i] for i in out_meta]
        meta_joined = [joined[i] for i in out_meta]
        if repairer is None:
            writer.columns([names, uris, *metadata], [name_joined, joined[uri_index], *meta_joined])
        elif (fulls := repairer.repair_columns(numbers, uris, names, file_ids)) is not None:
            same = fulls == uris
            uri_joined = joined[uri_index] if same else None
            writer.columns([names, fulls, *metadata], [name_joined, uri_joined, *meta_joined])
        else:
            rows = [
                make_row(uris[n], names[n] or None, _meta(meta, cols, n), numbers[n])
                for n in range(count)
            ]
            writer.rows(_values(repairer.repair_batch(rows), out_keys))
        if tick is not None:
            tick()
        if size and repairer is not None and first == 1:
            repairer.reserve(_rows_expected(size, cols, count))
    if repairer is not None:
        writer.rows(_values(repairer.release_held(), out_keys))


def _meta(meta: list[tuple[str, int]], cols: list[list[str]], row: int) -> dict[str, str]:
    """A row's metadata as ``read_table`` gives it (every metadata column, header order)."""
    return {key: cols[index][row] for key, index in meta}


def _size(file: str) -> int | None:
    """The bytes of a plain (not compressed) input file, else ``None``."""
    if file.endswith(".gz"):
        return None
    try:
        return os.path.getsize(file)
    except OSError:
        return None


# The reservation stops here: a wrong guess must not cost more memory than growing would.
_MAX_RESERVED_ROWS = 1_500_000


def _rows_expected(size: int, cols: list[list[str]], count: int) -> int:
    """About how many rows a file of ``size`` bytes holds, from the first batch's row length
    (characters for bytes: an underestimate for non-ASCII text, which only costs a growth)."""
    if count < 1000:
        return 0
    length = sum(map(len, itertools.chain.from_iterable(cols))) + len(cols) * count
    return min(int(size * count / max(length, 1)), _MAX_RESERVED_ROWS)


def _values(rows: list[ManifestRow], keys: Sequence[str]) -> list[list[str]]:
    """Rows as the cells ``cgc`` writes: name, URI, metadata in header order."""
    return [[row.name or "", row.drs_uri, *(row.metadata[k] for k in keys)] for row in rows]


def _output_delimiter(reader: ManifestReader, keep: bool, to: str) -> str | None:
    """The input's delimiter when ``--keep-delimiter`` asks for it (``None``: the format's)."""
    if not keep:
        return None
    delimiter = reader.context.delimiter
    if delimiter is None:
        raise UsageError(f"--keep-delimiter: {reader.label} ({reader.format}) has no delimiter")
    return str(delimiter)


def _result(
    request: ConvertRequest,
    reader: ManifestReader,
    check_report: CheckReport,
    written: int,
    delimiter: str | None,
    repairer: Repairer | None,
) -> ConvertResult:
    dropped = repairer.dropped if repairer else []
    unusable = [f for f in dropped if f.severity == "error"]
    payload: dict[str, Any] = {
        "input": reader.label,
        "input_format": reader.format,
        "delimiter": check_report.delimiter,
        "encoding": check_report.encoding,
        "output": request.output,
        "to": request.to,
        "output_delimiter": delimiter,
        "fix": request.fix,
        "rows_in": check_report.rows,
        "blank_rows": check_report.blank_rows,
        "rows_out": written,
        "uri_rule": repairer.uri_rule if repairer else None,
        "dropped": [f.to_dict() for f in dropped],
        "changes": dict(sorted(repairer.counts.items())) if repairer else {},
        "repairs": [f.to_dict() for f in repairer.findings if f not in dropped] if repairer else [],
        "check": check_report.to_dict(),
    }
    failed = bool(unusable) if request.fix else not check_report.ok
    payload["ok"] = not failed
    return ConvertResult(payload, reader.label, check_report, written, repairer, dropped, failed)
