"""Lazy arrays over HTTP ranges for napari, dask and notebook users.

``open_array("drs://host/dg.HCDS/…", level=0)`` resolves the DRS URI (with ``token`` for
controlled data), opens the TIFF over small HTTP range requests (IFDs and OME-XML only) and
returns a read-only ``zarr.Array`` of one pyramid level built on tifffile's ``aszarr`` store:
indexing it reads and decodes only the tiles that the selection covers, one ranged GET each.
``dask=True`` wraps it as a ``dask.array.Array`` chunked by tile (the ``[dask]`` extra).
"""

from __future__ import annotations

import os
from typing import Any

from htan_cds.errors import HtanCdsError, ImagingError, UsageError
from htan_cds.imaging.remote import DEFAULT_BLOCK_SIZE
from htan_cds.imaging.sources import local_image_file


def _open(source: str | os.PathLike[str], token: str | None, block_size: int) -> tuple[Any, Any]:
    """An open TiffFile (kept open by the arrays made from it) and its main series."""
    import tifffile

    from htan_cds.imaging.info import _is_drs, _is_url, _prefetch_subifds, remote_target
    from htan_cds.imaging.remote import HttpRangeFile
    from htan_cds.imaging.tiff import main_series

    text = os.fspath(source)
    try:
        if _is_url(text) or _is_drs(text):
            url, headers = remote_target(text, token)
            remote: Any = HttpRangeFile(url, headers=headers, block_size=block_size)
            name = text.rsplit("/", 1)[-1].split("?", 1)[0] or "remote.tif"
            tf = tifffile.TiffFile(remote, name=name)
            _prefetch_subifds(tf, remote)
        else:
            tf = tifffile.TiffFile(str(local_image_file(text)))
    except HtanCdsError:
        raise
    except (tifffile.TiffFileError, ValueError, OSError) as exc:
        raise ImagingError(f"{text}: not a readable TIFF ({exc})") from exc
    # zarr and dask read chunks from several threads: serialise seeks and reads on the handle.
    tf.filehandle.set_lock(True)
    series, _ = main_series(tf)
    return tf, series


def _as_array(series: Any, level: int, dask: bool) -> Any:
    import zarr

    levels = len(series.levels)
    if not -levels <= level < levels:
        raise UsageError(f"level {level} does not exist (the image has {levels} levels)")
    array = zarr.open_array(series.aszarr(level=level % levels), mode="r")
    if not dask:
        return array
    try:
        import dask.array as da
    except ImportError as exc:
        raise UsageError("dask=True needs dask: pip install 'htan-cds[dask]'") from exc
    return da.from_zarr(array)  # type: ignore[no-untyped-call]


def open_array(
    uri_or_path: str | os.PathLike[str],
    level: int = 0,
    *,
    token: str | None = None,
    dask: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Any:
    """A lazy, read-only array of pyramid ``level`` (0 = full resolution; -1 = smallest).

    ``uri_or_path``: a local path, an http(s) URL (e.g. a signed access URL) or a DRS URI
    (``drs://host/id`` or compact ``prefix:id``; ``token`` is sent as a bearer token to the DRS
    server). The array's axes are tifffile's for the image series, e.g. ``(C, Y, X)`` for a
    multi-channel OME-TIFF and ``(Y, X, S)`` for RGB (H&E, SVS). Returns a ``zarr.Array``, or a
    ``dask.array.Array`` with ``dask=True``. Raises :class:`ImagingError` for unreadable
    sources, :class:`UsageError` for a missing level.

    For napari's multiscale view use :func:`open_pyramid`.
    """
    _, series = _open(uri_or_path, token, block_size)
    return _as_array(series, level, dask)


def open_pyramid(
    uri_or_path: str | os.PathLike[str],
    *,
    token: str | None = None,
    dask: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> list[Any]:
    """Every pyramid level as lazy arrays over one open file, full resolution first
    (``napari.view_image(open_pyramid(uri), multiscale=True)``)."""
    _, series = _open(uri_or_path, token, block_size)
    return [_as_array(series, i, dask) for i in range(len(series.levels))]
