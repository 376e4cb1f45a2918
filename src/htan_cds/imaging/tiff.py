"""TIFF structure: the main image series, its pyramid levels (SubIFD or extra top-level pages),
tiles, compression, and Aperio SVS descriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from htan_cds.errors import ImagingError
from htan_cds.imaging.model import Channel, ImageInfo, Level
from htan_cds.imaging.ome import info_from_ome, parse_ome_xml_with_notes

if TYPE_CHECKING:
    from tifffile import TiffFile, TiffPageSeries

# Friendlier names for tifffile's COMPRESSION enum members.
_COMPRESSION_NAMES = {
    "NONE": "none",
    "ADOBE_DEFLATE": "deflate",
    "DEFLATE": "deflate",
    "LZW": "lzw",
    "JPEG": "jpeg",
    "OJPEG": "jpeg",
    "PACKBITS": "packbits",
    "ZSTD": "zstd",
    "WEBP": "webp",
    "LZMA": "lzma",
    "JPEG2000": "jpeg2000",
    "APERIO_JP2000_YCBC": "jpeg2000",
    "APERIO_JP2000_RGB": "jpeg2000",
    "JPEGXL": "jpegxl",
}


def compression_name(page: Any) -> str:
    """A short lowercase compression name for a TIFF page."""
    name = getattr(page.compression, "name", str(page.compression))
    return _COMPRESSION_NAMES.get(name, name.lower())


def parse_svs_description(description: str) -> dict[str, str]:
    """Key/value pairs of an Aperio ImageDescription (``…|AppMag = 20|MPP = 0.4990|…``).

    The first line names the library; the second starts with the scan geometry, then
    ``|``-separated ``key = value`` items. Unknown shapes give an empty dict, never an error.
    """
    if not description.startswith("Aperio"):
        return {}
    result: dict[str, str] = {}
    lines = description.replace("\r", "\n").split("\n")
    result["Library"] = lines[0].strip()
    body = "|".join(lines[1:])
    items = body.split("|")
    if items:
        result["Geometry"] = items[0].strip()
    for item in items[1:]:
        key, sep, value = item.partition("=")
        if sep and key.strip():
            result[key.strip()] = value.strip()
    return result


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _as_page(tf: TiffFile, index: int) -> Any:
    """A full TiffPage (tifffile may have cached a light TiffFrame without a keyframe)."""
    page = tf.pages.get(index, aspage=True)
    return page.aspage() if hasattr(page, "aspage") and not hasattr(page, "tags") else page


def _pages_layout_levels(tf: TiffFile, series: TiffPageSeries) -> list[TiffPageSeries]:
    """Reduced levels stored as extra top-level pages after the planes the OME-XML describes.

    Each extra group has as many pages as level 0 and each group is smaller than the last;
    anything else is not a pyramid and is ignored.
    """
    from tifffile import TiffPageSeries

    planes = len(series.pages)
    first = series.pages[0]
    if planes == 0 or first is None or getattr(first, "index", None) != 0:
        return []
    total = len(tf.pages)
    if total <= planes or total % planes:
        return []
    levels: list[TiffPageSeries] = []
    prev_shape = series.shape
    axes = series.axes
    for start in range(planes, total, planes):
        group = [_as_page(tf, i) for i in range(start, start + planes)]
        shapes = {getattr(p, "shape", None) for p in group}
        if len(shapes) != 1:
            return []
        page_shape = group[0].shape
        shape = (*prev_shape[: len(prev_shape) - len(page_shape)], *page_shape)
        if shape[-2] >= prev_shape[-2] and shape[-1] >= prev_shape[-1]:
            return []
        if "S" in axes:
            y, x = shape[-3], shape[-2]
            prev_y, prev_x = prev_shape[-3], prev_shape[-2]
            if y >= prev_y or x >= prev_x:
                return []
        levels.append(
            TiffPageSeries(
                group, shape, series.dtype, axes, parent=tf, name=f"level{len(levels) + 1}"
            )
        )
        prev_shape = shape
    return levels


def main_series(tf: TiffFile) -> tuple[TiffPageSeries, str]:
    """The full-resolution series with all its levels attached, and the pyramid layout."""
    if not tf.series:
        raise ImagingError(f"{tf.filename}: the TIFF holds no image")
    series = tf.series[0]
    first = tf.pages.first
    if len(series.levels) > 1:
        layout = "subifd" if first.subifds else "pages"
        return series, layout
    if tf.is_ome:
        extra = _pages_layout_levels(tf, series)
        if extra:
            series.levels.extend(extra)
            return series, "pages"
    return series, "none"


def _levels(series: TiffPageSeries) -> list[Level]:
    base = series.levels[0]
    base_w = _xy(base)[1]
    out = []
    for i, level in enumerate(series.levels):
        height, width = _xy(level)
        page = level.keyframe
        out.append(
            Level(
                index=i,
                width=width,
                height=height,
                downsample=round(base_w / width, 4) if width else 1.0,
                tile_width=page.tilewidth or None,
                tile_height=page.tilelength or None,
            )
        )
    return out


def _xy(series: TiffPageSeries) -> tuple[int, int]:
    """(height, width) of a series whatever its axes."""
    axes = series.axes
    shape = series.shape
    return int(shape[axes.index("Y")]), int(shape[axes.index("X")])


def _info_from_svs(tf: TiffFile, series: TiffPageSeries, source: str) -> ImageInfo:
    meta = parse_svs_description(tf.pages.first.description)
    height, width = _xy(series)
    mpp = _float(meta.get("MPP"))
    scanner = meta.get("ScanScope ID")
    return ImageInfo(
        source=source,
        format="svs",
        size_x=width,
        size_y=height,
        size_c=3,
        pixel_type=series.dtype.name,
        dimension_order="XYCZT",
        rgb=True,
        physical_size_x=mpp,
        physical_size_x_unit="µm" if mpp else None,
        physical_size_y=mpp,
        physical_size_y_unit="µm" if mpp else None,
        channels=[Channel(index=0, name="RGB", samples_per_pixel=3)],
        acquisition_date=" ".join(v for v in (meta.get("Date"), meta.get("Time")) if v) or None,
        microscope=f"Aperio ScanScope {scanner}" if scanner else "Aperio",
        nominal_magnification=_float(meta.get("AppMag")),
        creator=meta.get("Library"),
        assay_type="H&E",
    )


def _photometric(tf: TiffFile) -> str:
    value = tf.pages.first.photometric
    return str(getattr(value, "name", value))


def _info_from_tiff(tf: TiffFile, series: TiffPageSeries, source: str) -> ImageInfo:
    height, width = _xy(series)
    axes, shape = series.axes, series.shape
    rgb = _photometric(tf) in ("RGB", "YCBCR") and "S" in axes
    sizes = {a: int(n) for a, n in zip(axes, shape, strict=True)}
    size_c = sizes.get("C", sizes.get("S", 1))
    if not rgb and "C" not in sizes:
        # Unlabelled stacks of planes (I/Q axes) are most often channels in this field.
        size_c = sizes.get("I", sizes.get("Q", size_c))
    channels = (
        [Channel(index=0, name="RGB", samples_per_pixel=3)]
        if rgb
        else [Channel(index=i) for i in range(size_c)]
    )
    return ImageInfo(
        source=source,
        format="tiff",
        size_x=width,
        size_y=height,
        size_z=sizes.get("Z", 1),
        size_c=size_c,
        size_t=sizes.get("T", 1),
        pixel_type=series.dtype.name,
        rgb=rgb,
        channels=channels,
    )


def describe_tiff(tf: TiffFile, *, source: str) -> ImageInfo:
    """Everything we can learn from the TIFF's metadata, without reading pixel data."""
    series, layout = main_series(tf)
    if tf.is_ome and tf.ome_metadata:
        ome, notes = parse_ome_xml_with_notes(tf.ome_metadata, source=source)
        info = info_from_ome(ome, source=source, notes=notes)
        info.rgb = info.rgb or _photometric(tf) == "RGB"
    elif tf.is_svs:
        info = _info_from_svs(tf, series, source)
    else:
        info = _info_from_tiff(tf, series, source)
    info.levels = _levels(series)
    info.pyramid_layout = layout if len(info.levels) > 1 else "none"
    page = series.keyframe
    info.tile_width = page.tilewidth or None
    info.tile_height = page.tilelength or None
    info.compression = compression_name(page)
    info.bigtiff = tf.is_bigtiff
    return info
