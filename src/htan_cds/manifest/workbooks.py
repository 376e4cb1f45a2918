"""Spreadsheet workbooks given where a manifest is expected.

Excel's default "Save" turns the CDS portal's CSV into an ``.xlsx`` workbook, so a workbook is
what many users hand in. An Office Open XML workbook (``.xlsx``/``.xlsm``, ECMA-376) is read
with openpyxl: the sheet Excel opens at (the workbook's active sheet) becomes CSV text in a
private temporary file that the manifest reader then reads like any other; a warning says which
sheet when there are several. Cell values are written as Excel shows them in a CSV save:
integers without ``.0``, ``TRUE``/``FALSE``, dates in ISO 8601, formulas as their last
computed value.

Other workbooks get one line saying what the file is and how to save it as CSV: Excel 97-2003
``.xls`` (an OLE2 compound file) and OpenDocument ``.ods`` (LibreOffice's default).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from htan_cds.errors import ManifestError

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
SAVE_AS_CSV = "open it and save it as 'CSV UTF-8 (Comma delimited)'"
# Declared uncompressed size of a workbook's parts read at most (a zip bomb stops here): Excel's
# own limit, 1,048,576 rows, of a wide manifest is well under it.
MAX_UNPACKED = 4 << 30


def workbook_kind(head: bytes, whole: Path | bytes | None) -> str | None:
    """``"xlsx"``, ``"xls"``, ``"ods"``, ``"zip"`` (another zip archive) or ``None`` (not a
    workbook) for a file starting with ``head``; ``whole`` (the file's path or all its bytes)
    lets a zip's members be listed."""
    if head.startswith(_OLE2):
        return "xls"
    if not head.startswith(_ZIP):
        return None
    if whole is None:
        return "zip"
    try:
        with zipfile.ZipFile(io.BytesIO(whole) if isinstance(whole, bytes) else whole) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and archive.read("mimetype")[:64].startswith(_ODS):
                return "ods"
    except (zipfile.BadZipFile, OSError, KeyError):
        pass
    return "zip"


def refuse(kind: str, label: str) -> ManifestError:
    """The one-line error for a workbook or archive this does not read."""
    what = {
        "xls": "an Excel 97-2003 workbook (.xls)",
        "ods": "an OpenDocument spreadsheet (.ods)",
        "xlsx": "an Excel workbook (.xlsx)",
    }.get(kind, "a zip archive")
    hint = SAVE_AS_CSV if kind != "zip" else "unpack it and give the manifest inside"
    return ManifestError(f"{label} is {what}, not a CSV or TSV manifest", hint=hint)


def xlsx_to_csv(path: Path, label: str) -> tuple[Path, str, int]:
    """The active sheet of workbook ``path`` as a UTF-8 CSV in a new temporary file (the
    caller deletes it), the sheet's title, and how many sheets the workbook has.

    :class:`ManifestError` when openpyxl cannot read it or it unpacks past :data:`MAX_UNPACKED`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ManifestError(f"{label}: not a readable workbook ({exc})") from None
    if unpacked > MAX_UNPACKED:
        raise ManifestError(f"{label}: the workbook unpacks to over {MAX_UNPACKED >> 30} GiB")
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency; kept optional here
        raise refuse("xlsx", label) from None
    fd, name = tempfile.mkstemp(prefix="htan-cds-sheet-", suffix=".csv")
    try:
        # A file object, not the path: openpyxl refuses a path without an Excel extension, and
        # stdin's copy has none.
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open(path, "rb") as handle:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            try:
                sheet = book.active
                if sheet is None:
                    raise ManifestError(f"{label}: the workbook has no sheet")
                title, count = str(sheet.title), len(book.sheetnames)
                writer = csv.writer(out, lineterminator="\n")
                for values in sheet.iter_rows(values_only=True):
                    writer.writerow([_cell_text(v) for v in values])
            finally:
                book.close()
    except ManifestError:
        Path(name).unlink(missing_ok=True)
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        Path(name).unlink(missing_ok=True)
        raise ManifestError(f"{label}: not a readable workbook ({exc})") from None
    return Path(name), title, count


def _cell_text(value: Any) -> str:
    """A cell as Excel writes it to CSV (the general number format)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)
