"""The CDS portal's CSV dialect: quoted values whose embedded quotes are not doubled."""

from __future__ import annotations

from collections.abc import Iterator

from htan_cds.manifest.registry import ReadContext

# A quoted field still open after this many characters is taken as a broken quote, not a
# multi-line value, so one stray quote cannot swallow the rest of a file.
_MAX_RECORD_CHARS = 65536


def split_tolerant(
    text: str, delimiter: str, ncols: int, *, close_at_end: bool = False
) -> list[str] | None:
    """Split one record whose quoted fields may hold undoubled quotes (the CDS portal's CSV).

    A quote closes a field only when a delimiter or the end of the record follows it; ``""``
    inside a field still means one quote. The last column takes the rest of the record, so a
    comment holding ``","`` cannot shift columns. Returns ``None`` while a quoted field is open
    at the end of ``text`` (the value continues on the next line), unless ``close_at_end``, which
    takes the end of ``text`` as the missing closing quote.
    """
    if '"' not in text:
        return text.split(delimiter)
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1].split(f'"{delimiter}"')
        if len(inner) == ncols and not any('"' in cell for cell in inner):
            return inner
    cells: list[str] = []
    i, n = 0, len(text)
    while True:
        if ncols > 0 and len(cells) == ncols - 1:
            rest = text[i:]
            if rest.startswith('"'):
                if len(rest) >= 2 and rest.endswith('"'):
                    rest = rest[1:-1].replace('""', '"')
                elif close_at_end:
                    rest = rest[1:].replace('""', '"')
                else:
                    return None
            cells.append(rest)
            return cells
        if i < n and text[i] == '"':
            parts: list[str] = []
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    if not close_at_end:
                        return None
                    parts.append(text[j:])
                    cells.append("".join(parts))
                    return cells
                following = text[k + 1] if k + 1 < n else ""
                if following == '"':
                    parts.append(text[j : k + 1])
                    j = k + 2
                elif following in (delimiter, ""):
                    parts.append(text[j:k])
                    i = k + 1
                    break
                else:
                    parts.append(text[j : k + 1])
                    j = k + 1
            cells.append("".join(parts))
            if i >= n:
                return cells
            i += 1
        else:
            k = text.find(delimiter, i)
            if k < 0:
                cells.append(text[i:])
                return cells
            cells.append(text[i:k])
            i = k + 1


def tolerant_records(
    lines: Iterator[str], delimiter: str, ncols: int, ctx: ReadContext
) -> Iterator[list[str]]:
    pushed_back: list[str] = []
    while True:
        line = pushed_back.pop() if pushed_back else next(lines, None)
        if line is None:
            return
        consumed: list[str] = []
        record = line
        while True:
            cells = split_tolerant(record.rstrip("\r\n"), delimiter, ncols)
            if cells is not None:
                break
            nxt = pushed_back.pop() if pushed_back else next(lines, None)
            if nxt is not None:
                consumed.append(nxt)
            if nxt is None or len(record) > _MAX_RECORD_CHARS:
                # A quote that never closes: the line ends the value, the following lines are
                # read again as rows of their own, so none of them is lost.
                ctx.warn(None, "unterminated_quote", "a quoted value is never closed")
                cells = split_tolerant(line.rstrip("\r\n"), delimiter, ncols, close_at_end=True)
                assert cells is not None
                pushed_back.extend(reversed(consumed))
                break
            record += nxt
        yield cells
