"""Progress events for the Python API. The rich display the CLI shows on stderr lives in
:mod:`htan_cds.transfer.rich_progress` (imported only when drawn: ``--quiet`` and the Python API
never pay for rich's progress machinery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from htan_cds.transfer.rich_progress import BytesColumn, RateColumn, RichProgress

EventKind = Literal["plan", "start", "bytes", "done", "skipped", "failed"]


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened: ``plan`` (totals known), ``start``/``bytes``/``done``/
    ``skipped``/``failed`` for one file. ``nbytes`` is the increment for ``bytes`` events and
    the total for ``plan``."""

    kind: EventKind
    drs_uri: str | None = None
    path: str | None = None
    size: int | None = None
    nbytes: int = 0
    files: int = 0
    error: str | None = None


__all__ = ["BytesColumn", "EventKind", "ProgressEvent", "RateColumn", "RichProgress"]

_RICH = frozenset({"BytesColumn", "RateColumn", "RichProgress"})


def __getattr__(name: str) -> Any:
    # PEP 562: the display classes stay importable from here, loaded on first use.
    if name in _RICH:
        from htan_cds.transfer import rich_progress

        return getattr(rich_progress, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
