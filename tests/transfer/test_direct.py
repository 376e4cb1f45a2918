"""Direct (page-cache bypassing) writes of large blocks: same bytes and digests as buffered ones,
whatever the alignment and order of the blocks."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from pathlib import Path

import google_crc32c

from htan_cds.drs.checksums import simple
from htan_cds.transfer.direct import ALIGN, MIN_DIRECT, DirectWriter
from htan_cds.transfer.verify import PartialFile


def test_unaligned_blocks_in_any_order_land_intact(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = rng.randbytes(5 * MIN_DIRECT + 12_345)
    # Block edges deliberately off the ALIGN grid, plus one small block.
    cuts = [0, MIN_DIRECT + 17, 2 * MIN_DIRECT + 100, 2 * MIN_DIRECT + 5000, len(data)]
    blocks = list(itertools.pairwise(cuts))
    rng.shuffle(blocks)
    # sha-256 hashes the gathered block, crc32c the received buffers themselves (its C API takes
    # only bytes): both must see every byte once, in file order.
    expected = [simple("sha256"), simple("crc32c")]
    partial = PartialFile(tmp_path / "x.part", len(data), expected, fresh=True)
    try:
        for start, end in blocks:
            piece = data[start:end]
            # Several received buffers per block, as aiohttp hands them over.
            step = 300_001
            partial.write_many(start, [piece[i : i + step] for i in range(0, len(piece), step)])
        digests = partial.finish().computed
    finally:
        partial.close()
    assert (tmp_path / "x.part").read_bytes() == data
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert digests["crc32c"] == f"{google_crc32c.value(data):08x}"


def test_direct_writer_reports_what_it_did(tmp_path: Path) -> None:
    path = tmp_path / "y"
    path.write_bytes(b"\0" * (3 * MIN_DIRECT))
    fd = os.open(path, os.O_RDWR)
    writer = DirectWriter(path)
    try:
        payload = os.urandom(2 * MIN_DIRECT)
        assert writer.write(fd, 0, [memoryview(b"small")], 5) is None  # below MIN_DIRECT
        block = writer.write(fd, ALIGN + 3, [memoryview(payload)], len(payload))
        # None only where the filesystem refuses O_DIRECT; the caller then writes itself.
        if block is None:
            os.pwrite(fd, payload, ALIGN + 3)
        else:
            assert bytes(block) == payload
    finally:
        writer.close()
        os.close(fd)
    got = path.read_bytes()
    assert got[ALIGN + 3 : ALIGN + 3 + len(payload)] == payload
    assert got[: ALIGN + 3] == b"\0" * (ALIGN + 3)
