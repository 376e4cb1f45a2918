"""Large blocks written with ``O_DIRECT``: from a reused buffer straight to the disk.

A buffered write copies every byte into a freshly allocated page-cache page. Profiling a 4-file
import on the benchmark VM put half of the import's CPU time in that copy (the kernel's
``copy_folio_from_iter_atomic``; fresh guest pages are expensive to touch), more than sha-256
itself. With ``O_DIRECT`` the device reads our buffer by DMA and the worker thread only waits,
so the cores stay free for receiving and hashing. The received pieces are first gathered into
one aligned, per-thread buffer (a copy between hot buffers, about a tenth of the cost), which is
also what gets hashed: one contiguous ``update`` per block.

Where ``O_DIRECT`` is refused (tmpfs, some network filesystems, non-Linux) writes stay buffered.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import threading
from collections.abc import Sequence

# Offsets, lengths and buffer addresses of direct writes are multiples of this (the page size
# covers every logical block size in use).
ALIGN = 4096
# Smaller blocks are not worth the copy: they are written through the page cache.
MIN_DIRECT = 1 << 20

_MIN_BUFFER = 8 << 20

_local = threading.local()


def _buffer(size: int) -> mmap.mmap:
    """This thread's page-aligned scratch buffer, grown to hold ``size`` bytes."""
    buf: mmap.mmap | None = getattr(_local, "buf", None)
    if buf is None or len(buf) < size:
        if buf is not None:
            # A view handed out earlier may still be alive: then the collector frees it.
            with contextlib.suppress(BufferError):
                buf.close()
        # Blocks vary a little around the receive block size: grow with headroom, not per byte.
        buf = mmap.mmap(-1, -(-max(size, _MIN_BUFFER) // ALIGN) * ALIGN)
        _local.buf = buf
    return buf


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        n = os.pwrite(fd, data, offset)
        data = data[n:]
        offset += n


class DirectWriter:
    """A second, ``O_DIRECT`` descriptor on a file (or none when the filesystem refuses it)."""

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self._fd = -1
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            with contextlib.suppress(OSError):
                self._fd = os.open(path, os.O_WRONLY | flag)

    def write(
        self, buffered_fd: int, offset: int, views: Sequence[memoryview], total: int
    ) -> memoryview | None:
        """Write ``views`` (``total`` bytes) at ``offset``: the block-aligned middle directly,
        the ragged edges through ``buffered_fd``. Returns the bytes as one contiguous view (valid
        until this thread's next call) or None when nothing was written (too small, or direct
        I/O is unavailable): the caller then writes them itself."""
        if self._fd < 0 or total < MIN_DIRECT:
            return None
        # The data sits in the buffer at the same offset modulo ALIGN as in the file, so the
        # aligned file range is also an aligned memory range.
        lead = offset % ALIGN
        buf = _buffer(lead + total)
        whole = memoryview(buf)
        pos = lead
        for v in views:
            whole[pos : pos + len(v)] = v
            pos += len(v)
        start = offset - lead + (ALIGN if lead else 0)
        end = (offset + total) // ALIGN * ALIGN
        try:
            if start < end:
                _pwrite_all(self._fd, whole[start - offset + lead : end - offset + lead], start)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # The filesystem accepted the flag but not the write: stay buffered from now on.
            self.close()
            return None
        data = whole[lead : lead + total]
        if start < end:
            if offset < start:
                _pwrite_all(buffered_fd, data[: start - offset], offset)
            if end < offset + total:
                _pwrite_all(buffered_fd, data[end - offset :], end)
        else:
            _pwrite_all(buffered_fd, data, offset)
        return data

    def close(self) -> None:
        """Close the direct descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
