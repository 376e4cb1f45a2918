"""Open an image wherever it lives (path, http(s) URL, DRS URI) and read its metadata."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from htan_cds.errors import HtanCdsError, ImagingError
from htan_cds.imaging.channels_csv import join_channels, read_channel_table
from htan_cds.imaging.model import ImageInfo
from htan_cds.imaging.remote import DEFAULT_BLOCK_SIZE, HttpRangeFile
from htan_cds.imaging.sources import local_image_file

if TYPE_CHECKING:
    from tifffile import TiffFile

Source = str | os.PathLike[str]


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _is_drs(source: str) -> bool:
    return source.startswith("drs://") or (
        ":" in source
        and not _is_url(source)
        and not Path(source).exists()
        and "/" not in source.split(":", 1)[0]
        and len(source.split(":", 1)[0]) > 1  # not a Windows drive letter
    )


def remote_target(source: str, token: str | None) -> tuple[str, dict[str, str]]:
    """The URL and headers to read ``source`` (an http(s) URL or a DRS URI) over HTTP."""
    if _is_url(source):
        return source, ({"Authorization": f"Bearer {token}"} if token else {})
    from htan_cds.drs.client import resolve_access

    return resolve_access(source, token)


@contextlib.contextmanager
def open_tiff(
    source: Source, *, token: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[tuple[TiffFile, HttpRangeFile | None]]:
    """Open a TIFF from a path, URL or DRS URI; remote ones read lazily by small ranges."""
    import tifffile

    text = os.fspath(source)
    remote: HttpRangeFile | None = None
    handle: Any
    if _is_url(text) or _is_drs(text):
        url, headers = remote_target(text, token)
        remote = HttpRangeFile(url, headers=headers, block_size=block_size)
        handle = remote
        name = text.rsplit("/", 1)[-1].split("?", 1)[0] or "remote.tif"
    else:
        path = local_image_file(text)
        handle, name = str(path), path.name
    try:
        try:
            tf = tifffile.TiffFile(handle, name=name) if remote else tifffile.TiffFile(handle)
        except (tifffile.TiffFileError, ValueError, OSError) as exc:
            raise ImagingError(f"{text}: not a readable TIFF ({exc})") from exc
        with tf:
            if remote is not None:
                _prefetch_subifds(tf, remote)
            yield tf, remote
    finally:
        if remote is not None:
            remote.close()


def _prefetch_subifds(tf: TiffFile, remote: HttpRangeFile) -> None:
    """Fetch every top-level page's SubIFDs (pyramid levels) concurrently before tifffile
    walks them one by one; the top-level chain itself must be read in order."""
    try:
        offsets = [o for page in tf.pages for o in (getattr(page, "subifds", None) or ())]
    except Exception:  # a damaged chain is reported by the real parse, not by a hint
        return
    if offsets:
        remote.prefetch(offsets)


def read_ome_xml_file(path: Path) -> ImageInfo:
    """ImageInfo from a standalone OME-XML document (first image)."""
    from htan_cds.imaging.ome import info_from_ome, parse_ome_xml_with_notes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImagingError(f"{path}: {exc.strerror or exc}") from exc
    ome, notes = parse_ome_xml_with_notes(data, source=str(path))
    info = info_from_ome(ome, source=str(path), notes=notes)
    info.format = "ome-xml"
    info.file_size = len(data)
    return info


def read_image_info(
    source: Source,
    *,
    token: str | None = None,
    channels_csv: Source | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> ImageInfo:
    """Metadata of the image at a local path, http(s) URL or DRS URI.

    Remote files are read by small HTTP ranges (IFDs and the OME-XML only, never pixel data);
    ``info.bytes_read`` / ``info.requests`` say what it cost. ``channels_csv`` (an HTAN channel
    metadata CSV or a markers.csv) fills channel names the OME-XML lacks, plus targets.
    """
    text = os.fspath(source)
    if text.endswith(".xml") and not (_is_url(text) or _is_drs(text)):
        info = read_ome_xml_file(Path(text))
    else:
        with open_tiff(source, token=token, block_size=block_size) as (tf, remote):
            try:
                from htan_cds.imaging.tiff import describe_tiff

                info = describe_tiff(tf, source=text)
            except HtanCdsError:
                raise
            except Exception as exc:
                raise ImagingError(f"{text}: cannot read the image structure ({exc})") from exc
            if remote is not None:
                info.file_size = remote.size
                info.bytes_read = remote.bytes_received
                info.requests = remote.requests
            else:
                info.file_size = Path(text).expanduser().stat().st_size
    if channels_csv is not None:
        join_channels(info, read_channel_table(channels_csv), source=os.fspath(channels_csv))
    return info


async def read_image_info_async(
    source: Source,
    *,
    token: str | None = None,
    channels_csv: Source | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> ImageInfo:
    """:func:`read_image_info` for async code: the blocking range reads run in a thread."""
    import asyncio

    return await asyncio.to_thread(
        read_image_info, source, token=token, channels_csv=channels_csv, block_size=block_size
    )
