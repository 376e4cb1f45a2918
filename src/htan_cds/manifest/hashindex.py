"""An exact map from 64-bit hashes to two 64-bit numbers, in flat NumPy arrays.

Repair must decide row by row whether a DRS object, a name or an HTAN file id was seen before,
for millions of rows. A Python ``dict[int, int]`` costs ~110 bytes an entry; this open-addressing
table (linear probing, load factor at most 1/2, batches looked up and inserted with vectorised
NumPy operations) costs ~48 bytes an entry and no per-row Python call. Key ``0`` means "no
value" (CPython's ``hash("")``) and is never stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MIN_LOG2 = 12


class HashIndex:
    """``key -> (a, b)`` for int64 keys; batches go in and out as NumPy arrays.

    Look up with :meth:`get` (``found`` mask plus the payloads), add with :meth:`put` (keys not
    yet present and distinct within the batch). The table doubles when half full.
    """

    def __init__(self, *, second: bool = True) -> None:
        self._second = second
        self._log2 = _MIN_LOG2
        self._alloc(1 << self._log2)
        self.count = 0

    def _alloc(self, size: int) -> None:
        self._keys = np.zeros(size, dtype=np.int64)
        self._a = np.zeros(size, dtype=np.int64)
        # Without a second payload, b reads as 0 and costs nothing.
        self._b = np.zeros(size if self._second else 1, dtype=np.int64)

    def __len__(self) -> int:
        return self.count

    def reserve(self, count: int) -> None:
        """Room for ``count`` keys in all, so that adding them never grows the table (growing
        re-inserts every key; one early reservation skips the doublings on the way)."""
        if count * 2 > (1 << self._log2):
            self._grow(count)

    def _slots(self, keys: Any) -> Any:
        """For each key: the slot holding it, or the first empty slot of its probe sequence."""
        mask = np.int64((1 << self._log2) - 1)
        pos = keys & mask
        slots = np.empty(len(keys), dtype=np.int64)
        pending = np.arange(len(keys))
        table = self._keys
        while len(pending):
            held = table[pos]
            done = (held == keys[pending]) | (held == 0)
            slots[pending[done]] = pos[done]
            pending = pending[~done]
            pos = (pos[~done] + 1) & mask
        return slots

    def get(self, keys: Any) -> tuple[Any, Any, Any]:
        """``(found, a, b)`` for each key (``a``/``b`` are 0 where not found)."""
        keys = np.asarray(keys, dtype=np.int64)
        if not len(keys):
            empty = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=bool), empty, empty
        slots = self._slots(keys)
        found = (self._keys[slots] == keys) & (keys != 0)
        second = np.where(found, self._b[slots], 0) if self._second else np.zeros_like(keys)
        return found, np.where(found, self._a[slots], 0), second

    def new_slots(self, keys: Any) -> Any | None:
        """Where ``keys`` would go, or ``None`` when any of them is present (one probe pass).

        With :meth:`put_at` this adds a batch of keys that are probably new at the cost of one
        probe; the slots stay valid until the table changes.
        """
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) and (self.count + len(keys)) * 2 > (1 << self._log2):
            self._grow(self.count + len(keys))
        slots = self._slots(keys)
        if ((self._keys[slots] == keys) & (keys != 0)).any():
            return None
        return slots

    def put_at(self, slots: Any, keys: Any, a: Any, b: Any) -> None:
        """Add distinct new ``keys`` at the ``slots`` :meth:`new_slots` gave (zeros skipped)."""
        keys = np.asarray(keys, dtype=np.int64)
        keep = keys != 0
        slots, keys = slots[keep], keys[keep]
        a = np.asarray(a)[keep]
        b = np.asarray(b)[keep] if self._second else None
        # Two new keys may have probed to one empty slot: one scatter places one of each such
        # pair (the last), and the keys that lost their slot go in one by one.
        self._keys[slots] = keys
        won = self._keys[slots] == keys
        self._a[slots[won]] = a[won]
        if b is not None:
            self._b[slots[won]] = b[won]
        self.count += int(won.sum())
        if not won.all():
            lost = ~won
            self.put(keys[lost], a[lost], b[lost] if b is not None else np.zeros(int(lost.sum())))

    def put(self, keys: Any, a: Any, b: Any) -> None:
        """Add keys that are new and distinct (zeros are skipped) with their payloads."""
        keys = np.asarray(keys, dtype=np.int64)
        keep = keys != 0
        keys, a = keys[keep], np.asarray(a)[keep]
        b = np.asarray(b)[keep] if self._second else np.zeros_like(keys)
        if not len(keys):
            return
        if (self.count + len(keys)) * 2 > (1 << self._log2):
            self._grow(self.count + len(keys))
        while len(keys):
            slots = self._slots(keys)
            # Two new keys may probe to the same empty slot: the first takes it, the rest retry.
            first = np.unique(slots, return_index=True)[1]
            self._keys[slots[first]] = keys[first]
            self._a[slots[first]] = a[first]
            if self._second:
                self._b[slots[first]] = b[first]
            self.count += len(first)
            rest = np.ones(len(keys), dtype=bool)
            rest[first] = False
            keys, a, b = keys[rest], a[rest], b[rest]

    def set_a(self, keys: Any, a: Any) -> None:
        """Replace the first payload of keys that are present."""
        keys = np.asarray(keys, dtype=np.int64)
        slots = self._slots(keys)
        hit = self._keys[slots] == keys
        self._a[slots[hit]] = np.asarray(a)[hit]

    def _grow(self, needed: int) -> None:
        while needed * 2 > (1 << self._log2):
            self._log2 += 1
        used = self._keys != 0
        keys, a = self._keys[used], self._a[used]
        b = self._b[used] if self._second else np.zeros_like(keys)
        self._alloc(1 << self._log2)
        self.count = 0
        self.put(keys, a, b)


class BatchView:
    """One batch's view of a :class:`HashIndex`: looked up in one pass, added to in a dict.

    Row-by-row repair asks and adds one key at a time; a NumPy call per key would cost more
    than the row. The batch's keys are looked up together up front; keys added while the batch
    is worked through go to a dict and into the index with :meth:`flush`. A key outside the
    batch (a renamed name) is looked up on its own.
    """

    def __init__(self, index: HashIndex, keys: Any) -> None:
        self._index = index
        keys = np.asarray(keys, dtype=np.int64)
        found, a, b = index.get(keys)
        self._known: dict[int, tuple[int, int]] = dict(
            zip(
                keys[found].tolist(),
                zip(a[found].tolist(), b[found].tolist(), strict=True),
                strict=True,
            )
        )
        self._fetched = set(keys.tolist())
        self._added: dict[int, tuple[int, int]] = {}

    def get(self, key: int) -> tuple[int, int] | None:
        """``(a, b)`` of ``key`` in the index or added in this batch, else ``None``."""
        hit = self._added.get(key)
        if hit is not None:
            return hit
        hit = self._known.get(key)
        if hit is not None or key in self._fetched:
            return hit
        found, a, b = self._index.get(np.array([key], dtype=np.int64))
        return (int(a[0]), int(b[0])) if found[0] else None

    def add(self, key: int, a: int, b: int = 0) -> None:
        """Record a new key (goes into the index at :meth:`flush`)."""
        if key:
            self._added[key] = (a, b)

    def flush(self) -> None:
        """Put the keys added in this batch into the index."""
        if self._added:
            keys = np.fromiter(self._added, dtype=np.int64, count=len(self._added))
            pairs = np.array(list(self._added.values()), dtype=np.int64).reshape(-1, 2)
            self._index.put(keys, pairs[:, 0], pairs[:, 1])
            self._added = {}
