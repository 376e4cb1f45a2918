"""The import engine: resolve every object, plan paths, then fetch, verify and commit files in
parallel, recording progress in the ledger so a re-run resumes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from htan_cds.drs.client import Credentials, DrsClient
from htan_cds.drs.models import DrsObject
from htan_cds.drs.resolver_cache import CompactResolver
from htan_cds.errors import DrsError, HtanCdsError, Interrupted
from htan_cds.settings import drs_settings
from htan_cds.syncapi import run_sync
from htan_cds.transfer.access import AccessPrefetcher
from htan_cds.transfer.buckets import endpoint_of, expand_bucket_rows, is_bucket_row
from htan_cds.transfer.bundles import expand as expand_bundles
from htan_cds.transfer.causes import classify
from htan_cds.transfer.destinations import Destination, LocalDestination, open_destination
from htan_cds.transfer.download import download_verified
from htan_cds.transfer.fetch import AccessSource, FetchContext
from htan_cds.transfer.layout import Layout
from htan_cds.transfer.ledger import LEDGER_NAME, Ledger
from htan_cds.transfer.messages import (
    dry_run_note,
    finished_fields,
    ledger_failure,
)
from htan_cds.transfer.options import ConflictPolicy, ImportOptions
from htan_cds.transfer.plan import Item as _Item
from htan_cds.transfer.plan import check_space, plan_paths, space_plan
from htan_cds.transfer.progress import ProgressEvent
from htan_cds.transfer.report import FileResult, FileStatus, ImportReport
from htan_cds.transfer.schedule import fetch_all
from htan_cds.transfer.source import SourceRow, read_source
from htan_cds.transfer.staging import lock_state, numbered_path, partial_path
from htan_cds.transfer.verify import Expected, Outcome, expected_checksums

ProgressCallback = Callable[[ProgressEvent], None]


# Rows are resolved, planned and fetched holding at most this many DrsObjects at once: a parsed
# object weighs about 4 KB, and the peak memory must not grow with the manifest.
WINDOW = 1000


def _size(item: _Item) -> int:
    return item.size or 0


class _Run:
    """State of one import run (lives on the event loop thread)."""

    def __init__(
        self,
        dest: Destination,
        options: ImportOptions,
        progress: ProgressCallback | None,
    ) -> None:
        self.dest = dest
        self.options = options
        self.emit: ProgressCallback = progress or (lambda _e: None)
        self.state = dest.state_dir()
        self._lock_fd: int | None = None
        if options.dry_run:
            # A dry run creates nothing, not even the state folder: it plans on a copy of
            # what earlier runs recorded.
            self.ledger = Ledger.snapshot(self.state / LEDGER_NAME)
        else:
            self._lock_fd = lock_state(self.state)
            self.ledger = Ledger(self.state / LEDGER_NAME)
        self.layout = Layout(options.layout)
        # Bucket-prefix rows (IDC series) that could not be listed: URI -> reason.
        self.bucket_errors: dict[str, str] = {}
        self.report = ImportReport(destination=dest.url, dry_run=options.dry_run)
        self.prefetcher: AccessPrefetcher | None = None
        self._first_row: dict[str, _Item] = {}
        self._claimed = self.ledger.claimed_paths()
        self._taken: dict[str, str] = {}
        self.executor = ThreadPoolExecutor(max_workers=max(2, min(8, options.concurrency)))
        # One thread per large body being read from its socket (made only when used).
        self.body_executor = ThreadPoolExecutor(
            max_workers=max(1, options.concurrency), thread_name_prefix="body"
        )
        # Files waiting for a worker and files whose bytes are being fetched: together they
        # decide how many ranged streams one file may use (see :meth:`streams_per_file`).
        self.waiting_files = 0
        self.fetching_files = 0
        # Set once a write found the disk full: files not started yet are not started.
        self.halted: str | None = None

    def streams_per_file(self) -> int:
        """Connections one file may use now (asked again whenever one of its parts ends).

        One in-order stream while the files in play fill at least half the slots: its bytes are
        hashed as they arrive, nothing is read back, and on a CPU-bound link (loopback, 2 cores)
        one stream per file measured faster than two. Once fewer files are left (the tail of an
        import, or a few large files over a slow link) the idle slots are shared out among them.
        """
        files = max(1, self.waiting_files + self.fetching_files)
        concurrency = self.options.concurrency
        if files * 2 >= concurrency:
            return 1
        return concurrency // files

    async def _blocking(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    # ---- resolve -------------------------------------------------------------------------
    async def resolve(self, client: DrsClient, rows: list[SourceRow]) -> list[_Item]:
        """Resolve (or reuse the ledger's resolution of) every row and plan its path, one
        window at a time; objects are dropped from memory once planned."""
        items: list[_Item] = []
        for start in range(0, len(rows), WINDOW):
            window = await self._resolve_window(client, rows[start : start + WINDOW])
            members = expand_bundles(window)
            while members:  # bundles become their members, level by level
                more = await self._resolve_window(client, members)
                window.extend(more)
                members = expand_bundles(more)
            self.plan_paths(window)
            for item in window:
                if item.bundle:
                    self.ledger.finish(item.row.drs_uri, "bundle", error=item.error)
                elif item.obj is not None:
                    item.size = item.obj.size
                item.obj = None
            items.extend(window)
        return items

    def load(self, key: str) -> DrsObject | None:
        """The resolved object of ``key`` from the ledger."""
        entry = self.ledger.get(key)
        if entry is None or not entry.object_json:
            return None
        return DrsObject.model_validate_json(entry.object_json)

    async def _resolve_window(self, client: DrsClient, rows: list[SourceRow]) -> list[_Item]:
        items: list[_Item] = []
        first_row = self._first_row
        need: list[str] = []
        for row in rows:
            item = _Item(row)
            items.append(item)
            if row.drs_uri in first_row:
                item.duplicate = True
                item.error = f"duplicate of row {first_row[row.drs_uri].row.row_number}"
                continue
            first_row[row.drs_uri] = item
            if row.drs_uri in self.bucket_errors:
                item.error = self.bucket_errors[row.drs_uri]
                continue
            entry = self.ledger.get(row.drs_uri)
            if entry is not None and entry.object_json:
                item.obj = DrsObject.model_validate_json(entry.object_json)
            else:
                need.append(row.drs_uri)
        if need:
            resolved = await client.resolve_bulk(need)
            for uri in need:
                result = resolved.get(uri) or DrsError(f"{uri} was not resolved")
                item = first_row[uri]
                if isinstance(result, DrsObject):
                    item.obj = result
                    self.ledger.record_resolution(uri, result.model_dump_json(), result.size)
                else:
                    item.error = str(result)
                    item.cause = classify(result)
        self.ledger.commit()
        return items

    async def expand_buckets(self, client: DrsClient, rows: list[SourceRow]) -> list[SourceRow]:
        """One row per object under each bucket-prefix row (IDC series), listed anonymously;
        their objects are recorded as resolved (see :mod:`htan_cds.transfer.buckets`)."""
        if not any(is_bucket_row(r) for r in rows):
            return rows
        opts = self.options
        expanded, objects, errors = await expand_bucket_rows(
            client.session,
            rows,
            endpoint_of(opts.bucket_endpoint),
            opts.series_lookup,
            opts.request_timeout,
        )
        for uri, obj in objects.items():
            self.ledger.record_resolution(uri, obj.model_dump_json(), obj.size)
        self.ledger.commit()
        failed = {r.row_number: r for r in rows if r.row_number in errors and is_bucket_row(r)}
        for number, row in failed.items():
            self.bucket_errors[row.drs_uri] = errors[number]
        return [*expanded, *failed.values()]

    def plan_paths(self, items: list[_Item]) -> None:
        plan_paths(items, self.ledger, self.layout, self._claimed, self._taken)

    def check_space(self, items: list[_Item]) -> None:
        """Refuse to start when the missing bytes cannot fit; a dry run records the figures."""
        args = (items, self.ledger, self.state, self.dest, self.options.concurrency)
        if self.options.dry_run:
            space = space_plan(*args)
            self.report.space = {"need": space.need, "free": space.free, "fits": space.fits}
        elif self.options.check_free_space:
            check_space(*args)

    # ---- one file ------------------------------------------------------------------------
    def _result(self, item: _Item, status: FileStatus, **kw: Any) -> FileResult:
        res = FileResult(
            drs_uri=item.row.drs_uri,
            path=self.dest.display(item.path) if item.path else None,
            size=item.size,
            checksum=kw.pop("checksum", None),
            status=status,
            row_number=item.row.row_number or None,
            bundle=item.row.bundle,
            **kw,
        )
        kind = {"done": "done", "skipped": "skipped", "failed": "failed"}[status.value]
        self.emit(
            ProgressEvent(
                kind,  # type: ignore[arg-type]
                drs_uri=item.row.drs_uri,
                path=res.path,
                size=res.size,
                error=res.error,
            )
        )
        return res

    async def _same_file(
        self, rel: str, size: int, expected: list[Expected]
    ) -> tuple[bool | None, Expected | None]:
        """Whether a file is at ``rel`` with the same bytes (None when nothing is there), and
        the declared checksum that proved it (None when only the size could be compared)."""
        if isinstance(self.dest, LocalDestination):
            existing = self.dest.existing(rel)  # one lstat: cheaper than a thread hop
        else:
            existing = await self._blocking(self.dest.existing, rel)
        if existing is None:
            return None, None
        if existing.size != size:
            return False, None
        for want in expected:
            have = existing.digests.get(want.algorithm)
            if have is None:
                have = await self._blocking(self.dest.digest, rel, want.algorithm)
            if have is not None:
                return have == want.value, want
        return True, None

    def _finish_same(self, item: _Item, proof: Expected | None) -> FileResult:
        uri = item.row.drs_uri
        kw: dict[str, Any] = {
            "checksum": proof.value if proof else None,
            "checksum_type": proof.iana if proof else None,
            "verified": proof is not None,
        }
        self.ledger.finish(uri, "verified" if proof else "done", **kw)
        return self._result(item, FileStatus.SKIPPED, **kw)

    async def process(self, item: _Item, ctx: FetchContext) -> FileResult:
        obj = self.load(item.row.drs_uri) if item.size is not None else None
        if obj is None or item.path is None:
            error = item.error or "not resolved"
            self.ledger.finish(item.row.drs_uri, "failed", error=error)
            return self._result(item, FileStatus.FAILED, error=error, cause=item.cause)
        uri = item.row.drs_uri
        expected = expected_checksums(
            ((c.type, c.checksum) for c in obj.checksums),
            self.options.algorithms,
            every=self.options.verify_all,
        )
        if self.options.require_verified and not expected:
            declared = ", ".join(sorted({c.type for c in obj.checksums})) or "none"
            msg = f"no checksum this client can verify (declared: {declared}); --require-verified"
            self.ledger.finish(uri, "failed", error=msg)
            return self._result(item, FileStatus.FAILED, error=msg)
        same, proof = await self._same_file(item.path, obj.size, expected)
        if same:
            return self._finish_same(item, proof)
        if same is False:
            policy = self.options.conflict
            if policy is ConflictPolicy.SKIP:
                msg = "a different file is already there (use --conflict rename or overwrite)"
                self.ledger.finish(uri, "skipped", error=msg)
                return self._result(item, FileStatus.SKIPPED, error=msg)
            if policy is ConflictPolicy.RENAME:
                base, n = item.path, 1
                while True:
                    n += 1
                    candidate = numbered_path(base, n)
                    if self._taken.get(candidate, uri) != uri:
                        continue  # planned for another object of this import
                    here, proof = await self._same_file(candidate, obj.size, expected)
                    if here is not False:
                        break
                item.path = candidate
                self._taken[candidate] = uri
                self.ledger.set_path(uri, candidate)
                if here:
                    return self._finish_same(item, proof)
        if self.options.dry_run:
            note = dry_run_note(same, self.options.conflict)
            return self._result(item, FileStatus.SKIPPED, error=note)
        self.emit(ProgressEvent("start", drs_uri=uri, path=item.path, size=obj.size))
        try:
            fetched, outcome = await self._download(item, obj, expected, ctx)
        except HtanCdsError as exc:
            self.ledger.finish(uri, "failed", error=str(exc))
            return self._result(item, FileStatus.FAILED, error=str(exc), cause=classify(exc))
        except (TimeoutError, OSError) as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.ledger.finish(uri, "failed", error=msg)
            return self._result(item, FileStatus.FAILED, error=msg, cause=classify(exc))
        # download_verified recorded it (record_finished) before moving it into place.
        return self._result(
            item, FileStatus.DONE, bytes_fetched=fetched, **finished_fields(outcome)
        )

    def record_finished(self, uri: str, outcome: Outcome) -> None:
        """Record a file as finished, committed at once: called before it moves into place."""
        status = "verified" if outcome.verified else "done"
        self.ledger.finish(uri, status, durable=True, **finished_fields(outcome))

    async def process_within(
        self, item: _Item, ctx: FetchContext, timeout: float | None
    ) -> FileResult:
        """:meth:`process` bounded by ``timeout`` seconds (None: unbounded); a file that runs
        out of time, or whose row cannot be written safely, fails alone with the reason, and
        nothing of it is left under its final name."""
        try:
            if timeout is None:
                return await self.process(item, ctx)
            async with asyncio.timeout(timeout):
                return await self.process(item, ctx)
        except TimeoutError:
            msg, why = f"timed out after {timeout:g} s", "timeout"
        except (HtanCdsError, OSError) as exc:
            # One hostile row (a path through a symlink out of DEST, a name that cannot be
            # written) fails alone, with its reason; the others go on.
            msg, why = str(exc) or type(exc).__name__, classify(exc)
        self.ledger.finish(item.row.drs_uri, "failed", error=msg)
        return self._result(item, FileStatus.FAILED, error=msg, cause=why)

    async def _download(
        self, item: _Item, obj: DrsObject, expected: list[Expected], ctx: FetchContext
    ) -> tuple[int, Outcome]:
        uri = item.row.drs_uri
        staged = partial_path(self.state, uri)
        prefetcher = self.prefetcher
        first = (lambda o: prefetcher.first_url(uri, o)) if prefetcher is not None else None
        source = AccessSource(ctx.client, obj, uri, first)
        self.fetching_files += 1
        try:
            return await download_verified(self, item, obj, expected, ctx, source, staged)
        finally:
            self.fetching_files -= 1


async def bind_token(client: DrsClient, rows: list[SourceRow]) -> None:
    """Bind a ``--token`` given without ``--token-host`` to the manifest's one DRS host (or
    refuse, naming the hosts, before anything is sent)."""
    hosts: set[str] = set()
    for row in rows:
        try:
            hosts.add(client.base_url(await client.normalize(row.drs_uri)))
        except HtanCdsError:
            continue  # the row fails on its own later, with its reason
    client.credentials.bind_default(hosts)


async def import_async(
    source: str | Path | Iterable[Any],
    dest: str | Path,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import every object of ``source`` into ``dest`` (see :func:`run_import`)."""
    opts = options or ImportOptions()
    opts.validate()
    rows = read_source(source)
    destination = open_destination(str(dest), opts)
    preflight = getattr(destination, "preflight", None)
    if callable(preflight):
        # Credentials, endpoint, a writable folder: one clear line before any resolving.
        await asyncio.to_thread(preflight)
    handoff = getattr(destination, "handoff", None)
    if callable(handoff):
        # The destination fetches by itself (e.g. CGC imports from DRS server-side).
        report: ImportReport = await asyncio.to_thread(handoff, rows, progress)
        return report
    started = time.monotonic()
    credentials = opts.credentials or Credentials.build(
        token=opts.token,
        passport_file=opts.passport_file,
        gen3_credentials=opts.gen3_credentials,
        token_hosts=opts.token_hosts,
        passport_hosts=opts.passport_hosts,
    )
    resolver = CompactResolver(cache_path=opts.prefix_cache)
    if opts.identifiers_url:
        resolver.identifiers_url = opts.identifiers_url
    if opts.n2t_url:
        resolver.n2t_url = opts.n2t_url
    run = _Run(destination, opts, progress)
    try:
        settings = drs_settings() if None in (opts.registry, opts.endpoints) else None
        async with DrsClient(
            credentials=credentials,
            registry=opts.registry or (settings.registry if settings else None),
            endpoints=opts.endpoints or (settings.endpoints if settings else None),
            public_cloud=opts.public_cloud or (settings.public_cloud if settings else None),
            compact_resolver=resolver,
            retry=opts.retry,
            per_host=opts.host_limit,
            timeout=opts.request_timeout,
            guard=opts.guard,
            max_json_bytes=opts.max_json_bytes,
        ) as client:
            if credentials.pending:
                await bind_token(client, rows)
            rows = await run.expand_buckets(client, rows)
            items = await run.resolve(client, rows)
            run.plan_paths(items)
            run.check_space(items)
            total = sum(_size(i) for i in items if not i.duplicate)
            run.emit(ProgressEvent("plan", nbytes=total, files=len(items)))
            ctx = FetchContext(
                session=client.session,
                client=client,
                executor=run.executor,
                retry=opts.retry,
                connections=asyncio.Semaphore(opts.concurrency),
                per_host=opts.host_limit,
                on_bytes=lambda uri, n: run.emit(ProgressEvent("bytes", drs_uri=uri, nbytes=n)),
                body_executor=run.body_executor,
            )
            run.report.files = await fetch_all(run, client, items, ctx)
            run.report.bytes_fetched = ctx.bytes_fetched
    except asyncio.CancelledError:
        raise Interrupted(
            "while resolving, before any file was fetched; run the same command again "
            "to resume (objects resolved so far are kept)"
        ) from None
    except sqlite3.Error as exc:
        raise ledger_failure(exc, destination.url) from exc
    finally:
        # A ledger that cannot be written (the disk is full) must not hide why the run
        # stopped; rows not committed are simply redone by the next run.
        with contextlib.suppress(sqlite3.Error):
            run.ledger.close()
        run.executor.shutdown(wait=True)
        run.body_executor.shutdown(wait=True)
        if run._lock_fd is not None:
            os.close(run._lock_fd)
    run.report.elapsed = time.monotonic() - started
    return run.report


def run_import(
    source: str | Path | Iterable[Any],
    dest: str | Path,
    options: ImportOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a manifest (path, ``-``), DRS URIs or manifest rows into ``dest`` (a folder or
    ``s3://bucket/prefix``); ``progress`` receives :class:`ProgressEvent` values.

    Files end ``done`` (fetched; ``verified`` says whether a declared checksum proved the
    bytes), ``skipped`` (already there, or a conflict) or ``failed`` (with the reason); a file
    with wrong bytes is never left under its final name. Works inside a running event loop
    (Jupyter) too; async code should ``await import_async(...)``.
    """
    return run_sync(lambda: import_async(source, dest, options, progress))
