"""Cells a spreadsheet would run as a formula: escaped when written, unescaped when read.

Excel, LibreOffice and Google Sheets evaluate a CSV/TSV cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``), and a leading tab or
carriage return can hide such a prefix. OWASP's CSV injection guidance: prefix such cells with a
single quote, which spreadsheets take as "this is text" and do not show. A value that already
starts with quotes before such a character gets one more quote, so unescaping (dropping one
leading quote before such a character) gives back exactly the original: ``-1.tif`` is written as
``'-1.tif`` and read back as ``-1.tif``; ``'=x`` is written as ``''=x`` and read back as ``'=x``.
JSON formats keep the real value; only delimited formats escape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TRIGGERS = "=+-@\t\r"
_NEEDS_ESCAPE = re.compile(r"'*[=+\-@\t\r]").match
_ESCAPED = re.compile(r"'+[=+\-@\t\r]").match
# A cell starting with a trigger or a quote, in "\x00" + the row's cells joined with NUL (a
# character no manifest cell holds): the literal first character lets the search skip ahead.
_ROW_MAY_NEED = re.compile("\x00['=+\\-@\t\r]").search


def escape_cell(value: str) -> str:
    """``value`` as it is written to a delimited file (``'`` before a formula trigger)."""
    return "'" + value if _NEEDS_ESCAPE(value) else value


def unescape_cell(value: str) -> str:
    """The value a delimited file's cell stands for (one ``'`` before a trigger dropped)."""
    return value[1:] if _ESCAPED(value) else value


def may_need_escape(joined: str) -> bool:
    """True when ``"\x00" + cells joined with "\x00"`` has a cell that may need escaping."""
    return _ROW_MAY_NEED(joined) is not None


def escape_row(values: list[str], joined: str | None = None) -> list[str]:
    """``values`` with every cell escaped (the same list when none needs it: the common case).

    ``joined`` may pass ``"\x00" + "\x00".join(values)`` when the caller has it already.
    """
    if _ROW_MAY_NEED(joined if joined is not None else "\x00" + "\x00".join(values)) is None:
        return values
    return [escape_cell(v) for v in values]


def unescape_row(cells: list[str]) -> list[str]:
    """``cells`` with every cell unescaped (the same list when no cell starts with ``'``)."""
    for cell in cells:
        if cell[:1] == "'" and _ESCAPED(cell):
            return [unescape_cell(c) for c in cells]
    return cells


def unescape_column(values: Sequence[str]) -> list[str] | None:
    """A column's values unescaped, or ``None`` when none needs it (checked in bulk)."""
    if "\x00'" not in "\x00" + "\x00".join(values):
        return None
    return [unescape_cell(v) for v in values]
