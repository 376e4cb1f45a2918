"""IIIF Image API 3.0: parsing of image requests, the image information document, and the
final steps of an image request (rotation, quality, format). No HTTP here.

Section numbers refer to https://iiif.io/api/image/3.0/. Deviations (docs/viewer.md):
``!w,h`` that would need upscaling is refused with 400 unless written ``^!w,h``, as the IIIF
validator's ``size_noup`` test (iiif-validator 1.0.5) and iipsrv expect; the spec's text
would clamp it to the region's size instead.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from htan_cds.errors import HtanCdsError
from htan_cds.imaging.tiles import Box

CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
PROFILE = "level2"
MAX_WIDTH = 4096
MAX_HEIGHT = 4096
MAX_AREA = 1 << 22  # 4.2 M pixels per response (2048 x 2048)
FORMATS = {"jpg": "image/jpeg", "png": "image/png"}
QUALITIES = ("default", "color", "gray", "bitonal")
EXTRA_FEATURES = [
    "baseUriRedirect",
    "canonicalLinkHeader",
    "cors",
    "jsonldMediaType",
    "mirroring",
    "profileLinkHeader",
    "regionByPct",
    "regionByPx",
    "regionSquare",
    "rotationArbitrary",
    "rotationBy90s",
    "sizeByConfinedWh",
    "sizeByH",
    "sizeByPct",
    "sizeByW",
    "sizeByWh",
    "sizeUpscaling",
]
_INT = re.compile(r"^\d+$")
_FLOAT = re.compile(r"^\d+(\.\d+)?$")  # §4.7: digits and ".", no sign, no exponent
JPEG_QUALITY = 85


class IiifError(HtanCdsError):
    """A IIIF request that cannot be answered; ``status`` is the HTTP status to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _ints(text: str, count: int, what: str) -> list[int]:
    parts = text.split(",")
    if len(parts) != count or not all(_INT.match(p) for p in parts):
        raise IiifError(400, f"{what} {text!r} is not {count} non-negative integers")
    return [int(p) for p in parts]


def _floats(text: str, count: int, what: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != count or not all(_FLOAT.match(p) for p in parts):
        raise IiifError(400, f"{what} {text!r} is not {count} non-negative numbers")
    return [float(p) for p in parts]


def parse_region(text: str, width: int, height: int) -> Box:
    """§4.1: ``full``, ``square``, ``x,y,w,h`` or ``pct:x,y,w,h``, cropped to the image."""
    if text == "full":
        return Box(0, 0, width, height)
    if text == "square":
        side = min(width, height)
        return Box((width - side) // 2, (height - side) // 2, side, side)
    if text.startswith("pct:"):
        px, py, pw, ph = _floats(text[4:], 4, "region")
        x, y = round(px * width / 100), round(py * height / 100)
        w, h = round(pw * width / 100), round(ph * height / 100)
    else:
        x, y, w, h = _ints(text, 4, "region")
    if w <= 0 or h <= 0:
        raise IiifError(400, f"region {text!r} has no area")
    if x >= width or y >= height:
        raise IiifError(400, f"region {text!r} lies outside the {width}x{height} image")
    return Box(x, y, min(w, width - x), min(h, height - y))


def _limit(w: float, h: float) -> tuple[int, int]:
    """Largest size with the aspect of w x h within MAX_WIDTH/MAX_HEIGHT/MAX_AREA."""
    factor = min(1.0, MAX_WIDTH / w, MAX_HEIGHT / h, math.sqrt(MAX_AREA / (w * h)))
    return max(1, math.floor(w * factor)), max(1, math.floor(h * factor))


def parse_size(text: str, region: Box) -> tuple[int, int]:
    """§4.2: the output width and height for ``text`` applied to ``region``."""
    up = text.startswith("^")
    body = text[1:] if up else text
    rw, rh = region.w, region.h
    if body == "max":
        if up:
            return _limit(rw * 1e6, rh * 1e6)  # as large as the limits allow
        return _limit(rw, rh)
    if body.startswith("pct:"):
        (pct,) = _floats(body[4:], 1, "size")
        if pct <= 0:
            raise IiifError(400, f"size {text!r} is zero")
        w, h = max(1, round(rw * pct / 100)), max(1, round(rh * pct / 100))
    elif body.startswith("!"):
        bw, bh = _ints(body[1:], 2, "size")
        if bw < 1 or bh < 1:
            raise IiifError(400, f"size {text!r} is smaller than one pixel")
        scale = min(bw / rw, bh / rh)
        if scale > 1 and not up:
            raise IiifError(400, f"size {text!r} would upscale the region; use ^{text}")
        w, h = max(1, min(bw, round(rw * scale))), max(1, min(bh, round(rh * scale)))
    else:
        parts = body.split(",")
        if len(parts) != 2 or not any(parts) or not all(_INT.match(p) for p in parts if p):
            raise IiifError(400, f"size {text!r} is not a IIIF size")
        pw, ph = (int(p) if p else None for p in parts)
        if pw is not None and ph is not None:
            w, h = pw, ph
        elif pw is not None:
            w, h = pw, max(1, round(rh * pw / rw))
        else:
            assert ph is not None
            w, h = max(1, round(rw * ph / rh)), ph
    if w < 1 or h < 1:
        raise IiifError(400, f"size {text!r} is smaller than one pixel")
    if not up and (w > rw or h > rh):
        raise IiifError(400, f"size {text!r} would upscale the {rw}x{rh} region; use ^")
    if w > MAX_WIDTH or h > MAX_HEIGHT or w * h > MAX_AREA:
        raise IiifError(
            400,
            f"size {w}x{h} exceeds this server's limits ({MAX_WIDTH}x{MAX_HEIGHT}, {MAX_AREA} px)",
        )
    return w, h


@dataclass(frozen=True)
class Rotation:
    """§4.3: mirror first (``!``), then rotate clockwise by ``degrees``."""

    mirror: bool
    degrees: float


def parse_rotation(text: str) -> Rotation:
    mirror = text.startswith("!")
    body = text[1:] if mirror else text
    if not _FLOAT.match(body):
        raise IiifError(400, f"rotation {text!r} is not a number")
    degrees = float(body)
    if degrees > 360:
        raise IiifError(400, f"rotation {text!r} is above 360")
    return Rotation(mirror, degrees % 360)


def parse_quality_format(text: str) -> tuple[str, str]:
    """§4.4, §4.5: ``{quality}.{format}``."""
    quality, dot, fmt = text.rpartition(".")
    if not dot:
        raise IiifError(400, f"{text!r} is not quality.format")
    if quality not in QUALITIES:
        raise IiifError(400, f"quality {quality!r} is not one of {', '.join(QUALITIES)}")
    if fmt not in FORMATS:
        raise IiifError(400, f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return quality, fmt


@dataclass(frozen=True)
class ImageRequest:
    """A parsed §4 image request (region and size still as given)."""

    region: str
    size: str
    rotation: Rotation
    quality: str
    format: str


def parse_image_request(region: str, size: str, rotation: str, tail: str) -> ImageRequest:
    quality, fmt = parse_quality_format(tail)
    return ImageRequest(region, size, parse_rotation(rotation), quality, fmt)


def finish(pixels: npt.NDArray[np.uint8], request: ImageRequest) -> bytes:
    """Rotation, quality and format applied to rendered RGB pixels; the encoded image."""
    if _plain_jpeg(pixels, request):
        return _jpeg(pixels)
    image = Image.fromarray(pixels)
    if request.rotation.mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    degrees = request.rotation.degrees
    if degrees:
        quarter = {90.0: Image.Transpose.ROTATE_270, 180.0: Image.Transpose.ROTATE_180}
        quarter[270.0] = Image.Transpose.ROTATE_90
        if degrees in quarter:
            image = image.transpose(quarter[degrees])
        else:
            # PIL rotates counter-clockwise; IIIF clockwise. Transparent corners in PNG (§4.3).
            if request.format == "png":
                image = image.convert("RGBA")
            image = image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True)
    if request.quality == "gray":
        image = image.convert("LA" if image.mode == "RGBA" else "L")
    elif request.quality == "bitonal":
        image = image.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1")
    out = io.BytesIO()
    if request.format == "jpg":
        if image.mode in ("RGBA", "LA"):
            image = image.convert("RGB" if image.mode == "RGBA" else "L")
        image.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _plain_jpeg(pixels: npt.NDArray[np.uint8], request: ImageRequest) -> bool:
    """A JPEG of the pixels as rendered (no mirror, rotation or quality change)?"""
    return (
        request.format == "jpg"
        and request.quality in ("default", "color")
        and not request.rotation.mirror
        and not request.rotation.degrees
        and pixels.ndim == 3
        and pixels.shape[2] == 3
        and pixels.dtype == np.uint8
    )


def _jpeg(pixels: npt.NDArray[np.uint8]) -> bytes:
    """Pillow's JPEG of ``pixels`` at :data:`JPEG_QUALITY` (4:2:0, baseline, no optimisation),
    encoded by imagecodecs straight from the array: both wrap libjpeg-turbo with the same
    settings, so the bytes are the same (tests/viewer/test_tile_speed), without Pillow's image
    copy and encoder set-up (0.2 against 0.32 ms for a 256 x 256 tile)."""
    try:
        import imagecodecs

        return bytes(
            imagecodecs.jpeg8_encode(
                np.ascontiguousarray(pixels), level=JPEG_QUALITY, subsampling="420"
            )
        )
    except (ImportError, AttributeError, RuntimeError, ValueError):  # no jpeg8 codec built in
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format="JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


def canonical_size(width: int, height: int, region: Box, full_w: int, full_h: int) -> str:
    """§4.8 canonical size: ``max`` when the region is returned whole, else ``w,h``."""
    if (width, height) == _limit(region.w, region.h):
        return "max"
    up = width > region.w or height > region.h
    return f"{'^' if up else ''}{width},{height}"


def canonical_region(region: Box, full_w: int, full_h: int) -> str:
    if (region.x, region.y, region.w, region.h) == (0, 0, full_w, full_h):
        return "full"
    return f"{region.x},{region.y},{region.w},{region.h}"


def scale_factors(width: int, height: int, tile: int) -> list[int]:
    """Powers of two from 1 until the whole image fits in one tile (OpenSeadragon's levels)."""
    factors = [1]
    while math.ceil(max(width, height) / factors[-1]) > tile:
        factors.append(factors[-1] * 2)
    return factors


def info_document(
    service_id: str,
    width: int,
    height: int,
    tile: int,
    *,
    services: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """§5 image information: sizes and tiles (scale factors 1, 2, 4, … as OpenSeadragon needs)."""
    factors = scale_factors(width, height, tile)
    sizes = []
    for factor in reversed(factors):
        w, h = math.ceil(width / factor), math.ceil(height / factor)
        if w <= MAX_WIDTH and h <= MAX_HEIGHT and w * h <= MAX_AREA:
            sizes.append({"width": w, "height": h})
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": PROFILE,
        "width": width,
        "height": height,
        "maxWidth": MAX_WIDTH,
        "maxHeight": MAX_HEIGHT,
        "maxArea": MAX_AREA,
        "sizes": sizes,
        "tiles": [{"width": tile, "height": tile, "scaleFactors": factors}],
        "extraQualities": ["color", "gray", "bitonal"],
        "extraFormats": ["png"],
        "extraFeatures": EXTRA_FEATURES,
    }
    if services:
        doc["service"] = services
    return doc
