"""What the import engine says about files in words: a dry run's note, the line after Ctrl-C,
the checksum fields of a finished file."""

from __future__ import annotations

from typing import Any

from htan_cds.errors import TransferError
from htan_cds.transfer.options import ConflictPolicy
from htan_cds.transfer.report import FileResult, FileStatus
from htan_cds.transfer.verify import Outcome
from htan_cds.units import format_size


def finished_fields(outcome: Outcome) -> dict[str, Any]:
    """``checksum``, ``checksum_type`` and ``verified`` of a fetched file, for its ledger row
    and its report record."""
    checked = outcome.checked
    return {
        "checksum": checked.value if checked else None,
        "checksum_type": checked.iana if checked else None,
        "verified": outcome.verified,
    }


def interrupted_message(results: list[FileResult | None], fetched: int) -> str:
    """One line after Ctrl-C: how much was done, and that running again resumes."""
    finished = [r for r in results if r is not None]
    arrived = sum(1 for r in finished if r.status is FileStatus.DONE)
    there = sum(1 for r in finished if r.status is FileStatus.SKIPPED and not r.error)
    failed = sum(1 for r in finished if r.status is FileStatus.FAILED)
    extra = f", {there:,} already there" if there else ""
    extra += f", {failed:,} failed" if failed else ""
    return (
        f"{arrived:,} of {len(results):,} files imported{extra} ({format_size(fetched)} "
        "fetched); run the same command again to resume — finished files are kept and "
        "files in progress continue from their recorded parts"
    )


def dry_run_note(same: bool | None, policy: ConflictPolicy) -> str:
    """What a dry run would have done with a file it did not fetch."""
    if same is None:
        return "dry run: would be fetched"
    if policy is ConflictPolicy.RENAME:
        return "dry run: would be fetched under a new name (a different file has its name)"
    return "dry run: would be fetched, replacing a different file (--conflict overwrite)"


def ledger_failure(exc: BaseException, destination: str) -> TransferError:
    """The import stopped because its ledger could not be written (usually a full disk)."""
    if "full" in str(exc).lower():
        return TransferError(
            f"no space left at {destination} (the import ledger cannot be written)",
            hint="free some space and run the same command again to resume",
        )
    return TransferError(f"the import ledger of {destination} cannot be written: {exc}")
