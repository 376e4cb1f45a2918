"""Preview images: a false-colour composite of chosen channels (or native RGB) read from the
smallest pyramid level that still covers the requested size, touching only that level's tiles."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from htan_cds.errors import HtanCdsError, ImagingError
from htan_cds.imaging.model import Channel, ImageInfo

if TYPE_CHECKING:
    from PIL import Image
    from tifffile import TiffPageSeries

# Colours for channels without one (or when every channel says white): nuclear blue first.
_PALETTE = (
    (0, 90, 255),
    (0, 255, 0),
    (255, 0, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 0),
    (255, 128, 0),
    (255, 255, 255),
)
DEFAULT_CHANNELS = 4
LOW_PERCENTILE = 1.0
HIGH_PERCENTILE = 99.5


@dataclass
class Preview:
    """A rendered preview and what it cost to make."""

    image: Image.Image
    info: ImageInfo
    level: int
    channels: list[Channel]
    bytes_read: int | None
    requests: int | None


def choose_level(info: ImageInfo, max_size: int) -> int:
    """Index of the smallest level whose longer side is at least ``max_size`` (else level 0)."""
    best = 0
    for level in info.levels:
        if max(level.width, level.height) >= max_size:
            best = level.index
    return best


def select_channels(info: ImageInfo, wanted: Sequence[str] | None) -> list[Channel]:
    """Channels by name, target, id or index (case-insensitive); default the first few."""
    if not info.channels:
        info.channels = [Channel(index=i) for i in range(info.size_c)]
    if not wanted:
        return info.channels[:DEFAULT_CHANNELS]
    chosen: list[Channel] = []
    for item in wanted:
        key = item.strip().lower()
        match = next(
            (
                c
                for c in info.channels
                if key in {(c.name or "").lower(), (c.target or "").lower(), (c.id or "").lower()}
            ),
            None,
        )
        if match is None and key.isdigit() and int(key) < len(info.channels):
            match = info.channels[int(key)]
        if match is None:
            names = ", ".join(c.label for c in info.channels)
            raise ImagingError(f"no channel {item!r} in this image (channels: {names})")
        chosen.append(match)
    return chosen


def _colour(channel: Channel, position: int, count: int) -> tuple[int, int, int]:
    if channel.color and not (count > 1 and channel.color.lower() == "#ffffff"):
        value = channel.color.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    if count == 1:
        return (255, 255, 255)
    return _PALETTE[position % len(_PALETTE)]


def _stretch(plane: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Map robust percentiles (1st-99.5th) of the plane to [0, 1]."""
    values = plane.astype(np.float32)
    sample = values[:: max(1, values.shape[0] // 512), :: max(1, values.shape[1] // 512)]
    lo, hi = np.percentile(sample, (LOW_PERCENTILE, HIGH_PERCENTILE))
    if hi <= lo:
        hi = lo + 1.0
    return np.asarray(np.clip((values - lo) / (hi - lo), 0.0, 1.0), dtype=np.float32)


def composite(
    planes: Sequence[npt.NDArray[Any]], colours: Sequence[tuple[int, int, int]]
) -> npt.NDArray[np.uint8]:
    """Additive false-colour composite of contrast-stretched planes (H x W x 3, uint8)."""
    height, width = planes[0].shape
    out = np.zeros((height, width, 3), dtype=np.float32)
    for plane, colour in zip(planes, colours, strict=True):
        stretched = _stretch(plane)
        out += stretched[..., None] * (np.asarray(colour, dtype=np.float32) / 255.0)
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _index(axes: str, shape: Sequence[int], channel: int | None) -> tuple[Any, ...]:
    """A zarr selection: one channel (if any), the middle Z, the first T, all of Y/X/S."""
    picks: list[Any] = []
    for axis, size in zip(axes, shape, strict=True):
        if axis in "YXS":
            picks.append(slice(None))
        elif axis == "C" and channel is not None:
            picks.append(channel)
        elif axis == "Z":
            picks.append(size // 2)
        else:
            picks.append(0)
    return tuple(picks)


def _read_level(
    series: TiffPageSeries, level: int, channels: list[Channel]
) -> tuple[list[npt.NDArray[Any]], bool]:
    """Planes of the chosen channels at ``level`` (or one H x W x 3 array for RGB)."""
    lev = series.levels[level]
    axes = lev.axes
    rgb = "S" in axes and lev.shape[axes.index("S")] in (3, 4)
    # One page per plane (CYX, YX, YXS): read whole pages. tifffile merges a page's contiguous
    # tiles into one read, i.e. one HTTP request per channel instead of one per tile.
    pages = lev.pages
    if all(p is not None for p in pages):
        if axes in ("YX", "YXS") and len(pages) == 1:
            data = np.asarray(pages[0].asarray())  # type: ignore[union-attr]
            return ([data[..., :3]], True) if rgb else ([data], False)
        if axes in ("CYX", "IYX", "QYX") and len(pages) == lev.shape[0]:
            planes = [np.asarray(pages[c.index].asarray()) for c in channels]  # type: ignore[union-attr]
            return planes, False
    import zarr  # only for layouts with several planes per page or Z/T stacks

    array: Any = zarr.open(series.aszarr(level=level), mode="r")
    if rgb:
        data = np.asarray(array[_index(axes, lev.shape, 0)])
        return [data[..., :3]], True
    channel_axis = next((a for a in "CIQ" if a in axes), None)
    if channel_axis is None:
        return [np.asarray(array[_index(axes, lev.shape, None)])], False
    axes_c = axes.replace(channel_axis, "C")
    return [np.asarray(array[_index(axes_c, lev.shape, c.index)]) for c in channels], False


def _to_rgb8(data: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    if data.dtype == np.uint8:
        return data
    return composite([data[..., i] for i in range(3)], [(255, 0, 0), (0, 255, 0), (0, 0, 255)])


def render(
    source: str | os.PathLike[str],
    *,
    channels: Sequence[str] | None = None,
    max_size: int = 1024,
    token: str | None = None,
    channels_csv: str | os.PathLike[str] | None = None,
) -> Preview:
    """Render a preview no larger than ``max_size`` on its longer side, with its cost."""
    from PIL import Image

    from htan_cds.imaging.channels_csv import join_channels, read_channel_table
    from htan_cds.imaging.info import open_tiff
    from htan_cds.imaging.tiff import describe_tiff, main_series

    if max_size < 16:
        raise ImagingError(f"--max-size must be at least 16, got {max_size}")
    text = os.fspath(source)
    with open_tiff(source, token=token) as (tf, remote):
        try:
            info = describe_tiff(tf, source=text)
            if channels_csv is not None:
                join_channels(info, read_channel_table(channels_csv), source=str(channels_csv))
            chosen = [] if info.rgb else select_channels(info, channels)
            level = choose_level(info, max_size)
            series, _ = main_series(tf)
            planes, rgb = _read_level(series, level, chosen)
        except HtanCdsError:
            raise
        except Exception as exc:
            raise ImagingError(f"{text}: cannot read pixels ({exc})") from exc
        bytes_read = remote.bytes_received if remote else None
        requests = remote.requests if remote else None
    if rgb:
        pixels = _to_rgb8(planes[0])
    else:
        colours = [_colour(c, i, len(chosen)) for i, c in enumerate(chosen)]
        if not chosen:
            colours = [(255, 255, 255)]
        pixels = composite(planes, colours)
    image = Image.fromarray(pixels)
    if max(image.size) > max_size:
        image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    return Preview(image, info, level, chosen, bytes_read, requests)


def render_preview(
    source: str | os.PathLike[str],
    *,
    channels: Sequence[str] | None = None,
    max_size: int = 1024,
    token: str | None = None,
    channels_csv: str | os.PathLike[str] | None = None,
) -> Image.Image:
    """A false-colour composite (or native RGB) preview of ``source`` as a PIL image."""
    return render(
        source, channels=channels, max_size=max_size, token=token, channels_csv=channels_csv
    ).image


async def render_preview_async(
    source: str | os.PathLike[str],
    *,
    channels: Sequence[str] | None = None,
    max_size: int = 1024,
    token: str | None = None,
    channels_csv: str | os.PathLike[str] | None = None,
) -> Image.Image:
    """:func:`render_preview` for async code: the reads and decoding run in a thread."""
    import asyncio

    return await asyncio.to_thread(
        render_preview,
        source,
        channels=channels,
        max_size=max_size,
        token=token,
        channels_csv=channels_csv,
    )
