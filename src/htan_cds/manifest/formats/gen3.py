"""``gen3``: the Gen3 / CRDC file manifest, a JSON array of objects.

Each object has ``object_id`` (a GUID such as ``dg.4DFC/<uuid>``) and optionally ``file_name``,
``file_size``, ``md5sum`` and ``commons_url`` (the DRS host, e.g. ``nci-crdc.datacommons.io``).
JSON has no row stream, so this reader holds the parsed file in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from htan_cds.drs.uri import DrsUriKind, encode_object_id, parse_drs_uri
from htan_cds.errors import InvalidDrsUri, ManifestFormatError
from htan_cds.manifest.registry import DEFAULT_WRITE, ManifestFormat, ReadContext, WriteOptions
from htan_cds.manifest.row import ManifestRow

_SIZE_KEYS = ("file_size", "File Size (in bytes)", "size")
_MD5_KEYS = ("md5sum", "Md5sum", "md5")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _host(commons_url: str) -> str:
    text = commons_url.strip()
    if "://" in text:
        return urlsplit(text).netloc
    return text.split("/", 1)[0]


def _uri(object_id: str, commons_url: str | None) -> tuple[str, bool]:
    """The row's DRS URI and whether ``commons_url`` went into it."""
    if commons_url and _host(commons_url) and not object_id.lower().startswith("drs://"):
        return f"drs://{_host(commons_url)}/{encode_object_id(object_id)}", True
    return object_id, False


def read(lines: Iterator[str], ctx: ReadContext) -> Iterator[ManifestRow]:
    """Rows of a Gen3 manifest; ``commons_url`` + ``object_id`` make a full DRS URI.

    An ``object_id`` that is already a ``drs://`` URI is kept as written; without
    ``commons_url`` a GUID stays as written (``dg.4DFC/<uuid>`` is then a fixable compact URI).
    """
    text = "".join(lines).lstrip("\ufeff")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ManifestFormatError(f"not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ManifestFormatError("a Gen3 manifest is a JSON array of objects")
    ctx.header = ["object_id", "file_name", "file_size", "md5sum", "commons_url"]
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            ctx.warn(number, "row_shape", "entry is not a JSON object")
            yield ManifestRow("", None, {"entry": _text(item)}, number)
            continue
        object_id = _text(item.get("object_id") or "")
        commons = item.get("commons_url")
        uri, used = _uri(object_id, _text(commons) if commons else None)
        name = item.get("file_name")
        metadata = {
            key: _text(value)
            for key, value in item.items()
            if value is not None
            and key not in ("object_id", "file_name")
            and not (used and key == "commons_url")
        }
        yield ManifestRow(uri, _text(name) if name else None, metadata, number)


def sniff(head: list[str]) -> int:
    """JSON: the first non-blank character opens an array or object."""
    for line in head:
        stripped = line.lstrip("\ufeff \t\r\n")
        if stripped:
            return 100 if stripped[0] in "[{" else 0
    return 0


def _first(metadata: dict[str, str], keys: Sequence[str]) -> str | None:
    """The first of ``keys`` that has a non-empty value (that key goes to the Gen3 field)."""
    for key in keys:
        if metadata.get(key):
            return key
    return None


def to_object(row: ManifestRow) -> dict[str, Any]:
    """The Gen3 manifest entry for a row (a hostname URI splits into object_id + commons_url)."""
    entry: dict[str, Any] = {}
    try:
        uri = parse_drs_uri(row.drs_uri)
    except InvalidDrsUri:
        uri = None
    if uri is not None and uri.kind is DrsUriKind.HOSTNAME:
        entry["object_id"] = uri.object_id
        entry["commons_url"] = uri.authority
    else:
        entry["object_id"] = row.drs_uri
    if row.name:
        entry["file_name"] = row.name
    size_key = _first(row.metadata, _SIZE_KEYS)
    if size_key is not None:
        size = row.metadata[size_key]
        # Only a plain decimal becomes a JSON number, so reading it back gives the same text.
        plain = size.isascii() and size.isdigit() and (size == "0" or not size.startswith("0"))
        entry["file_size"] = int(size) if plain else size
    md5_key = _first(row.metadata, _MD5_KEYS)
    if md5_key is not None:
        entry["md5sum"] = row.metadata[md5_key]
    for key, value in row.metadata.items():
        if key in (size_key, md5_key):
            continue
        # A key the entry already has (commons_url of another host, say) is kept under a new name.
        entry[key if key not in entry else f"{key}_original"] = value
    return entry


def write(
    rows: Iterable[ManifestRow],
    out: TextIO,
    columns: Sequence[str] | None = None,
    options: WriteOptions = DEFAULT_WRITE,
) -> int:
    """Write a JSON array, one object per line, streaming.

    ``columns`` and ``options`` are not used: JSON keeps every value exactly (no formula escape).
    """
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(orjson.dumps(to_object(row)).decode())
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


FORMAT = ManifestFormat(
    name="gen3",
    description="Gen3 JSON manifest: [{object_id, file_name, file_size, md5sum, commons_url}]",
    reader=read,
    sniff=sniff,
    writer=write,
)
