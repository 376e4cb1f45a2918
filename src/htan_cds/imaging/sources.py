"""Random access to an image file's bytes: a local file (``pread``) or an HTTP range file,
both thread-safe and counting the bytes they read."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from htan_cds.errors import ImagingError


def local_image_file(text: str) -> Path:
    """The local file ``text`` names, or :class:`ImagingError` saying why it cannot be read:
    missing, a directory (a common first mistake: the folder an import wrote), or not a regular
    file (a FIFO or device, which would block or never end)."""
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise ImagingError(f"{text}: is a directory; give one image file inside it")
    if path.exists():
        raise ImagingError(f"{text}: not a regular file")
    raise ImagingError(f"{text}: no such file")


class ByteSource(Protocol):
    """Random access to the file's bytes (thread-safe), counting what it reads."""

    size: int

    @property
    def bytes_read(self) -> int: ...

    def read_range(self, start: int, stop: int) -> bytes: ...

    def close(self) -> None: ...


class LocalByteSource:
    """A local file read with ``os.pread`` (no shared file position, so safe across threads)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size
        self._read = 0
        self._lock = threading.Lock()

    @property
    def bytes_read(self) -> int:
        return self._read

    def read_range(self, start: int, stop: int) -> bytes:
        stop = min(stop, self.size)
        if stop <= start:
            return b""
        data = os.pread(self._fd, stop - start, start)
        with self._lock:
            self._read += len(data)
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class RemoteByteSource:
    """An :class:`~htan_cds.imaging.remote.HttpRangeFile` seen as a byte source."""

    def __init__(self, remote: Any) -> None:
        self.remote = remote
        self.size = int(remote.size)

    @property
    def bytes_read(self) -> int:
        return int(self.remote.bytes_received)

    def read_range(self, start: int, stop: int) -> bytes:
        data: bytes = self.remote.read_range(start, stop)
        return data

    def close(self) -> None:
        self.remote.close()


def open_source(
    source: str | os.PathLike[str], headers: Mapping[str, str] | None
) -> tuple[ByteSource, Any, str]:
    """A byte source, the handle tifffile should read (path or range file), and a name."""
    text = os.fspath(source)
    if text.startswith(("http://", "https://")):
        from htan_cds.imaging.remote import HttpRangeFile

        remote = HttpRangeFile(text, headers=headers)
        name = text.split("?", 1)[0].rsplit("/", 1)[-1] or "remote"
        return RemoteByteSource(remote), remote, name
    path = local_image_file(text)
    return LocalByteSource(path), str(path), path.name
