"""Open an image for region reads, by its magic number: TIFF (OME-TIFF, SVS, BigTIFF) through
:class:`~htan_cds.imaging.region_reader.RegionReader`, PNG/JPEG through
:class:`~htan_cds.imaging.flat_reader.FlatImageReader`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from htan_cds.errors import HtanCdsError, ImagingError
from htan_cds.imaging.flat_reader import FlatImageReader
from htan_cds.imaging.region_reader import RegionReader
from htan_cds.imaging.sources import ByteSource, open_source

Reader = RegionReader | FlatImageReader
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_FLAT_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _open_tiff(byte_source: ByteSource, handle: Any, name: str) -> RegionReader:
    import tifffile

    from htan_cds.imaging.tiff import describe_tiff, main_series

    try:
        tf = (
            tifffile.TiffFile(handle, name=name)
            if not isinstance(handle, str)
            else tifffile.TiffFile(handle)
        )
    except (tifffile.TiffFileError, ValueError, OSError) as exc:
        raise ImagingError(f"{name}: not a readable TIFF ({exc})") from exc
    try:
        if not isinstance(handle, str):
            from htan_cds.imaging.info import _prefetch_subifds

            _prefetch_subifds(tf, handle)
        info = describe_tiff(tf, source=name)
        series, _ = main_series(tf)
        info.file_size = byte_source.size
        return RegionReader(tf, byte_source, info, series)
    except HtanCdsError:
        tf.close()
        raise
    except Exception as exc:
        tf.close()
        raise ImagingError(f"{name}: cannot read the image structure ({exc})") from exc


def open_reader(
    source: str | os.PathLike[str], *, headers: Mapping[str, str] | None = None
) -> Reader:
    """Open ``source`` (a path or an http(s) URL) for region reads, by its magic number:
    TIFF (OME-TIFF, SVS, BigTIFF) or a flat PNG/JPEG. Raises :class:`ImagingError`."""
    byte_source, handle, name = open_source(source, headers)
    try:
        magic = byte_source.read_range(0, 8)
        if magic.startswith(_TIFF_MAGIC):
            return _open_tiff(byte_source, handle, name)
        if magic.startswith(_FLAT_MAGIC):
            return FlatImageReader(byte_source, name)
        raise ImagingError(f"{name}: not a TIFF, PNG or JPEG image")
    except BaseException:
        byte_source.close()
        raise
