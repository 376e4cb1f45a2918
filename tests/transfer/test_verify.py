"""In-order hashing of out-of-order writes (property-based) and the partial file's guards."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.drs.checksums import simple
from htan_cds.transfer.verify import PartialFile


@given(
    data=st.binary(min_size=0, max_size=5000),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
    order=st.randoms(use_true_random=False),
    done_first=st.integers(min_value=0, max_value=3),
)
@settings(max_examples=150, deadline=None)
def test_digest_is_right_whatever_the_write_order(
    tmp_path_factory: pytest.TempPathFactory,
    data: bytes,
    cuts: list[int],
    order: object,
    done_first: int,
) -> None:
    path = tmp_path_factory.mktemp("pf") / "x.part"
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    pieces = list(itertools.pairwise(bounds))
    # Some pieces are "already on disk from an earlier run": written raw, then declared.
    earlier, later = pieces[:done_first], pieces[done_first:]
    if earlier:
        with open(path, "wb") as fh:
            fh.truncate(len(data))
            for a, b in earlier:
                fh.seek(a)
                fh.write(data[a:b])
    pf = PartialFile(path, len(data), [simple("sha256"), simple("md5")], fresh=not earlier)
    for a, b in earlier:
        pf.mark_written(a, b)
    order.shuffle(later)  # type: ignore[attr-defined]
    for a, b in later:
        pf.write(a, data[a:b])
    digests = pf.finish().computed
    pf.close()
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert digests["md5"] == hashlib.md5(data).hexdigest()
    assert path.read_bytes() == data


def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    pf = PartialFile(tmp_path / "y.part", 10, [simple("sha256")], fresh=True)
    pf.write(0, b"01234")
    pf.close()
    pf.close()  # idempotent
    with pytest.raises(OSError):
        pf.write(5, b"56789")


def test_many_small_buffers_in_one_write(tmp_path: Path) -> None:
    data = bytes(range(256)) * 20  # 5,120 one-byte buffers: more than IOV_MAX
    pf = PartialFile(tmp_path / "z.part", len(data), [simple("sha256")], fresh=True)
    pf.write_many(0, [data[i : i + 1] for i in range(len(data))])
    assert pf.finish().computed["sha256"] == hashlib.sha256(data).hexdigest()
    pf.close()
    assert (tmp_path / "z.part").read_bytes() == data
