"""Channel metadata tables: HTAN's "Channel Metadata" CSV, MCMICRO's markers.csv, or a bare list
of names, joined onto an image's channels by position (or by channel number when given)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from htan_cds.errors import ImagingError
from htan_cds.imaging.model import Channel, ImageInfo

# Accepted header spellings per field, compared case- and separator-insensitively.
_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("channel name", "marker name", "marker", "name", "channel", "marker_name"),
    "id": ("channel id",),
    "target": ("target name", "target"),
    "antibody_name": ("antibody name", "antibody"),
    "fluorophore": ("fluorophore", "fluor"),
    "cycle_number": ("cycle number", "cycle"),
    "number": ("channel number", "channel index", "channel_number", "index"),
}


def _norm(header: str) -> str:
    return " ".join(header.replace("_", " ").replace("-", " ").lower().split())


@dataclass
class ChannelRow:
    """One row of a channel table, reduced to what we use (the rest kept in ``extra``)."""

    name: str | None = None
    id: str | None = None
    target: str | None = None
    antibody_name: str | None = None
    fluorophore: str | None = None
    cycle_number: int | None = None
    number: int | None = None  # as written; 0- or 1-based is decided over the whole table
    extra: dict[str, str] = field(default_factory=dict)


def _int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _has_header(first: Sequence[str]) -> bool:
    known = {_norm(n) for names in _FIELDS.values() for n in names}
    return any(_norm(cell) in known for cell in first)


def parse_channel_table(text: str) -> list[ChannelRow]:
    """Parse a channel table; a file without a known header is a list of names, one per line."""
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        return []
    if not _has_header(rows[0]):
        return [ChannelRow(name=r[0].strip() or None) for r in rows]
    header = [_norm(h) for h in rows[0]]
    columns: dict[str, int] = {}
    for key, names in _FIELDS.items():
        for name in names:
            if _norm(name) in header and key not in columns:
                columns[key] = header.index(_norm(name))
    used = set(columns.values())
    result = []
    for raw in rows[1:]:
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))

        def cell(key: str, cells: list[str] = cells) -> str | None:
            index = columns.get(key)
            return (cells[index] or None) if index is not None else None

        result.append(
            ChannelRow(
                name=cell("name"),
                id=cell("id"),
                target=cell("target"),
                antibody_name=cell("antibody_name"),
                fluorophore=cell("fluorophore"),
                cycle_number=_int(cell("cycle_number")),
                number=_int(cell("number")),
                extra={
                    rows[0][i].strip(): cells[i]
                    for i in range(len(header))
                    if i not in used and cells[i] and rows[0][i].strip()
                },
            )
        )
    return result


def read_channel_table(path: str | os.PathLike[str]) -> list[ChannelRow]:
    """Read a channel table from a file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise ImagingError(f"cannot read channel table {path}: {exc.strerror or exc}") from exc
    return parse_channel_table(text)


def _positions(rows: list[ChannelRow]) -> list[int]:
    numbers = [r.number for r in rows]
    if all(n is not None for n in numbers) and len(set(numbers)) == len(numbers):
        base = 0 if 0 in numbers else 1
        return [int(n) - base for n in numbers if n is not None]
    return list(range(len(rows)))


def join_channels(info: ImageInfo, rows: list[ChannelRow], *, source: str = "CSV") -> ImageInfo:
    """Fill channel names (where the image has none) and targets/antibodies from ``rows``.

    A count that differs from the image's channels is joined as far as it goes and noted in
    ``info.warnings``; it is not an error because HTAN tables often list extra markers.
    """
    if info.rgb:
        return info
    while len(info.channels) < info.size_c:
        info.channels.append(Channel(index=len(info.channels)))
    if len(rows) != len(info.channels):
        info.warnings.append(
            f"{source} lists {len(rows)} channel(s), the image has {len(info.channels)}"
        )
    for row, position in zip(rows, _positions(rows), strict=True):
        if not 0 <= position < len(info.channels):
            continue
        channel = info.channels[position]
        if not channel.name and (row.name or row.target):
            channel.name = row.name or row.target
        channel.target = row.target or channel.target or row.name
        channel.antibody_name = row.antibody_name or channel.antibody_name
        channel.fluorophore = channel.fluorophore or row.fluorophore
        if row.cycle_number is not None:
            channel.cycle_number = row.cycle_number
        channel.id = channel.id or row.id
        channel.extra.update(row.extra)
    return info
