"""Opening manifests for reading (streaming, with sniffing) and writing them atomically."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO, cast

from htan_cds.errors import ManifestError
from htan_cds.manifest.registry import (
    BATCH_ROWS,
    ColumnBatch,
    ReadContext,
    get_format,
    sniff_format,
)
from htan_cds.manifest.row import ManifestRow

_SNIFF_LINES = 20
Source = Path | str | IO[str]


class ManifestReader:
    """An open manifest: its (sniffed) format, shape findings, and a one-pass row iterator.

    Use as a context manager; iterating streams rows without holding the file in memory (except
    Gen3 JSON, which must be parsed whole).
    """

    def __init__(self, source: Source, format: str = "auto") -> None:
        if format != "auto":
            get_format(format)  # an unknown name is refused before the file is opened
        self.context = ReadContext()
        self._owned: IO[str] | None = None
        self._binary: IO[bytes] | None = None
        self._stdin: io.TextIOWrapper | None = None
        stream, self.label = self._open(source)
        try:
            lines: Iterator[str] = iter(stream)
            head = list(itertools.islice(lines, _SNIFF_LINES))
        except UnicodeDecodeError as exc:
            self.close()
            raise ManifestError(f"{self.label} is not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            self.close()
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        if format == "auto":
            try:
                format = sniff_format(head)
            except ManifestError as exc:
                self.close()
                raise type(exc)(f"{self.label}: {exc.message}", hint=exc.hint) from None
        self.format = format
        self._fmt = get_format(format)
        self._lines = itertools.chain(head, lines)

    def _open(self, source: Source) -> tuple[IO[str], str]:
        if isinstance(source, str) and source == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is None:
                return sys.stdin, "<stdin>"
            # Same decoding as files (BOM dropped, raw line ends); detached again on close so
            # stdin itself stays open.
            self._stdin = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
            return self._stdin, "<stdin>"
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            try:
                binary: IO[bytes] = (
                    cast(IO[bytes], gzip.open(path, "rb"))  # noqa: SIM115
                    if path.suffix == ".gz"
                    else open(path, "rb")  # noqa: SIM115
                )
            except OSError as exc:
                raise ManifestError(f"cannot open {path}: {exc.strerror or exc}") from None
            self._binary = binary
            # utf-8-sig drops the BOM the CDS portal writes; newline="" lets csv see raw ends.
            self._owned = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
            return self._owned, str(path)
        return source, getattr(source, "name", "<stream>")

    def bytes_read(self) -> int | None:
        """Bytes consumed from a file so far (for progress bars), ``None`` for streams."""
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
            raise ManifestError(f"{self.label} is not UTF-8 text ({exc.reason})") from None
        except (OSError, EOFError) as exc:
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        except csv.Error as exc:
            raise ManifestError(f"{self.label}: malformed CSV ({exc})") from None

    def iter_columns(self, key_columns: Sequence[str]) -> Iterator[ColumnBatch]:
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
            raise ManifestError(f"{self.label} is not UTF-8 text ({exc.reason})") from None
        except (OSError, EOFError) as exc:
            raise ManifestError(f"cannot read {self.label}: {exc}") from None
        except csv.Error as exc:
            raise ManifestError(f"{self.label}: malformed CSV ({exc})") from None

    def close(self) -> None:
        """Close the file if this reader opened it (stdin is left open)."""
        if self._stdin is not None:
            self._stdin.detach()
            self._stdin = None
        if self._owned is not None:
            self._owned.close()
        elif self._binary is not None:
            self._binary.close()

    def __enter__(self) -> ManifestReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _batches(rows: Iterator[ManifestRow], key_columns: Sequence[str]) -> Iterator[ColumnBatch]:
    while chunk := list(itertools.islice(rows, BATCH_ROWS)):
        yield rows_to_columns(chunk, key_columns)


def rows_to_columns(rows: Sequence[ManifestRow], key_columns: Sequence[str]) -> ColumnBatch:
    """Rows as a :class:`ColumnBatch` (the key is the first non-empty of ``key_columns``)."""
    keys = [""] * len(rows)
    for column in key_columns:
        if not all(keys):
            keys = [k or r.metadata.get(column, "") for k, r in zip(keys, rows, strict=True)]
    return ColumnBatch(
        [r.drs_uri for r in rows],
        [r.name or "" for r in rows],
        keys,
        [r.row_number for r in rows],
    )


def iter_manifest(
    source: Source, format: str = "auto", *, context: ReadContext | None = None
) -> Iterator[ManifestRow]:
    """Stream the rows of a manifest (path, ``"-"`` for stdin, or an open text stream).

    ``format`` is a registered format name or ``"auto"`` to sniff it from the first lines. Pass a
    :class:`ReadContext` to receive the reader's shape findings (ragged rows, broken quotes).
    """
    with ManifestReader(source, format) as reader:
        yield from reader
        if context is not None:
            context.findings.extend(reader.context.findings)
            context.header = reader.context.header


def read_manifest(
    source: Source, format: str = "auto", *, context: ReadContext | None = None
) -> list[ManifestRow]:
    """All rows of a manifest as a list (see :func:`iter_manifest`)."""
    return list(iter_manifest(source, format, context=context))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_manifest(
    rows: Iterable[ManifestRow],
    dest: Path | str | IO[str],
    format: str,
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """Write rows in ``format`` to a path (atomically) or an open text stream; return the count.

    ``columns`` fixes the metadata columns of tabular formats; by default they are learned from
    the rows, and a row carrying a column the output lacks is refused rather than cut.
    """
    fmt = get_format(format)
    if fmt.writer is None:
        raise ManifestError(f"format {format!r} can be read but not written")
    writer = fmt.writer
    if isinstance(dest, str) and dest == "-":
        dest = sys.stdout
    if not isinstance(dest, str | os.PathLike):
        try:
            return writer(rows, cast(TextIO, dest), columns)
        except OSError as exc:
            label = getattr(dest, "name", "the output")
            raise ManifestError(f"cannot write {label}: {exc.strerror or exc}") from None
    path = Path(dest)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ManifestError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding=fmt.encoding, newline="") as out:
            count = writer(rows, out, columns)
        # mkstemp makes the file 0600; give it the permissions a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ManifestError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
