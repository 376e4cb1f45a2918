"""The registry of manifest formats (reader/writer pairs by name) and format sniffing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from htan_cds.errors import ManifestFormatError
from htan_cds.manifest.row import Finding, ManifestRow


@dataclass
class ReadContext:
    """What a reader reports besides rows: problems with the file's shape, and the header."""

    findings: list[Finding] = field(default_factory=list)
    header: list[str] | None = None

    def warn(self, row: int | None, code: str, message: str, column: str | None = None) -> None:
        """Record a shape problem the reader tolerated (the row is still yielded)."""
        self.findings.append(Finding(row, column, code, message, "warning"))


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


Reader = Callable[[Iterator[str], ReadContext], Iterator[ManifestRow]]
# Optional fast path for checking: batches of (URI, name, first present key column).
ColumnReader = Callable[[Iterator[str], ReadContext, Sequence[str]], Iterator[ColumnBatch]]
Writer = Callable[[Iterable[ManifestRow], TextIO, Sequence[str] | None], int]
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


def sniff_format(head_lines: list[str]) -> str:
    """Name of the format the first lines of a manifest look like; raise when none fits."""
    _ensure_builtin()
    if not any(line.strip() for line in head_lines):
        raise ManifestFormatError("the manifest is empty")
    scored = [(fmt.sniff(head_lines), name) for name, fmt in _FORMATS.items()]
    score, name = max(scored)
    if score <= 0:
        first = next(line for line in head_lines if line.strip()).strip()[:80]
        raise ManifestFormatError(
            f"cannot tell the manifest format from its first line {first!r}",
            hint="expected a drs_uri / File ID column or a Gen3 JSON array; use --format",
        )
    return name


def _ensure_builtin() -> None:
    if not _FORMATS:
        # Imported lazily: the format modules import this module for their types.
        from htan_cds.manifest.formats import register_builtin

        register_builtin()
