"""Planning an import before any byte moves: where each object goes, and whether it fits.

Paths are decided once per DRS URI and kept in the ledger, so a re-run puts every object where
the first run did, even when the manifest's names clash and got numbered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from htan_cds.drs.models import DrsObject
from htan_cds.errors import HtanCdsError, TransferError
from htan_cds.transfer.destinations import Destination
from htan_cds.transfer.layout import MISSING, Layout, safe_name
from htan_cds.transfer.ledger import Ledger
from htan_cds.transfer.source import SourceRow
from htan_cds.transfer.staging import numbered_path, partial_path
from htan_cds.units import format_size


@dataclass
class Item:
    """One manifest row on its way through the engine."""

    row: SourceRow
    size: int | None = None
    error: str | None = None
    cause: str | None = None  # htan_cds.transfer.causes code of ``error``
    path: str | None = None
    duplicate: bool = False
    obj: DrsObject | None = None  # only while the item is being resolved or fetched
    bundle: bool = False  # a bundle: its members are items of their own


_ROW_LAYOUTS: dict[str, Layout] = {}


def _layout_for(row: SourceRow, layout: Layout) -> Layout:
    """The run's layout, or the row's own when the run keeps the default ``{name}``."""
    if row.layout is None or layout.template != "{name}":
        return layout
    if row.layout not in _ROW_LAYOUTS:
        _ROW_LAYOUTS[row.layout] = Layout(row.layout)
    return _ROW_LAYOUTS[row.layout]


def plan_paths(
    items: list[Item],
    ledger: Ledger,
    layout: Layout,
    claimed: dict[str, str],
    taken: dict[str, str],
) -> None:
    """Give every resolved item a destination path (relative, sanitised, unique).

    ``claimed`` maps paths earlier runs gave to URIs (from the ledger); ``taken`` collects the
    paths of this run. A name two URIs share gets ``_2``, ``_3``… for the later one.
    """
    for item in items:
        if item.obj is None or item.bundle:
            continue
        uri = item.row.drs_uri
        entry = ledger.get(uri)
        if entry is not None and entry.path and claimed.get(entry.path) == uri:
            item.path = entry.path
            taken[entry.path] = uri
            continue
        values = dict(item.row.metadata)
        fallback = item.obj.id.rsplit("/", 1)[-1]
        values.update(
            {
                "name": item.row.name or item.obj.name or fallback,
                "id": fallback,
                "drs_id": item.obj.id,
            }
        )
        try:
            path = _layout_for(item.row, layout).render(values)
        except HtanCdsError as exc:
            item.error = str(exc)  # this row only: the others are planned as usual
            continue
        if item.row.folder:
            # DEST/<bundle name>/<member name>: each folder name made safe like any name.
            path = "/".join([*(safe_name(f, MISSING) for f in item.row.folder), path])
        n = 1
        candidate = path
        while (taken.get(candidate) or claimed.get(candidate, uri)) != uri:
            n += 1
            candidate = numbered_path(path, n)
        taken[candidate] = uri
        item.path = candidate
        ledger.set_path(uri, candidate)
    ledger.commit()


@dataclass(frozen=True)
class SpacePlan:
    """Bytes still to write (``need``) and bytes free where they go (``free``; None when
    unknown or unbounded). For buckets ``need`` is what the files in flight take in staging."""

    need: int
    free: int | None

    @property
    def fits(self) -> bool:
        return self.free is None or self.need <= self.free


def space_plan(
    items: list[Item], ledger: Ledger, state: Path, dest: Destination, concurrency: int
) -> SpacePlan:
    """What the files still missing need and what is free (parts already staged count)."""
    need = 0
    largest = 0
    verified = ledger.uris_with_status("verified", "done")
    free = dest.free_space()
    staged_only = free is None
    if staged_only:
        # Bucket destinations stage files locally: only the files in flight need room there.
        staging = getattr(dest, "staging_free_space", None)
        free = staging() if callable(staging) else None
    for item in items:
        if item.size is None or item.duplicate or item.row.drs_uri in verified:
            continue
        partial = partial_path(state, item.row.drs_uri)
        have = partial.stat().st_size if partial.exists() else 0
        if free is not None and item.size - have > free:
            # A declared size no disk here can hold (a hostile 1 PB object) fails its row only.
            item.error = f"declared size {item.size:,} bytes is more than the {free:,} bytes free"
            item.path = None
            continue
        need += max(0, item.size - have)
        largest = max(largest, item.size)
    if staged_only:
        need = min(need, largest * concurrency)
    return SpacePlan(need, free)


def check_space(
    items: list[Item], ledger: Ledger, state: Path, dest: Destination, concurrency: int
) -> SpacePlan:
    """Refuse to start when the bytes still missing cannot fit where they are written."""
    plan = space_plan(items, ledger, state, dest, concurrency)
    if not plan.fits:
        raise TransferError(
            f"not enough free space for {dest.url}: need {format_size(plan.need)} "
            f"({plan.need:,} bytes), {format_size(plan.free)} free",
            hint="free some space or choose another --to; nothing was fetched",
        )
    return plan
