"""Local content-addressed object store: ``objects/ab/cd/<sha256>``, immutable, deduplicated."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from htan_cds.errors import ObjectNotFound, StorageError
from htan_cds.storage.base import StoredObject

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class LocalObjectStore:
    """Objects as read-only files under ``root``; a key is the sha-256 of the bytes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """Where the object with ``key`` lives (validated: keys never name other paths)."""
        if not _KEY_RE.match(key):
            raise ObjectNotFound(f"not an object key: {key[:80]!r}")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        try:
            return self.path_for(key).is_file()
        except ObjectNotFound:
            return False

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path_for(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key}") from exc

    def put_file(self, path: Path) -> StoredObject:
        with Path(path).open("rb") as fh:
            return self.put_stream(fh)

    def put_stream(self, stream: BinaryIO) -> StoredObject:
        self.root.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        # Write to a temporary file in the store so the final rename is atomic.
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = sha.hexdigest()
            final = self.path_for(key)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)
        except OSError as exc:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise StorageError(f"cannot store object under {self.root}: {exc.strerror}") from exc
        return StoredObject(key=key, size=size, md5=md5.hexdigest(), sha256=key)

    def link_or_copy(self, key: str, dest: Path) -> None:
        """Place the object's bytes at ``dest`` (hard link when possible)."""
        src = self.path_for(key)
        try:
            os.link(src, dest)
        except OSError:
            shutil.copyfile(src, dest)
