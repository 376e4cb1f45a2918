"""How channels are shown: which ones, in which colour, over which display range.

The IIIF service's multi-channel extension (docs/viewer.md) reads these query parameters:

- ``channels``: comma-separated selectors, each a 0-based index or a channel's name, target or
  id (case-insensitive); default: the first :data:`DEFAULT_CHANNELS` channels; empty: none.
- ``colors``: one ``rrggbb`` hex colour per selected channel (a leading ``#`` is allowed);
  default: the channel's OME-XML ``Color``, else a fixed palette (nuclear blue first).
- ``min`` / ``max``: the display range per selected channel, in the file's pixel values, or
  ``auto``; default: the automatic range (1st and 99.5th percentiles of the channel's smallest
  pyramid level, computed once per image).

Intensities are mapped linearly from ``[min, max]`` to ``[0, 1]``, clipped, multiplied by the
colour and added; the sum is clipped to 8 bits. RGB images (H&E, SVS) ignore all of this.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from htan_cds.imaging.model import Channel, ImageInfo
from htan_cds.imaging.preview import DEFAULT_CHANNELS, HIGH_PERCENTILE, LOW_PERCENTILE, _colour
from htan_cds.imaging.region_reader import ImageRequestError

MAX_SELECTED = 64  # channels one request may composite
AUTO_SAMPLES = 1024  # the auto range reads at most this many samples along each axis
Range = tuple[float, float]


@dataclass(frozen=True)
class ChannelDisplay:
    """One channel as shown: its index, colour (r, g, b) and display range [low, high]."""

    index: int
    color: tuple[int, int, int]
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "color": "{:02x}{:02x}{:02x}".format(*self.color),
            "min": self.low,
            "max": self.high,
        }


def _channels(info: ImageInfo) -> list[Channel]:
    return info.channels or [Channel(index=i) for i in range(max(1, info.size_c))]


def find_channel(info: ImageInfo, selector: str) -> int:
    """The index of the channel named by ``selector`` (index, name, target or id)."""
    channels = _channels(info)
    key = selector.strip().lower()
    for channel in channels:
        names = {
            (channel.name or "").lower(),
            (channel.target or "").lower(),
            (channel.id or "").lower(),
        }
        if key and key in names:
            return channel.index
    if key.isdigit() and int(key) < len(channels):
        return int(key)
    known = ", ".join(c.label for c in channels[:50])
    raise ImageRequestError(f"no channel {selector!r} in this image (channels: {known})")


def parse_color(text: str) -> tuple[int, int, int]:
    """``rrggbb`` (optionally ``#rrggbb`` or ``rgb``) as an (r, g, b) tuple."""
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    if len(value) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in value):
        raise ImageRequestError(f"colour {text!r} is not rrggbb hex")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _number(text: str, what: str) -> float | None:
    value = text.strip().lower()
    if value in ("", "auto"):
        return None
    try:
        number = float(value)
    except ValueError:
        raise ImageRequestError(f"{what} {text!r} is not a number or 'auto'") from None
    if not math.isfinite(number):
        raise ImageRequestError(f"{what} {text!r} is not finite")
    return number


def _split(params: Mapping[str, str], key: str) -> list[str] | None:
    value = params.get(key)
    if value is None:
        return None
    return value.split(",") if value.strip() else []


def _needs_auto(position: int, lows: list[str], highs: list[str]) -> bool:
    """True unless both ends of the channel's range were given."""
    low = _number(lows[position], "min") if position < len(lows) else None
    high = _number(highs[position], "max") if position < len(highs) else None
    return low is None or high is None


def default_color(info: ImageInfo, index: int, position: int, count: int) -> tuple[int, int, int]:
    """The OME-XML colour of channel ``index`` (white only when shown alone), else the palette."""
    channels = _channels(info)
    channel = channels[index] if index < len(channels) else Channel(index=index)
    return _colour(channel, position, count)


def displays_from_params(
    params: Mapping[str, str], info: ImageInfo, auto: Callable[[list[int]], Mapping[int, Range]]
) -> list[ChannelDisplay]:
    """The channels to composite, from the extension's query parameters (see module doc).

    ``auto(indexes)`` gives the automatic ranges of the selected channels (computed lazily).
    """
    selectors = _split(params, "channels")
    channels = _channels(info)
    if selectors is None:
        indexes = [c.index for c in channels[:DEFAULT_CHANNELS]]
    else:
        indexes = [find_channel(info, s) for s in selectors]
    if len(indexes) > MAX_SELECTED:
        raise ImageRequestError(f"at most {MAX_SELECTED} channels can be composited at once")
    colors = _split(params, "colors") or []
    lows = _split(params, "min") or []
    highs = _split(params, "max") or []
    for name, values in (("colors", colors), ("min", lows), ("max", highs)):
        if len(values) > len(indexes):
            raise ImageRequestError(f"{name} has {len(values)} values for {len(indexes)} channels")
    ranges = auto([i for p, i in enumerate(indexes) if _needs_auto(p, lows, highs)])
    out = []
    for position, index in enumerate(indexes):
        color = (
            parse_color(colors[position])
            if position < len(colors) and colors[position].strip()
            else default_color(info, index, position, len(indexes))
        )
        auto_low, auto_high = ranges.get(index, (0.0, 1.0))
        low = _number(lows[position], "min") if position < len(lows) else None
        high = _number(highs[position], "max") if position < len(highs) else None
        out.append(
            ChannelDisplay(
                index, color, auto_low if low is None else low, auto_high if high is None else high
            )
        )
    return out


def composite(
    planes: npt.NDArray[Any], displays: Sequence[ChannelDisplay]
) -> npt.NDArray[np.uint8]:
    """Additive false-colour composite of ``planes`` (n, h, w): an (h, w, 3) uint8 image.

    8- and 16-bit integer planes go through a per-channel lookup table (value -> one colour
    component), cached by (pixel type, weight, range); other types are mapped in float32.
    """
    _, height, width = planes.shape
    if planes.dtype.kind in "ui" and planes.dtype.itemsize <= 2:
        return _interleave(_lut_bands(planes, displays), height, width)
    out = np.zeros((height, width, 3), dtype=np.float32)
    for plane, display in zip(planes, displays, strict=True):
        values = _intensity(plane.astype(np.float32), display.low, display.high)
        for k in range(3):
            if display.color[k]:
                out[..., k] += values * np.float32(display.color[k] / 255.0)
    np.clip(out, 0.0, 1.0, out=out)
    out *= 255.0
    out += 0.5
    return out.astype(np.uint8)


def _lut_bands(
    planes: npt.NDArray[Any], displays: Sequence[ChannelDisplay]
) -> list[npt.NDArray[np.uint8] | None]:
    """The r, g and b bands (None: all zero) of integer planes, all in uint8.

    Each channel gathers once per distinct colour weight (magenta's red and blue share one
    gather), and components are summed with a saturating uint8 add, ``b + min(a, 255 - b)``:
    every term is non-negative, so clipping after each add equals clipping the total once,
    which is the documented rule, without widening to 16 bits (a third of the memory traffic).
    """
    index = planes.view(planes.dtype.str.replace("i", "u"))
    bands: list[npt.NDArray[np.uint8] | None] = [None, None, None]
    owned = [False, False, False]  # a band still shared with a gather must be copied first
    for plane, display in zip(index, displays, strict=True):
        gathered: dict[int, npt.NDArray[np.uint8]] = {}
        for k, weight in enumerate(display.color):
            if not weight:
                continue
            values = gathered.get(weight)
            if values is None:
                lut = _lut(planes.dtype.str, weight, display.low, display.high)
                values = gathered[weight] = np.take(lut, plane)  # take: 2x faster than lut[p]
            band = bands[k]
            if band is None:
                bands[k] = values
                continue
            if not owned[k]:
                band = bands[k] = band.copy()
                owned[k] = True
            np.minimum(band, np.subtract(np.uint8(255), values), out=band)
            band += values
    return bands


def _interleave(
    bands: Sequence[npt.NDArray[np.uint8] | None], height: int, width: int
) -> npt.NDArray[np.uint8]:
    """Three (h, w) bands (None: zero) as one (h, w, 3) image."""
    out = np.empty((height, width, 3), dtype=np.uint8)
    for k, band in enumerate(bands):
        out[..., k] = 0 if band is None else band
    return out


def _intensity(values: npt.NDArray[np.float32], low: float, high: float) -> npt.NDArray[np.float32]:
    """[low, high] -> [0, 1], clipped; a degenerate range lights what reaches ``high``."""
    if high <= low:
        return (values >= np.float32(high)).astype(np.float32)
    values = (values - np.float32(low)) * np.float32(1.0 / (high - low))
    return np.clip(values, 0.0, 1.0, out=values)


@functools.lru_cache(maxsize=512)
def _lut(dtype: str, weight: int, low: float, high: float) -> npt.NDArray[np.uint8]:
    """value (as its unsigned bit pattern) -> one colour component (0..255) of one channel."""
    kind = np.dtype(dtype)
    unsigned = np.dtype(dtype.replace("i", "u"))
    values = np.arange(2 ** (8 * kind.itemsize), dtype=np.uint32).astype(unsigned).view(kind)
    intensity = _intensity(values.astype(np.float32), low, high)
    result: npt.NDArray[np.uint8] = (intensity * np.float32(weight) + np.float32(0.5)).astype(
        np.uint8
    )
    result.flags.writeable = False
    return result


def rgb8(planes: npt.NDArray[Any], ranges: Sequence[Range] | None = None) -> npt.NDArray[np.uint8]:
    """RGB samples (3, h, w) as an (h, w, 3) uint8 image; other dtypes are stretched per sample."""
    if planes.dtype == np.uint8:
        return np.ascontiguousarray(np.moveaxis(planes, 0, -1))
    spans = ranges or [percentile_range(p) for p in planes]
    displays = [
        ChannelDisplay(i, color, lo, hi)
        for i, (color, (lo, hi)) in enumerate(
            zip(((255, 0, 0), (0, 255, 0), (0, 0, 255)), spans, strict=False)
        )
    ]
    return composite(planes, displays)


def percentile_range(plane: npt.NDArray[Any]) -> Range:
    """The 1st and 99.5th percentiles of a plane (the same rule as previews); never empty."""
    if plane.size == 0:
        return (0.0, 1.0)
    low, high = np.percentile(plane, (LOW_PERCENTILE, HIGH_PERCENTILE))
    low, high = float(low), float(high)
    if high <= low:
        high = low + 1.0
    return (low, high)


def dtype_limits(dtype: np.dtype[Any]) -> Range:
    """The representable range of a pixel type (floats: [0, 1])."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return (float(info.min), float(info.max))
    return (0.0, 1.0)
