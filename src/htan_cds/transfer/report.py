"""The result of an import: one record per file, totals, and the ``--json-report`` file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from htan_cds.transfer.causes import cause, classify_text, is_failure_code, unreachable_host_text

# Exit status of an import that failed no file but left some out because a different file
# was already at their path (--conflict skip): 0 would say "everything is there".
EXIT_CONFLICTS = 3


class FileStatus(StrEnum):
    """Final state of one object in an import."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileResult:
    """Per-file outcome.

    ``verified`` is true only when a declared checksum was computed over the bytes written and
    matched; ``checksum_type`` is that declared type (as the server wrote it, lowercased) and
    ``checksum`` its value, both None when nothing could be verified.
    """

    drs_uri: str
    path: str | None
    size: int | None
    checksum: str | None
    status: FileStatus
    error: str | None = None
    checksum_type: str | None = None
    bytes_fetched: int = 0
    row_number: int | None = None
    verified: bool = False
    # The manifest's bundle URI this file is a member of (None for files named directly).
    bundle: str | None = None
    # Why the file failed or was held back (a code of htan_cds.transfer.causes: auth,
    # not_found, unreachable, checksum, destination, disk_full, conflict, dry_run, …).
    cause: str | None = None

    def __post_init__(self) -> None:
        if self.cause is None and self.error and self.status is not FileStatus.DONE:
            self.cause = classify_text(self.error)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the contract fields first."""
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class ImportReport:
    """What an import did; ``ok`` is true when no file failed."""

    destination: str
    files: list[FileResult] = field(default_factory=list)
    bytes_fetched: int = 0
    bytes_reread: int = 0
    elapsed: float = 0.0
    dry_run: bool = False
    # A dry run's free-space figures: need, free (bytes; free None when unknown), fits.
    space: dict[str, Any] | None = None

    def count(self, status: FileStatus) -> int:
        """How many files ended in ``status``."""
        return sum(1 for f in self.files if f.status is status)

    @property
    def ok(self) -> bool:
        return self.count(FileStatus.FAILED) == 0

    @property
    def conflicts(self) -> int:
        """Files not imported because a different file is already at their path."""
        return sum(1 for f in self.files if f.cause == "conflict")

    @property
    def exit_code(self) -> int:
        """1 when a file failed, else 3 when a conflict held one back, else 0 (the CLI's)."""
        if not self.ok:
            return 1
        return EXIT_CONFLICTS if self.conflicts else 0

    def by_cause(self, *, failures: bool = True, examples: int = 3) -> list[dict[str, Any]]:
        """Failed files (or, with ``failures=False``, held-back ones) grouped by cause, the
        largest group first: ``cause``, ``title``, ``hint``, ``count``, ``hosts`` (for
        unreachable hosts) and up to ``examples`` example rows (row, drs_uri, path, error)."""
        groups: dict[str, list[FileResult]] = {}
        for f in self.files:
            if f.cause is None or is_failure_code(f.cause) != failures:
                continue
            if failures and f.status is not FileStatus.FAILED:
                continue
            groups.setdefault(f.cause, []).append(f)
        out = []
        for code, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            info = cause(code)
            hosts = sorted({h for f in members if (h := unreachable_host_text(f.error or ""))})
            out.append(
                {
                    "cause": code,
                    "title": info.title,
                    "hint": info.hint,
                    "count": len(members),
                    "hosts": hosts,
                    "examples": [
                        {
                            "row": f.row_number,
                            "drs_uri": f.drs_uri,
                            "path": f.path,
                            "error": f.error,
                        }
                        for f in members[:examples]
                    ],
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        """Totals for humans and ``--json``."""
        done_bytes = sum(f.size or 0 for f in self.files if f.status is FileStatus.DONE)
        verified = sum(1 for f in self.files if f.status is FileStatus.DONE and f.verified)
        return {
            "destination": self.destination,
            "files": len(self.files),
            "done": self.count(FileStatus.DONE),
            # Of the done files: how many a declared checksum proved, and how many it could not.
            "verified": verified,
            "unverified": self.count(FileStatus.DONE) - verified,
            "skipped": self.count(FileStatus.SKIPPED),
            "failed": self.count(FileStatus.FAILED),
            "bytes_done": done_bytes,
            "bytes_fetched": self.bytes_fetched,
            # Bytes hashed by reading them back because their part arrived ahead of order.
            "bytes_reread": self.bytes_reread,
            "elapsed_s": round(self.elapsed, 3),
            "rate_bytes_per_s": round(self.bytes_fetched / self.elapsed) if self.elapsed else 0,
            "dry_run": self.dry_run,
            "conflicts": self.conflicts,
            # Failures grouped by cause, each with a hint and up to 3 example rows.
            "failures": self.by_cause(),
            "held_back": self.by_cause(failures=False),
            **({"space": self.space} if self.space is not None else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary plus every file record."""
        return {"summary": self.summary(), "files": [f.to_dict() for f in self.files]}

    def write_json(self, path: Path) -> None:
        """Write the ``--json-report`` file (atomically: a kill never leaves half of it);
        :class:`~htan_cds.errors.UsageError` when it cannot be written."""
        from htan_cds.outputs import write_bytes_atomic

        data = json.dumps(self.to_dict(), indent=2) + "\n"
        write_bytes_atomic(path, data.encode("utf-8"), "--json-report")
