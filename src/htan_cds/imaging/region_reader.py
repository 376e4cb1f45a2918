"""Pixels of any rectangle of any pyramid level, decoding only the tiles or strips it touches.

A :class:`RegionReader` opens a TIFF once (a local file, or a URL read by HTTP ranges) and then
answers :meth:`RegionReader.read` from many threads: it computes which segments (tiles or
strips) of which pages hold the requested samples, reads exactly their compressed bytes (one
``pread`` or ranged GET per run of adjacent segments) and decodes them with tifffile's own
per-page decoder (imagecodecs), so JPEG tables, predictors and edge tiles are handled as
tifffile handles them. Reads take a *sampling* per axis (``start, stop, step``): a step above 1
decodes only the segments holding a sampled row or column, which bounds the cost of
zoomed-out views of images without a pyramid (see :mod:`htan_cds.imaging.tiles`).

Open one with :func:`htan_cds.imaging.readers.open_reader` (which also handles PNG/JPEG).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from htan_cds.errors import ImagingError
from htan_cds.imaging.decode import decode_all
from htan_cds.imaging.model import ImageInfo, Level
from htan_cds.imaging.segment_cache import SEGMENTS
from htan_cds.imaging.sources import ByteSource, LocalByteSource

# One compressed segment whose decoded size exceeds this is refused rather than decoded for a
# small view: a whole-image strip of a 40k x 40k slide would cost gigabytes per request.
MAX_SEGMENT_SAMPLES = 1 << 26
# Adjacent segments closer than this in the file are fetched in one read.
_MERGE_GAP = 0
_REMOTE_WORKERS = 8
_MAX_PAGE_INDEXES = 4096  # (level, channel, z, t) lookups remembered per reader

_READER_SERIAL = itertools.count()

Sampling = tuple[int, int, int]  # start, stop (exclusive), step along one axis


def _ints(values: Any) -> tuple[int, ...]:
    """Segment offsets or byte counts as a tuple of ints: tifffile's own tuple as it is (a
    level-0 page of a big image has thousands of segments; converting each one again cost
    ~0.3 ms per page of a first view)."""
    return values if isinstance(values, tuple) else tuple(int(v) for v in values)


class ImageRequestError(ImagingError):
    """The request names something the image does not have (a channel, plane, colour…)."""


def sample_count(axis: Sampling) -> int:
    """Number of samples ``range(start, stop, step)`` yields."""
    start, stop, step = axis
    return max(0, math.ceil((stop - start) / step))


@dataclass
class _PagePlan:
    """Where the segments of one page are and how to decode them (from its keyframe)."""

    key: int  # identifies the page in the segment cache
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    decode: Callable[..., Any]
    decode_args: dict[str, Any]
    tiled: bool
    seg_w: int
    seg_h: int
    across: int  # segments per row of segments
    down: int  # rows of segments
    separate: bool  # planar configuration 2: one sample per segment
    samples: int
    width: int
    height: int
    dtype: np.dtype[Any]
    compression: int
    byteorder: str

    def per_sample(self) -> int:
        return self.across * self.down


@dataclass
class ReadStats:
    """What reads cost so far (for benchmarks and ``X-`` debug headers)."""

    segments: int = 0
    decoded_samples: int = 0
    compressed_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, segments: int, decoded: int, compressed: int) -> None:
        with self.lock:
            self.segments += segments
            self.decoded_samples += decoded
            self.compressed_bytes += compressed


class RegionReader:
    """One open TIFF image: its metadata (:attr:`info`) and thread-safe pixel reads.

    ``read(level, channels, ys, xs)`` returns an array ``(n, len(ys), len(xs))`` in the file's
    dtype, where ``n`` is ``len(channels)``, or 3 for RGB images (channels are then ignored).
    """

    def __init__(self, tf: Any, source: ByteSource, info: ImageInfo, series: Any) -> None:
        self.tf = tf
        self.source = source
        self.info = info
        self.series = series
        self.stats = ReadStats()
        self._plans: dict[tuple[int, int], _PagePlan] = {}
        self._page_indexes: dict[tuple[int, int, int | None, int | None], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        lev0 = series.levels[0]
        self.rgb = bool(info.rgb) and "S" in lev0.axes
        self.dtype: np.dtype[Any] = np.dtype(lev0.dtype)
        self._axes = [lev.axes for lev in series.levels]
        self._shapes = [tuple(int(n) for n in lev.shape) for lev in series.levels]

    # -- metadata -------------------------------------------------------------------------

    @property
    def levels(self) -> list[Level]:
        return self.info.levels

    @property
    def channel_count(self) -> int:
        return 1 if self.rgb else max(1, len(self.info.channels) or self.info.size_c)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self.source.close()
        self.tf.close()

    # -- planes ---------------------------------------------------------------------------

    def _page_index(
        self, level: int, channel: int, z: int | None, t: int | None
    ) -> tuple[int, int]:
        """(index into the level's pages, sample index or -1) holding ``channel`` at (z, t),
        remembered (a tile asks it per channel, twice: ~30 us each in Python)."""
        key = (level, channel, z, t)
        found = self._page_indexes.get(key)
        if found is None:
            found = self._find_page_index(level, channel, z, t)
            if len(self._page_indexes) >= _MAX_PAGE_INDEXES:
                self._page_indexes.clear()
            self._page_indexes[key] = found
        return found

    def _find_page_index(
        self, level: int, channel: int, z: int | None, t: int | None
    ) -> tuple[int, int]:
        axes, shape = self._axes[level], self._shapes[level]
        outer = [(a, n) for a, n in zip(axes, shape, strict=True) if a not in "YXS"]
        channel_axis = next((a for a in "CIQ" if a in {o[0] for o in outer}), None)
        coords: list[int] = []
        for axis, size in outer:
            if axis == channel_axis:
                value = channel
            elif axis == "Z":
                value = size // 2 if z is None else z
            elif axis == "T":
                value = 0 if t is None else t
            else:
                value = 0
            if not 0 <= value < size:
                raise ImageRequestError(
                    f"index {value} is outside the image's {axis} axis (0..{size - 1})"
                )
            coords.append(value)
        index = int(np.ravel_multi_index(coords, [n for _, n in outer])) if outer else 0
        sample = -1
        if channel_axis is None and "S" in axes and not self.rgb:
            sample = channel  # samples of one page used as channels
        return index, sample

    def _plan(self, level: int, index: int) -> _PagePlan:
        key = (level, index)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        with self._lock:  # tifffile loads pages through one shared file handle
            plan = self._plans.get(key)
            if plan is None:
                plan = self._make_plan(level, index)
                self._plans[key] = plan
        return plan

    def _make_plan(self, level: int, index: int) -> _PagePlan:
        lev = self.series.levels[level]
        pages = lev.pages
        if index >= len(pages) or pages[index] is None:
            raise ImagingError(f"{self.info.source}: plane {index} of level {level} is missing")
        page = pages[index]
        kf = page.keyframe if getattr(page, "keyframe", None) is not None else page
        if kf.is_tiled and kf.tiledepth > 1:
            raise ImagingError("volumetric (3-D) tiles are not supported")
        height, width = int(kf.imagelength), int(kf.imagewidth)
        if kf.is_tiled:
            seg_w, seg_h = int(kf.tilewidth), int(kf.tilelength)
        else:
            seg_w, seg_h = width, max(1, min(int(kf.rowsperstrip or height), height))
        samples = int(kf.samplesperpixel)
        separate = kf.planarconfig == 2 and samples > 1
        contig = 1 if separate else samples
        if seg_w * seg_h * contig > MAX_SEGMENT_SAMPLES and int(kf.compression) != 1:
            raise ImagingError(
                f"{self.info.source}: segments of {seg_w}x{seg_h} pixels are too large to "
                "decode per request (rewrite the image tiled, e.g. with bfconvert or tifffile)"
            )
        args: dict[str, Any] = {"_fullsize": False}
        if int(kf.compression) in (6, 7, 34892, 33007):  # JPEG flavours
            args["jpegtables"] = getattr(page, "jpegtables", None) or kf.jpegtables
            args["jpegheader"] = getattr(kf, "jpegheader", None)
        return _PagePlan(
            key=next(_READER_SERIAL),
            offsets=_ints(page.dataoffsets),
            counts=_ints(page.databytecounts),
            decode=kf.decode,
            decode_args=args,
            tiled=bool(kf.is_tiled),
            seg_w=seg_w,
            seg_h=seg_h,
            across=math.ceil(width / seg_w),
            down=math.ceil(height / seg_h),
            separate=separate,
            samples=samples,
            width=width,
            height=height,
            dtype=np.dtype(kf.dtype),
            compression=int(kf.compression),
            byteorder=self.tf.byteorder,
        )

    # -- cost -----------------------------------------------------------------------------

    @staticmethod
    def _segment_rows(axis: Sampling, seg: int) -> list[int]:
        start, stop, step = axis
        if step <= seg:
            return list(range(start // seg, (stop - 1) // seg + 1))
        return sorted({r // seg for r in range(start, stop, step)})

    def cost(self, level: int, n_channels: int, ys: Sampling, xs: Sampling) -> int:
        """Decoded samples a :meth:`read` of ``n_channels`` planes would cost (an estimate for
        images whose planes share one layout, which OME-TIFF and SVS levels do)."""
        plan = self._plan(level, self._page_index(level, 0, None, None)[0])
        planes = 3 if self.rgb else n_channels
        if plan.compression == 1 and not plan.tiled:
            return sample_count(ys) * (xs[1] - xs[0]) * planes
        rows = len(self._segment_rows(ys, plan.seg_h))
        cols = len(self._segment_rows(xs, plan.seg_w))
        contig = 1 if plan.separate else plan.samples
        per_plane = plan.seg_w * plan.seg_h * (contig if not self.rgb else 1)
        return rows * cols * per_plane * planes

    # -- reading --------------------------------------------------------------------------

    def read(
        self,
        level: int,
        channels: Sequence[int],
        ys: Sampling,
        xs: Sampling,
        *,
        z: int | None = None,
        t: int | None = None,
    ) -> npt.NDArray[Any]:
        """Samples ``ys`` x ``xs`` of ``channels`` at ``level``: ``(n, ny, nx)`` array."""
        ny, nx = sample_count(ys), sample_count(xs)
        if self.rgb:
            index, _ = self._page_index(level, 0, z, t)
            jobs = [(self._plan(level, index), s, -1) for s in range(3)]
        else:
            jobs = []
            for c in channels:
                index, sample = self._page_index(level, c, z, t)
                jobs.append((self._plan(level, index), sample if sample >= 0 else 0, sample))
        out = np.zeros((len(jobs), ny, nx), dtype=self.dtype)
        if ny == 0 or nx == 0:
            return out
        fetches: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = {}
        plans: dict[int, _PagePlan] = {}
        for position, (plan, sample, _) in enumerate(jobs):
            plans[id(plan)] = plan
            if plan.compression == 1 and not plan.tiled:
                self._read_raw_rows(plan, sample, ys, xs, out[position])
                continue
            for sy in self._segment_rows(ys, plan.seg_h):
                for sx in self._segment_rows(xs, plan.seg_w):
                    base = sample * plan.per_sample() if plan.separate else 0
                    seg = base + sy * plan.across + sx
                    contig_sample = 0 if plan.separate else sample
                    fetches.setdefault((id(plan), seg), []).append(
                        (position, sy, sx, contig_sample, seg)
                    )
        if not fetches:
            return out
        ready: dict[tuple[int, int], npt.NDArray[Any] | None] = {}
        for key in fetches:
            hit, value = SEGMENTS.get((plans[key[0]].key, key[1], 0))
            if hit:
                ready[key] = value
        keys = sorted(
            (k for k in fetches if k not in ready), key=lambda k: plans[k[0]].offsets[k[1]]
        )
        data = self._fetch([(plans[k[0]].offsets[k[1]], plans[k[0]].counts[k[1]]) for k in keys])
        segments = decode_all([(plans[k[0]], k[1], raw) for k, raw in zip(keys, data, strict=True)])
        decoded = 0
        for key, segment in zip(keys, segments, strict=True):
            SEGMENTS.put((plans[key[0]].key, key[1], 0), segment)
            ready[key] = segment
            decoded += 0 if segment is None else int(segment.size)
        for key, places in fetches.items():
            plan = plans[key[0]]
            for position, sy, sx, contig_sample, _ in places:
                self._place(plan, ready[key], sy, sx, contig_sample, ys, xs, out[position])
        self.stats.add(len(keys), decoded, sum(len(d) for d in data))
        return out

    def _fetch(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """The bytes of each (offset, count), reading runs of adjacent ranges at once."""
        runs: list[list[int]] = []  # indexes into ranges, each run contiguous in the file
        for i, (offset, count) in enumerate(ranges):
            if count <= 0:
                runs.append([i])
                continue
            if runs and ranges[runs[-1][-1]][1] > 0:
                last_off, last_count = ranges[runs[-1][-1]]
                if 0 <= offset - (last_off + last_count) <= _MERGE_GAP:
                    runs[-1].append(i)
                    continue
            runs.append([i])

        def read_run(run: list[int]) -> list[bytes]:
            first, last = ranges[run[0]], ranges[run[-1]]
            if first[1] <= 0:
                return [b""]
            blob = self.source.read_range(first[0], last[0] + last[1])
            return [
                blob[ranges[i][0] - first[0] : ranges[i][0] - first[0] + ranges[i][1]] for i in run
            ]

        if isinstance(self.source, LocalByteSource) or len(runs) == 1:
            parts = [read_run(run) for run in runs]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=_REMOTE_WORKERS)
            parts = list(self._pool.map(read_run, runs))
        return [blob for part in parts for blob in part]

    @staticmethod
    def _span(axis: Sampling, seg_start: int, seg_len: int) -> tuple[slice, slice] | None:
        """(slice into the output, slice into the segment) for the samples inside a segment."""
        start, stop, step = axis
        lo = max(start, seg_start)
        hi = min(stop, seg_start + seg_len)
        if hi <= lo:
            return None
        first = -(-(lo - start) // step)  # ceil
        last = -(-(hi - start) // step)
        if last <= first:
            return None
        in_seg = start + first * step - seg_start
        return slice(first, last), slice(in_seg, in_seg + (last - first - 1) * step + 1, step)

    def _place(
        self,
        plan: _PagePlan,
        segment: npt.NDArray[Any] | None,
        sy: int,
        sx: int,
        sample: int,
        ys: Sampling,
        xs: Sampling,
        target: npt.NDArray[Any],
    ) -> None:
        seg_h = segment.shape[0] if segment is not None else plan.seg_h
        seg_w = segment.shape[1] if segment is not None else plan.seg_w
        rows = self._span(ys, sy * plan.seg_h, min(seg_h, plan.height - sy * plan.seg_h))
        cols = self._span(xs, sx * plan.seg_w, min(seg_w, plan.width - sx * plan.seg_w))
        if rows is not None and cols is not None and segment is not None:
            target[rows[0], cols[0]] = segment[rows[1], cols[1], sample]

    def _read_raw_rows(
        self, plan: _PagePlan, sample: int, ys: Sampling, xs: Sampling, target: npt.NDArray[Any]
    ) -> None:
        """Uncompressed strips: read only the sampled rows' spans, never a whole strip."""
        dtype = plan.dtype.newbyteorder(">" if plan.byteorder == ">" else "<")
        contig = 1 if plan.separate else plan.samples
        row_bytes = plan.width * contig * dtype.itemsize
        x0, x1, step = xs
        lo, hi = x0 * contig * dtype.itemsize, x1 * contig * dtype.itemsize
        base = sample * plan.per_sample() if plan.separate else 0
        ranges = []
        for y in range(*ys):
            strip, within = divmod(y, plan.seg_h)
            offset = plan.offsets[base + strip] + within * row_bytes
            ranges.append((offset + lo, hi - lo))
        rows = self._fetch(ranges)
        contig_sample = 0 if plan.separate else sample
        for i, raw in enumerate(rows):
            values = np.frombuffer(raw, dtype=dtype).reshape(-1, contig)
            target[i] = values[::step, contig_sample][: target.shape[1]]
        self.stats.add(
            len(rows), sum(len(r) for r in rows) // dtype.itemsize, sum(len(r) for r in rows)
        )
