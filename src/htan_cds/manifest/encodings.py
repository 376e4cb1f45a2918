"""Which text encoding a manifest is in: what spreadsheets actually save.

- **BOM first.** Excel's "CSV UTF-8" and the CDS portal write a UTF-8 BOM; Excel's "Unicode Text"
  (and LibreOffice's "Text - txt - csv" with the Unicode option) writes UTF-16 LE with a BOM,
  tab-separated; UTF-32 BOMs are rare but as unambiguous. A BOM decides.
- **Otherwise UTF-8**, unless the first :data:`SNIFF_BYTES` are not UTF-8: then the file is read
  as Windows-1252, the "ANSI" code page Excel's plain "CSV (Comma delimited)" uses in Western
  Windows locales (it agrees with Latin-1 on every printable Latin-1 character). The reader says
  so in a warning, as the guess is a guess. Five bytes have no meaning in Windows-1252; a file
  holding them, or NUL bytes without a UTF-16/32 BOM, is refused as not text.

A file whose first :data:`SNIFF_BYTES` are plain ASCII is decided by its first byte that is not
(:func:`sniff_stream`): a long Excel CSV whose first accented name comes after row 10,000 is as
much Windows-1252 as one that starts with it, and ASCII reads the same in both. A file that has
UTF-8 characters and stops being UTF-8 later is refused when the bad byte is met, with a hint to
save it again as UTF-8 (``ManifestReader`` does that): it mixes encodings, and no guess is safe.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

from htan_cds.errors import ManifestError

# Enough to hold the header and thousands of rows of a spreadsheet's manifest.
SNIFF_BYTES = 1 << 20
UTF8 = "utf-8-sig"  # drops a UTF-8 BOM when there is one
WINDOWS_1252 = "cp1252"
# Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, UTF8),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WORKBOOK = "xlsx"  # what reports say for a workbook's sheet: it has no encoding or delimiter
NAMES = {UTF8: "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32", WINDOWS_1252: "Windows-1252"}
_NOT_ASCII = re.compile(rb"[\x80-\xff]")
_WINDOW = 1 << 16  # bytes from the first non-ASCII one on that decide a long ASCII head
SAVE_AS_UTF8 = "save it from the spreadsheet as 'CSV UTF-8 (Comma delimited)', or convert it "
SAVE_AS_UTF8 += "with iconv -t UTF-8"


def sniff_encoding(head: bytes, label: str) -> str:
    """The Python codec name to read a file starting with ``head`` (the first bytes, up to
    :data:`SNIFF_BYTES`; a multi-byte character cut at the end is fine).

    :class:`ManifestError` when the bytes are no text this reads (NUL bytes without a UTF-16/32
    BOM, or bytes Windows-1252 leaves undefined).
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        from htan_cds.manifest.workbooks import refuse, workbook_kind

        kind = workbook_kind(head, None)
        if kind is not None:
            raise refuse(kind, label)  # a workbook piped in or uploaded
        raise ManifestError(f"{label} is not a text file (it holds NUL bytes)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return UTF8
    try:
        head.decode(WINDOWS_1252)
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{label} is not UTF-8 text ({exc.reason})", hint=SAVE_AS_UTF8
        ) from None
    return WINDOWS_1252


def sniff_stream(head: bytes, rest: Iterable[bytes], label: str) -> tuple[str, int | None]:
    """:func:`sniff_encoding` of a file whose first bytes are ``head`` and whose following
    bytes come in ``rest``'s chunks, read only while ``head`` is a full :data:`SNIFF_BYTES` of
    ASCII: then the first byte that is not ASCII decides (UTF-8 if the bytes from it on are, else
    Windows-1252). Returns the codec name and, when that later byte decided, its offset.

    :class:`ManifestError` as :func:`sniff_encoding` gives it.
    """
    encoding = sniff_encoding(head, label)
    if encoding != UTF8 or len(head) < SNIFF_BYTES or not head.isascii():
        return encoding, None
    offset = len(head)
    window = b""
    for chunk in rest:
        if not window:
            if chunk.isascii():
                offset += len(chunk)
                continue
            first = _NOT_ASCII.search(chunk)
            assert first is not None
            offset += first.start()
            chunk = chunk[first.start() :]
        window += chunk
        if len(window) >= _WINDOW:
            break
    if not window:
        return UTF8, None  # all ASCII
    return sniff_encoding(window[:_WINDOW], label), offset


def guessed_message(label: str, offset: int | None = None) -> str:
    """The ``encoding_guessed`` warning's text (``offset``: as :func:`sniff_stream` gives it)."""
    where = "" if offset is None else f" (ASCII up to byte {offset:,})"
    return (
        f"{label} is not UTF-8{where}: read as Windows-1252 (what Excel's plain 'CSV' saves in "
        "Western locales); check names with accents"
    )


def label_of(encoding: str) -> str:
    """The encoding as reports name it (``UTF-8``, ``UTF-16``, ``Windows-1252``)."""
    return NAMES.get(encoding, encoding)


def decode_bytes(data: bytes, label: str) -> tuple[str, str]:
    """Bytes held whole (an upload) as text and the report name of their encoding; the same
    rules as files (:func:`sniff_encoding`), :class:`ManifestError` when they are not text."""
    from htan_cds.manifest.workbooks import refuse, workbook_kind

    kind = workbook_kind(data[:8], data)
    if kind is not None:
        raise refuse(kind, label)  # workbooks are read from files only (manifest/workbooks.py)
    step = SNIFF_BYTES
    rest = (data[i : i + step] for i in range(step, len(data), step))
    encoding, _ = sniff_stream(data[:step], rest, label)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{label} is not {label_of(encoding)} text ({exc.reason})", hint=SAVE_AS_UTF8
        ) from None
    return text, label_of(encoding)
