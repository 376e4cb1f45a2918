"""Cross-row checks in bounded memory: repeated URIs, names and HTAN file ids, named by value.

The checker keeps one 64-bit hash per row and column (flat arrays) and finds repeats by sorting
at the end. To name the repeated value in a finding without keeping every string, a
:class:`ValueSieve` per column remembers the text of any value that *may* have been seen before
(a Bloom filter: two bit positions per hash in a bit array of at least 16 bits per value, so
about 1.4% of unique values are remembered needlessly); a value that does repeat is always
remembered. Hashes are Python's per-process string hash, or a NumPy hash of the UTF-8 bytes
for files read by Arrow (strings that never become Python objects; one hasher per file, see
:func:`arrow_hasher`); a collision among a million values has probability ~3e-8 and is
accepted for a report.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any, Protocol

# At least this many bits per value keeps false "maybe seen" answers near 1.4% (k = 2).
_BITS_PER_VALUE = 16
_MIN_BITS_LOG2 = 20
_MAX_RESERVE_LOG2 = 28
_REFILL_SLICE = 1 << 16
# Remembered texts per column; past this a repeat is still found and counted, just not named.
MAX_TEXTS = 200_000


class ValueSieve:
    """The texts of the values of one column that may repeat (see the module docstring).

    Feed each batch with :meth:`add` (hashes in the same order as texts, ``0`` = no value);
    :meth:`text` gives a repeated value's text. Memory: the bit array (2 bytes per value fed)
    plus the remembered texts.
    """

    def __init__(self) -> None:
        import numpy as np  # deferred: the CLI starts faster when no manifest is checked

        self._np = np
        self._log2 = _MIN_BITS_LOG2
        self._bits = np.zeros(1 << (self._log2 - 3), dtype=np.uint8)
        self._count = 0
        self.texts: dict[int, str] = {}

    def _positions(self, hashes: Any) -> tuple[Any, Any]:
        np = self._np
        unsigned = hashes.view(np.uint64)
        mask = np.uint64((1 << self._log2) - 1)
        return unsigned & mask, (unsigned >> np.uint64(32)) & mask

    def _test(self, pos: Any) -> Any:
        np = self._np
        return (self._bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1

    def _set(self, pos: Any) -> None:
        np = self._np
        cells = pos >> np.uint64(3)
        offsets = (pos & np.uint64(7)).astype(np.uint8)
        # One pass per bit position: an indexed |= with repeated cells then writes the same
        # value for each repeat, so none is lost (np.bitwise_or.at has no fast loop: ~20x
        # slower).
        for bit in range(8):
            chosen = cells[offsets == bit]
            self._bits[chosen] |= np.uint8(1 << bit)

    def reserve(self, count: int) -> None:
        """Size the bit array for ``count`` values before the first is fed (no refills later).

        Capped at 2**28 bits (32 MiB): past that the array grows as values come.
        """
        if self._count:
            return
        log2 = self._log2
        while (1 << log2) < _BITS_PER_VALUE * count * 2 and log2 < _MAX_RESERVE_LOG2:
            log2 += 1
        if log2 != self._log2:
            self._log2 = log2
            self._bits = self._np.zeros(1 << (log2 - 3), dtype=self._np.uint8)

    def _grow(self, history: Any) -> None:
        """A bit array big enough for ``history`` (every hash fed so far), refilled from it."""
        np = self._np
        while (1 << self._log2) < _BITS_PER_VALUE * (len(history) + 1) * 2:
            self._log2 += 1
        self._bits = np.zeros(1 << (self._log2 - 3), dtype=np.uint8)
        # In slices, so the refill's temporary arrays stay small next to the history.
        for start in range(0, len(history), _REFILL_SLICE):
            values = history[start : start + _REFILL_SLICE]
            for pos in self._positions(values[values != 0]):
                self._set(pos)

    def add(
        self,
        hashes: array[int],
        values: Any,
        history: Callable[[], Any] | None = None,
    ) -> None:
        """Remember the texts of this batch's values that may have been seen before.

        ``history`` returns every hash fed so far (this batch included) as a NumPy array; it is
        called only when the bit array must grow.
        """
        np = self._np
        batch = np.frombuffer(hashes, dtype=np.int64)
        if not len(batch):
            return
        self._count += len(batch)
        if self._count * _BITS_PER_VALUE > (1 << self._log2) and history is not None:
            # Refilled from the hashes fed before this batch, which is then tested as usual.
            past = history()
            self._grow(past[: len(past) - len(batch)])
        first, second = self._positions(batch)
        maybe = (self._test(first) & self._test(second)).astype(bool)
        ordered = np.sort(batch)
        twins = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(twins):
            maybe |= np.isin(batch, twins)
        self._set(first)
        self._set(second)
        maybe &= batch != 0
        texts = self.texts
        if not maybe.any() or len(texts) >= MAX_TEXTS:
            return
        indexes = np.nonzero(maybe)[0][: MAX_TEXTS - len(texts)]
        if isinstance(values, list):
            found = [values[i] for i in indexes.tolist()]
        else:  # an Arrow array: only the texts needed become Python strings
            from htan_cds.manifest.arrow_buffers import texts_at

            found = texts_at(values, indexes)
        for value_hash, text in zip(batch[indexes].tolist(), found, strict=True):
            texts.setdefault(value_hash, text)

    def text(self, value_hash: int) -> str | None:
        """The text of a value whose hash repeats (``None`` past :data:`MAX_TEXTS`)."""
        return self.texts.get(value_hash)


class Hasher(Protocol):
    """Hashes several columns (lists of strings or Arrow string arrays) of one batch."""

    def __call__(self, columns: Sequence[Any]) -> list[array[int]]: ...


def python_hasher(columns: Sequence[Any]) -> list[array[int]]:
    """Python's string hash of each value (lists of strings)."""
    return [array("q", map(hash, values)) for values in columns]


def arrow_hasher() -> Hasher:
    """A hasher for lists of strings and Arrow string arrays alike: the 64-bit hash of
    :func:`htan_cds.manifest.arrow_buffers.string_hashes` over the UTF-8 bytes.

    ``""`` hashes to 0 ("no value"), as Python's ``hash("")`` does. Arrow arrays are hashed
    where they lie (NumPy over their buffers); a list's strings are encoded first.
    """
    from htan_cds.manifest.arrow_buffers import list_hashes, string_hashes

    def hasher(columns: Sequence[Any]) -> list[array[int]]:
        out: list[array[int]] = []
        for values in columns:
            hashes = list_hashes(values) if isinstance(values, list) else string_hashes(values)
            column = array("q")
            column.frombytes(hashes.tobytes())
            out.append(column)
        return out

    return hasher


class RepeatTracker:
    """One column's hashes (flat array) and how repeated values get their text.

    With ``sieve`` (the default) a :class:`ValueSieve` remembers texts as values come. Without
    it nothing is remembered in the first pass; :meth:`confirm` is then fed the same values
    again (a second reading of the file) and keeps the text of each row whose hash repeats, and
    :meth:`settle` gives rows whose texts differ under one hash (a collision) hashes of their
    own, so that repeats are exact: equal text, not only equal hash.
    """

    def __init__(self, *, sieve: bool = True) -> None:
        self.hashes: array[int] = array("q")
        self.sieve = ValueSieve()
        self._sieving = sieve
        self._repeats: list[int] | None = None
        # Second pass: where it stands in the candidate rows, the text seen first per hash,
        # and the rows whose text differs from it.
        self._next = 0
        self._first: dict[int, str] = {}
        self._others: list[tuple[int, str]] = []

    def add(self, values: Sequence[str] | Any, hashes: array[int] | None = None) -> array[int]:
        """Record a batch of values (``""`` = no value); returns their hashes.

        ``values`` is a list of strings or an Arrow string array; ``hashes`` their hashes by
        the one hasher used for every batch of this tracker (``None``: Python's ``hash``).
        """
        batch = array("q", map(hash, values)) if hashes is None else hashes
        self.hashes.extend(batch)
        self._repeats = None
        if self._sieving:
            self.sieve.add(batch, values, self._history)
        return batch

    def _history(self) -> Any:
        import numpy as np

        # A view, no copy: it is dropped before the array grows again (a live view would stop
        # the array from resizing).
        return np.frombuffer(self.hashes, dtype=np.int64)

    def repeats(self) -> list[int]:
        """Indexes (ascending) of the rows whose hash occurs more than once (cached)."""
        if self._repeats is None:
            self._repeats = rows_with_repeats(self._history())
        return self._repeats

    def confirm(self, start: int, values: Sequence[str] | Any) -> None:
        """Second pass: the values of rows ``start, start + 1, …`` as fed to :meth:`add`."""
        rows = self.repeats()
        end = start + len(values)
        first = self._next
        while self._next < len(rows) and rows[self._next] < end:
            self._next += 1
        wanted = [row - start for row in rows[first : self._next]]
        if not wanted:
            return
        if isinstance(values, list):
            found = [values[i] for i in wanted]
        else:  # an Arrow array: only the texts needed become Python strings
            from htan_cds.manifest.arrow_buffers import texts_at

            found = texts_at(values, wanted)
        hashes = self.hashes
        for offset, text in zip(wanted, found, strict=True):
            value = hashes[start + offset]
            seen = self._first.get(value)
            if seen is None:
                if len(self._first) < MAX_TEXTS:
                    self._first[value] = text
            elif seen != text:
                self._others.append((start + offset, text))

    def settle(self) -> None:
        """After the second pass: texts by hash, and a new hash for each text that shared one
        with another (never 0, never one in use)."""
        import numpy as np

        self.sieve.texts = self._first
        if not self._others:
            return
        used = set(np.unique(self._history()).tolist())
        fresh: dict[tuple[int, str], int] = {}
        for row, text in self._others:
            key = (self.hashes[row], text)
            if key not in fresh:
                value = key[0]
                while value in used or value == 0:
                    value = (value * 6364136223846793005 + 1442695040888963407) % (1 << 64)
                    value -= (value >> 63) << 64  # as a signed 64-bit integer
                used.add(value)
                fresh[key] = value
                self.sieve.texts[value] = text
            self.hashes[row] = fresh[key]
        self._others = []
        self._repeats = None

    def __len__(self) -> int:
        return len(self.hashes)


def rows_with_repeats(values: Any) -> list[int]:
    """Indexes (ascending) of the rows whose non-zero value occurs more than once."""
    import numpy as np

    ordered = np.sort(values[values != 0])
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    if not len(repeated):
        return []
    return [int(i) for i in np.nonzero(np.isin(values, np.unique(repeated)))[0]]
