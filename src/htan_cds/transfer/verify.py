"""Checksums computed while bytes arrive, in file order, even when parts land out of order.

:class:`PartialFile` owns the preallocated temporary file. Bytes written exactly at the hash
frontier are hashed straight from memory; bytes written ahead of it are only recorded, and are
read back (from the page cache, usually) once the gap before them closes. With parts fetched
roughly in order most bytes are hashed without a second read; ``reread_bytes`` counts the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from htan_cds.drs.models import IANA_TO_HASHLIB, DrsObject
from htan_cds.transfer.direct import DirectWriter

_READ_CHUNK = 4 << 20
_IOV_MAX = 1024
# Strongest first: the one reported as the file's checksum.
_PREFERENCE = ("sha512", "sha384", "sha256", "sha1", "md5")


@dataclass(frozen=True)
class Expected:
    """A declared checksum to check: IANA name as the server wrote it, hashlib name, hex."""

    iana: str
    algorithm: str
    hexdigest: str


def expected_checksums(obj: DrsObject, algorithms: tuple[str, ...]) -> list[Expected]:
    """The object's declared checksums we can and want to verify, strongest first."""
    found: dict[str, Expected] = {}
    for item in obj.checksums:
        algo = IANA_TO_HASHLIB.get(item.type.lower(), "")
        if algo and algo in algorithms and algo not in found:
            found[algo] = Expected(item.type.lower(), algo, item.checksum.lower())
    if not found:
        # Asked-for algorithms not declared: fall back to any verifiable one declared.
        for item in obj.checksums:
            algo = IANA_TO_HASHLIB.get(item.type.lower(), "")
            if algo and algo not in found:
                found[algo] = Expected(item.type.lower(), algo, item.checksum.lower())
                break
    return sorted(found.values(), key=lambda e: _PREFERENCE.index(e.algorithm))


def hash_file(path: Path, algorithms: list[str]) -> dict[str, str]:
    """Digests of a whole file (used for files already at the destination)."""
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


class PartialFile:
    """A preallocated temporary file written at offsets, hashed in order. Thread-safe."""

    def __init__(self, path: Path, size: int, algorithms: list[str], *, fresh: bool) -> None:
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
        self._hashers = {a: hashlib.new(a) for a in algorithms}
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
        with self._io:
            if self._fd < 0:
                raise OSError(f"{self.path} is closed")
            self._inflight += 1
        try:
            block = self._direct.write(self._fd, offset, views, total)
            if block is None:
                self._pwrite_all(views, offset, total)
            else:
                views = [block]
            with self._lock:
                if offset == self._frontier:
                    for h in self._hashers.values():
                        for v in views:
                            h.update(v)
                    self._frontier += total
                    self._catch_up()
                elif total:
                    self._add_pending(offset, offset + total)
        finally:
            with self._io:
                self._inflight -= 1
                self._io.notify_all()

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

    def finish(self) -> dict[str, str]:
        """Hash whatever is left (only if something was never seen in order) and return digests."""
        with self._lock:
            if self._frontier < self.size:
                self._pending.clear()
                self._hash_from_disk(self._frontier, self.size)
            return {a: h.hexdigest() for a, h in self._hashers.items()}

    def close(self) -> None:
        """Close the file descriptor once no write is in flight (idempotent)."""
        with self._io:
            self._io.wait_for(lambda: self._inflight == 0, timeout=60)
            if self._fd >= 0:
                self._direct.close()
                os.close(self._fd)
                self._fd = -1
