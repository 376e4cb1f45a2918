"""The read-only catalog's memo: remembers per key when enabled, bounded, and forgets on clear()
(benchmarks/catalog_facets.py clears it so each figure is a real query)."""

from __future__ import annotations

from htan_cds.catalog.records import Memo


def test_memo_remembers_until_cleared() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    memo = Memo(enabled=True, size=4)
    assert memo.get(("facets", "x"), compute) == 1
    assert memo.get(("facets", "x"), compute) == 1
    memo.clear()
    assert memo.get(("facets", "x"), compute) == 2
    assert len(calls) == 2


def test_memo_is_bounded_and_off_when_disabled() -> None:
    memo = Memo(enabled=True, size=2)
    for n in range(3):
        memo.get((str(n),), lambda n=n: n)
    assert memo.get(("0",), lambda: "again") == "again"  # the oldest was dropped
    off = Memo(enabled=False)
    assert off.get(("a",), lambda: 1) == 1
    assert off.get(("a",), lambda: 2) == 2
