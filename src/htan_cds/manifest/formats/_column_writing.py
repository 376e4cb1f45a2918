"""Writing a delimited manifest from column batches, byte for byte what ``write_table`` writes.

``write_table`` turns each row into a list of cells and hands batches to ``csv.writer``. For a
million rows most batches need nothing from csv: no cell holds the delimiter, a quote, a line
break or a formula trigger, so minimal quoting writes every cell as it is. Such a batch is
written by C-level joins straight from its columns (``zip(*columns)``, ``str.join``); any other
batch goes through :func:`~htan_cds.manifest.formats._writing.write_batch`, the same code
``write_table`` uses. ``tests/manifest/test_fast_convert.py`` compares the two byte for byte.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from htan_cds.manifest.formats._cells import escape_row, may_need_escape
from htan_cds.manifest.formats._writing import write_batch

# Characters after which csv's minimal quoting (or the formula escape) may change a cell.
_SPECIAL = ('"', "\n", "\r")


class ColumnWriter:
    """A delimited table with LF line ends and minimal quoting (``write_table``'s defaults).

    The header is ``lead`` plus ``metadata``, written before the first row; a table that gets
    no row has the ``lead`` header alone (``write_table`` learns metadata columns from rows).
    ``count`` is the number of rows written.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        lead: Sequence[str],
        metadata: Sequence[str],
        delimiter: str = ",",
        escape: bool = True,
    ) -> None:
        self._out = out
        self._lead = list(lead)
        self._metadata = list(metadata)
        self._delimiter = delimiter
        self._escape = escape
        self._writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self._quote_all = csv.writer(
            out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n"
        )
        self._header_done = False
        self.count = 0

    def _header(self, names: list[str]) -> None:
        self._writer.writerow(escape_row(names) if self._escape else names)
        self._header_done = True

    def _plain(self, columns: Sequence[Sequence[str]], joined: Sequence[str | None] | None) -> bool:
        """No cell needs quoting or an escape (one join and a few scans per column)."""
        specials = (*_SPECIAL, self._delimiter)
        for index, column in enumerate(columns):
            text = joined[index] if joined is not None else None
            if text is None:
                text = "\x00" + "\x00".join(column)
            if any(c in text for c in specials):
                return False
            if self._escape and may_need_escape(text):
                return False
        return True

    def columns(
        self, columns: Sequence[Sequence[str]], joined: Sequence[str | None] | None = None
    ) -> None:
        """Write rows given as columns, in header order, all of one length; ``joined[i]``, when
        given and not ``None``, is ``"\x00" + "\x00".join(columns[i])``."""
        count = len(columns[0]) if columns else 0
        if not count:
            return
        if not self._header_done:
            self._header(self._lead + self._metadata)
        if len(columns) > 1 and self._plain(columns, joined):
            # One-cell rows are left to csv: it quotes an empty one so it is not a blank line.
            delimiter = self._delimiter
            self._out.write("\n".join(map(delimiter.join, zip(*columns, strict=True))))
            self._out.write("\n")
        else:
            rows = [list(values) for values in zip(*columns, strict=True)]
            write_batch(rows, self._writer, self._quote_all, self._escape)
        self.count += count

    def rows(self, rows: list[list[str]]) -> None:
        """Write rows given as lists of cells, in header order."""
        if not rows:
            return
        if not self._header_done:
            self._header(self._lead + self._metadata)
        write_batch(rows, self._writer, self._quote_all, self._escape)
        self.count += len(rows)

    def close(self) -> int:
        """Finish the table (the lead header when no row came); the number of rows written."""
        if not self._header_done:
            self._header(self._lead)
        return self.count
