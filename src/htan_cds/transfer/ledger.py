"""The import ledger: SQLite at ``DEST/.htan-cds/ledger.sqlite`` recording each object's
resolution, the parts already on disk and the verification, so a re-run resumes.

Writes are batched (one commit at most every ``commit_interval`` seconds) because a commit per
64 KiB file would cost more than the file; after a crash the last moments are simply redone.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    drs_uri TEXT PRIMARY KEY,
    object_json TEXT,
    path TEXT,
    size INTEGER,
    part_size INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    checksum_type TEXT,
    checksum TEXT,
    verified INTEGER,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL
);
CREATE TABLE IF NOT EXISTS parts (
    drs_uri TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (drs_uri, idx)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

LEDGER_NAME = "ledger.sqlite"
# "verified": in place and a declared checksum matched; "done": in place, nothing could verify it.
# "bundle": a bundle whose members are rows of their own.
STATUSES = ("pending", "resolved", "partial", "verified", "done", "skipped", "failed", "bundle")
FINISHED = ("verified", "done")
_COLUMNS = (
    "drs_uri, object_json, path, size, part_size, status, checksum_type, checksum, error, "
    "attempts, verified"
)


@dataclass
class LedgerEntry:
    """One object's row."""

    drs_uri: str
    object_json: str | None
    path: str | None
    size: int | None
    part_size: int | None
    status: str
    checksum_type: str | None
    checksum: str | None
    error: str | None
    attempts: int
    verified: bool | None = None


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    fields = list(row)
    verified = fields.pop()
    entry = LedgerEntry(*fields)
    entry.verified = None if verified is None else bool(verified)
    return entry


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a ledger that writes nothing beside it.

    While a WAL file is there (an import is running, or was killed) its last commits live in
    it, and ``mode=ro`` reads them through the existing ``-shm``; a ledger closed cleanly holds
    everything in the main file, where ``mode=ro`` would create ``-wal``/``-shm`` files, so it is
    opened ``immutable`` (SQLite URI parameters, https://www.sqlite.org/uri.html).
    """
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    mode = "mode=ro" if wal.exists() and shm.exists() else "immutable=1"
    return sqlite3.connect(f"{path.absolute().as_uri()}?{mode}", uri=True)


class Ledger:
    """Single-threaded access (the engine's event loop thread) to the ledger database."""

    def __init__(
        self,
        path: Path,
        *,
        commit_interval: float = 0.5,
        connection: sqlite3.Connection | None = None,
    ) -> None:
        self.path = path
        if connection is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level="DEFERRED")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        self._db = connection
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(objects)")}
        if "verified" not in columns:  # a ledger written before verification was recorded
            self._db.execute("ALTER TABLE objects ADD COLUMN verified INTEGER")
        self._db.commit()
        self._last_commit = time.monotonic()
        self.commit_interval = commit_interval

    @classmethod
    def snapshot(cls, path: Path) -> Ledger:
        """An in-memory copy of the ledger at ``path`` (empty when there is none yet).

        Writing to it changes nothing on disk, and reading the file creates nothing beside it:
        what a dry run plans with and what ``import status`` reads, also while an import is
        running or after one was killed.
        """
        memory = sqlite3.connect(":memory:", isolation_level="DEFERRED")
        if path.is_file():
            source = connect_read_only(path)
            try:
                source.backup(memory)
            finally:
                source.close()
        return cls(path, connection=memory)

    @classmethod
    def open_existing(cls, path: Path) -> Ledger:
        """Open a ledger that must exist (for ``import status``)."""
        if not path.is_file():
            from htan_cds.errors import UsageError

            raise UsageError(f"no import ledger at {path}")
        return cls.snapshot(path)

    def close(self) -> None:
        """Commit and close."""
        self._db.commit()
        self._db.close()

    def commit(self) -> None:
        self._db.commit()
        self._last_commit = time.monotonic()

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.commit_interval:
            self.commit()

    def get(self, drs_uri: str) -> LedgerEntry | None:
        """The row for ``drs_uri``, if any."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM objects WHERE drs_uri = ?", (drs_uri,)
        ).fetchone()
        return _entry(row) if row else None

    def entries(self) -> Iterator[LedgerEntry]:
        """Every row, in insertion order."""
        cur = self._db.execute(f"SELECT {_COLUMNS} FROM objects ORDER BY rowid")
        for row in cur:
            yield _entry(row)

    def uris_with_status(self, *statuses: str) -> set[str]:
        """Every URI whose row is in one of ``statuses``."""
        marks = ", ".join("?" for _ in statuses)
        cur = self._db.execute(f"SELECT drs_uri FROM objects WHERE status IN ({marks})", statuses)
        return {r[0] for r in cur}

    def claimed_paths(self) -> dict[str, str]:
        """path → drs_uri for every object that has a path (to keep layouts stable)."""
        cur = self._db.execute("SELECT path, drs_uri FROM objects WHERE path IS NOT NULL")
        return {p: u for p, u in cur}

    def record_resolution(self, drs_uri: str, object_json: str, size: int) -> None:
        """Store a resolved object (kept across runs so a re-run skips resolution)."""
        self._db.execute(
            "INSERT INTO objects (drs_uri, object_json, size, status, updated) "
            "VALUES (?, ?, ?, 'resolved', ?) ON CONFLICT(drs_uri) DO UPDATE SET "
            "object_json = excluded.object_json, size = excluded.size, updated = excluded.updated",
            (drs_uri, object_json, size, time.time()),
        )
        self._maybe_commit()

    def set_path(self, drs_uri: str, path: str) -> None:
        self._db.execute(
            "INSERT INTO objects (drs_uri, path, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(drs_uri) DO UPDATE SET path = excluded.path",
            (drs_uri, path, time.time()),
        )
        self._maybe_commit()

    def start_parts(self, drs_uri: str, part_size: int) -> set[int]:
        """Parts already on disk for this part size; a different part size starts over."""
        row = self._db.execute(
            "SELECT part_size FROM objects WHERE drs_uri = ?", (drs_uri,)
        ).fetchone()
        if row is None or row[0] != part_size:
            self.reset_parts(drs_uri, part_size)
            return set()
        cur = self._db.execute("SELECT idx FROM parts WHERE drs_uri = ?", (drs_uri,))
        return {int(r[0]) for r in cur}

    def reset_parts(self, drs_uri: str, part_size: int) -> None:
        """Forget parts (after a checksum mismatch or a part size change)."""
        self._db.execute("DELETE FROM parts WHERE drs_uri = ?", (drs_uri,))
        self._db.execute(
            "UPDATE objects SET part_size = ?, status = 'partial', updated = ? WHERE drs_uri = ?",
            (part_size, time.time(), drs_uri),
        )
        self.commit()

    def part_done(self, drs_uri: str, idx: int) -> None:
        """A part's bytes are written to the temporary file."""
        self._db.execute("INSERT OR IGNORE INTO parts (drs_uri, idx) VALUES (?, ?)", (drs_uri, idx))
        # Parts are large, and a WAL commit without fsync is cheap: commit each so a kill -9
        # loses at most the parts in flight.
        self.commit()

    def finish(
        self,
        drs_uri: str,
        status: str,
        *,
        checksum_type: str | None = None,
        checksum: str | None = None,
        error: str | None = None,
        verified: bool = False,
        durable: bool = False,
    ) -> None:
        """Record the final state of an object in this run (``verified`` as in the report); a
        row that was never resolved is added. ``durable`` commits now: the engine records a
        file this way *before* moving it into place, so that after a ``kill -9`` every file
        under its final name is in the ledger (``import status`` is right at once)."""
        self._db.execute(
            "INSERT INTO objects (drs_uri, status, checksum_type, checksum, error, verified, "
            "attempts, updated) VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT(drs_uri) DO UPDATE "
            "SET status = excluded.status, checksum_type = excluded.checksum_type, "
            "checksum = excluded.checksum, error = excluded.error, verified = excluded.verified, "
            "attempts = objects.attempts + 1, updated = excluded.updated",
            (drs_uri, status, checksum_type, checksum, error, int(verified), time.time()),
        )
        if status in (*FINISHED, "skipped"):
            self._db.execute("DELETE FROM parts WHERE drs_uri = ?", (drs_uri,))
        if durable:
            self.commit()
        else:
            self._maybe_commit()

    def parts_on_disk(self) -> int:
        """Bytes of the recorded parts of files still being fetched (each part is
        ``part_size`` bytes, the last one of a file possibly less)."""
        row = self._db.execute(
            "SELECT coalesce(sum(min(o.part_size, o.size - p.idx * o.part_size)), 0) "
            "FROM parts p JOIN objects o USING (drs_uri) WHERE o.part_size > 0"
        ).fetchone()
        return int(row[0]) if row else 0

    def summary(self) -> dict[str, Any]:
        """Counts and bytes by status (for ``import status``)."""
        counts = {s: 0 for s in STATUSES}
        sizes = {s: 0 for s in STATUSES}
        for status, n, total in self._db.execute(
            "SELECT status, count(*), coalesce(sum(size), 0) FROM objects GROUP BY status"
        ):
            counts[status] = int(n)
            sizes[status] = int(total)
        return {"objects": sum(counts.values()), "by_status": counts, "bytes_by_status": sizes}
