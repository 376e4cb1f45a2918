"""The dialect of a delimited manifest: BOM, line ends and the delimiter, sniffed from the header.

Spreadsheets save "CSV" with the list separator of the user's locale: ``,`` in English, ``;``
where the comma is the decimal mark (German, French, … Excel and LibreOffice), and tab for
"Text (tab-delimited)" / TSV. The header line decides: the candidate that splits it into the
most fields wins (quotes respected), ties go to comma, then tab, then semicolon.
"""

from __future__ import annotations

import csv

BOM = "\ufeff"
DELIMITERS = (",", "\t", ";")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}


def strip_line(line: str) -> str:
    """A line without its BOM and line ending."""
    return line.lstrip(BOM).rstrip("\r\n")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a file whose header line is ``header_line`` (``,`` ``\\t`` or ``;``)."""
    text = strip_line(header_line)
    best, most = ",", 1
    for delimiter in DELIMITERS:
        if delimiter not in text:
            continue
        count = len(next(csv.reader([text], delimiter=delimiter), []))
        if count > most:
            best, most = delimiter, count
    return best


def header_fields(head_lines: list[str]) -> list[str]:
    """The fields of the first non-blank line (for sniffers), stripped and without BOM."""
    for line in head_lines:
        text = strip_line(line)
        if text.strip():
            fields = next(csv.reader([text], delimiter=sniff_delimiter(text)), [])
            return [f.strip() for f in fields]
    return []


def describe(delimiter: str | None) -> str:
    """``"comma"``, ``"tab"``, ``"semicolon"`` (or the character itself) for messages."""
    if delimiter is None:
        return "none"
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))
