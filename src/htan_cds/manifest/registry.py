"""The registry of manifest formats (reader/writer pairs by name) and format sniffing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from htan_cds.errors import ManifestFormatError
from htan_cds.manifest.row import Finding, ManifestRow


@dataclass
class ReadContext:
    """What a reader needs besides the lines, and reports besides the rows.

    In: ``uri_column``/``name_column`` name the DRS URI and file name columns of a tabular file
    (``--drs-column``/``--name-column``; ``None``: the format's own names); ``reopen`` gives the
    file's lines again from the start (``None`` when the source cannot be read twice), which a
    reader uses to look ahead, e.g. whether a column without a header holds any value.

    Out: ``findings`` (shape problems), ``header`` (column names as kept), ``delimiter`` of a
    delimited file, ``blank_rows`` (rows whose cells are all empty, skipped), and
    ``dropped_columns`` (1-based positions of columns without a header and without a value).
    """

    findings: list[Finding] = field(default_factory=list)
    header: list[str] | None = None
    delimiter: str | None = None
    blank_rows: int = 0
    dropped_columns: list[int] = field(default_factory=list)
    uri_column: str | None = None
    name_column: str | None = None
    reopen: Callable[[], Iterator[str]] | None = None
    # The file on disk (``None`` for streams): a fast reader may read its bytes itself, and
    # then reports how far it got in ``bytes_done`` (for progress bars).
    source: Path | None = None
    bytes_done: int | None = None
    # The text encoding the file was read in, as reports name it (see ``manifest/encodings.py``).
    encoding: str = "UTF-8"

    def warn(
        self,
        row: int | None,
        code: str,
        message: str,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        """Record a shape problem the reader tolerated (the row is still yielded)."""
        self.findings.append(Finding(row, column, code, message, "warning", value=value))


@dataclass(frozen=True)
class WriteOptions:
    """How a writer lays a manifest out, beyond its format.

    ``delimiter``: the field separator of a delimited format (``None``: the format's own);
    ``escape_formulas``: prefix cells a spreadsheet would run as a formula with ``'`` (OWASP CSV
    injection); readers take the prefix off again (see ``formats/_cells.py``).
    """

    delimiter: str | None = None
    escape_formulas: bool = True


DEFAULT_WRITE = WriteOptions()


# Checking goes in batches of this many rows (see checks.Checker).
BATCH_ROWS = 4096


@dataclass
class ColumnBatch:
    """Consecutive rows as columns, what checking needs without building row objects.

    ``names`` and ``keys`` (the file-id column) hold ``""`` where a row has none; ``numbers``
    are the rows' 1-based source row numbers.
    """

    uris: list[str]
    names: list[str]
    keys: list[str]
    numbers: list[int]
    # The hash the cross-row checks should use for this file (see crossrow.py); ``None``:
    # Python's own string hash. A checker keeps the one its first batch asks for.
    hasher: Any = None


@dataclass
class ArrowColumnBatch:
    """Consecutive rows as Arrow string arrays (no Python strings made): the fast path.

    Only clean batches come this way (see ``formats/_arrow.py``): every URI starts with a
    printable ASCII character other than ``'``, and no name or key starts with ``'`` (no
    formula escape to undo). ``names``/``keys`` are ``None`` when the file has no such column.
    Rows are numbered ``first``, ``first + 1``, …; ``hasher`` as in :class:`ColumnBatch`.
    """

    uris: Any
    names: Any
    keys: Any
    first: int
    hasher: Any = None
    # The file's rows, estimated from its size and the first chunk (sizes the repeat sieves).
    expected_rows: int | None = None

    def __len__(self) -> int:
        return len(self.uris)


@dataclass(frozen=True)
class TableSpec:
    """Where a delimited format's DRS URI and name columns are: the first header (case
    insensitive) of ``uri_columns`` / ``name_columns``; ``tolerant`` reads undoubled quotes.

    A format with a spec can be converted as whole-record batches (``manifest/convert.py``)."""

    uri_columns: tuple[str, ...]
    name_columns: tuple[str, ...]
    tolerant: bool = False


Reader = Callable[[Iterator[str], ReadContext], Iterator[ManifestRow]]
AnyColumnBatch = ColumnBatch | ArrowColumnBatch
# Optional fast path for checking: batches of (URI, name, first present key column).
ColumnReader = Callable[[Iterator[str], ReadContext, Sequence[str]], Iterator[AnyColumnBatch]]
Writer = Callable[[Iterable[ManifestRow], TextIO, Sequence[str] | None, WriteOptions], int]
# A sniffer scores the first lines of a file (0: not this format); the highest score wins.
Sniffer = Callable[[list[str]], int]


@dataclass(frozen=True)
class ManifestFormat:
    """One manifest format: how to recognise, read and (optionally) write it."""

    name: str
    description: str
    reader: Reader
    sniff: Sniffer
    writer: Writer | None = None
    columns: ColumnReader | None = None
    # Writers of CSV-like formats need the file opened with newline="" and this encoding.
    encoding: str = "utf-8"
    # Delimiters the format may be written with (empty: not a delimited format, e.g. JSON).
    delimiters: tuple[str, ...] = ()
    # How its reader finds the columns, for formats read by ``_tabular.read_table``.
    table: TableSpec | None = None


_FORMATS: dict[str, ManifestFormat] = {}


def register_format(fmt: ManifestFormat) -> None:
    """Add (or replace) a format in the registry."""
    _FORMATS[fmt.name] = fmt


def get_format(name: str) -> ManifestFormat:
    """The format registered as ``name``; :class:`ManifestFormatError` when unknown."""
    _ensure_builtin()
    try:
        return _FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise ManifestFormatError(f"unknown manifest format {name!r} (known: {known})") from None


def format_names(*, writable: bool = False) -> list[str]:
    """Names of the registered formats (only those with a writer when ``writable``)."""
    _ensure_builtin()
    return [n for n, f in _FORMATS.items() if f.writer is not None or not writable]


def sniff_format(head_lines: list[str], *, any_table: bool = False) -> str:
    """Name of the format the first lines of a manifest look like; raise when none fits.

    With ``any_table`` (the caller names the DRS column) a delimited file no format claims is
    read as ``table``.
    """
    _ensure_builtin()
    if not any(line.strip() for line in head_lines):
        raise ManifestFormatError("the manifest is empty")
    scored = [(fmt.sniff(head_lines), name) for name, fmt in _FORMATS.items()]
    score, name = max(scored)
    if score <= 0 and any_table and "table" in _FORMATS:
        return "table"
    if score <= 0:
        first = next(line for line in head_lines if line.strip()).strip()[:80]
        raise ManifestFormatError(
            f"cannot tell the manifest format from its first line {first!r}",
            hint=_lookalike_hint(head_lines)
            or "expected a drs_uri / File ID column or a Gen3 JSON array; name the DRS column "
            "drs_uri, or give manifest check/convert --drs-column or --format",
        )
    return name


def _lookalike_hint(head_lines: list[str]) -> str | None:
    """A hint naming the header's column that looks like the DRS URIs ("DRS URI", "drs-uri":
    a column a person retitled), or None. (A retitled name column, "File Name", is found by the
    readers themselves.)"""
    from htan_cds.manifest.formats._dialect import header_fields

    def squeezed(field: str) -> str:
        return "".join(ch for ch in field.lower() if ch.isalnum())

    fields = header_fields(head_lines)
    drs = next((f for f in fields if "drs" in squeezed(f)), None)
    if drs is None:
        return None
    import shlex

    # import has no --drs-column: renaming the column works for every command.
    return (
        f"column {drs!r} looks like the DRS URIs: rename it drs_uri, or give manifest "
        f"check/convert --drs-column {shlex.quote(drs)}"
    )


def _ensure_builtin() -> None:
    if not _FORMATS:
        # Imported lazily: the format modules import this module for their types.
        from htan_cds.manifest.formats import register_builtin

        register_builtin()
