"""The ``cgc:OWNER/PROJECT`` destination: hand a manifest to CGC's own bulk DRS import.

Bytes never pass through this machine: rows go to ``POST /v2/bulk/drs/imports/create`` through
the unmodified ``sevenbridges-python`` SDK, to the real CGC or any SB-compatible endpoint (this
project's workspace). CGC's limits are kept without failing: batches of at most 100 items, at
most 500 files per 5 minutes (a sliding window; a 429 from the server waits until its reset and
retries), polling with exponential backoff. The result is an ImportReport like a local import's.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from htan_cds.errors import HtanCdsError, UsageError, WorkspaceError
from htan_cds.transfer import (
    FileResult,
    FileStatus,
    ImportOptions,
    ImportReport,
    ProgressEvent,
    register_destination,
)
from htan_cds.transfer.destinations import ExistingFile
from htan_cds.transfer.progress import EventKind
from htan_cds.workspace.ratelimit import SlidingWindow

CGC_API_URL = "https://cgc-api.sbgenomics.com/v2"
TOKEN_ENV = "SB_AUTH_TOKEN"
URL_ENV = "SB_API_ENDPOINT"
LIMIT_ENV = "HTAN_CDS_CGC_LIMIT"
WINDOW_ENV = "HTAN_CDS_CGC_WINDOW"
ProgressCallback = Callable[[ProgressEvent], None]
# SB documents PENDING -> RUNNING -> FINISHED; the others are taken as final too, defensively,
# so an aborted job on the server cannot keep a client polling for a day.
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "ABORTED", "COMPLETED"})
_KIND: dict[FileStatus, EventKind] = {
    FileStatus.DONE: "done",
    FileStatus.SKIPPED: "skipped",
    FileStatus.FAILED: "failed",
}


@dataclass
class CgcLimits:
    """CGC's published limits (override to compress time in tests)."""

    batch_size: int = 100
    files_per_window: int = 500
    window_seconds: float = 300.0
    poll_initial: float = 1.0
    poll_max: float = 30.0
    poll_timeout: float = 24 * 3600.0
    submit_attempts: int = 8

    @classmethod
    def from_env(cls) -> CgcLimits:
        """Defaults, with ``HTAN_CDS_CGC_LIMIT`` / ``HTAN_CDS_CGC_WINDOW`` when set."""
        limits = cls()
        try:
            if os.environ.get(LIMIT_ENV):
                limits.files_per_window = int(os.environ[LIMIT_ENV])
            if os.environ.get(WINDOW_ENV):
                limits.window_seconds = float(os.environ[WINDOW_ENV])
        except ValueError as exc:
            raise UsageError(f"{LIMIT_ENV}/{WINDOW_ENV} must be numbers: {exc}") from exc
        return limits


@dataclass
class CgcStats:
    """What the run did against the API (batches, waits, 429s absorbed)."""

    batches: list[int] = field(default_factory=list)
    submit_times: list[float] = field(default_factory=list)
    rate_limited: int = 0
    waited_s: float = 0.0
    polls: int = 0
    job_ids: list[str] = field(default_factory=list)


def _describe(exc: Any) -> str:
    """One line for an SDK error; a body without SB's fields means the URL is not an SB API."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if not message:
        return f"HTTP {status}: the endpoint did not answer like an SB API (check --cgc-url)"
    return f"{message} (HTTP {status}, code {code})" if status else str(message)


def parse_target(dest: str) -> str:
    """``cgc:owner/project`` -> ``owner/project`` (raises UsageError otherwise)."""
    if not dest.lower().startswith("cgc:"):
        raise UsageError(f"{dest!r} is not a cgc: destination")
    project = dest[4:].strip().strip("/")
    if project.count("/") != 1 or not all(project.split("/")):
        raise UsageError(f"cgc: destination must be cgc:OWNER/PROJECT, not {dest!r}")
    return project


def _credentials(url: str | None, token: str | None) -> tuple[str, str]:
    url = url or os.environ.get(URL_ENV)
    token = token or os.environ.get(TOKEN_ENV)
    if not token or not url:
        # ~/.sevenbridges/credentials, profile "default" (or SB_PROFILE), as the SDK reads it.
        try:
            import sevenbridges as sbg

            config = sbg.Config(profile=os.environ.get("SB_PROFILE", "default"))
            url = url or config.api_endpoint
            token = token or config.auth_token
        except Exception:  # the SDK raises bare SbgError/KeyError for a missing profile
            pass
    if not token:
        raise UsageError(f"no CGC token: set {TOKEN_ENV} or add one to ~/.sevenbridges/credentials")
    return (url or CGC_API_URL).rstrip("/"), token


def _api(url: str, token: str) -> Any:
    from urllib.parse import urlsplit

    import sevenbridges as sbg

    from htan_cds.drs.uri import is_loopback_host

    host = urlsplit(url).hostname or ""
    # The SDK refuses plain http unless debug=True; allow it only for a loopback workspace.
    insecure_ok = url.startswith("http://") and is_loopback_host(host)
    if url.startswith("http://") and not insecure_ok:
        raise UsageError(f"--cgc-url must be https (plain http only on loopback): {url}")
    return sbg.Api(url=url, token=token, debug=insecure_ok, error_handlers=[])


class CgcImporter:
    """Runs one manifest into one CGC project."""

    def __init__(
        self,
        project: str,
        *,
        url: str | None = None,
        token: str | None = None,
        limits: CgcLimits | None = None,
        limiter: SlidingWindow | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.project = project
        self.url, token = _credentials(url, token)
        self.api = _api(self.url, token)
        self.limits = limits or CgcLimits.from_env()
        self.sleep = sleep
        self.limiter = limiter or SlidingWindow(
            self.limits.files_per_window, self.limits.window_seconds, sleep=sleep
        )
        self.stats = CgcStats()

    def run(
        self,
        rows: Sequence[Any],
        *,
        conflict: str = "SKIP",
        tags: Sequence[str] = (),
        progress: ProgressCallback | None = None,
        dry_run: bool = False,
    ) -> ImportReport:
        """Submit ``rows`` in batches, wait for every job, report per file.

        ``dry_run`` checks the project and the rows and submits nothing (valid rows are
        reported ``skipped``)."""
        from sevenbridges.errors import SbgError

        emit = progress or (lambda _e: None)
        started = time.monotonic()
        report = ImportReport(destination=f"cgc:{self.project}")
        try:
            self.api.projects.get(id=self.project)
        except SbgError as exc:
            raise WorkspaceError(f"cgc:{self.project}: {_describe(exc)}") from exc
        results: list[FileResult | None] = [None] * len(rows)
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, row in enumerate(rows):
            item, error = self._item(row)
            if error is not None:
                results[i] = self._failed(row, error)
            else:
                valid.append((i, item))
        # CGC moves the bytes, so there is no byte total: the display counts files.
        emit(ProgressEvent("plan", files=len(rows)))
        for res in results:
            if res is not None:
                emit(ProgressEvent("failed", drs_uri=res.drs_uri, error=res.error))
        if dry_run:
            for i, item in valid:
                results[i] = FileResult(
                    drs_uri=str(rows[i].drs_uri),
                    path=f"cgc:{self.project}/{item.get('name') or '(DRS name)'}",
                    size=None,
                    checksum=None,
                    status=FileStatus.SKIPPED,
                    error="dry run: not submitted",
                    row_number=getattr(rows[i], "row_number", None) or None,
                )
            report.files = [r for r in results if r is not None]
            report.dry_run = True
            return report
        outstanding: deque[tuple[str, list[int]]] = deque()

        def collect(job: Any, indices: list[int]) -> None:
            for k, i in enumerate(indices):
                entry = job.result[k] if job.result and k < len(job.result) else None
                res = self._result(rows[i], entry)
                results[i] = res
                emit(ProgressEvent(_KIND[res.status], drs_uri=res.drs_uri, size=res.size))

        size = self.limits.batch_size
        for start in range(0, len(valid), size):
            batch = valid[start : start + size]
            # While the window is full, look at the oldest job so results come in as they are
            # ready (a long import shows progress instead of waiting for the last batch).
            while (delay := self.limiter.delay_for(len(batch))) > 0:
                if outstanding:
                    job = self._poll(outstanding[0][0])
                    if job is not None:
                        collect(job, outstanding.popleft()[1])
                        continue
                step = min(delay, self.limits.poll_max)
                self.stats.waited_s += step
                self.sleep(step)
            job_id = self._submit([item for _, item in batch], conflict, list(tags))
            outstanding.append((job_id, [i for i, _ in batch]))
        while outstanding:
            job_id, indices = outstanding.popleft()
            collect(self._wait(job_id), indices)
        report.files = [r for r in results if r is not None]
        report.elapsed = time.monotonic() - started
        return report

    def _item(self, row: Any) -> tuple[dict[str, Any], str | None]:
        from htan_cds.drs.uri import normalize_drs_uri
        from htan_cds.settings import drs_settings

        try:
            # CGC takes hostname-based URIs only; compact dg.4DFC forms are expanded first.
            uri = str(normalize_drs_uri(str(row.drs_uri).strip(), drs_settings().registry))
        except HtanCdsError as exc:
            return {}, f"not a DRS URI CGC accepts: {exc}"
        item: dict[str, Any] = {"drs_uri": uri, "project": self.project}
        if getattr(row, "name", None):
            item["name"] = row.name
        metadata = {k: v for k, v in (getattr(row, "metadata", None) or {}).items() if k and v}
        if metadata:
            item["metadata"] = metadata
        return item, None

    def _submit(self, items: list[dict[str, Any]], conflict: str, tags: list[str]) -> str:
        from sevenbridges.errors import SbgError, TooManyRequests

        self.stats.waited_s += self.limiter.wait(len(items))
        delay = self.limits.poll_initial
        for attempt in range(1, self.limits.submit_attempts + 1):
            try:
                job = self.api.drs_imports.bulk_submit(
                    [dict(i) for i in items], tags=tags or None, conflict_resolution=conflict
                )
            except TooManyRequests:
                # The server's window disagrees with ours: wait out its reset, then retry.
                self.stats.rate_limited += 1
                wait = self._reset_wait(delay)
                self.limiter.penalise(wait)
                self.stats.waited_s += wait
                self.sleep(wait)
                delay = min(delay * 2, self.limits.poll_max)
                continue
            except SbgError as exc:
                status = getattr(exc, "status", None)
                if isinstance(status, int) and 400 <= status < 500:
                    raise WorkspaceError(
                        f"cgc:{self.project}: import refused: {_describe(exc)}"
                    ) from exc
                if attempt == self.limits.submit_attempts:
                    raise WorkspaceError(f"cgc:{self.project}: {_describe(exc)}") from exc
                self.sleep(delay)
                delay = min(delay * 2, self.limits.poll_max)
                continue
            # Counted once the server has answered: its clock stamped the batch no later, so
            # our window never runs ahead of the server's.
            self.limiter.record(len(items))
            self.stats.batches.append(len(items))
            self.stats.submit_times.append(time.monotonic())
            self.stats.job_ids.append(str(job.id))
            return str(job.id)
        raise WorkspaceError(f"cgc:{self.project}: still rate limited after {attempt} tries")

    def _reset_wait(self, fallback: float) -> float:
        """Seconds until the server's ``X-RateLimit-Reset``, never more than one window: a
        server cannot hold the import for longer than its own published window."""
        reset = getattr(self.api, "_reset", None)
        try:
            wait = max(float(reset) - time.time(), 0.0) + 0.05 if reset else fallback
        except (TypeError, ValueError):
            wait = fallback
        return min(wait, self.limits.window_seconds)

    def _poll(self, job_id: str) -> Any | None:
        """The job if it is FINISHED now, else None (one request)."""
        from sevenbridges.errors import SbgError

        self.stats.polls += 1
        try:
            job = self.api.drs_imports.bulk_get(job_id)
        except SbgError:
            return None
        return job if str(job.state).upper() in TERMINAL_STATES else None

    def _wait(self, job_id: str) -> Any:
        from sevenbridges.errors import SbgError

        delay = self.limits.poll_initial
        deadline = time.monotonic() + self.limits.poll_timeout
        while True:
            self.stats.polls += 1
            try:
                job = self.api.drs_imports.bulk_get(job_id)
            except SbgError as exc:
                status = getattr(exc, "status", None)
                if isinstance(status, int) and 400 <= status < 500 and status != 429:
                    raise WorkspaceError(f"import {job_id}: {_describe(exc)}") from exc
                job = None
            if job is not None and str(job.state).upper() in TERMINAL_STATES:
                return job
            if time.monotonic() > deadline:
                raise WorkspaceError(f"import {job_id} not finished after polling timeout")
            self.sleep(delay)
            delay = min(delay * 1.5, self.limits.poll_max)

    def _failed(self, row: Any, error: str) -> FileResult:
        return FileResult(
            drs_uri=str(row.drs_uri),
            path=None,
            size=None,
            checksum=None,
            status=FileStatus.FAILED,
            error=error,
            row_number=getattr(row, "row_number", None) or None,
        )

    def _result(self, row: Any, entry: Any) -> FileResult:
        if entry is None or (entry.error is None and entry.resource is None):
            return self._failed(row, "the import ended without a result for this item")
        if entry.error is not None:
            err = entry.error
            message = f"{err.status} (code {err.code}): {err.message}"
            skipped = err.status == 409
            return FileResult(
                drs_uri=str(row.drs_uri),
                path=None,
                size=None,
                checksum=None,
                status=FileStatus.SKIPPED if skipped else FileStatus.FAILED,
                error=message,
                row_number=getattr(row, "row_number", None) or None,
            )
        resource = entry.resource
        return FileResult(
            drs_uri=str(row.drs_uri),
            path=f"cgc:{resource.project}/{resource.name} ({resource.id})",
            size=resource.size,
            checksum=None,
            status=FileStatus.DONE,
            row_number=getattr(row, "row_number", None) or None,
        )


class CgcDestination:
    """The registry's face of ``cgc:``: CGC fetches the bytes itself, so nothing is committed
    locally; :meth:`handoff` runs the whole import (see :func:`run_cgc_import`)."""

    scheme = "cgc"

    def __init__(self, dest: str, options: ImportOptions, cgc_url: str | None = None) -> None:
        self.project = parse_target(dest)
        self.url = f"cgc:{self.project}"
        self.options = options
        self.cgc_url = cgc_url

    def handoff(
        self, rows: Sequence[Any], progress: ProgressCallback | None = None
    ) -> ImportReport:
        """Import ``rows`` through CGC's bulk DRS import."""
        importer = CgcImporter(self.project, url=self.cgc_url)
        return importer.run(
            rows,
            conflict=_conflict(self.options),
            progress=progress,
            dry_run=bool(self.options.dry_run),
        )

    def state_dir(self) -> Path:
        """Unused by CGC imports (nothing is staged locally); a cache folder for the protocol."""
        return Path.home() / ".cache" / "htan-cds" / "cgc"

    def display(self, rel: str) -> str:
        """``cgc:owner/project/rel``."""
        return f"cgc:{self.project}/{rel}"

    def existing(self, rel: str) -> ExistingFile | None:
        """Unknown locally: CGC applies the naming-conflict policy itself."""
        return None

    def digest(self, rel: str, algorithm: str) -> str | None:
        """Unknown locally."""
        return None

    def commit(self, staged: Path, rel: str, digests: dict[str, str]) -> None:
        """Refused: CGC fetches bytes from DRS itself; nothing is uploaded."""
        raise WorkspaceError(
            "cgc: destinations are imported by CGC from DRS, not uploaded; "
            "use htan_cds.workspace.cgc_destination.run_cgc_import"
        )

    def free_space(self) -> int | None:
        """Unbounded (CGC storage)."""
        return None


def _conflict(options: ImportOptions | None) -> str:
    value = getattr(getattr(options, "conflict", None), "value", None) or "skip"
    return str(value).upper()


def run_cgc_import(
    source: str | Path | Iterable[Any],
    dest: str | Path,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
    *,
    cgc_url: str | None = None,
    token: str | None = None,
    tags: Sequence[str] = (),
    limits: CgcLimits | None = None,
) -> ImportReport:
    """``run_import`` for ``cgc:OWNER/PROJECT``: same sources, same report."""
    from htan_cds.transfer.source import read_source

    project = parse_target(str(dest))
    rows = read_source(source)
    importer = CgcImporter(project, url=cgc_url, token=token, limits=limits)
    return importer.run(
        rows,
        conflict=_conflict(options),
        tags=tags,
        progress=progress,
        dry_run=bool(options and options.dry_run),
    )


def cgc_runner(cgc_url: str | None) -> Callable[..., ImportReport]:
    """A drop-in for ``run_import`` bound to ``--cgc-url`` (used by ``htan-cds import``)."""

    def run(
        source: str | Path | Iterable[Any],
        dest: str | Path,
        options: ImportOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportReport:
        return run_cgc_import(source, dest, options, progress, cgc_url=cgc_url)

    return run


register_destination("cgc", lambda dest, options: CgcDestination(dest, options))
