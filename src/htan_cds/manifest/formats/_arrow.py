"""Reading the records of a delimited manifest with Arrow's multi-threaded CSV parser.

The million-row path of ``manifest check``: Arrow parses the file's bytes in C++ on every core
(``pyarrow.csv.open_csv``) into string arrays, and a batch whose rows need none of the reader's
special rules goes on as an :class:`ArrowColumnBatch` without a Python string per cell. Anything
else keeps the exact rules of the ``csv``-module reader (``_tabular.py``):

* a batch holding a blank or odd URI, or a name/key starting with ``'`` (a formula escape to
  undo), is handed back as plain records, which the caller treats record by record;
* whenever Arrow cannot parse on (a row of another width, an unterminated quote, a cell over
  ``csv.field_size_limit()``, bytes that are not UTF-8, a line longer than a block), the stream
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
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from htan_cds.manifest.bulk_arrow import clean_starts
from htan_cds.manifest.registry import ArrowColumnBatch, ReadContext

# Arrow parses a block per thread; 4 MiB blocks keep ~30 batches per million rows (the per-batch
# cost of the checks stays small) while memory stays a few blocks deep.
_BLOCK_BYTES = 4 << 20
_BLOCKS_AHEAD = 3
_BLANK = "\r\n\t ;,\ufeff"


class _Paced:
    """A binary file Arrow reads blocks from, at most ``ahead`` blocks before its reader.

    Arrow's streaming CSV reader reads and parses ahead without bound (a whole 115 MiB file
    while the first batch is checked); a read waits here until the batches handed out
    (:meth:`took_batch`) are within ``ahead`` blocks. Arrow asks for one block per read and
    makes one batch per block, so the count is exact; a wait gives up after two seconds in case
    a block ever made no batch (pacing only bounds memory, it never stops a read).
    """

    def __init__(self, raw: IO[bytes], block: int, ahead: int) -> None:
        self._raw, self._block, self._ahead = raw, block, ahead
        self._read = 0
        self._taken = 0
        self._cond = threading.Condition()
        self.closed = False
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            self._cond.wait_for(
                lambda: self.closed or self._read < (self._taken + self._ahead) * self._block,
                timeout=2.0,
            )
            if self.closed:
                return b""
            try:
                data = self._raw.read(size)
            except (OSError, ValueError, EOFError) as exc:
                # Raised into Arrow's thread, the error would be formatted there, and Python
                # 3.11 formats tracebacks with ast.parse, whose state is shared between threads
                # (a main thread compiling at the same time fails). The reader looks at it.
                self.error = exc
                return b""
        self._read += len(data)
        return data

    def took_batch(self) -> None:
        with self._cond:
            self._taken += 1
            self._cond.notify_all()

    def position(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for ``.gz``)."""
        return int(getattr(self._raw, "fileobj", self._raw).tell())

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._raw.close()


class ArrowRecords:
    """The records after the header as Arrow batches (or plain records, see the module doc).

    Iterate once; afterwards ``consumed`` is the number of records given and ``complete`` says
    whether the file was read to its end (``False``: the caller goes on from ``consumed``).
    """

    def __init__(
        self,
        reader: Any,
        paced: _Paced,
        ctx: ReadContext,
        uri_index: int,
        name_index: int | None,
        key_index: int | None,
    ) -> None:
        self._reader = reader
        self._paced = paced
        self._ctx = ctx
        self._uri, self._name, self._key = uri_index, name_index, key_index
        self.consumed = 0
        self.complete = False

    def __iter__(self) -> Iterator[ArrowColumnBatch | list[list[str]]]:
        import pyarrow as pa
        import pyarrow.compute as pc

        limit = csv.field_size_limit()
        try:
            while True:
                try:
                    batch = self._reader.read_next_batch()
                except StopIteration:
                    # A read error ended the stream early: the csv reader reads on and says so.
                    self.complete = self._paced.error is None
                    return
                except (pa.ArrowException, OSError):
                    return
                self._paced.took_batch()
                self._ctx.bytes_done = self._paced.position()
                if not batch.num_rows:
                    continue
                columns = batch.columns
                if any(pc.max(pc.binary_length(col)).as_py() > limit for col in columns):
                    return  # the csv module refuses such a field: let it say so
                uris = columns[self._uri]
                names = columns[self._name] if self._name is not None else None
                keys = columns[self._key] if self._key is not None else None
                if clean_starts(uris, [c for c in (names, keys) if c is not None]):
                    yield ArrowColumnBatch(uris, names, keys, 0)
                else:
                    cells = [col.to_pylist() for col in columns]
                    yield [list(record) for record in zip(*cells, strict=True)]
                self.consumed += batch.num_rows
        finally:
            self._paced.close()


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

    ``None`` when pyarrow is missing, the source is a stream, the header cannot be found in the
    bytes (e.g. ``\\r``-only line ends), or Arrow refuses the first block: nothing was consumed
    then, and the caller reads every record itself.
    """
    source = ctx.source
    if source is None or not header_line.endswith("\n"):
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow is a dependency; kept optional here
        return None
    offset = _data_offset(source, header_line)
    if offset is None:
        return None
    try:
        # Closed by _Paced.close (the records' iteration ends, or Arrow refuses to start).
        opener: Any = gzip.open if source.suffix == ".gz" else open
        raw = cast(IO[bytes], opener(source, "rb"))
    except OSError:
        return None
    paced = _Paced(raw, _BLOCK_BYTES, _BLOCKS_AHEAD)
    try:
        raw.read(offset) if source.suffix == ".gz" else raw.seek(offset)
        names = [f"c{i}" for i in range(ncols)]
        reader = pa_csv.open_csv(
            paced,
            read_options=pa_csv.ReadOptions(
                column_names=names, block_size=_BLOCK_BYTES, use_threads=True
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
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
    except (pa.ArrowException, OSError, EOFError):
        paced.close()
        return None
    return ArrowRecords(reader, paced, ctx, uri_index, name_index, key_index)


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
