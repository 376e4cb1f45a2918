"""Opening manifests for reading (streaming, with sniffing) and writing them atomically."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import itertools
import operator
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO, TypeVar, cast

from htan_cds.errors import ManifestError, ManifestFormatError
from htan_cds.manifest.encodings import (
    SAVE_AS_UTF8,
    SNIFF_BYTES,
    UTF8,
    WINDOWS_1252,
    WORKBOOK,
    guessed_message,
    label_of,
    sniff_stream,
)
from htan_cds.manifest.formats._dialect import BOM, describe, sniff_delimiter, strip_line
from htan_cds.manifest.formats._records import RecordTable, open_records
from htan_cds.manifest.registry import (
    BATCH_ROWS,
    AnyColumnBatch,
    ColumnBatch,
    ManifestFormat,
    ReadContext,
    WriteOptions,
    get_format,
    sniff_format,
)
from htan_cds.manifest.row import ManifestRow
from htan_cds.manifest.workbooks import refuse, workbook_kind, xlsx_to_csv
from htan_cds.outputs import replace_atomically

_SNIFF_LINES = 20
_SCAN_CHUNK = 4 << 20  # bytes per read when a long ASCII head makes the sniff look further
# Excel reads (and some exporters write) a first line "sep=;" naming the delimiter.
_SEP_LINE = re.compile(r"sep=[,;\t|]\s*", re.IGNORECASE)
_T = TypeVar("_T")
Source = Path | str | IO[str]


class ManifestReader:
    """An open manifest: its (sniffed) format, shape findings, and a one-pass row iterator.

    Use as a context manager; iterating streams rows without holding the file in memory (except
    Gen3 JSON, which must be parsed whole).
    """

    def __init__(
        self,
        source: Source,
        format: str = "auto",
        *,
        drs_column: str | None = None,
        name_column: str | None = None,
    ) -> None:
        if format != "auto":
            get_format(format)  # an unknown name is refused before the file is opened
        self.context = ReadContext(uri_column=drs_column, name_column=name_column)
        self._columns = (drs_column, name_column)
        self._owned: IO[str] | None = None
        self._binary: IO[bytes] | None = None
        self._spool: Path | None = None
        try:
            stream, self.label = self._open(source)
        except BaseException:
            self.close()  # a stdin spool is removed
            raise
        try:
            lines: Iterator[str] = iter(stream)
            head = list(itertools.islice(lines, _SNIFF_LINES))
        except UnicodeDecodeError as exc:
            self.close()
            raise _decode_error(self.label, self.context.encoding, exc) from None
        except OSError as exc:
            self.close()
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        if head and _SEP_LINE.fullmatch(strip_line(head[0])):
            # The header line that follows says the same; the hint line is not a row.
            head = head[1:]
            self._skip_sep_line()
        if format == "auto":
            try:
                format = sniff_format(head, any_table=drs_column is not None)
            except ManifestError as exc:
                self.close()
                raise type(exc)(f"{self.label}: {exc.message}", hint=exc.hint) from None
        self.format = format
        self._fmt = get_format(format)
        if self._fmt.delimiters:
            # Known before the first row: a writer of the same delimiter needs it for its header.
            header = next((ln for ln in head if ln.strip("\r\n\t ;," + BOM)), "")
            self.context.delimiter = sniff_delimiter(header) if header else None
        if (drs_column or name_column) and not self._fmt.delimiters:
            self.close()
            raise ManifestFormatError(
                f"{self.label}: --drs-column/--name-column apply to delimited files, not {format}"
            )
        self._lines = itertools.chain(head, lines)

    def _open(self, source: Source) -> tuple[IO[str], str]:
        if isinstance(source, str) and source == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is None:
                return sys.stdin, "<stdin>"
            # Spooled to a temporary file so the manifest can be read twice (a look ahead at a
            # column without a header); decoded as files are (BOM dropped, raw line ends).
            self._spool = _spool(buffer)
            return self._open_path(self._spool, "<stdin>")
        if isinstance(source, str | os.PathLike):
            return self._open_path(Path(source), str(source))
        if isinstance(source, io.StringIO):
            text = source.getvalue()
            self.context.reopen = lambda: iter(io.StringIO(text, newline=""))
        return source, getattr(source, "name", "<stream>")

    def _open_path(self, path: Path, label: str) -> tuple[IO[str], str]:
        try:
            with _open_binary(path) as probe:
                head = probe.read(SNIFF_BYTES)
                kind = workbook_kind(head, None if path.suffix == ".gz" else path)
                if kind is None:
                    rest = iter(lambda: probe.read(_SCAN_CHUNK), b"")
                    encoding, decided_at = sniff_stream(head, rest, label)
        except (OSError, EOFError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ManifestError(f"cannot open {label}: {why}") from None
        if kind == "xlsx":
            return self._open_sheet(path, label)
        if kind is not None:
            raise refuse(kind, label)
        try:
            binary = _open_binary(path)
        except OSError as exc:
            raise ManifestError(f"cannot open {label}: {exc.strerror or exc}") from None
        self.context.encoding = label_of(encoding)
        if encoding == WINDOWS_1252:
            self.context.warn(
                None,
                "encoding_guessed",
                guessed_message(label, decided_at),
                value=label_of(encoding),
            )
        self._binary = binary
        # newline="" lets csv see raw line ends; utf-8-sig drops the BOM the CDS portal writes.
        self._owned = io.TextIOWrapper(binary, encoding=encoding, newline="")
        self.context.reopen = lambda: _reread(path, encoding)
        # The fast reader parses the file's bytes as UTF-8 itself.
        self.context.source = path if encoding == UTF8 else None
        return self._owned, label

    def _open_sheet(self, path: Path, label: str) -> tuple[IO[str], str]:
        """An Excel workbook: its active sheet, as CSV in a temporary file read like others."""
        sheet, title, count = xlsx_to_csv(path, label)
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)  # stdin's copy of the workbook
        self._spool = sheet
        opened = self._open_path(sheet, label)
        self.context.encoding = WORKBOOK  # not the private CSV's UTF-8 and commas
        if count > 1:
            self.context.warn(
                None,
                "workbook_sheet",
                f"{label}: read sheet {title!r}, the one the workbook opens at, of {count}",
                value=title,
            )
        return opened

    def _skip_sep_line(self) -> None:
        reopen = self.context.reopen
        if reopen is not None:
            self.context.reopen = lambda: itertools.islice(reopen(), 1, None)
        self.context.source = None  # the fast reader expects the header first

    def reopen(self) -> ManifestReader | None:
        """A fresh reader of the same file (same format and columns), for a second pass over
        rows that are not kept; ``None`` for a stream, which cannot be read twice."""
        if self.context.source is None:
            return None
        drs_column, name_column = self._columns
        again = ManifestReader(
            self.context.source, self.format, drs_column=drs_column, name_column=name_column
        )
        again.label = self.label
        return again

    def bytes_read(self) -> int | None:
        """Bytes consumed from a file so far (for progress bars), ``None`` for streams."""
        if self.context.bytes_done is not None:
            return self.context.bytes_done
        if self._binary is None or self._binary.closed:
            return None
        try:
            return self._binary.tell()
        except (OSError, ValueError):
            return None

    def __iter__(self) -> Iterator[ManifestRow]:
        try:
            yield from self._fmt.reader(self._lines, self.context)
        except UnicodeDecodeError as exc:
            raise _decode_error(self.label, self.context.encoding, exc) from None
        except (OSError, EOFError) as exc:
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        except csv.Error as exc:
            raise ManifestError(f"{self.label}: malformed CSV ({exc})") from None

    def batches(self, size: int | None = None) -> Iterator[list[ManifestRow]]:
        """The rows in lists of up to ``size`` (default ``BATCH_ROWS``; the million-row form of
        iterating)."""
        size = size or BATCH_ROWS
        rows = iter(self)
        while chunk := list(itertools.islice(rows, size)):
            yield chunk

    def iter_columns(self, key_columns: Sequence[str]) -> Iterator[AnyColumnBatch]:
        """The rows as column batches (URI, name, first of ``key_columns``), for checking.

        Tabular formats cut columns straight from the parsed records; other formats batch the
        rows :meth:`__iter__` yields. Use one of the two iterations, once.
        """
        columns = self._fmt.columns
        try:
            if columns is not None:
                yield from columns(self._lines, self.context, key_columns)
            else:
                yield from _batches(iter(self), key_columns)
        except UnicodeDecodeError as exc:
            raise _decode_error(self.label, self.context.encoding, exc) from None
        except (OSError, EOFError) as exc:
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        except csv.Error as exc:
            raise ManifestError(f"{self.label}: malformed CSV ({exc})") from None

    def records(self) -> RecordTable | None:
        """The rows as batches of whole records, for formats read by ``read_table`` (``None``
        for others); the same rows :meth:`__iter__` gives, see ``formats/_records.py``. The
        header is read now. Use one of the iterations, once."""
        spec = self._fmt.table
        if spec is None:
            return None
        with _read_errors(self.label, self.context.encoding):
            table = open_records(self._lines, self.context, spec)
        table.batches = _guarded(table.batches, self.label, self.context.encoding)
        return table

    def close(self) -> None:
        """Close the file if this reader opened it (stdin is left open)."""
        if self._owned is not None:
            self._owned.close()
        elif self._binary is not None:
            self._binary.close()
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)
            self._spool = None

    def __enter__(self) -> ManifestReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def _reread(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines again from the start (closed when the generator is closed)."""
    with io.TextIOWrapper(_open_binary(path), encoding=encoding, newline="") as text:
        yield from text


def _spool(buffer: IO[bytes]) -> Path:
    """Copy a byte stream (stdin) to a private temporary file; the caller deletes it."""
    fd, name = tempfile.mkstemp(prefix="htan-cds-stdin-", suffix=".manifest")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(buffer, out, 1 << 20)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _batches(rows: Iterator[ManifestRow], key_columns: Sequence[str]) -> Iterator[ColumnBatch]:
    while chunk := list(itertools.islice(rows, BATCH_ROWS)):
        yield rows_to_columns(chunk, key_columns)


def file_id_of(metadata: dict[str, str], key_columns: Sequence[str]) -> str:
    """The first non-empty of ``key_columns`` in ``metadata`` (case, ``_``/space insensitive)."""
    for column in key_columns:
        value = metadata.get(column)
        if value:
            return value
    loose = {_loose(c) for c in key_columns}
    return next((v for k, v in metadata.items() if v and _loose(k) in loose), "")


def _loose(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


_METADATA = operator.attrgetter("metadata")


def file_ids_of(rows: Sequence[ManifestRow], key_columns: Sequence[str]) -> list[str]:
    """Each row's HTAN file id: the first non-empty of ``key_columns`` (see :func:`file_id_of`)."""
    metas = list(map(_METADATA, rows))
    keys: list[str] = []
    for column in key_columns:
        # methodcaller over map runs in C; most manifests are done after the first column.
        found = list(map(operator.methodcaller("get", column, ""), metas))
        keys = [k or f for k, f in zip(keys, found, strict=True)] if keys else found
        if all(keys):
            return keys
    if not keys:
        keys = [""] * len(rows)
    return [k or file_id_of(m, key_columns) for k, m in zip(keys, metas, strict=True)]


def rows_to_columns(rows: Sequence[ManifestRow], key_columns: Sequence[str]) -> ColumnBatch:
    """Rows as a :class:`ColumnBatch` (the key is the first non-empty of ``key_columns``)."""
    return ColumnBatch(
        [r.drs_uri for r in rows],
        [r.name or "" for r in rows],
        file_ids_of(rows, key_columns),
        [r.row_number for r in rows],
    )


def iter_manifest(
    source: Source,
    format: str = "auto",
    *,
    context: ReadContext | None = None,
    drs_column: str | None = None,
    name_column: str | None = None,
) -> Iterator[ManifestRow]:
    """Stream the rows of a manifest (path, ``"-"`` for stdin, or an open text stream).

    ``format`` is a registered format name or ``"auto"`` to sniff it from the first lines;
    ``drs_column``/``name_column`` name the URI and name columns of a delimited file. Pass a
    :class:`ReadContext` to receive what the reader found (shape findings, header, delimiter,
    blank rows, dropped columns).
    """
    with ManifestReader(source, format, drs_column=drs_column, name_column=name_column) as reader:
        yield from reader
        if context is not None:
            found = reader.context
            context.findings.extend(found.findings)
            context.header = found.header
            context.delimiter = found.delimiter
            context.blank_rows += found.blank_rows
            context.dropped_columns.extend(found.dropped_columns)


def read_manifest(
    source: Source,
    format: str = "auto",
    *,
    context: ReadContext | None = None,
    drs_column: str | None = None,
    name_column: str | None = None,
) -> list[ManifestRow]:
    """All rows of a manifest as a list (see :func:`iter_manifest`)."""
    return list(
        iter_manifest(
            source, format, context=context, drs_column=drs_column, name_column=name_column
        )
    )


def write_manifest(
    rows: Iterable[ManifestRow],
    dest: Path | str | IO[str],
    format: str,
    *,
    columns: Sequence[str] | None = None,
    delimiter: str | None = None,
    escape_formulas: bool = True,
) -> int:
    """Write rows in ``format`` to a path (atomically) or an open text stream; return the count.

    ``columns`` fixes the metadata columns of tabular formats; by default they are learned from
    the rows, and a row carrying a column the output lacks is refused rather than cut.
    ``delimiter`` replaces a delimited format's own (one of the format's ``delimiters``, else
    :class:`ManifestError`; ignored for JSON). ``escape_formulas`` (default) writes cells a
    spreadsheet would run as formulas with a leading ``'``; every reader here undoes it.
    """
    fmt, options = write_options(format, delimiter, escape_formulas)
    writer = fmt.writer
    assert writer is not None  # write_options refuses a format without one
    return write_to(dest, lambda out: writer(rows, out, columns, options), fmt.encoding)


def write_options(
    format: str, delimiter: str | None, escape_formulas: bool
) -> tuple[ManifestFormat, WriteOptions]:
    """The writable format ``format`` and how to write it; :class:`ManifestError` when it has no
    writer or does not take ``delimiter``."""
    fmt = get_format(format)
    if fmt.writer is None:
        raise ManifestError(f"format {format!r} can be read but not written")
    if delimiter is not None and fmt.delimiters and delimiter not in fmt.delimiters:
        allowed = ", ".join(describe(d) for d in fmt.delimiters)
        raise ManifestError(
            f"{format} cannot be written {describe(delimiter)}-separated (it takes: {allowed})",
            hint="drop --keep-delimiter, or convert to a format that takes it",
        )
    options = WriteOptions(
        delimiter=delimiter if fmt.delimiters else None, escape_formulas=escape_formulas
    )
    return fmt, options


def write_to(
    dest: Path | str | IO[str], write: Callable[[TextIO], int], encoding: str = "utf-8"
) -> int:
    """Run ``write`` on ``dest``: a path (written to a temporary file renamed into place, so a
    crash never leaves half a file under the name), ``"-"`` (stdout) or an open text stream;
    return what ``write`` returns. :class:`ManifestError` on an OS error."""
    if isinstance(dest, str) and dest == "-":
        dest = sys.stdout
    if not isinstance(dest, str | os.PathLike):
        try:
            return write(cast(TextIO, dest))
        except OSError as exc:
            label = getattr(dest, "name", "the output")
            raise ManifestError(f"cannot write {label}: {exc.strerror or exc}") from None
    path = Path(dest)
    if path.is_dir():  # os.replace onto a folder says "Device or resource busy" for "."
        raise ManifestError(f"cannot write {path}: it is a folder, not a file")

    def write_file(fd: int) -> int:
        with open(fd, "w", encoding=encoding, newline="") as out:
            return write(out)

    try:
        return replace_atomically(path, write_file)
    except OSError as exc:
        raise ManifestError(f"cannot write {path}: {exc.strerror or exc}") from None


def _decode_error(label: str, encoding: str, exc: UnicodeDecodeError) -> ManifestError:
    return ManifestError(f"{label} is not {encoding} text ({exc.reason})", hint=SAVE_AS_UTF8)


@contextlib.contextmanager
def _read_errors(label: str, encoding: str) -> Iterator[None]:
    """Reading errors as the one-line :class:`ManifestError` :meth:`ManifestReader.__iter__`
    gives."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise _decode_error(label, encoding, exc) from None
    except (OSError, EOFError) as exc:
        raise ManifestError(f"cannot read {label}: {exc}") from None
    except csv.Error as exc:
        raise ManifestError(f"{label}: malformed CSV ({exc})") from None


def _guarded(batches: Iterator[_T], label: str, encoding: str) -> Iterator[_T]:
    with _read_errors(label, encoding):
        yield from batches
