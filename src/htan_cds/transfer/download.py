"""One object's bytes: fetched into a staged file, hashed as they arrive, judged, committed.

A file is committed under its final name only when no declared checksum mismatched (and, with
``--require-verified``, when one matched); otherwise the staged bytes are dropped and fetched
again up to ``verify_attempts`` times, and the file fails with nothing under its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from htan_cds.drs.checksums import Expected
from htan_cds.drs.models import DrsObject
from htan_cds.errors import ChecksumMismatch, TransferError
from htan_cds.transfer.destinations import LocalDestination
from htan_cds.transfer.fetch import AccessSource, FetchContext, RangeUnsupported, fetch_parts
from htan_cds.transfer.plan import Item
from htan_cds.transfer.verify import Outcome, PartialFile

if TYPE_CHECKING:
    from htan_cds.transfer.engine import _Run

# Objects up to this size are written, hashed and committed on the event loop thread.
SMALL_FILE = 256 << 10


def _ignore(_idx: int) -> None:
    """Part completions of one-part objects are not recorded."""


def _unverifiable(outcome: Outcome, expected: list[Expected]) -> str:
    if not expected:
        return "no declared checksum this client can verify"
    kinds = ", ".join(sorted({e.iana for e in expected}))
    return f"declared {kinds} could not be checked (e.g. the multipart ETag's part size)"


async def download_verified(
    run: _Run,
    item: Item,
    obj: DrsObject,
    expected: list[Expected],
    ctx: FetchContext,
    source: AccessSource,
    staged: Path,
) -> tuple[int, Outcome]:
    """Fetch, hash and commit ``obj`` to ``item.path``; returns (bytes fetched, outcome)."""
    uri = item.row.drs_uri
    assert item.path is not None
    options, ledger = run.options, run.ledger
    part_size = options.part_size
    fetched = 0
    outcome = Outcome()
    # A one-part object is simply fetched again after a crash: no part bookkeeping, which
    # would cost more than the object for the many small files of a cohort.
    multipart = obj.size > part_size
    small = obj.size <= SMALL_FILE
    for _attempt in range(options.verify_attempts):
        done = ledger.start_parts(uri, part_size) if multipart else set()
        if done and not staged.exists():
            # The staged file was removed behind our back: its parts are gone too.
            ledger.reset_parts(uri, part_size)
            done = set()
        partial = PartialFile(staged, obj.size, expected, fresh=not done)
        try:
            for idx in sorted(done):
                start = idx * part_size
                partial.mark_written(start, min(obj.size, start + part_size))
            try:
                fetched += await fetch_parts(
                    ctx,
                    source,
                    partial,
                    part_size,
                    done,
                    (lambda idx: ledger.part_done(uri, idx)) if multipart else _ignore,
                    max_parallel=run.streams_per_file,
                )
            except RangeUnsupported:
                # Start over in one stream: the server cannot serve parts.
                part_size = max(obj.size, 1)
                ledger.reset_parts(uri, part_size)
                partial.close()
                partial = PartialFile(staged, obj.size, expected, fresh=True)
                fetched += await fetch_parts(
                    ctx, source, partial, part_size, set(), _ignore, max_parallel=1
                )
            # Small files were hashed inline already; a thread hop would cost more.
            outcome = partial.finish() if small else await run._blocking(partial.finish)
            run.report.bytes_reread += partial.reread_bytes
        finally:
            partial.close()
        if not outcome.mismatched:
            if options.require_verified and not outcome.verified:
                staged.unlink(missing_ok=True)
                ledger.reset_parts(uri, part_size)
                raise TransferError(f"{_unverifiable(outcome, expected)}; --require-verified")
            # The ledger says it first: after a kill -9 no file is in place unrecorded.
            run.record_finished(uri, outcome)
            if small and isinstance(run.dest, LocalDestination):
                run.dest.commit(staged, item.path, outcome.digests)  # one rename
            else:
                await run._blocking(run.dest.commit, staged, item.path, outcome.digests)
            return fetched, outcome
        # Wrong bytes: forget every part and fetch the object again from scratch.
        if multipart:
            ledger.reset_parts(uri, part_size)
        staged.unlink(missing_ok=True)
    raise ChecksumMismatch(
        f"checksum mismatch after {options.verify_attempts} tries: {outcome.describe_mismatch()}"
    )
