"""``htan-cds import status``: what the ledger of an import says, checked against the disk.

The ledger is read as an in-memory copy (nothing is written beside it), so the command is
right while an import runs and right after one was killed. The engine records a finished file
in the ledger, committed, *before* moving it into place; so after a ``kill -9`` every file in
place is in the ledger, and a file recorded but not yet moved (or removed since) is told apart
by looking at its path: ``staged`` (its verified bytes wait in the state folder; the next run
takes them) or ``missing``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from htan_cds.transfer.causes import cause, classify_text, unreachable_host_text
from htan_cds.transfer.destinations import LocalDestination, open_destination
from htan_cds.transfer.ledger import FINISHED, LEDGER_NAME, Ledger, LedgerEntry
from htan_cds.transfer.options import ImportOptions
from htan_cds.transfer.staging import import_running, partial_path

_EXAMPLES = 3


def _in_place(dest: Any, entry: LedgerEntry) -> bool | None:
    """Whether a finished row's file is at its path (None: not checked, e.g. a bucket)."""
    if not isinstance(dest, LocalDestination) or entry.status not in FINISHED or not entry.path:
        return None
    try:
        found = dest.existing(entry.path)
    except Exception:  # a path that now leads out of DEST counts as not in place
        return False
    return found is not None and (entry.size is None or found.size == entry.size)


def _failures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "failed":
            groups.setdefault(row["cause"], []).append(row)
    out = []
    for code, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        info = cause(code)
        hosts = sorted({h for r in members if (h := unreachable_host_text(r["error"] or ""))})
        out.append(
            {
                "cause": code,
                "title": info.title,
                "hint": info.hint,
                "count": len(members),
                "hosts": hosts,
                "examples": [
                    {"drs_uri": r["drs_uri"], "path": r["path"], "error": r["error"]}
                    for r in members[:_EXAMPLES]
                ],
            }
        )
    return out


def ledger_status(dest: str | Path, options: ImportOptions | None = None) -> dict[str, Any]:
    """What the ledger of an import into ``dest`` knows, checked against the disk.

    Keys: ``ledger`` (its path), ``running`` (an import holds the lock now), ``objects``,
    ``by_status`` and ``bytes_by_status`` (pending, resolved, partial, verified, done, skipped,
    failed, plus ``staged`` and ``missing`` for finished rows whose file is not in place),
    ``in_progress`` (``files`` being fetched, ``bytes_on_disk`` of their recorded parts),
    ``failures`` grouped by cause as in the import report, and ``files`` (one row each, with
    ``in_place`` and ``cause``). Raises UsageError when DEST has no ledger.
    """
    destination = open_destination(str(dest), options)
    state = destination.state_dir()
    path = state / LEDGER_NAME
    ledger = Ledger.open_existing(path)
    try:
        entries = list(ledger.entries())
        parts = ledger.parts_on_disk()
    finally:
        ledger.close()
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    rows = []
    for e in entries:
        in_place = _in_place(destination, e)
        shown = e.status
        if in_place is False:
            staged = partial_path(state, e.drs_uri).exists()
            shown = "staged" if staged else "missing"
        counts[shown] = counts.get(shown, 0) + 1
        sizes[shown] = sizes.get(shown, 0) + (e.size or 0)
        rows.append(
            {
                "drs_uri": e.drs_uri,
                "path": e.path,
                "size": e.size,
                "status": e.status,
                "checksum_type": e.checksum_type,
                "checksum": e.checksum,
                "verified": e.verified,
                "error": e.error,
                "attempts": e.attempts,
                "in_place": in_place,
                "cause": classify_text(e.error) if e.status == "failed" else None,
            }
        )
    statuses = ("pending", "resolved", "partial", "verified", "done", "skipped", "failed")
    by_status = {s: counts.get(s, 0) for s in (*statuses, "staged", "missing")}
    bytes_by_status = {s: sizes.get(s, 0) for s in by_status}
    return {
        "ledger": str(path),
        "destination": destination.url,
        "running": import_running(state),
        "objects": len(entries),
        "by_status": by_status,
        "bytes_by_status": bytes_by_status,
        "in_progress": {
            "files": sum(1 for e in entries if e.status == "partial"),
            "bytes_on_disk": parts,
        },
        "failures": _failures(rows),
        "files": rows,
    }
