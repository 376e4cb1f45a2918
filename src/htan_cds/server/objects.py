"""The server's view of the catalog: an in-memory snapshot of the objects this commons serves.

The snapshot is read from the DuckDB catalog through a short read-only connection and
reloaded when the catalog file changes (writers publish a new file by renaming, see
``htan_cds.catalog.writer``), so the server never stops ``htan-cds ingest`` and a lookup is a
dict access (the hot path of ``GET /objects/{id}``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from htan_cds.errors import CatalogError

_log = logging.getLogger("htan_cds.server")

BUNDLE_PREFIX = "bundle/"
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_FILE_COLUMNS = (
    "drs_id, name, size, md5, sha256, object_key, mime_type, created_time, description, "
    "access, consent_group, HTAN_Data_File_ID, biospecimen_ids"
)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One blob served by this commons (a row of ``files`` with ``drs_host`` NULL)."""

    drs_id: str
    name: str
    size: int
    md5: str | None
    sha256: str | None
    object_key: str | None
    mime_type: str | None
    created_time: datetime
    description: str | None
    access: str
    consent_group: str | None
    aliases: tuple[str, ...]
    biospecimen_ids: tuple[str, ...]

    @property
    def controlled(self) -> bool:
        return self.access != "open"

    @property
    def groups(self) -> frozenset[str]:
        """Consent groups a caller must hold to see this object."""
        if not self.controlled:
            return frozenset()
        return frozenset({self.consent_group or "controlled"})


@dataclass(frozen=True, slots=True)
class BundleRecord:
    """All files of one biospecimen, served as the bundle ``bundle/<HTAN_Biospecimen_ID>``."""

    drs_id: str
    name: str
    members: tuple[str, ...]
    size: int
    created_time: datetime
    checksums: tuple[tuple[str, str], ...]
    groups: frozenset[str]

    @property
    def controlled(self) -> bool:
        return bool(self.groups)


@dataclass
class Snapshot:
    """Immutable view of the catalog at one moment."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    bundles: dict[str, BundleRecord] = field(default_factory=dict)
    authority: str | None = None

    @property
    def object_count(self) -> int:
        return len(self.files) + len(self.bundles)

    @property
    def total_size(self) -> int:
        # Bytes are counted once per unique content (bundles and duplicates add nothing).
        seen: dict[str, int] = {}
        for rec in self.files.values():
            seen[rec.sha256 or rec.md5 or rec.drs_id] = rec.size
        return sum(seen.values())

    def get(self, object_id: str) -> FileRecord | BundleRecord | None:
        """The file or bundle with this id, or None."""
        rec = self.files.get(object_id)
        if rec is not None:
            return rec
        return self.bundles.get(object_id)


def bundle_checksum(kind: str, child_sums: list[str]) -> str:
    """DRS bundle checksum: digest of the sorted, concatenated checksums of direct children."""
    algo = {"sha-256": "sha256", "md5": "md5"}[kind]
    h = hashlib.new(algo)
    for value in sorted(s.lower() for s in child_sums):
        h.update(value.encode("ascii"))
    return h.hexdigest()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _EPOCH


def _build_bundles(files: dict[str, FileRecord]) -> dict[str, BundleRecord]:
    by_specimen: dict[str, list[FileRecord]] = {}
    for rec in files.values():
        for bid in rec.biospecimen_ids:
            by_specimen.setdefault(bid, []).append(rec)
    bundles: dict[str, BundleRecord] = {}
    for bid, members in by_specimen.items():
        members.sort(key=lambda r: r.drs_id)
        sums: list[tuple[str, str]] = []
        for kind, attr in (("sha-256", "sha256"), ("md5", "md5")):
            values = [getattr(m, attr) for m in members]
            if all(values):
                sums.append((kind, bundle_checksum(kind, values)))
        if not sums:
            continue
        groups: frozenset[str] = frozenset().union(*(m.groups for m in members))
        bundles[BUNDLE_PREFIX + bid] = BundleRecord(
            drs_id=BUNDLE_PREFIX + bid,
            name=bid,
            members=tuple(m.drs_id for m in members),
            size=sum(m.size for m in members),
            created_time=min(m.created_time for m in members),
            checksums=tuple(sums),
            groups=groups,
        )
    return bundles


def load_snapshot(catalog_path: Path) -> Snapshot:
    """Read the served files of the catalog at ``catalog_path`` (empty if there is none)."""
    if not catalog_path.exists():
        return Snapshot()
    import duckdb

    from htan_cds.catalog.writer import read_only_connection

    try:
        # Its own DuckDB instance: a connection of this process to the old file (the portal's)
        # must not hand back the catalog a writer has just replaced.
        con = read_only_connection(catalog_path)
    except duckdb.Error as exc:
        raise CatalogError(f"cannot open catalog {catalog_path} read-only: {exc}") from exc
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "files" not in tables:
            return Snapshot()
        rows = con.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE drs_host IS NULL OR drs_host = ''"
        ).fetchall()
        links: list[tuple[str, str]] = []
        if "file_biospecimens" in tables:
            links = con.execute(
                "SELECT drs_id, HTAN_Biospecimen_ID FROM file_biospecimens "
                "WHERE HTAN_Biospecimen_ID IS NOT NULL"
            ).fetchall()
        authority = None
        if "commons_meta" in tables:
            found = con.execute(
                "SELECT value FROM commons_meta WHERE key = 'drs_authority'"
            ).fetchone()
            authority = found[0] if found else None
    except duckdb.Error as exc:
        raise CatalogError(f"cannot read catalog {catalog_path}: {exc}") from exc
    finally:
        con.close()
    extra: dict[str, list[str]] = {}
    for drs_id, bid in links:
        extra.setdefault(drs_id, []).append(bid)
    files: dict[str, FileRecord] = {}
    for row in rows:
        (drs_id, name, size, md5, sha256, key, mime, created, desc, access, group, fid, bios) = row
        files[drs_id] = FileRecord(
            drs_id=drs_id,
            name=name,
            size=int(size or 0),
            md5=(md5 or "").lower() or None,
            sha256=(sha256 or "").lower() or None,
            object_key=key,
            mime_type=mime,
            created_time=_as_datetime(created),
            description=desc,
            access=(access or "open").lower(),
            consent_group=group,
            aliases=(fid,) if fid else (),
            biospecimen_ids=tuple(
                dict.fromkeys(b for b in [*(bios or []), *extra.get(drs_id, [])] if b)
            ),
        )
    return Snapshot(files=files, bundles=_build_bundles(files), authority=authority)


class ObjectRepository:
    """Holds the current snapshot and reloads it when the catalog file changes."""

    def __init__(self, catalog_path: Path, *, check_interval: float = 1.0) -> None:
        self.catalog_path = catalog_path
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self._snapshot = load_snapshot(catalog_path)

    def _file_stamp(self) -> tuple[int, ...]:
        stamps: list[int] = []
        for path in (
            self.catalog_path,
            self.catalog_path.with_name(self.catalog_path.name + ".wal"),
        ):
            try:
                st = path.stat()
                # Writers rename a new file in (a new inode): see htan_cds.catalog.writer.
                stamps.extend((st.st_ino, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamps.extend((0, 0, 0))
        return tuple(stamps)

    def snapshot(self) -> Snapshot:
        """The current snapshot, reloaded at most once per ``check_interval`` if changed."""
        now = time.monotonic()
        if now - self._checked < self.check_interval:
            return self._snapshot
        with self._lock:
            self._checked = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                try:
                    self._snapshot = load_snapshot(self.catalog_path)
                    self._stamp = stamp
                except CatalogError as exc:
                    # A writer holds the file; keep serving the last good snapshot.
                    _log.warning("catalog reload deferred: %s", exc)
        return self._snapshot

    def snapshot_nowait(self) -> Snapshot | None:
        """The current snapshot when that needs no reload (at most a ``stat`` of the catalog
        files), else None: for callers on the event loop, which must not wait for a reload or
        for another thread doing one (:func:`htan_cds.server.iiif_routes.handle`)."""
        if time.monotonic() - self._checked < self.check_interval:
            return self._snapshot
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._file_stamp() != self._stamp:
                return None  # changed: the next snapshot() reloads it, in a worker thread
            self._checked = time.monotonic()
            return self._snapshot
        finally:
            self._lock.release()
