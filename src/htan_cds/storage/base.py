"""The object store protocol: bytes of served objects, addressed by their sha-256."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What the store knows of one object's bytes."""

    key: str  # lowercase hex sha-256
    size: int
    md5: str
    sha256: str


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed bytes: put returns the key; keys never change meaning."""

    def put_file(self, path: Path, *, private: bool = False) -> StoredObject:
        """Store a file's bytes (idempotent for identical bytes); ``private``: controlled data,
        readable by the store's owner only."""
        ...

    def put_stream(self, stream: BinaryIO, *, private: bool = False) -> StoredObject:
        """Store bytes read from ``stream`` until EOF (``private`` as for :meth:`put_file`)."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def open(self, key: str) -> BinaryIO:
        """Open the object for reading (seekable)."""
        ...
