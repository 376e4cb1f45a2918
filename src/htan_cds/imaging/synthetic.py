"""Synthetic, tissue-like pyramidal OME-TIFFs for demos, tests and benchmarks.

Content is generated once at low resolution (nuclei blobs, membranes, fibrous stroma inside a
smooth tissue mask) and resampled per pyramid level with bilinear interpolation plus a little
shot noise, so writing stays fast and every level shows the same tissue.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from htan_cds.errors import ImagingError

_FloatArray = npt.NDArray[np.float32]

# Low-resolution side of the generated field; larger images are bilinear upsamples of it.
_FIELD_MAX = 512
# Levels larger than this many pixels per plane are written tile by tile to bound memory.
_WHOLE_PLANE_LIMIT = 4096 * 4096

# Fluorescence-like default display colours (RGB), cycled over channels.
_PALETTE = (
    (0, 0, 255),
    (0, 255, 0),
    (255, 0, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 0),
    (255, 128, 0),
    (255, 255, 255),
)


_RGB_NAMES = (["red", "green", "blue"], ["r", "g", "b"])


def default_levels(width: int, height: int, tile: int) -> int:
    """Number of pyramid levels so that the smallest level fits in one tile."""
    longest = max(width, height)
    return max(1, math.ceil(math.log2(max(longest / tile, 1))) + 1)


def _ome_color(rgb: tuple[int, int, int]) -> int:
    # OME stores Color as a signed 32-bit RGBA integer.
    value = (rgb[0] << 24) | (rgb[1] << 16) | (rgb[2] << 8) | 0xFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _blur(img: _FloatArray, sigma_y: float, sigma_x: float | None = None) -> _FloatArray:
    """Gaussian blur by FFT (periodic edges are fine for texture)."""
    sigma_x = sigma_y if sigma_x is None else sigma_x
    h, w = img.shape
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    kernel = np.exp(-2.0 * (math.pi**2) * ((fy * sigma_y) ** 2 + (fx * sigma_x) ** 2))
    out = np.fft.irfft2(np.fft.rfft2(img) * kernel, s=img.shape)
    return out.astype(np.float32)


def _fibres(shape: tuple[int, int], angle: float, rng: np.random.Generator) -> _FloatArray:
    """Noise smeared along ``angle`` (radians): collagen-like fibre texture."""
    h, w = shape
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    along = fx * math.cos(angle) + fy * math.sin(angle)
    across = -fx * math.sin(angle) + fy * math.cos(angle)
    kernel = np.exp(-2.0 * (math.pi**2) * ((along * 6.0) ** 2 + (across * 0.7) ** 2))
    noise = rng.standard_normal(shape).astype(np.float32)
    return np.abs(np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=shape)).astype(np.float32)


def _normalise(img: _FloatArray) -> _FloatArray:
    lo, hi = float(img.min()), float(img.max())
    if hi - lo < 1e-12:
        return np.zeros_like(img)
    return ((img - lo) / (hi - lo)).astype(np.float32)


class _Tissue:
    """The low-resolution components every channel is mixed from."""

    def __init__(self, fh: int, fw: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.shape = (fh, fw)
        noise = rng.standard_normal((fh, fw)).astype(np.float32)
        smooth = _normalise(_blur(noise, max(fh, fw) / 10))
        # A rounded tissue section with ragged borders; the rest is glass.
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        radial = 1.0 - np.hypot((yy - fh / 2) / (fh / 2), (xx - fw / 2) / (fw / 2))
        self.mask = np.clip((radial + 0.6 * smooth - 0.45) * 6.0, 0.0, 1.0).astype(np.float32)
        # Nuclei: a dense random point process inside the tissue.
        density = self.mask * (0.025 + 0.035 * smooth)
        self.points = (rng.random((fh, fw), dtype=np.float32) < density).astype(np.float32)
        nucleus_sigma = max(0.8, min(fh, fw) / 300)
        self.nuclei = _normalise(_blur(self.points, nucleus_sigma))
        ring = _blur(self.points, nucleus_sigma * 2.2) - _blur(self.points, nucleus_sigma * 1.2)
        self.membrane = _normalise(np.clip(ring, 0, None))
        # Two fibre bundles at random angles, each dominating where a smooth field says so.
        angles = rng.uniform(0, math.pi, 2)
        weave = _normalise(_blur(rng.standard_normal((fh, fw)).astype(np.float32), fh / 6))
        fibres = weave * _fibres((fh, fw), angles[0], rng) + (1 - weave) * _fibres(
            (fh, fw), angles[1], rng
        )
        self.stroma = _normalise(fibres) * self.mask * (1.0 - smooth)
        self.nucleus_sigma = nucleus_sigma

    def channel(self, index: int) -> _FloatArray:
        """One marker channel in [0, 1]: nuclear, membrane or stromal, on a random cell subset."""
        if index == 0:
            return _normalise(self.nuclei * (0.6 + 0.4 * self.mask))
        kind = index % 3
        subset = self.points * (self.rng.random(self.shape, dtype=np.float32) < 0.3)
        if kind == 1:
            ring = _blur(subset, self.nucleus_sigma * 2.2) - _blur(subset, self.nucleus_sigma * 1.2)
            base = _normalise(np.clip(ring, 0, None)) + 0.15 * self.membrane
        elif kind == 2:
            base = self.stroma + 0.2 * _normalise(_blur(subset, self.nucleus_sigma))
        else:
            base = _normalise(_blur(subset, self.nucleus_sigma * 1.5))
        return _normalise(base + 0.03 * self.mask)


def _axis_samples(
    start: int, stop: int, out_size: int, field_size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], _FloatArray]:
    """Neighbouring field indices and the weight of the second, for output pixels start:stop."""
    pos = (np.arange(start, stop, dtype=np.float32) + 0.5) * (field_size / out_size) - 0.5
    pos = np.clip(pos, 0, field_size - 1)
    idx = np.minimum(pos.astype(np.int64), max(field_size - 2, 0))
    nxt = np.minimum(idx + 1, field_size - 1)
    return idx, nxt, (pos - idx).astype(np.float32)


def _resample(
    field: _FloatArray, y0: int, y1: int, x0: int, x1: int, height: int, width: int
) -> _FloatArray:
    """Bilinear samples of ``field`` (..., fh, fw) for rows y0:y1, cols x0:x1 of height x width.

    Separable: rows first (on the narrow field), then columns, each a gather of two neighbours,
    so the cost is linear in the output size whatever the scale factor.
    """
    fh, fw = field.shape[-2:]
    iy, ny, fy = _axis_samples(y0, y1, height, fh)
    ix, nx, fx = _axis_samples(x0, x1, width, fw)
    fy = fy[:, None]
    rows = field[..., iy, :] * (1 - fy) + field[..., ny, :] * fy
    return np.asarray(
        np.take(rows, ix, axis=-1) * (1 - fx) + np.take(rows, nx, axis=-1) * fx, dtype=np.float32
    )


_NOISE_SIDE = 256
# Enough sensor-like grain to look real while deflate still compresses about 3:1.
_NOISE_AMPLITUDE = 0.0015


def _to_dtype(
    values: _FloatArray, dtype: np.dtype[Any], noise: _FloatArray, offset: int = 0
) -> npt.NDArray[Any]:
    """Scale [0, 1] floats to ``dtype`` with a dim background and mild shot-like noise.

    The noise comes from one precomputed block, tiled, because drawing fresh random numbers
    for every pixel dominated the write time.
    """
    h, w = values.shape[-2:]
    reps = (math.ceil(h / _NOISE_SIDE) + 1, math.ceil(w / _NOISE_SIDE) + 1)
    shift = offset % _NOISE_SIDE
    block = np.tile(noise, reps)[shift : shift + h, shift : shift + w]
    noisy = values * 0.85 + 0.02 + block * _NOISE_AMPLITUDE
    if dtype.kind == "f":
        return noisy.astype(dtype)
    top = float(np.iinfo(dtype).max)
    if dtype.itemsize >= 2:
        # Scientific cameras deliver 12-bit data in 16-bit containers; look like that.
        top = min(top, 4095.0)
    return np.clip(noisy * top, 0, np.iinfo(dtype).max).astype(dtype)


def _level_shapes(width: int, height: int, levels: int) -> list[tuple[int, int]]:
    return [
        (max(1, math.ceil(height / 2**i)), max(1, math.ceil(width / 2**i))) for i in range(levels)
    ]


def _field_shape(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, _FIELD_MAX / max(width, height))
    return max(2, round(height * scale)), max(2, round(width * scale))


def _check_args(width: int, height: int, tile: int, levels: int) -> None:
    if width < 1 or height < 1:
        raise ImagingError(f"image size must be positive, got {width}x{height}")
    if tile < 16 or tile % 16:
        raise ImagingError(f"tile size must be a positive multiple of 16, got {tile}")
    if levels < 1:
        raise ImagingError(f"levels must be at least 1, got {levels}")


def _render(
    field: _FloatArray,
    region: tuple[int, int, int, int],
    shape: tuple[int, int],
    dtype: np.dtype[Any],
    noise: _FloatArray,
    rgb: bool,
) -> npt.NDArray[Any]:
    """One region of one level: (C, h, w) planes, or (h, w, 3) samples for RGB."""
    y0, y1, x0, x1 = region
    out = _to_dtype(_resample(field, y0, y1, x0, x1, *shape), dtype, noise, y0 * 7 + x0)
    return np.ascontiguousarray(np.moveaxis(out, 0, -1)) if rgb else out


def _tiles(
    field: _FloatArray,
    shape: tuple[int, int],
    tile: int,
    dtype: np.dtype[Any],
    noise: _FloatArray,
    rgb: bool,
) -> Iterator[npt.NDArray[Any]]:
    """Tiles in TIFF order (plane, tile row, tile column) rendered on the fly."""
    height, width = shape
    planes = [field] if rgb else [field[c] for c in range(field.shape[0])]
    for plane in planes:
        for y in range(0, height, tile):
            for x in range(0, width, tile):
                region = (y, min(y + tile, height), x, min(x + tile, width))
                yield _render(plane, region, shape, dtype, noise, rgb)


def _write_pyramid(
    path: Path,
    field: _FloatArray,
    *,
    width: int,
    height: int,
    tile: int,
    levels: int,
    dtype: np.dtype[Any],
    rgb: bool,
    metadata: dict[str, Any],
    physical_size_um: float,
    compression: str | None,
    compression_level: int,
    seed: int,
    layout: str = "subifd",
) -> None:
    import tifffile

    shapes = _level_shapes(width, height, levels)
    nplanes = field.shape[0]
    raw = height * width * nplanes * dtype.itemsize * 4 // 3
    noise = np.random.default_rng(seed + 1).random((_NOISE_SIDE, _NOISE_SIDE), dtype=np.float32)
    options: dict[str, Any] = {
        "photometric": "rgb" if rgb else "minisblack",
        "planarconfig": "contig" if rgb else None,
        "tile": (tile, tile),
        "compression": compression,
        "compressionargs": {"level": compression_level} if compression else None,
        "maxworkers": min(4, os.cpu_count() or 1),
        "resolutionunit": "CENTIMETER",
        "predictor": compression is not None,
    }
    # tifffile names each OME document with a fresh time-based uuid1 unless told otherwise: a
    # UUID from the seed and shape keeps the same seed's file byte-identical on every build.
    metadata = {**metadata, "UUID": synthetic_ome_uuid(seed, width, height, nplanes, layout)}
    description: bytes | None = None
    if layout == "pages":
        # The older layout: the OME-XML describes level 0 only, so write it ourselves.
        ome = tifffile.OmeXml(UUID=metadata["UUID"])
        h0, w0 = shapes[0]
        stored = (1, 1, 1, h0, w0, 3) if rgb else (nplanes, 1, 1, h0, w0, 1)
        shape0 = (h0, w0, 3) if rgb else (nplanes, h0, w0)
        ome.addimage(dtype, shape0, stored, **metadata)
        # Bytes, because tifffile only accepts 7-bit str descriptions and units contain "µ".
        description = ome.tostring().encode("utf-8")
    try:
        with tifffile.TiffWriter(path, bigtiff=raw > 2**31 - 2**25, ome=description is None) as tif:
            for level, (lh, lw) in enumerate(shapes):
                res = 1e4 / (physical_size_um * 2**level)
                data: Any
                extra: dict[str, Any]
                if lh * lw <= _WHOLE_PLANE_LIMIT:
                    data = _render(field, (0, lh, 0, lw), (lh, lw), dtype, noise, rgb)
                    extra = {}
                else:
                    data = _tiles(field, (lh, lw), tile, dtype, noise, rgb)
                    full = (lh, lw, 3) if rgb else (nplanes, lh, lw)
                    extra = {"shape": full, "dtype": dtype}
                if description is not None:
                    extra.update(metadata=None, description=description if level == 0 else None)
                    if level:
                        extra.update(subfiletype=1)
                elif level == 0:
                    extra.update(metadata=metadata, subifds=levels - 1)
                else:
                    extra.update(subfiletype=1, metadata=None)
                tif.write(data, resolution=(res, res), **extra, **options)
    except OSError as exc:
        raise ImagingError(f"cannot write {path}: {exc.strerror or exc}") from exc


def synthetic_ome_uuid(seed: int, *parts: object) -> str:
    """The OME ``UUID`` attribute of a synthetic file (``urn:uuid:…``), a function of its seed
    and shape, so that rebuilding from the same seed gives the same bytes."""
    name = " ".join(str(p) for p in ("htan-cds synthetic", seed, *parts))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def write_synthetic_ome_tiff(
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    channel_names: Sequence[str],
    tile: int = 256,
    levels: int | None = None,
    physical_size_um: float = 0.65,
    pixel_type: str = "uint16",
    seed: int = 0,
    compression: str | None = "zlib",
    compression_level: int = 1,
    layout: str = "subifd",
) -> None:
    """Write a tiled, pyramidal (SubIFD) multiplexed-immunofluorescence-like OME-TIFF.

    Channel 0 looks like a nuclear stain; the others alternate membrane, stromal and nuclear
    markers on random cell subsets. ``levels`` defaults to halving until one tile holds the
    smallest level. Deflate level 1 keeps writing fast; raise ``compression_level`` for size.
    ``layout="pages"`` writes the older pyramid layout instead: reduced levels as extra
    top-level pages after the full-resolution planes, not described by the OME-XML.
    Channels named exactly Red, Green, Blue (or R, G, B) in uint8 mean a brightfield slide:
    the file is then an RGB H&E-like image (:func:`write_synthetic_he_tiff`).
    """
    if layout not in ("subifd", "pages"):
        raise ImagingError(f"unknown pyramid layout {layout!r} (use 'subifd' or 'pages')")
    names = [str(n) for n in channel_names]
    if not names:
        raise ImagingError("at least one channel name is needed")
    if [n.lower() for n in names] in _RGB_NAMES and pixel_type == "uint8" and layout == "subifd":
        write_synthetic_he_tiff(
            path,
            width=width,
            height=height,
            tile=tile,
            levels=levels,
            physical_size_um=physical_size_um,
            seed=seed,
            compression=compression,
            compression_level=compression_level,
        )
        return
    nlevels = levels if levels is not None else default_levels(width, height, tile)
    _check_args(width, height, tile, nlevels)
    try:
        dtype = np.dtype(pixel_type)
    except TypeError as exc:
        raise ImagingError(f"unknown pixel type {pixel_type!r}") from exc
    rng = np.random.default_rng(seed)
    tissue = _Tissue(*_field_shape(width, height), rng)
    field = np.stack([tissue.channel(i) for i in range(len(names))])
    metadata: dict[str, Any] = {
        "axes": "CYX",
        "Name": Path(path).name.split(".")[0],
        "PhysicalSizeX": physical_size_um,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": physical_size_um,
        "PhysicalSizeYUnit": "µm",
        "Channel": {
            "Name": names,
            "Color": [_ome_color(_PALETTE[i % len(_PALETTE)]) for i in range(len(names))],
        },
    }
    _write_pyramid(
        Path(path),
        field,
        width=width,
        height=height,
        tile=tile,
        levels=nlevels,
        dtype=dtype,
        rgb=False,
        metadata=metadata,
        physical_size_um=physical_size_um,
        compression=compression,
        compression_level=compression_level,
        seed=seed,
        layout=layout,
    )


# Optical densities (R, G, B) of haematoxylin and eosin, as in Ruifrok & Johnston's matrix.
_HEMATOXYLIN = np.array([0.65, 0.70, 0.29], dtype=np.float32)
_EOSIN = np.array([0.07, 0.99, 0.11], dtype=np.float32)


def write_synthetic_he_tiff(
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    tile: int = 256,
    levels: int | None = None,
    physical_size_um: float = 0.5,
    seed: int = 0,
    compression: str | None = "zlib",
    compression_level: int = 1,
) -> None:
    """Write a tiled, pyramidal RGB OME-TIFF that looks like an H&E-stained section."""
    nlevels = levels if levels is not None else default_levels(width, height, tile)
    _check_args(width, height, tile, nlevels)
    rng = np.random.default_rng(seed)
    tissue = _Tissue(*_field_shape(width, height), rng)
    hema = 1.6 * tissue.nuclei + 0.15 * tissue.mask
    eosin = 0.9 * tissue.stroma + 0.35 * tissue.mask + 0.2 * tissue.membrane
    # Beer-Lambert: transmitted light falls exponentially with stain optical density.
    od = hema[..., None] * _HEMATOXYLIN + eosin[..., None] * _EOSIN
    # Undo _to_dtype's dim-background scaling so glass comes out near white, as on a slide.
    rgb = ((np.exp(-od) * 0.98 - 0.02) / 0.85).astype(np.float32)
    field = np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
    metadata: dict[str, Any] = {
        "axes": "YXS",
        "Name": Path(path).name.split(".")[0],
        "PhysicalSizeX": physical_size_um,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": physical_size_um,
        "PhysicalSizeYUnit": "µm",
        "Channel": {"Name": ["H&E"]},
    }
    _write_pyramid(
        Path(path),
        field,
        width=width,
        height=height,
        tile=tile,
        levels=nlevels,
        dtype=np.dtype("uint8"),
        rgb=True,
        metadata=metadata,
        physical_size_um=physical_size_um,
        compression=compression,
        compression_level=compression_level,
        seed=seed,
    )
