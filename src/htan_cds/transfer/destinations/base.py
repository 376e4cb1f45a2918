"""The Destination protocol: where verified files go (local folder, S3 bucket, CGC project…).

Bytes are always staged in a local temporary file (under :meth:`Destination.state_dir`) and
checksummed there; only a verified file is committed, so no destination ever shows a partial or
wrong file under its final name.

A destination that moves the bytes itself (CGC imports from DRS server-side) may instead offer
``handoff(rows, progress) -> ImportReport``; the engine then passes it the rows and returns its
report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ExistingFile:
    """What is already at a target path: its size and any digests known without reading it."""

    size: int
    digests: dict[str, str]


@runtime_checkable
class Destination(Protocol):
    """A place an import writes into. Implementations may block; the engine runs them in
    worker threads."""

    scheme: str
    url: str

    def state_dir(self) -> Path:
        """Local folder for the ledger and staged temporary files (same file system as the
        destination for local folders, so the final move is an atomic rename)."""
        ...

    def display(self, rel: str) -> str:
        """How a relative path is shown in reports (a local path, ``s3://…`` URL)."""
        ...

    def existing(self, rel: str) -> ExistingFile | None:
        """The file already at ``rel``, or None."""
        ...

    def digest(self, rel: str, algorithm: str) -> str | None:
        """The hex digest of the file at ``rel`` (may read it); None if unknown."""
        ...

    def commit(self, staged: Path, rel: str, digests: dict[str, str]) -> None:
        """Move a verified staged file to ``rel`` (replacing what is there), atomically where the
        destination allows; ``staged`` is gone afterwards."""
        ...

    def free_space(self) -> int | None:
        """Bytes free where the final files go, or None when unbounded/unknown."""
        ...
