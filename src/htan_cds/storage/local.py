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


# Bytes of controlled data are readable by their owner only (issue 11: any local user could
# read them): files 0600, and the shard folders holding them 0700.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_PUBLIC_FILE_MODE = 0o444


class LocalObjectStore:
    """Objects as files under ``root``; a key is the sha-256 of the bytes.

    Open objects are read-only for everyone (0444); an object stored with ``private=True``
    (controlled data) is 0600 in 0700 shard folders, and stays so if open bytes identical to it
    are stored later. ``private_root=True`` makes the whole store private (the workspace's).
    """

    def __init__(self, root: Path, *, private_root: bool = False) -> None:
        self.root = Path(root)
        self.private_root = private_root

    def _make_private(self, final: Path) -> None:
        """0600 for ``final``, 0700 for its shard folders (and the root of a private store)."""
        os.chmod(final, PRIVATE_FILE_MODE)
        for folder in (final.parent, final.parent.parent):
            os.chmod(folder, PRIVATE_DIR_MODE)
        if self.private_root:
            os.chmod(self.root, PRIVATE_DIR_MODE)

    def protect(self, key: str) -> None:
        """Make the stored object ``key`` private (controlled data); no-op when absent."""
        final = self.path_for(key)
        if final.exists():
            self._make_private(final)

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

    def put_file(self, path: Path, *, private: bool = False) -> StoredObject:
        with Path(path).open("rb") as fh:
            return self.put_stream(fh, private=private)

    def put_stream(self, stream: BinaryIO, *, private: bool = False) -> StoredObject:
        private = private or self.private_root
        self.root.mkdir(parents=True, exist_ok=True)
        if self.private_root:
            os.chmod(self.root, PRIVATE_DIR_MODE)
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
                # mkstemp made the file 0600: it becomes readable by others only if open.
                if not private:
                    os.chmod(tmp_name, _PUBLIC_FILE_MODE)
                os.replace(tmp_name, final)
            if private:
                self._make_private(final)
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
