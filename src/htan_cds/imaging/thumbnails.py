"""Thumbnail cache in the data home (``thumbnails/``): render once, then serve the PNG file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from htan_cds.config import DataHome
from htan_cds.errors import ImagingError

DEFAULT_THUMBNAIL_SIZE = 512  # the portal's file page shows thumbnails 512 px wide
MIN_SIZE, MAX_SIZE = 16, 2048
# The server caches only these sizes (any other is scaled down from the next one up), so the
# cache holds at most six files per image however many sizes are asked for.
CACHED_SIZES = (64, 128, 256, 512, 1024, 2048)


def cached_size_for(size: int) -> int:
    """The cached size a thumbnail of ``size`` is made from: the smallest one at least as big."""
    _check_size(size)
    return next(s for s in CACHED_SIZES if s >= size)


def _check_size(size: int) -> None:
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ImagingError(f"thumbnail size must be {MIN_SIZE}..{MAX_SIZE}, got {size}")


def thumbnail_path(home: DataHome, object_id: str, size: int = DEFAULT_THUMBNAIL_SIZE) -> Path:
    """Where the thumbnail of ``object_id`` at ``size`` is cached.

    Ids contain slashes (``dg.HCDS/<uuid>``) and come from requests, so the file name is a hash
    of the id, sharded by its first two hex digits; it can never name another path.
    """
    _check_size(size)
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
    return home.thumbnails_dir / digest[:2] / f"{digest}-{size}.png"


def ensure_thumbnail(
    home: DataHome,
    object_id: str,
    source: str | os.PathLike[str],
    *,
    size: int = DEFAULT_THUMBNAIL_SIZE,
    token: str | None = None,
    channels: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Render (unless cached) and return the thumbnail PNG of the image at ``source``.

    Ingest and the demo call this to precompute thumbnails; the server calls it on a cache
    miss. The write is atomic, so concurrent renders of one id are harmless.
    """
    from htan_cds.imaging.preview import render_preview

    path = thumbnail_path(home, object_id, size)
    if path.is_file() and not force:
        return path
    image = render_preview(source, channels=channels, max_size=size, token=token)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, format="PNG", optimize=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
