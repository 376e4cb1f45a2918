"""Folders the server fills on request — saved carts, signed exports, thumbnails — kept bounded.

Each such folder has a :class:`FolderCap` (configured per data home by ``[limits]`` in
``config.toml``, :class:`FolderLimits`): a number of files, a number of bytes and an age. After
the server adds a file it calls :meth:`FolderCap.prune`, which removes files older than the age
and then the least recently used ones (by modification time; readers ``touch`` what they use)
until the folder is under both limits. Pruning scans the folder (a few milliseconds for 10,000
files; it runs after a write, which costs more); ``interval`` can space scans out.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError

MIB = 1024 * 1024
DAY = 86_400


@dataclass
class FolderCap:
    """Limits of one folder (recursively): files, bytes, age in seconds (0 = no limit)."""

    max_files: int
    max_bytes: int
    max_age: float
    suffix: str = ""
    interval: float = 0.0
    recursive: bool = True
    _last: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _entries(self, folder: Path) -> Iterator[tuple[float, int, str]]:
        for root, dirs, files in os.walk(folder):
            if not self.recursive:
                dirs.clear()
            for name in files:
                if not name.endswith(self.suffix) or name.startswith("."):
                    continue  # hidden names are writes in progress
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    st = os.stat(path)
                    yield st.st_mtime, st.st_size, path

    def prune(self, folder: Path, *, force: bool = False, keep: Path | None = None) -> int:
        """Remove expired, then least recently used files over the limits; return how many.

        ``keep`` (the file just written) is never removed.
        """
        now = time.time()
        with self._lock:
            if not force and now - self._last.get(str(folder), 0.0) < self.interval:
                return 0
            self._last[str(folder)] = now
        entries = sorted(self._entries(folder))  # oldest first
        count, total = len(entries), sum(size for _, size, _ in entries)
        removed = 0
        keep_path = str(keep) if keep is not None else None
        for mtime, size, path in entries:
            expired = self.max_age > 0 and now - mtime > self.max_age
            over = (self.max_files and count > self.max_files) or (
                self.max_bytes and total > self.max_bytes
            )
            if not (expired or over):
                break
            if path == keep_path:
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed += 1
            count -= 1
            total -= size
        return removed


def touch(path: Path) -> None:
    """Mark ``path`` as used now (so pruning removes it last)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@dataclass(frozen=True)
class FolderLimits:
    """The caps of one data home's server folders: ``[limits]`` in ``config.toml``.

    Keys (all optional): ``saved_carts``, ``saved_cart_mib``, ``saved_cart_days``;
    ``exports``, ``export_mib``; ``thumbnails``, ``thumbnail_mib``, ``thumbnail_days``.
    """

    carts: FolderCap
    exports: FolderCap
    thumbnails: FolderCap

    @classmethod
    def load(cls, home: DataHome) -> FolderLimits:
        """The limits configured in ``home`` (defaults where not configured)."""
        raw: Any = home.load_config().get("limits", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{home.config_path}: [limits] must be a table")
        unknown = sorted(set(raw) - set(_DEFAULTS))
        if unknown:
            raise ConfigError(f"{home.config_path}: unknown [limits] keys: {', '.join(unknown)}")
        values = {**_DEFAULTS, **raw}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{home.config_path}: [limits] {key} must be a number >= 0")
        return cls(
            carts=FolderCap(
                max_files=int(values["saved_carts"]),
                max_bytes=int(values["saved_cart_mib"] * MIB),
                max_age=float(values["saved_cart_days"]) * DAY,
                suffix=".json",
            ),
            exports=FolderCap(
                max_files=int(values["exports"]),
                max_bytes=int(values["export_mib"] * MIB),
                max_age=0,
                recursive=False,
            ),
            thumbnails=FolderCap(
                max_files=int(values["thumbnails"]),
                max_bytes=int(values["thumbnail_mib"] * MIB),
                max_age=float(values["thumbnail_days"]) * DAY,
                suffix=".png",
            ),
        )


_DEFAULTS: dict[str, float] = {
    "saved_carts": 10_000,
    "saved_cart_mib": 64,
    "saved_cart_days": 180,
    "exports": 1_000,
    "export_mib": 2048,
    "thumbnails": 200_000,
    "thumbnail_mib": 1024,
    "thumbnail_days": 60,
}


def folder_limits(app: Any) -> FolderLimits:
    """The :class:`FolderLimits` of the app's data home (loaded once per app)."""
    limits = getattr(app.state, "folder_limits", None)
    if limits is None:
        limits = FolderLimits.load(app.state.config.home)
        app.state.folder_limits = limits
    return limits
