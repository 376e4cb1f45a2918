"""Render a region of an image at a requested size: pyramid level choice, bounded cost,
composition and resampling. The IIIF service (``server/iiif_routes.py``) calls
:func:`render_region`; nothing here knows HTTP.

Cost is bounded for every image, pyramid or not: a request decodes at most
:data:`MAX_DECODE_SAMPLES` samples (channels x pixels of the tiles or strips it touches). The
level read is the smallest one still at least as detailed as the output; when even that would
cost more than the cap (images without a pyramid, zoomed out), rows and columns are *sampled*
with a stride (nearest neighbour, only the segments holding a sampled pixel are decoded), the
stride doubling until the cost fits, and the samples are then resized to the output size.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from htan_cds.imaging.display import (
    AUTO_SAMPLES,
    ChannelDisplay,
    Range,
    composite,
    percentile_range,
    rgb8,
)
from htan_cds.imaging.model import Level
from htan_cds.imaging.readers import Reader
from htan_cds.imaging.region_reader import Sampling

MAX_DECODE_SAMPLES = 1 << 24  # 16.7 M samples: e.g. 256 tiles of 256 x 256 pixels


@dataclass(frozen=True)
class Box:
    """A rectangle of the full-resolution image, in pixels."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class ReadPlan:
    """Which level to read and how densely to sample it."""

    level: int
    ys: Sampling
    xs: Sampling


def choose_level(levels: Sequence[Level], scale: float) -> int:
    """The coarsest level whose downsample does not exceed ``scale`` (full-res px per output px)."""
    best = 0
    for level in levels:
        if level.downsample <= scale * 1.0001 and level.downsample >= levels[best].downsample:
            best = level.index
    return best


def plan_read(reader: Reader, box: Box, out_w: int, out_h: int, n_channels: int) -> ReadPlan:
    """The level and per-axis sampling for ``box`` at ``out_w`` x ``out_h`` within the cost cap."""
    levels = reader.levels
    base = levels[0]
    scale = min(box.w / out_w, box.h / out_h)
    index = choose_level(levels, scale)
    level = levels[index]
    rx, ry = base.width / level.width, base.height / level.height
    x0, x1 = math.floor(box.x / rx), math.ceil((box.x + box.w) / rx)
    y0, y1 = math.floor(box.y / ry), math.ceil((box.y + box.h) / ry)
    x1, y1 = min(max(x1, x0 + 1), level.width), min(max(y1, y0 + 1), level.height)
    # Never sample more densely than the output needs by more than 2x per axis.
    step = 1
    while (x1 - x0) / (step * 2) >= out_w * 2 and (y1 - y0) / (step * 2) >= out_h * 2:
        step *= 2
    while step < max(x1 - x0, y1 - y0):
        cost = reader.cost(index, n_channels, (y0, y1, step), (x0, x1, step))
        if cost <= MAX_DECODE_SAMPLES:
            break
        step *= 2
    return ReadPlan(index, (y0, y1, step), (x0, x1, step))


def read_planes(
    reader: Reader,
    box: Box,
    out_w: int,
    out_h: int,
    channels: Sequence[int],
    *,
    z: int | None = None,
    t: int | None = None,
) -> npt.NDArray[Any]:
    """Samples of ``channels`` covering ``box``, at roughly the output's resolution."""
    plan = plan_read(reader, box, out_w, out_h, len(channels))
    return reader.read(plan.level, channels, plan.ys, plan.xs, z=z, t=t)


def render_region(
    reader: Reader,
    box: Box,
    out_w: int,
    out_h: int,
    displays: Sequence[ChannelDisplay] | None,
    *,
    z: int | None = None,
    t: int | None = None,
    rgb_ranges: Sequence[Range] | None = None,
    plan: ReadPlan | None = None,
) -> npt.NDArray[np.uint8]:
    """``box`` rendered at exactly ``out_w`` x ``out_h``: an (h, w, 3) uint8 RGB array.

    ``displays`` says how to composite channels; it is ignored for RGB images, which are shown
    as stored (other than 8-bit RGB is stretched per sample with ``rgb_ranges``). ``plan``: the
    :func:`plan_read` of this request when the caller has it already.
    """
    chosen = list(displays or [])
    plan = plan or plan_read(reader, box, out_w, out_h, 1 if reader.rgb else len(chosen))
    if reader.rgb:
        pixels = rgb8(reader.read(plan.level, [0], plan.ys, plan.xs, z=z, t=t), rgb_ranges)
    else:
        planes = reader.read(plan.level, [d.index for d in chosen], plan.ys, plan.xs, z=z, t=t)
        if chosen:
            pixels = composite(planes, chosen)
        else:
            pixels = np.zeros((planes.shape[1], planes.shape[2], 3), dtype=np.uint8)
    height, width = pixels.shape[:2]
    if (width, height) == (out_w, out_h):
        return pixels
    image = Image.fromarray(pixels)
    shrinking = width >= out_w and height >= out_h
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(image.resize((out_w, out_h), method))


class AutoRanges:
    """Per-image automatic display ranges, each channel computed once (thread-safe) from the
    smallest level when first needed, so a first view of a 40-channel image pays only for the
    channels it shows.

    ``load()`` may return ranges kept from an earlier run (channel index -> range, or None);
    ``save(ranges)`` keeps what is known after new ones were computed.
    """

    def __init__(
        self,
        load: Callable[[], dict[int, Range] | None] | None = None,
        save: Callable[[dict[int, Range]], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._known: dict[int, Range] | None = None
        self._load, self._save = load, save

    def get(self, reader: Reader, channels: Sequence[int] | None = None) -> dict[int, Range]:
        """Ranges of ``channels`` (default: every channel; RGB images: the 3 samples)."""
        wanted = list(range(_range_count(reader))) if channels is None or reader.rgb else channels
        with self._lock:
            if self._known is None:
                self._known = (self._load() if self._load else None) or {}
            missing = [c for c in dict.fromkeys(wanted) if c not in self._known]
            if missing:
                self._known.update(compute_ranges(reader, missing))
                if self._save:
                    self._save(dict(self._known))
            return {c: self._known[c] for c in wanted if c in self._known}

    def known(
        self, reader: Reader, channels: Sequence[int] | None = None
    ) -> dict[int, Range] | None:
        """What :meth:`get` would return when that needs no computation, no file read and no
        wait for another thread; else None (for callers on the event loop)."""
        wanted = list(range(_range_count(reader))) if channels is None or reader.rgb else channels
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._known is None or any(c not in self._known for c in wanted):
                return None
            return {c: self._known[c] for c in wanted}
        finally:
            self._lock.release()


def _range_count(reader: Reader) -> int:
    return 3 if reader.rgb else reader.channel_count


def compute_ranges(reader: Reader, channels: Sequence[int] | None = None) -> dict[int, Range]:
    """1st/99.5th percentiles per channel over the smallest pyramid level (sampled to at most
    :data:`AUTO_SAMPLES` per axis, within the cost cap), one channel at a time. RGB images
    give the ranges of their 3 samples (keys 0, 1, 2) whatever ``channels`` says."""
    levels = reader.levels
    index = max(range(len(levels)), key=lambda i: levels[i].downsample)
    level = levels[index]
    step = max(1, math.ceil(max(level.width, level.height) / AUTO_SAMPLES))
    wanted = (
        [0]
        if reader.rgb
        else list(channels if channels is not None else range(_range_count(reader)))
    )
    ranges: dict[int, Range] = {}
    for channel in wanted:
        sample_step = step
        while True:
            ys, xs = (0, level.height, sample_step), (0, level.width, sample_step)
            if reader.cost(index, 1, ys, xs) <= MAX_DECODE_SAMPLES or sample_step > level.width:
                break
            sample_step *= 2
        planes = reader.read(index, [channel], ys, xs)
        if reader.rgb:
            ranges.update(enumerate(percentile_range(plane) for plane in planes))
        else:
            ranges[channel] = percentile_range(planes[0])
    return ranges
