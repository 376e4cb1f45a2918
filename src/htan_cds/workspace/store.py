"""The workspace's persistent state: projects, files, import jobs and their items (SQLite).

Everything lives under ``home.workspace_dir``: ``workspace.sqlite`` (WAL) holds the records,
``objects/`` the bytes of imported files (content-addressed, so the same object imported into
two projects is stored once), ``staging/<job>/`` the import engine's working folders.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from htan_cds.config import DataHome
from htan_cds.storage.base import StoredObject
from htan_cds.storage.local import LocalObjectStore
from htan_cds.workspace import sb_errors
from htan_cds.workspace.models import (
    CONFLICT_POLICIES,
    JOB_STATES,
    FileRecord,
    ImportItem,
    ImportJob,
    ItemRequest,
    Project,
    file_from_row,
    item_from_row,
    new_id,
    now_iso,
    project_from_row,
    renamed,
    slugify,
)

__all__ = [
    "CONFLICT_POLICIES",
    "JOB_STATES",
    "FileRecord",
    "ImportItem",
    "ImportJob",
    "ItemRequest",
    "Project",
    "WorkspaceStore",
    "new_id",
    "now_iso",
    "renamed",
    "slugify",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    tags TEXT NOT NULL DEFAULT '[]', root_folder TEXT NOT NULL,
    created_on TEXT NOT NULL, modified_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES projects(id), name TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, md5 TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
    source_drs_uri TEXT, created_on TEXT NOT NULL, modified_on TEXT NOT NULL,
    UNIQUE (project, name)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL,
    conflict_resolution TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]',
    created_on TEXT NOT NULL, started_on TEXT, finished_on TEXT, token_id TEXT
);
CREATE TABLE IF NOT EXISTS job_items (
    job_id TEXT NOT NULL REFERENCES jobs(id), idx INTEGER NOT NULL,
    drs_uri TEXT NOT NULL, name TEXT, project TEXT NOT NULL, metadata TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'PENDING', file_id TEXT, error TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS import_usage (at REAL NOT NULL, owner TEXT NOT NULL, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS redirect_manifests (
    id TEXT PRIMARY KEY, owner TEXT, source_url TEXT NOT NULL, rows TEXT NOT NULL,
    created_on TEXT NOT NULL, job_id TEXT
);
"""


class WorkspaceStore:
    """Projects, files and import jobs of one workspace; safe to share between threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        # Imported data may be controlled and is served to its project's owner only: the whole
        # workspace is readable by the server's user alone (folders 0700, objects 0600).
        os.chmod(self.root, 0o700)
        self.objects = LocalObjectStore(self.root / "objects", private_root=True)
        self.staging_dir = self.root / "staging"
        self._lock = threading.RLock()
        self._con = sqlite3.connect(
            self.root / "workspace.sqlite", check_same_thread=False, isolation_level=None
        )
        self._con.row_factory = sqlite3.Row
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA busy_timeout=10000")
        # WAL + NORMAL: a crash of the process loses nothing; only a power cut can lose the
        # last commits, which resume re-does (items are recorded after their files).
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.executescript(_SCHEMA)
        columns = {r["name"] for r in self._con.execute("PRAGMA table_info(jobs)")}
        if "token_id" not in columns:  # a workspace made before jobs recorded their token
            self._con.execute("ALTER TABLE jobs ADD COLUMN token_id TEXT")

    @classmethod
    def open(cls, home: DataHome) -> WorkspaceStore:
        """The workspace of a data home (``home.workspace_dir``)."""
        return cls(home.workspace_dir)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    # -- projects ---------------------------------------------------------------------------

    def create_project(
        self,
        owner: str,
        name: str,
        *,
        description: str | None = None,
        tags: Sequence[str] = (),
        short_name: str | None = None,
    ) -> Project:
        """Create ``owner/slug(name)``; SB's 409 (code 3003) when it exists."""
        if not name or not name.strip():
            raise sb_errors.bad_request(
                "Project name must not be null or empty string.", sb_errors.PROJECT_NAME_EMPTY
            )
        slug = slugify(short_name or name)
        if not slug:
            raise sb_errors.bad_request(
                f"Project name {name!r} has no letters or digits.", sb_errors.PROJECT_NAME_EMPTY
            )
        pid = f"{owner}/{slug}"
        stamp = now_iso()
        with self._tx() as con:
            if con.execute("SELECT 1 FROM projects WHERE id = ?", [pid]).fetchone():
                raise sb_errors.SbApiError(
                    409, sb_errors.PROJECT_EXISTS, f"Project {pid} already exists."
                )
            con.execute(
                "INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    pid,
                    owner,
                    name.strip(),
                    description,
                    json.dumps(list(tags)),
                    new_id(),
                    stamp,
                    stamp,
                ],
            )
        project = self.get_project(pid)
        assert project is not None
        return project

    def get_project(self, project_id: str) -> Project | None:
        """The project with this ``owner/slug`` id, or None."""
        rows = self._query("SELECT * FROM projects WHERE id = ?", [project_id])
        return project_from_row(rows[0]) if rows else None

    def project_of_folder(self, folder_id: str) -> str | None:
        """The project whose root folder has this id (SB's ``parent``), or None."""
        rows = self._query("SELECT id FROM projects WHERE root_folder = ?", [folder_id])
        return str(rows[0]["id"]) if rows else None

    def list_projects(
        self, owner: str | None = None, name: str | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[Project], int]:
        """Projects (optionally of one owner / with one name), a page and the total count."""
        where, params = self._where(owner=owner, name=name)
        total = self._query(f"SELECT count(*) AS n FROM projects{where}", params)[0]["n"]
        rows = self._query(
            f"SELECT * FROM projects{where} ORDER BY created_on, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [project_from_row(r) for r in rows], int(total)

    @staticmethod
    def _where(**conds: str | None) -> tuple[str, list[Any]]:
        parts = [f"{k} = ?" for k, v in conds.items() if v is not None]
        params = [v for v in conds.values() if v is not None]
        return (" WHERE " + " AND ".join(parts) if parts else ""), params

    # -- files ------------------------------------------------------------------------------

    def get_file(self, file_id: str) -> FileRecord | None:
        """The file with this id, or None."""
        rows = self._query("SELECT * FROM files WHERE id = ?", [file_id])
        return file_from_row(rows[0]) if rows else None

    def file_by_name(self, project: str, name: str) -> FileRecord | None:
        """The file called ``name`` in ``project``, or None."""
        rows = self._query("SELECT * FROM files WHERE project = ? AND name = ?", [project, name])
        return file_from_row(rows[0]) if rows else None

    def list_files(
        self,
        project: str,
        *,
        names: Sequence[str] = (),
        tags: Sequence[str] = (),
        metadata: dict[str, str] | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[FileRecord], int]:
        """Files of a project filtered as SB's ``GET /files`` filters them; a page and total."""
        rows = [
            file_from_row(r)
            for r in self._query("SELECT * FROM files WHERE project = ? ORDER BY name", [project])
        ]
        if names:
            rows = [f for f in rows if f.name in set(names)]
        if tags:
            rows = [f for f in rows if set(tags) & set(f.tags)]
        for key, value in (metadata or {}).items():
            rows = [f for f in rows if str(f.metadata.get(key)) == value]
        return rows[offset : offset + limit], len(rows)

    def add_file(
        self,
        project: str,
        name: str,
        stored: StoredObject,
        *,
        metadata: dict[str, str],
        tags: Sequence[str],
        source_drs_uri: str | None,
        conflict: str = "SKIP",
    ) -> FileRecord:
        """Record a file in a project, applying the naming-conflict policy.

        SKIP raises SB's 409 when the name is taken; OVERWRITE replaces the bytes, metadata and
        tags of the existing file (keeping its id); RENAME picks ``_1_name``, ``_2_name``...
        """
        stamp = now_iso()
        with self._tx() as con:
            final = name
            existing = con.execute(
                "SELECT id FROM files WHERE project = ? AND name = ?", [project, name]
            ).fetchone()
            if existing and conflict == "OVERWRITE":
                con.execute(
                    "UPDATE files SET size = ?, sha256 = ?, md5 = ?, metadata = ?, tags = ?, "
                    "source_drs_uri = ?, modified_on = ? WHERE id = ?",
                    [
                        stored.size,
                        stored.sha256,
                        stored.md5,
                        json.dumps(metadata),
                        json.dumps(list(tags)),
                        source_drs_uri,
                        stamp,
                        existing["id"],
                    ],
                )
                file_id = str(existing["id"])
            else:
                if existing and conflict == "RENAME":
                    n = 1
                    while con.execute(
                        "SELECT 1 FROM files WHERE project = ? AND name = ?",
                        [project, renamed(name, n)],
                    ).fetchone():
                        n += 1
                    final = renamed(name, n)
                elif existing:
                    raise sb_errors.SbApiError(
                        409,
                        sb_errors.FILE_EXISTS,
                        f"A file named {name!r} already exists in project {project}.",
                    )
                file_id = new_id()
                con.execute(
                    "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        file_id,
                        project,
                        final,
                        stored.size,
                        stored.sha256,
                        stored.md5,
                        json.dumps(metadata),
                        json.dumps(list(tags)),
                        source_drs_uri,
                        stamp,
                        stamp,
                    ],
                )
        record = self.get_file(file_id)
        assert record is not None
        return record

    # -- import jobs ------------------------------------------------------------------------

    def create_job(
        self,
        owner: str,
        items: Sequence[ItemRequest],
        *,
        tags: Sequence[str],
        conflict: str,
        job_id: str | None = None,
        token_id: str | None = None,
    ) -> ImportJob:
        """Persist a new ``PENDING`` job with its items (all in one transaction).

        ``token_id`` is the submitting token: the job runs with that token's grants.
        """
        job_id = job_id or new_id(16)
        with self._tx() as con:
            con.execute(
                "INSERT INTO jobs (id, owner, state, conflict_resolution, tags, created_on, "
                "token_id) VALUES (?, ?, 'PENDING', ?, ?, ?, ?)",
                [job_id, owner, conflict, json.dumps(list(tags)), now_iso(), token_id],
            )
            con.executemany(
                "INSERT INTO job_items (job_id, idx, drs_uri, name, project, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (job_id, i, it.drs_uri, it.name, it.project, json.dumps(it.metadata))
                    for i, it in enumerate(items)
                ],
            )
        job = self.get_job(job_id)
        assert job is not None
        return job

    def get_job(self, job_id: str) -> ImportJob | None:
        """The job with its items in submission order, or None."""
        rows = self._query("SELECT * FROM jobs WHERE id = ?", [job_id])
        if not rows:
            return None
        r = rows[0]
        items = self._query("SELECT * FROM job_items WHERE job_id = ? ORDER BY idx", [job_id])
        return ImportJob(
            id=r["id"],
            owner=r["owner"],
            state=r["state"],
            conflict_resolution=r["conflict_resolution"],
            tags=json.loads(r["tags"]),
            created_on=r["created_on"],
            started_on=r["started_on"],
            finished_on=r["finished_on"],
            items=[item_from_row(i) for i in items],
            token_id=r["token_id"],
        )

    def list_jobs(self, owner: str | None = None) -> list[ImportJob]:
        """Every job (optionally of one owner), newest first, with items."""
        where, params = self._where(owner=owner)
        rows = self._query(f"SELECT id FROM jobs{where} ORDER BY created_on DESC, id", params)
        jobs = [self.get_job(str(r["id"])) for r in rows]
        return [j for j in jobs if j is not None]

    def unfinished_jobs(self) -> list[str]:
        """Ids of jobs not yet ``FINISHED``, oldest first (resumed on startup)."""
        rows = self._query("SELECT id FROM jobs WHERE state != 'FINISHED' ORDER BY created_on, id")
        return [str(r["id"]) for r in rows]

    def set_job_state(self, job_id: str, state: str) -> None:
        """Move a job to ``RUNNING`` (stamping started_on once) or ``FINISHED``."""
        with self._tx() as con:
            if state == "RUNNING":
                con.execute(
                    "UPDATE jobs SET state = 'RUNNING', started_on = coalesce(started_on, ?) "
                    "WHERE id = ?",
                    [now_iso(), job_id],
                )
            else:
                con.execute(
                    "UPDATE jobs SET state = ?, finished_on = ? WHERE id = ?",
                    [state, now_iso() if state == "FINISHED" else None, job_id],
                )

    def finish_item(
        self,
        job_id: str,
        index: int,
        *,
        file_id: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record one item's outcome: a file id or an SB-shaped error."""
        state = "FAILED" if error is not None else "DONE"
        with self._tx() as con:
            con.execute(
                "UPDATE job_items SET state = ?, file_id = ?, error = ? "
                "WHERE job_id = ? AND idx = ?",
                [state, file_id, json.dumps(error) if error else None, job_id, index],
            )

    # -- rate-limit ledger --------------------------------------------------------------------

    def record_usage(self, owner: str, n: int, at: float, *, forget_before: float) -> None:
        """Count ``n`` submitted import items for ``owner`` at ``at``; drop entries older than
        ``forget_before`` (outside every window) so the ledger stays small."""
        with self._tx() as con:
            con.execute("DELETE FROM import_usage WHERE at < ?", [forget_before])
            con.execute("INSERT INTO import_usage VALUES (?, ?, ?)", [at, owner, n])

    def usage_since(self, owner: str, since: float) -> list[tuple[float, int]]:
        """``(at, n)`` of ``owner``'s submissions after ``since``, oldest first."""
        rows = self._query(
            "SELECT at, n FROM import_usage WHERE owner = ? AND at > ? ORDER BY at", [owner, since]
        )
        return [(float(r["at"]), int(r["n"])) for r in rows]

    # -- import-redirect manifests ------------------------------------------------------------

    def save_redirect_manifest(
        self, source_url: str, rows: list[dict[str, Any]], owner: str | None = None
    ) -> str:
        """Keep a fetched manifest (fetched by ``owner``) until confirmed; return its id."""
        mid = new_id(16)
        with self._tx() as con:
            # Fetched manifests nobody confirmed within a day are dropped.
            con.execute(
                "DELETE FROM redirect_manifests WHERE job_id IS NULL AND created_on < ?",
                [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))],
            )
            con.execute(
                "INSERT INTO redirect_manifests VALUES (?, ?, ?, ?, ?, NULL)",
                [mid, owner, source_url, json.dumps(rows), now_iso()],
            )
        return mid

    def get_redirect_manifest(
        self, mid: str, owner: str | None = None
    ) -> tuple[str, list[dict[str, Any]], str | None] | None:
        """``(source_url, rows, job_id)`` of a fetched manifest (of ``owner`` when given)."""
        rows = self._query("SELECT * FROM redirect_manifests WHERE id = ?", [mid])
        if not rows or (owner is not None and rows[0]["owner"] != owner):
            return None
        r = rows[0]
        return r["source_url"], json.loads(r["rows"]), r["job_id"]

    def claim_redirect_manifest(self, mid: str, job_id: str) -> bool:
        """Attach a job to a fetched manifest once; False if it already has one."""
        with self._tx() as con:
            cur = con.execute(
                "UPDATE redirect_manifests SET job_id = ? WHERE id = ? AND job_id IS NULL",
                [job_id, mid],
            )
            return cur.rowcount == 1

    def release_redirect_manifest(self, mid: str) -> None:
        """Undo a claim whose job could not be created (e.g. over the import quota)."""
        with self._tx() as con:
            con.execute("UPDATE redirect_manifests SET job_id = NULL WHERE id = ?", [mid])
