"""Open image readers of served objects, shared by the IIIF service and the viewer page.

Opening a pyramid (IFDs, OME-XML) is the cold cost of a first view; afterwards every tile
re-uses the open :class:`~htan_cds.imaging.region_reader.RegionReader`. The cache holds at most
:data:`MAX_READERS` readers; readers over a presigned S3 URL are dropped before the URL
expires. A reader evicted while a request still uses it is closed when that request ends.
Automatic display ranges are computed once per image content (keyed by its sha-256 object
key) and kept in the data home (``thumbnails/ranges/``), so restarts do not recompute them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htan_cds.errors import HtanCdsError
from htan_cds.imaging.readers import Reader, open_reader
from htan_cds.imaging.tiles import AutoRanges

_log = logging.getLogger("htan_cds.viewer")
MAX_READERS = 16
IMAGE_SUFFIXES = (
    ".tif",
    ".tiff",
    ".svs",
    ".btf",
    ".tf2",
    ".tf8",
    ".qptiff",
    ".png",
    ".jpg",
    ".jpeg",
)


@dataclass
class OpenImage:
    """A reader with what the viewer derives from it once."""

    reader: Reader
    object_key: str
    ranges: AutoRanges
    expires: float = float("inf")
    refs: int = 0
    retired: bool = False
    named_info: Any = None  # ImageInfo with the channel CSV joined (iiif_channels)


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def object_source(app: Any, record: Any) -> tuple[str | None, float]:
    """Where to read ``record``'s bytes and until when: a local file path (forever), or for an
    S3 store a presigned https URL (until half its lifetime)."""
    from htan_cds.imaging.server import _object_source

    source = _object_source(app, record)
    if source is None:
        return None, 0.0
    if isinstance(source, Path):
        return str(source), float("inf")
    return source, time.monotonic() + max(30.0, app.state.config.access_ttl / 2)


class ReaderCache:
    """Readers by object id: opened once (one opener per id at a time), bounded, leased."""

    def __init__(self, home: Any, limit: int = MAX_READERS) -> None:
        self.home = home
        self.limit = limit
        self._items: OrderedDict[str, OpenImage] = OrderedDict()
        self._lock = threading.Lock()
        self._opening: dict[str, threading.Lock] = {}
        self.opened = 0

    @contextlib.contextmanager
    def lease(self, app: Any, record: Any) -> Iterator[OpenImage]:
        """The open image of ``record`` for the duration of the block (opening it if needed).

        Raises :class:`HtanCdsError` when the bytes are not stored here or cannot be read.
        """
        item = self._acquire(app, record)
        try:
            yield item
        finally:
            self._release(item)

    @contextlib.contextmanager
    def lease_open(self, record: Any) -> Iterator[OpenImage | None]:
        """Like :meth:`lease`, but only of an image open already (else None): never opens,
        reads or waits for an opener (for callers on the event loop)."""
        with self._lock:
            item = self._items.get(record.drs_id)
            if item is not None and item.expires > time.monotonic():
                self._items.move_to_end(record.drs_id)
                item.refs += 1
            else:
                item = None
        if item is None:
            yield None
            return
        try:
            yield item
        finally:
            self._release(item)

    def _acquire(self, app: Any, record: Any) -> OpenImage:
        key = record.drs_id
        with self._lock:
            item = self._items.get(key)
            if item is not None and item.expires > time.monotonic():
                self._items.move_to_end(key)
                item.refs += 1
                return item
            gate = self._opening.setdefault(key, threading.Lock())
        with gate:  # concurrent first views of one image open it once
            with self._lock:
                item = self._items.get(key)
                if item is not None and item.expires > time.monotonic():
                    item.refs += 1
                    return item
            source, expires = object_source(app, record)
            if source is None:
                raise HtanCdsError("the object's bytes are not stored here")
            reader = open_reader(source)
            object_key = record.object_key or record.drs_id
            fresh = OpenImage(reader, object_key, self._auto_ranges(object_key), expires)
            with self._lock:
                old = self._items.pop(key, None)
                if old is not None:
                    self._retire(old)
                self._items[key] = fresh
                fresh.refs += 1
                self.opened += 1
                while len(self._items) > self.limit:
                    _, dropped = self._items.popitem(last=False)
                    self._retire(dropped)
            return fresh

    def _release(self, item: OpenImage) -> None:
        with self._lock:
            item.refs -= 1
            close = item.retired and item.refs == 0
        if close:
            item.reader.close()

    def _retire(self, item: OpenImage) -> None:
        """Called under the lock: close now if unused, else when the last lease ends."""
        item.retired = True
        if item.refs == 0:
            item.reader.close()

    def clear(self) -> None:
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
            for item in items:
                self._retire(item)

    # -- automatic ranges, persisted by content ----------------------------------------------

    def _ranges_path(self, object_key: str) -> Path:
        safe = "".join(ch for ch in object_key if ch.isalnum())[:128] or "unknown"
        return Path(self.home.thumbnails_dir) / "ranges" / f"{safe}.json"

    def _auto_ranges(self, object_key: str) -> AutoRanges:
        path = self._ranges_path(object_key)

        def load() -> dict[int, tuple[float, float]] | None:
            try:
                data = json.loads(path.read_text())
                return {int(k): (float(v[0]), float(v[1])) for k, v in data["ranges"].items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
                return None

        def save(ranges: dict[int, tuple[float, float]]) -> None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
                with os.fdopen(fd, "w") as fh:
                    json.dump({"ranges": {str(k): list(v) for k, v in ranges.items()}}, fh)
                os.replace(tmp, path)
            except OSError as exc:  # a read-only home only costs a recomputation
                _log.warning("cannot save display ranges: %s", exc)

        return AutoRanges(load, save)

    @staticmethod
    def ranges(
        item: OpenImage, channels: list[int] | None = None
    ) -> dict[int, tuple[float, float]]:
        """Automatic display ranges of ``channels`` (default all; computed on first use)."""
        return item.ranges.get(item.reader, channels)
