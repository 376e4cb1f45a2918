"""Reading the records of a delimited manifest with Arrow's multi-threaded CSV parser.

The million-row path of ``manifest check``: the file is read in chunks cut after a line end
outside quotes (an even number of ``"`` before it), Arrow parses each chunk in C++ on every core
(``pyarrow.csv.read_csv`` on the bytes in memory: no Python code runs in Arrow's threads, and
memory stays a chunk deep), and a batch whose rows need none of the reader's special rules goes
on as an :class:`ArrowColumnBatch` without a Python string per cell. A chunk starts where a record
starts, and Arrow's and the ``csv`` module's parsers agree record by record, so a chunk either
parses as the whole file would or fails (an unterminated quote). Anything else keeps the exact
rules of the ``csv``-module reader (``_tabular.py``):

* a batch holding a blank or odd URI, or a name/key starting with ``'`` (a formula escape to
  undo), is handed back as plain records, which the caller treats record by record;
* whenever Arrow cannot parse on (a row of another width, an unterminated quote, a cell over
  ``csv.field_size_limit()``, bytes that are not UTF-8, no line end within 64 MiB), the stream
  stops and reports how many records it gave; the caller skips that many records of its own
  ``csv`` reader and goes on with it, which then reports the problem exactly as it always has.

The records Arrow gives equal the ``csv`` module's (``strict=False``, ``"`` quoting with doubled
quotes, ``\\r``, ``\\n`` and ``\\r\\n`` line ends, newlines inside quotes; an empty line is a record
of empty cells there and an empty record here, both blank): ``tests/manifest/test_arrow_reader.py``
compares the two on generated files.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from htan_cds.manifest.bulk_arrow import clean_starts
from htan_cds.manifest.registry import ArrowColumnBatch, ReadContext

# Read 4 MiB at a time; Arrow parses it in parallel (block size 4 MiB), one batch each (~30
# batches per million rows keep the per-batch cost of the checks small).
_CHUNK_BYTES = 4 << 20
_BLOCK_BYTES = 4 << 20
# A record with no line end this far ends the Arrow path (the csv reader goes on).
_MAX_CARRY = 64 << 20
_BLANK = "\r\n\t ;,\ufeff"


class ArrowRecords:
    """The records after the header as Arrow batches (or plain records, see the module doc).

    Iterate once; afterwards ``consumed`` is the number of records given and ``complete`` says
    whether the file was read to its end (``False``: the caller goes on from ``consumed``).
    """

    def __init__(
        self,
        raw: IO[bytes],
        ctx: ReadContext,
        delimiter: str,
        ncols: int,
        indexes: tuple[int, int | None, int | None],
    ) -> None:
        self._raw = raw
        self._ctx = ctx
        self._delimiter = delimiter
        self._names = [f"c{i}" for i in range(ncols)]
        self._uri, self._name, self._key = indexes
        self.consumed = 0
        self.complete = False
        self._expected: int | None = None
        try:
            self._size = os.fstat(raw.fileno()).st_size
        except (OSError, ValueError, io.UnsupportedOperation):
            self._size = 0
        if isinstance(raw, gzip.GzipFile):
            self._size *= 4  # a guess at the text a compressed manifest holds

    def __iter__(self) -> Iterator[ArrowColumnBatch | list[list[str]]]:
        try:
            yield from self._records()
        finally:
            self._raw.close()

    def _records(self) -> Iterator[ArrowColumnBatch | list[list[str]]]:
        import pyarrow as pa

        carry = b""
        while True:
            try:
                block = self._raw.read(_CHUNK_BYTES)
            except (OSError, EOFError, ValueError):
                return  # the csv reader reads on and reports it
            data = carry + block if carry else block
            if not block:
                chunk, carry = memoryview(data), b""
            else:
                cut = _cut(data)
                if cut <= 0:
                    if len(data) > _MAX_CARRY:
                        return
                    carry = data
                    continue
                chunk, carry = memoryview(data)[:cut], data[cut:]
            if len(chunk):
                try:
                    table = self._parse(pa.py_buffer(chunk))
                except pa.ArrowException:
                    return
                if self._expected is None and self._size:
                    self._expected = int(self._size * table.num_rows / max(len(chunk), 1)) + 1
                del chunk  # the table holds what it needs
                for batch in table.to_batches():
                    item = self._item(batch)
                    if item is None:
                        return
                    yield item
                    self.consumed += batch.num_rows
            self._ctx.bytes_done = _position(self._raw)
            if not block:
                self.complete = True
                return

    def _parse(self, buffer: Any) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        names = self._names
        return pa_csv.read_csv(
            pa.BufferReader(buffer),
            read_options=pa_csv.ReadOptions(
                column_names=names, block_size=_BLOCK_BYTES, use_threads=True
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=self._delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
                check_utf8=True,
            ),
        )

    def _item(self, batch: Any) -> ArrowColumnBatch | list[list[str]] | None:
        """The batch as the caller takes it; ``None`` when the csv reader must take over."""
        import numpy as np

        from htan_cds.manifest.arrow_buffers import offsets

        columns = batch.columns
        limit = csv.field_size_limit()
        if any(int(np.diff(offsets(col)).max()) > limit for col in columns):
            return None  # the csv module refuses such a field: let it say so
        uris = columns[self._uri]
        names = columns[self._name] if self._name is not None else None
        keys = columns[self._key] if self._key is not None else None
        if clean_starts(uris, [c for c in (names, keys) if c is not None]):
            return ArrowColumnBatch(uris, names, keys, 0, expected_rows=self._expected)
        cells = [col.to_pylist() for col in columns]
        return [list(record) for record in zip(*cells, strict=True)]


def _cut(data: bytes) -> int:
    """Where ``data`` (starting at a record) may be cut: after the last ``\\n`` with an even
    number of ``"`` before it, or 0 when no such line end is found near the end."""
    import numpy as np

    end = len(data)
    quotes: Any = None
    for _ in range(64):
        newline = data.rfind(b"\n", 0, end)
        if newline < 0:
            return 0
        if quotes is None:  # the chunk's quotes found once; each line end is then a search
            quotes = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x22)
        if not int(np.searchsorted(quotes, newline)) % 2:
            return newline + 1
        end = newline
    return 0


def _position(raw: IO[bytes]) -> int:
    """Bytes of the file on disk read so far (compressed bytes for ``.gz``)."""
    try:
        return int(getattr(raw, "fileobj", raw).tell())
    except (OSError, ValueError):
        return 0


def open_records(
    ctx: ReadContext,
    header_line: str,
    delimiter: str,
    ncols: int,
    uri_index: int,
    name_index: int | None,
    key_index: int | None,
) -> ArrowRecords | None:
    """Arrow records of the file after ``header_line``; ``None`` when this path cannot be used.

    ``None`` when pyarrow is missing, the source is a stream, or the header cannot be found in
    the bytes (e.g. ``\\r``-only line ends): nothing was consumed then, and the caller reads
    every record itself.
    """
    source = ctx.source
    if source is None or not header_line.endswith("\n"):
        return None
    try:
        import pyarrow
        import pyarrow.csv  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a dependency; kept optional here
        return None
    offset = _data_offset(source, header_line)
    if offset is None:
        return None
    opener: Any = gzip.open if source.suffix == ".gz" else open
    try:
        raw: IO[bytes] = opener(source, "rb")
    except OSError:
        return None
    try:
        raw.read(offset) if source.suffix == ".gz" else raw.seek(offset)
    except (OSError, EOFError):
        raw.close()
        return None
    return ArrowRecords(raw, ctx, delimiter, ncols, (uri_index, name_index, key_index))


def _data_offset(source: Path, header_line: str) -> int | None:
    """Bytes (after decompression) up to the end of the header line, or ``None``.

    The text reader skipped blank lines before the header; the same lines are skipped here and
    the header found must equal the text reader's, line end included.
    """
    opener = gzip.open if source.suffix == ".gz" else open
    try:
        with opener(source, "rb") as raw:
            offset = 0
            for number in range(10_000):
                line = raw.readline(1 << 20)
                if not line:
                    return None
                offset += len(line)
                text = line.decode("utf-8-sig" if number == 0 else "utf-8")
                if text.strip(_BLANK):
                    return offset if text == header_line else None
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    return None
