"""Writing the catalog without ever waiting for its readers: copy, change, rename.

DuckDB lets a process open a database file read-write only while no other process holds it
(readers included; "Could not set lock on file"), and several processes may read it only while
nobody writes (https://duckdb.org/docs/connect/concurrency). A served commons reads its catalog
all the time (portal, DRS snapshot, CLI queries), so ``htan-cds ingest`` writing in place would
fail whenever a request is being answered. Writers therefore never open ``catalog.duckdb``
itself: under an exclusive writer lock (``catalog.duckdb.lock``, ``filelock``) a writer copies
the file, changes the copy, checkpoints and closes it, and renames it over ``catalog.duckdb``.
Readers keep the inode they opened (the old catalog, consistent) and see the new one at their
next open; a writer that fails or is killed leaves the catalog as it was (its copy is removed
by the next writer).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from htan_cds.errors import CatalogError

WRITER_WAIT = 600.0  # seconds a writer waits for another writer before giving up
_WORK_SUFFIX = ".writing"
# Catalog paths this process writes, and the thread writing each.
_HELD: dict[str, int] = {}
_HELD_LOCK = threading.Lock()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_work_files(path: Path) -> None:
    """Remove copies left by writers that died (their lock died with them)."""
    for leftover in path.parent.glob(path.name + _WORK_SUFFIX + "*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


class CatalogWriter:
    """One write session: a private copy of the catalog, published by :meth:`commit`."""

    def __init__(self, path: Path, wait: float = WRITER_WAIT) -> None:
        self.path = path
        self.work = path.with_name(f"{path.name}{_WORK_SUFFIX}-{os.getpid()}")
        self._lock = FileLock(str(path) + ".lock", timeout=wait, mode=0o600)
        self._done = False

    def begin(self, connect: Callable[[str], Any]) -> Any:
        """Take the writer lock, copy the catalog, return ``connect(copy)``."""
        key = str(self.path)
        with _HELD_LOCK:
            if _HELD.get(key) == threading.get_ident():
                # A second writer in the same thread would wait for itself for ever.
                raise CatalogError(f"{self.path} is already open for writing in this thread")
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise CatalogError(
                f"another htan-cds process has been writing {self.path} for "
                f"{self._lock.timeout:.0f} s; try again when it has finished"
            ) from exc
        with _HELD_LOCK:
            _HELD[key] = threading.get_ident()
        try:
            _remove_work_files(self.path)
            if self.path.exists():
                shutil.copyfile(self.path, self.work)
                shutil.copymode(self.path, self.work)
                con = connect(str(self.work))
            else:
                con = connect(str(self.work))
                # A new catalog (controlled metadata included) is its owner's alone.
                os.chmod(self.work, 0o600)
            return con
        except BaseException:
            self.abort()
            raise

    def commit(self, con: Any) -> None:
        """Checkpoint and close ``con``, then publish the copy as the catalog (atomic rename)."""
        if self._done:
            return
        try:
            con.execute("CHECKPOINT")
            con.close()
            with open(self.work, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self.work, self.path)
            _fsync_dir(self.path.parent)
        except BaseException:
            self.abort(con)
            raise
        self._release()

    def _release(self) -> None:
        self._done = True
        with _HELD_LOCK:
            _HELD.pop(str(self.path), None)
        self._lock.release()

    def abort(self, con: Any = None) -> None:
        """Drop the copy; the catalog stays as it was."""
        if self._done:
            return
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()
        for leftover in (self.work, self.work.with_name(self.work.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._release()


READ_ALIAS = "hcds_catalog"


def read_only_connection(path: Path) -> Any:
    """A read-only DuckDB connection to the catalog file at ``path``, as it is *now*.

    DuckDB caches one database instance per file path in a process and hands it to every later
    ``connect`` of that path (duckdb/duckdb#4414, #15912), so a server still holding the old
    catalog would keep reading it after a writer renamed a new one in. Attaching the file to a
    fresh in-memory database opens its own instance each time; ``USE`` makes it the default, and
    every cursor must repeat it (:data:`USE_SQL`).
    """
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"ATTACH {literal} AS {READ_ALIAS} (READ_ONLY)")
        con.execute(USE_SQL)
    except BaseException:
        con.close()
        raise
    return con


USE_SQL = f"USE {READ_ALIAS}"
