"""The import job runner: PENDING -> RUNNING -> FINISHED, persisted, resumed after a restart.

A dispatcher thread starts up to ``job_concurrency`` jobs at once, each in its own thread, so
one user's job stuck on a slow source host never holds up another user's job (and inside a job,
each source host is its own engine run with a deadline, see :mod:`htan_cds.workspace.fetch`).
A job runs with the grants of the token that submitted it, read when it runs: the workspace's
source tokens are used only where those grants cover them (:mod:`htan_cds.workspace.sources`).
Items already finished are never redone; a job interrupted while RUNNING is picked up again on
startup and its staging folder (with the engine's ledger) lets the engine resume partial
downloads. Every item ends with a file or an SB-shaped error, so nothing is left half-imported
and unreported.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from htan_cds.errors import HtanCdsError
from htan_cds.manifest.names import safe_file_name
from htan_cds.storage.base import StoredObject
from htan_cds.workspace import sb_errors
from htan_cds.workspace.fetch import fetch_all
from htan_cds.workspace.settings import WorkspaceSettings
from htan_cds.workspace.sources import credentials_for
from htan_cds.workspace.store import ImportItem, WorkspaceStore

GrantsOf = Callable[[str | None], tuple[str, ...]]


def _no_grants(_token_id: str | None) -> tuple[str, ...]:
    return ()


log = logging.getLogger(__name__)


class JobRunner:
    """Runs import jobs of one :class:`WorkspaceStore` in a daemon thread.

    Several server processes (``serve --workers N``) may share one workspace: only the process
    holding ``runner.lock`` runs jobs, and it also polls the database for jobs queued by the
    others, so each job runs exactly once and survives the death of any process.
    """

    def __init__(
        self,
        store: WorkspaceStore,
        *,
        settings: WorkspaceSettings | None = None,
        grants_of: GrantsOf = _no_grants,
        poll_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.settings = settings or WorkspaceSettings()
        self.grants_of = grants_of
        self.poll_interval = poll_interval
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self._broken: set[str] = set()
        self._active: dict[str, threading.Thread] = {}
        self._active_lock = threading.Lock()

    def start(self) -> None:
        """Start the worker; it resumes every unfinished job once it holds the runner lock."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="htan-cds-imports", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to stop after the current job and wait a little for it."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def submit(self, job_id: str) -> None:
        """Wake the worker for a new job (jobs are found in the database in any case)."""
        self._queue.put(job_id)

    def _hold_lock(self) -> bool:
        if self._lock_fd is not None:
            return True
        fd = os.open(self.store.root / "runner.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _loop(self) -> None:
        while True:
            try:
                woken = self._queue.get(timeout=self.poll_interval)
            except queue.Empty:
                woken = ""
            if woken is None:
                return
            if not self._hold_lock():
                continue
            # Oldest first; RUNNING jobs here were left by a stopped or killed process.
            for job_id in self.store.unfinished_jobs():
                with self._active_lock:
                    if job_id in self._broken or job_id in self._active:
                        continue
                    if len(self._active) >= max(1, self.settings.job_concurrency):
                        break
                    thread = threading.Thread(
                        target=self._run_one, args=(job_id,), name=f"import-{job_id}", daemon=True
                    )
                    self._active[job_id] = thread
                thread.start()

    def _run_one(self, job_id: str) -> None:
        try:
            run_job(self.store, job_id, settings=self.settings, grants_of=self.grants_of)
        except Exception as exc:  # a crash must not kill the runner nor spin on one job
            log.exception("import job %s failed", job_id)
            if not _abort(self.store, job_id, exc):
                with self._active_lock:
                    self._broken.add(job_id)
        finally:
            with self._active_lock:
                self._active.pop(job_id, None)
            self._queue.put("")  # a slot is free: look for the next job now


def run_job(
    store: WorkspaceStore,
    job_id: str,
    *,
    settings: WorkspaceSettings | None = None,
    grants_of: GrantsOf = _no_grants,
) -> None:
    """Run (or resume) one job to FINISHED, acting for the user whose token submitted it."""
    job = store.get_job(job_id)
    if job is None or job.state == "FINISHED":
        return
    store.set_job_state(job_id, "RUNNING")
    pending = [it for it in job.items if it.state == "PENDING"]
    runnable: list[ImportItem] = []
    for item in pending:
        if store.get_project(item.project) is None:
            store.finish_item(
                job_id,
                item.index,
                error=_err(404, sb_errors.PROJECT_NOT_FOUND, f"Project {item.project} not found."),
            )
        else:
            runnable.append(item)
    staging = store.staging_dir / job_id
    if runnable:
        settings = settings or WorkspaceSettings()
        credentials = credentials_for(grants_of(job.token_id), settings.sources)
        fetched = fetch_all(
            [it.drs_uri for it in runnable], staging, credentials=credentials, settings=settings
        )
        for item in runnable:
            result = fetched[item.drs_uri]
            if result.error is not None or result.path is None:
                store.finish_item(job_id, item.index, error=result.error or _unknown())
                continue
            _place(store, job.tags, job.conflict_resolution, item, result.path, result.name)
    store.set_job_state(job_id, "FINISHED")
    shutil.rmtree(staging, ignore_errors=True)


def _place(
    store: WorkspaceStore,
    tags: list[str],
    conflict: str,
    item: ImportItem,
    path: Path,
    drs_name: str | None,
) -> None:
    # Names from users, manifests and DRS servers all pass the one safe-name rule: no
    # separators, "..", control or bidi characters, device names (htan_cds.manifest.names).
    fallback = safe_file_name(item.drs_uri.rstrip("/").rsplit("/", 1)[-1], "unnamed")
    name = safe_file_name(item.name or drs_name or fallback, fallback)
    try:
        stored = adopt(store, path)
        record = store.add_file(
            item.project,
            name,
            stored,
            metadata=item.metadata,
            tags=tags,
            source_drs_uri=item.drs_uri,
            conflict=conflict,
        )
    except sb_errors.SbApiError as exc:
        store.finish_item(item.job_id, item.index, error=_err(exc.status, exc.code, exc.message))
        return
    except HtanCdsError as exc:
        store.finish_item(
            item.job_id, item.index, error=_err(500, sb_errors.IMPORT_ABORTED, str(exc))
        )
        return
    store.finish_item(item.job_id, item.index, file_id=record.id)


def _abort(store: WorkspaceStore, job_id: str, exc: Exception) -> bool:
    """Report an unexpected failure on every unfinished item and finish the job."""
    try:
        job = store.get_job(job_id)
        if job is None:
            return True
        for item in job.items:
            if item.state == "PENDING":
                message = f"import aborted: {type(exc).__name__}: {exc}"
                store.finish_item(
                    job_id, item.index, error=_err(500, sb_errors.IMPORT_ABORTED, message)
                )
        store.set_job_state(job_id, "FINISHED")
    except Exception:
        log.exception("cannot record the failure of import job %s", job_id)
        return False
    return True


def adopt(store: WorkspaceStore, path: Path) -> StoredObject:
    """Move a staged, verified file into the object store by hard link (no second copy)."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    key = sha.hexdigest()
    final = store.objects.path_for(key)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, final)
        except FileExistsError:
            pass
        except OSError:  # another file system: copy instead
            return store.objects.put_file(path)
    store.objects.protect(key)  # imported data may be controlled: 0600 in 0700 folders
    return StoredObject(key=key, size=size, md5=md5.hexdigest(), sha256=key)


def _err(status: int, code: int, message: str) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message}


def _unknown() -> dict[str, Any]:
    return _err(500, sb_errors.IMPORT_ABORTED, "import failed for an unknown reason")
