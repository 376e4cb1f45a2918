"""Decoding compressed TIFF segments (tiles, strips), several at once.

A multi-channel tile needs one segment per channel, and its codecs (imagecodecs' deflate,
LZW, JPEG, zstd…, called through tifffile's per-page decoder) release the GIL while they work,
so the segments of one request are decoded side by side on the machine's cores: the calling
thread decodes the first and a small shared pool the rest (from :data:`PARALLEL_MIN_SEGMENTS`
segments on; fewer are decoded in the calling thread). tifffile decodes the segments of
one page in parallel the same way (``TiffPage.segments(maxworkers=…)``), which is why its
decoder may be called from several threads at once.

A 256 x 256, 3-channel tile of 16-bit deflate+predictor tiles costs ~0.34 ms of CPU per
segment on this project's 2-core machine: ~1.0 ms one after the other, ~0.6 ms side by side.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from htan_cds.errors import HtanCdsError, ImagingError

# More workers than cores only adds switching; 4 bounds a many-core server's pool per process.
DECODE_WORKERS = max(1, min(4, os.cpu_count() or 1))
# Fewer segments than this are decoded one after the other in the calling thread: a hand-off to
# a pool thread and back costs 0.1-0.3 ms on an idle core (and waits for the OS to schedule the
# worker when no core is idle), about what decoding one 256 x 256 segment costs, so side by side
# pays only from two segments per core on (e.g. a 4-channel tile on 2 cores).
PARALLEL_MIN_SEGMENTS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class DecodePlan(Protocol):
    """What decoding needs from a page plan (``region_reader._PagePlan``)."""

    @property
    def decode(self) -> Callable[..., Any]: ...

    @property
    def decode_args(self) -> dict[str, Any]: ...


def decode_segment(plan: DecodePlan, index: int, raw: bytes) -> npt.NDArray[Any] | None:
    """Segment ``index`` of a page from its compressed bytes: ``(length, width, samples)``,
    or None for an empty segment (byte count 0: the fill value, zero).

    Raises :class:`ImagingError` when the codec fails.
    """
    if not raw:
        return None
    try:
        array, _, _ = plan.decode(raw, index, **plan.decode_args)
    except HtanCdsError:
        raise
    except Exception as exc:
        raise ImagingError(f"cannot decode segment {index}: {exc}") from exc
    if array is None:
        return None
    result: npt.NDArray[Any] = np.asarray(array)
    return result.reshape(result.shape[-3:])


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="htan-decode")
        return _pool


def decode_all(
    jobs: Sequence[tuple[DecodePlan, int, bytes]],
) -> list[npt.NDArray[Any] | None]:
    """:func:`decode_segment` of each ``(plan, index, raw)``, in order, the first in this
    thread and the others on the shared pool when there are :data:`PARALLEL_MIN_SEGMENTS` or
    more and cores to use."""
    if len(jobs) < max(2, PARALLEL_MIN_SEGMENTS) or DECODE_WORKERS < 2:
        return [decode_segment(*job) for job in jobs]
    pool = _executor()
    futures: list[Future[npt.NDArray[Any] | None]] = [
        pool.submit(decode_segment, *job) for job in jobs[1:]
    ]
    try:
        first = decode_segment(*jobs[0])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [first, *(future.result() for future in futures)]
