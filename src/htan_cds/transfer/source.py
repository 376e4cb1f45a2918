"""What to import: manifest rows (any format the manifest toolkit reads), DRS URIs, or ``-``."""

from __future__ import annotations

import csv
import importlib
import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from htan_cds.drs.uri import parse_drs_uri
from htan_cds.errors import InvalidDrsUri, ManifestError, UsageError


@dataclass(frozen=True)
class SourceRow:
    """One object to import (mirrors ``htan_cds.manifest.ManifestRow``)."""

    drs_uri: str
    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    row_number: int = 0
    # For members of a bundle: the folders (bundle names) above the member, the URI of the
    # manifest's bundle it came from, and the URIs of every enclosing bundle (cycle check).
    folder: tuple[str, ...] = ()
    bundle: str | None = None
    ancestors: frozenset[str] = frozenset()
    # The layout this row's objects take when the run keeps the default ``{name}`` (an IDC
    # series' objects go to <collection>/<participant>/<series>/, see transfer.buckets).
    layout: str | None = None


def _iter_manifest(source: Path | IO[str]) -> Iterator[Any]:
    # The manifest toolkit reads every format; a plain drs_uri,name CSV is the fallback while
    # it is not importable (it is developed alongside).
    module = importlib.import_module("htan_cds.manifest")
    reader = getattr(module, "iter_manifest", None)
    if callable(reader):
        yield from reader(source)
        return
    yield from _fallback_csv(source)


def _fallback_csv(source: Path | IO[str]) -> Iterator[SourceRow]:
    handle = open(source, newline="") if isinstance(source, Path) else source  # noqa: SIM115
    try:
        reader = csv.DictReader(handle)
        fields = {f.lower(): f for f in reader.fieldnames or []}
        uri_col = fields.get("drs_uri") or fields.get("drs uri") or fields.get("drs_id")
        if uri_col is None:
            raise ManifestError("manifest has no drs_uri column")
        name_col = fields.get("name") or fields.get("file_name")
        for number, row in enumerate(reader, start=1):
            meta = {k: v for k, v in row.items() if k not in (uri_col, name_col) and k}
            yield SourceRow(row[uri_col].strip(), row.get(name_col or "") or None, meta, number)
    finally:
        if isinstance(source, Path):
            handle.close()


def _as_row(item: Any, number: int) -> SourceRow:
    if isinstance(item, SourceRow):
        return item
    if isinstance(item, str):
        return SourceRow(drs_uri=item.strip(), row_number=number)
    if hasattr(item, "drs_uri"):
        return SourceRow(
            drs_uri=str(item.drs_uri).strip(),
            name=getattr(item, "name", None),
            metadata=dict(getattr(item, "metadata", {}) or {}),
            row_number=int(getattr(item, "row_number", number) or number),
        )
    raise UsageError(f"cannot import {type(item).__name__} (want a DRS URI or manifest row)")


def _looks_like_uris(lines: list[str]) -> bool:
    try:
        for line in lines:
            parse_drs_uri(line)
    except InvalidDrsUri:
        return False
    return bool(lines)


def read_source(source: str | Path | Iterable[Any]) -> list[SourceRow]:
    """Rows to import from a manifest path, ``-`` (stdin), one URI, or an iterable of URIs/rows."""
    if isinstance(source, Path) or (isinstance(source, str) and not source.startswith("drs://")):
        text_source = str(source)
        if text_source == "-":
            return _from_text(_stdin_text())
        path = Path(text_source)
        if not path.exists():
            if isinstance(source, str) and source.strip().startswith("s3://"):
                return [SourceRow(drs_uri=source.strip(), row_number=1)]  # a bucket prefix
            if isinstance(source, str) and _looks_like_uris([source]):
                return [SourceRow(drs_uri=source.strip(), row_number=1)]
            raise UsageError(f"manifest {path} not found (and it is not a DRS URI)")
        return [_as_row(r, i) for i, r in enumerate(_iter_manifest(path), start=1)]
    if isinstance(source, str):
        return [SourceRow(drs_uri=source.strip(), row_number=1)]
    return [_as_row(item, i) for i, item in enumerate(source, start=1)]


def _stdin_text() -> str:
    """Standard input decoded as manifest files are (a piped UTF-16 or Windows-1252 sheet)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin.read()
    from htan_cds.manifest.encodings import decode_bytes

    return decode_bytes(buffer.read(), "<stdin>")[0]


def _from_text(text: str) -> list[SourceRow]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if _looks_like_uris(lines):
        return [SourceRow(drs_uri=ln, row_number=i) for i, ln in enumerate(lines, start=1)]
    return [_as_row(r, i) for i, r in enumerate(_iter_manifest(io.StringIO(text)), start=1)]
