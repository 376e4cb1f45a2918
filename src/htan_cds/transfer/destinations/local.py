"""A local folder destination: staged files live in ``DEST/.htan-cds/partial`` so the final
``os.replace`` is an atomic rename on the same file system."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from htan_cds.drs.checksums import ALGORITHMS, hash_file, simple
from htan_cds.errors import UsageError
from htan_cds.transfer.destinations.base import ExistingFile
from htan_cds.transfer.layout import STATE_DIR_NAME


class LocalDestination:
    """Files under one folder; every target is checked to stay inside it (symlinks too)."""

    scheme = "local"

    def __init__(self, root: str | Path) -> None:
        text = str(root)
        if text.startswith("file://"):
            text = text[len("file://") :]
        self.root = Path(text).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"destination {self.root} exists and is not a folder")
        self.url = str(self.root)
        self._real_root: str | None = None

    def preflight(self) -> None:
        """Before anything is resolved: DEST is (or can be made) a folder this user can write,
        checked without creating anything (a dry run must leave no trace)."""
        probe = self.root
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe != self.root and not probe.is_dir():
            raise UsageError(f"cannot create destination {self.root}: {probe} is not a folder")
        if not os.access(probe, os.W_OK | os.X_OK):
            verb = "write into" if probe == self.root else f"create {self.root} in"
            raise UsageError(f"cannot {verb} {probe}: permission denied or read-only")

    def state_dir(self) -> Path:
        """``DEST/.htan-cds``."""
        return self.root / STATE_DIR_NAME

    def _target(self, rel: str) -> Path:
        target = self.root / rel
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        real_root = self._real_root
        real_parent = os.path.realpath(target.parent)
        if os.path.commonpath([real_root, real_parent]) != real_root or Path(rel).is_absolute():
            raise UsageError(f"refusing to write {rel!r} outside {self.root}")
        return target

    def display(self, rel: str) -> str:
        return str(self.root / rel)

    def existing(self, rel: str) -> ExistingFile | None:
        target = self._target(rel)
        try:
            st = target.lstat()
        except FileNotFoundError:
            return None
        if not target.is_file() or target.is_symlink():
            # A folder or symlink at the target is never "the same file".
            return ExistingFile(size=-1, digests={})
        return ExistingFile(size=st.st_size, digests={})

    def digest(self, rel: str, algorithm: str) -> str | None:
        target = self._target(rel)
        if not target.is_file():
            return None
        if ALGORITHMS.get(algorithm) is None or not ALGORITHMS[algorithm].digest_size:
            return None  # e.g. a multipart ETag: needs its declared part count
        return hash_file(target, [simple(algorithm)])[algorithm]

    def commit(self, staged: Path, rel: str, digests: dict[str, str]) -> None:
        # Checked before mkdir (no folder may be made outside DEST) and after it (a symlinked
        # parent may have appeared meanwhile).
        target = self._target(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target = self._target(rel)
        if target.is_dir() and not target.is_symlink():
            raise UsageError(f"{target} is a folder; cannot put a file there")
        os.replace(staged, target)

    def free_space(self) -> int | None:
        probe = self.root
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return shutil.disk_usage(probe).free
