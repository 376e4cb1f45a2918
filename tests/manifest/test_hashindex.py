"""HashIndex and BatchView against a plain dict: the same answers for any keys and batches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.manifest.hashindex import BatchView, HashIndex

# Small key ranges force collisions and long probe chains; 0 is "no value" and never stored.
keys = st.one_of(st.integers(-40, 40), st.integers(-(2**63), 2**63 - 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(keys, max_size=60), max_size=30), st.booleans())
def test_index_agrees_with_a_dict(batches: list[list[int]], second: bool) -> None:
    index = HashIndex(second=second)
    model: dict[int, tuple[int, int]] = {}
    for number, batch in enumerate(batches):
        found, a, b = index.get(np.array(batch, dtype=np.int64))
        for key, hit, x, y in zip(batch, found, a, b, strict=True):
            assert bool(hit) == (key in model and key != 0)
            if hit:
                assert (int(x), int(y) if second else 0) == (
                    model[key][0],
                    model[key][1] if second else 0,
                )
        new = sorted({k for k in batch if k and k not in model})
        payload_a, payload_b = [number] * len(new), [k % 97 for k in new]
        if number % 2:
            index.put(np.array(new, dtype=np.int64), payload_a, payload_b)
        else:
            slots = index.new_slots(np.array(new, dtype=np.int64))
            assert slots is not None
            index.put_at(slots, np.array(new, dtype=np.int64), payload_a, payload_b)
        for key in new:
            model[key] = (number, key % 97)
        assert len(index) == len(model)
        if batch and any(k in model for k in batch if k):
            assert index.new_slots(np.array(batch, dtype=np.int64)) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(keys, max_size=40), st.lists(keys, max_size=40), st.lists(keys, max_size=10))
def test_batch_view_sees_index_batch_and_outside_keys(
    before: list[int], batch: list[int], outside: list[int]
) -> None:
    index = HashIndex()
    stored = sorted({k for k in before if k})
    index.put(np.array(stored, dtype=np.int64), stored, [1] * len(stored))
    view = BatchView(index, np.array(batch, dtype=np.int64))
    added: dict[int, int] = {}
    for key in batch + outside:
        expected = (key, 1) if key in stored else ((added[key], 2) if key in added else None)
        assert view.get(key) == expected
        if expected is None and key:
            view.add(key, key, 2)
            added[key] = key
    view.flush()
    found, a, _ = index.get(np.array(list(added), dtype=np.int64))
    assert found.all() and a.tolist() == list(added)
