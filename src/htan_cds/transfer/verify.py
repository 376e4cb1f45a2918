"""Checksums computed while bytes arrive, in file order, even when parts land out of order.

:class:`PartialFile` owns the preallocated temporary file. Bytes written exactly at the hash
frontier are hashed straight from memory; bytes written ahead of it are only recorded, and are
read back (from the page cache, usually) once the gap before them closes. With parts fetched
roughly in order most bytes are hashed without a second read; ``reread_bytes`` counts the rest.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from htan_cds.drs.checksums import Expected, Verdict, expected_checksums, hash_file
from htan_cds.transfer.direct import DirectWriter

__all__ = ["Expected", "Outcome", "PartialFile", "expected_checksums", "hash_file"]

_READ_CHUNK = 4 << 20
_IOV_MAX = 1024


@dataclass(frozen=True)
class Outcome:
    """What hashing the written bytes proved about the declared checksums.

    ``verified`` is true only when a declared checksum was computed over the bytes and matched
    and none mismatched; ``checked`` is the one that matched (reported as ``checksum_type``).
    """

    digests: dict[str, str] = field(default_factory=dict)
    checked: Expected | None = None
    mismatched: list[tuple[Expected, str | None]] = field(default_factory=list)
    # Every computed value by algorithm (for a multipart ETag: for the first part-size guess).
    computed: dict[str, str | None] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.checked is not None and not self.mismatched

    def describe_mismatch(self) -> str:
        return ", ".join(f"{e.iana} {got} != declared {e.value}" for e, got in self.mismatched)


class PartialFile:
    """A preallocated temporary file written at offsets, hashed in order. Thread-safe."""

    def __init__(self, path: Path, size: int, expected: Sequence[Expected], *, fresh: bool) -> None:
        self.path = path
        self.size = size
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if fresh else 0)
        self._fd = os.open(path, flags, 0o644)
        if os.fstat(self._fd).st_size != size:
            os.ftruncate(self._fd, size)
            if size and hasattr(os, "posix_fallocate"):
                # e.g. tmpfs without fallocate: the sparse file still works.
                with contextlib.suppress(OSError):
                    os.posix_fallocate(self._fd, 0, size)
        self._direct = DirectWriter(path)
        self._expected = list(expected)
        self._hashers = {e.algorithm: e.hasher(size) for e in self._expected}
        self._frontier = 0
        self._pending: dict[int, int] = {}  # start -> end of written ranges beyond the frontier
        self._lock = threading.Lock()
        # Writes still running in worker threads when a transfer is cancelled must end before
        # the descriptor closes: its number could be reused by another file's descriptor.
        self._io = threading.Condition()
        self._inflight = 0
        self.reread_bytes = 0

    @property
    def frontier(self) -> int:
        return self._frontier

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``offset`` and advance the hashes as far as contiguous bytes allow."""
        self.write_many(offset, [data])

    def write_many(self, offset: int, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
        """Write consecutive ``buffers`` starting at ``offset`` (one ``pwritev``, no joining)."""
        views = [memoryview(b) for b in buffers if len(b)]
        total = sum(len(v) for v in views)
        self._begin_io()
        try:
            block = self._direct.write(self._fd, offset, views, total)
            if block is None:
                self._pwrite_all(list(views), offset, total)
            # crc32c's C API takes only bytes: it is fed the received bytes objects, not the
            # gathered block (which it would have to copy).
            self._hash_written(offset, total, views if block is None else [block], views)
        finally:
            self._end_io()

    def write_hot(self, offset: int, block: memoryview) -> None:
        """Write one small block that was just received (still in the CPU cache) through the
        page cache, and hash it when it sits at the frontier. Reading a cold block again
        is what makes big buffered writes expensive; a hot one is cheaper than ``O_DIRECT``'s
        wait for the disk (see :mod:`htan_cds.transfer.socket_body`)."""
        total = len(block)
        self._begin_io()
        try:
            self._pwrite_all([block], offset, total)
            # crc32c's hasher copies the block into bytes: a copy of a cached block is cheap.
            self._hash_written(offset, total, (block,), (block,))
        finally:
            self._end_io()

    def _begin_io(self) -> None:
        # Counted so that close() waits for writes still running in worker threads.
        with self._io:
            if self._fd < 0:
                raise OSError(f"{self.path} is closed")
            self._inflight += 1

    def _end_io(self) -> None:
        with self._io:
            self._inflight -= 1
            self._io.notify_all()

    def _hash_written(
        self,
        offset: int,
        total: int,
        views: Sequence[memoryview],
        received: Sequence[memoryview],
    ) -> None:
        """Hash ``total`` bytes just written at ``offset`` if they sit at the frontier (then
        catch up with ranges written ahead), else record them for later. ``views`` and
        ``received`` hold the same bytes: hashers that want ``bytes`` (crc32c) get
        ``received``, the others ``views``."""
        with self._lock:
            if offset == self._frontier:
                for h in self._hashers.values():
                    for v in received if getattr(h, "wants_bytes", False) else views:
                        h.update(v)
                self._frontier += total
                self._catch_up()
            elif total:
                self._add_pending(offset, offset + total)

    def _pwrite_all(self, views: list[memoryview], offset: int, total: int) -> None:
        done = 0
        while done < total:
            # pwritev takes at most IOV_MAX (1024 on Linux) buffers per call.
            n = os.pwritev(self._fd, views[:_IOV_MAX], offset + done)
            done += n
            # A short write: drop what was written and go on with the rest.
            while views and n >= len(views[0]):
                n -= len(views[0])
                views = views[1:]
            if views and n:
                views[0] = views[0][n:]

    def mark_written(self, start: int, end: int) -> None:
        """Declare bytes already on disk (parts finished in an earlier run)."""
        with self._lock:
            self._add_pending(start, end)
            self._catch_up()

    def _add_pending(self, start: int, end: int) -> None:
        if end <= self._frontier:
            return
        start = max(start, self._frontier)
        prev = self._pending.get(start)
        self._pending[start] = max(end, prev or end)

    def _catch_up(self) -> None:
        while True:
            covering = [s for s in self._pending if s <= self._frontier]
            if not covering:
                return
            end = max(self._pending.pop(s) for s in covering)
            if end > self._frontier:
                self._hash_from_disk(self._frontier, end)

    def _hash_from_disk(self, start: int, end: int) -> None:
        pos = start
        while pos < end:
            chunk = os.pread(self._fd, min(_READ_CHUNK, end - pos), pos)
            if not chunk:
                raise OSError(f"{self.path} is shorter than expected")
            for h in self._hashers.values():
                h.update(chunk)
            pos += len(chunk)
        self.reread_bytes += end - start
        self._frontier = end

    def finish(self) -> Outcome:
        """Hash whatever is left (only if something was never seen in order) and judge every
        declared checksum against the computed values."""
        with self._lock:
            if self._frontier < self.size:
                self._pending.clear()
                self._hash_from_disk(self._frontier, self.size)
            digests: dict[str, str] = {}
            checked: Expected | None = None
            mismatched: list[tuple[Expected, str | None]] = []
            computed: dict[str, str | None] = {}
            for exp in self._expected:
                hasher = self._hashers[exp.algorithm]
                value = computed[exp.algorithm] = hasher.hexdigest()
                verdict = hasher.verdict(exp.value)
                if verdict is Verdict.MATCH:
                    digests[exp.algorithm] = exp.value
                    checked = checked or exp
                elif verdict is Verdict.MISMATCH:
                    mismatched.append((exp, value))
            return Outcome(digests, checked, mismatched, computed)

    def close(self) -> None:
        """Close the file descriptor once no write is in flight (idempotent)."""
        with self._io:
            self._io.wait_for(lambda: self._inflight == 0, timeout=60)
            if self._fd >= 0:
                self._direct.close()
                os.close(self._fd)
                self._fd = -1
