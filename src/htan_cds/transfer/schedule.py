"""The order files are fetched in and the workers that fetch them: largest first, at most
``--concurrency`` at a time; no new file starts once the disk is full; Ctrl-C ends the run with
one line saying what was done."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from htan_cds.drs.client import DrsClient
from htan_cds.errors import Interrupted
from htan_cds.transfer.access import AccessPrefetcher
from htan_cds.transfer.fetch import FetchContext
from htan_cds.transfer.messages import interrupted_message
from htan_cds.transfer.plan import Item
from htan_cds.transfer.report import FileResult, FileStatus

if TYPE_CHECKING:
    from htan_cds.transfer.engine import _Run


def _size(item: Item) -> int:
    return item.size or 0


async def fetch_all(
    run: _Run, client: DrsClient, items: list[Item], ctx: FetchContext
) -> list[FileResult]:
    """Process every planned item; one result per item (in manifest order), except bundles
    whose members all stand on their own."""
    opts = run.options
    results: list[FileResult | None] = [None] * len(items)
    # Largest first: the long transfers start early and the small ones fill the gaps.
    order = sorted(range(len(items)), key=lambda i: -_size(items[i]))
    run.prefetcher = AccessPrefetcher(
        client, [items[i].row.drs_uri for i in order if items[i].size is not None], run.load
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in order:
        queue.put_nowait(i)
    run.waiting_files = queue.qsize()

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            run.waiting_files = queue.qsize()
            item = items[i]
            if item.duplicate:
                results[i] = run._result(item, FileStatus.SKIPPED, error=item.error)
                continue
            if item.bundle:
                # Its members are entries of their own; the bundle is reported only
                # when some members could not be (the reasons are in its error).
                if item.error:
                    results[i] = run._result(item, FileStatus.FAILED, error=item.error)
                continue
            if run.halted is not None:
                # The disk is full: starting more files would only fail them slower.
                results[i] = run._result(
                    item, FileStatus.FAILED, error=run.halted, cause="disk_full"
                )
                continue
            results[i] = done = await run.process_within(item, ctx, opts.item_timeout)
            if done.cause == "disk_full" and run.halted is None:
                run.halted = f"not started: {done.error}"

    try:
        await asyncio.gather(*(worker() for _ in range(opts.concurrency)))
    except asyncio.CancelledError:
        # Ctrl-C (asyncio.run cancels the main task): say what was done, in one line.
        raise Interrupted(interrupted_message(results, ctx.bytes_fetched)) from None
    return [r for r in results if r is not None]
