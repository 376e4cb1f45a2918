"""NumPy views of Arrow string arrays' buffers: offsets, first bytes, texts, 64-bit hashes.

The million-row path of ``manifest check`` tests and hashes strings where Arrow's CSV parser
left them, without a Python string per cell and without Arrow compute kernels that build new
arrays (``utf8_slice_codeunits``, ``equal`` on strings cost more than the parse itself). Arrays
are Arrow ``string`` arrays (int32 offsets), as ``pyarrow.csv`` makes them. ``pa.array`` and
``pa.scalar`` of Python or NumPy values import pandas (~0.4 s), and so does a compute call given
one: arrays here are built from buffers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_MUL = np.uint64(0x9E3779B97F4A7C15)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
# _MASKS[k]: the low k bytes of a little-endian word (k = 0..8).
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def _splitmix(values: Any) -> Any:
    values = values * _MUL
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


# One odd multiplier per word position (strings up to 128 KiB, the csv module's field limit;
# longer ones reuse them cyclically).
_POSITION = _splitmix(np.arange(1, 16385, dtype=np.uint64)) | np.uint64(1)


def offsets(array: Any) -> Any:
    """The ``len(array) + 1`` offsets of ``array``'s strings into its data buffer (int64)."""
    return np.frombuffer(
        array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4
    ).astype(np.int64)


def data_bytes(array: Any, bounds: Any | None = None) -> Any:
    """The UTF-8 bytes of every string of ``array``, back to back, as a uint8 array (no copy)."""
    bounds = offsets(array) if bounds is None else bounds
    data = array.buffers()[2]
    start, end = int(bounds[0]), int(bounds[-1])
    if data is None or start == end:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)


def string_array(bounds: Any, data: bytes) -> Any:
    """An Arrow string array of the strings at ``bounds`` (offsets from 0) into ``data``."""
    import pyarrow as pa

    ends = pa.py_buffer(bounds.astype(np.int32))
    return pa.Array.from_buffers(pa.string(), len(bounds) - 1, [None, ends, pa.py_buffer(data)])


def texts_at(array: Any, indexes: Any) -> list[str]:
    """The strings of ``array`` at ``indexes`` as Python strings (only those become objects)."""
    bounds = offsets(array)
    data = array.buffers()[2]
    view = memoryview(data) if data is not None else memoryview(b"")
    return [str(view[bounds[i] : bounds[i + 1]], "utf-8") for i in np.asarray(indexes).tolist()]


def first_bytes(array: Any, bounds: Any | None = None) -> Any:
    """The first byte of each string (``-1`` for an empty string), as int16."""
    bounds = offsets(array) if bounds is None else bounds
    data = array.buffers()[2]
    out = np.full(len(array), -1, dtype=np.int16)
    present = np.diff(bounds) > 0
    if data is not None and present.any():
        raw = np.frombuffer(data, dtype=np.uint8)
        out[present] = raw[bounds[:-1][present]]
    return out


def string_hashes(array: Any) -> Any:
    """A 64-bit hash of each string's bytes (int64; ``0`` exactly for ``""``).

    Each string is read as 8-byte words, zero-padded: the sum of word times an odd constant of
    its position, plus the length, through MurmurHash3's finaliser. One copy of the data buffer
    when every string has one length (rows of a strided view), else eight shifted copies so that
    every string's words are aligned in one of them. Not a cryptographic hash: equal hashes only
    make candidates, which the checker confirms by text (``crossrow.py``).
    """
    if not len(array):
        return np.zeros(0, dtype=np.int64)
    bounds = offsets(array)
    return _hash(bounds, data_bytes(array, bounds))


def list_hashes(values: list[str]) -> Any:
    """:func:`string_hashes` of a list of strings (the same hash for the same text)."""
    encoded = [value.encode("utf-8") for value in values]
    bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=bounds[1:])
    return _hash(bounds, np.frombuffer(b"".join(encoded), dtype=np.uint8))


def _hash(bounds: Any, raw: Any) -> Any:
    """The hashes of the strings at ``bounds`` (offsets, int64) into ``raw`` (uint8)."""
    count = len(bounds) - 1
    if not count:
        return np.zeros(0, dtype=np.int64)
    lengths = np.diff(bounds)
    shortest, longest = int(lengths.min()), int(lengths.max())
    if shortest == longest and shortest:
        words = (shortest + 7) >> 3
        block = np.zeros((count, 8 * words), dtype=np.uint8)
        block[:, :shortest] = np.lib.stride_tricks.as_strided(raw, (count, shortest), (shortest, 1))
        table = block.view(np.uint64)
        if shortest % 8:
            table[:, words - 1] &= _MASKS[shortest % 8]
        table *= _position(words)
        state = table.sum(axis=1, dtype=np.uint64)
    else:
        state = _sum_words(raw, bounds[:-1] - bounds[0], lengths)
    state += lengths.astype(np.uint64) * _FMIX2
    state ^= state >> np.uint64(33)
    state *= _FMIX1
    state ^= state >> np.uint64(33)
    state *= _FMIX2
    state ^= state >> np.uint64(33)
    hashes = state.view(np.int64)
    hashes[(hashes == 0) & (lengths > 0)] = 1  # 0 means "no value" to the checker
    hashes[lengths == 0] = 0
    return hashes


def _position(words: int) -> Any:
    return _POSITION[:words] if words <= len(_POSITION) else np.resize(_POSITION, words)


def _sum_words(raw: Any, starts: Any, lengths: Any) -> Any:
    """Sum over each string's words of word times its position's constant (strings of any
    lengths; word ``j`` of a string starting at byte ``b`` is word ``b // 8 + j`` of the copy
    shifted by ``b % 8``)."""
    size = len(raw)
    span = size // 8 + 2
    padded = np.zeros(8 * span + 8, dtype=np.uint8)
    padded[:size] = raw
    copies = np.empty((8, span), dtype=np.uint64)
    as_bytes = copies.view(np.uint8).reshape(8, 8 * span)
    for shift in range(8):
        as_bytes[shift] = padded[shift : shift + 8 * span]
    flat = copies.ravel()
    base = (starts & 7) * span + (starts >> 3)
    nwords = (lengths + 7) >> 3
    low, high = int(nwords.min()), int(nwords.max())
    full = int(lengths.min()) >> 3  # word positions where every string has 8 bytes left
    constants = _position(high)
    order = np.argsort(nwords, kind="stable") if high > low else None
    ordered: Any = nwords[order] if order is not None else None
    state = np.zeros(len(starts), dtype=np.uint64)
    for j in range(high):
        if j < low or order is None:
            word = flat[base + j]
            if j >= full:
                word &= _MASKS[np.clip(lengths - 8 * j, 0, 8)]
            word *= constants[j]
            state += word
        else:
            rows = order[int(np.searchsorted(ordered, j, side="right")) :]
            word = flat[base[rows] + j] & _MASKS[np.clip(lengths[rows] - 8 * j, 0, 8)]
            word *= constants[j]
            state[rows] += word
    return state
