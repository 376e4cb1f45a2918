"""What ``htan-cds import`` says at the end: totals, then failures grouped by cause (each with
its count, a hint and at most three example rows), then conflicts; per-file lines only with
``--verbose`` (and always in ``--json-report``)."""

from __future__ import annotations

from typing import Any

from htan_cds.transfer.report import FileResult, FileStatus, ImportReport
from htan_cds.units import format_rate, format_size

_EXAMPLES = 3
_ERROR_WIDTH = 160


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _clip(text: str | None) -> str:
    one_line = " ".join((text or "").split())
    return one_line if len(one_line) <= _ERROR_WIDTH else one_line[: _ERROR_WIDTH - 1] + "…"


def _row_label(row: int | None) -> str:
    return f"row {row}" if row else "row ?"


def _example(example: dict[str, Any], *, with_path: bool) -> str:
    where = f" -> {example['path']}" if with_path and example.get("path") else ""
    tail = "" if with_path else f": {_clip(example.get('error'))}"
    return f"    {_row_label(example.get('row'))} {example['drs_uri']}{where}{tail}"


def totals_line(report: ImportReport) -> str:
    """Counts, bytes, time and rate, e.g. ``3 done (3 verified, 0 unverified), 0 skipped, …``."""
    s = report.summary()
    return (
        f"{s['done']} done ({s['verified']} verified, {s['unverified']} unverified), "
        f"{s['skipped']} skipped, {s['failed']} failed; "
        f"{format_size(s['bytes_fetched'])} fetched in {s['elapsed_s']:.1f}s "
        f"({format_rate(s['rate_bytes_per_s'])}) into {report.destination}"
    )


def _group_title(group: dict[str, Any]) -> str:
    hosts = group.get("hosts") or []
    shown = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    return f"{group['title']} ({shown})" if shown else str(group["title"])


def cause_lines(report: ImportReport) -> list[str]:
    """Failures by cause, then files held back (conflicts, duplicates), with examples."""
    lines: list[str] = []
    for group in report.by_cause(examples=_EXAMPLES):
        lines.append(f"{group['count']:,} failed: {_group_title(group)} — {group['hint']}")
        lines.extend(_example(e, with_path=False) for e in group["examples"])
        if group["count"] > _EXAMPLES:
            lines.append(f"    … and {group['count'] - _EXAMPLES:,} more")
    for group in report.by_cause(failures=False, examples=_EXAMPLES):
        if group["cause"] == "dry_run":
            continue  # the dry-run plan lists them
        noun = "conflict" if group["cause"] == "conflict" else "file"
        lines.append(
            f"{_plural(group['count'], noun)}: {group['title']} — {group['hint']}"
            if noun == "conflict"
            else f"{_plural(group['count'], noun)} {group['title']}: {group['hint']}"
        )
        lines.extend(_example(e, with_path=True) for e in group["examples"])
        if group["count"] > _EXAMPLES:
            lines.append(f"    … and {group['count'] - _EXAMPLES:,} more")
    return lines


def file_lines(report: ImportReport) -> list[str]:
    """One line per file that did not simply arrive (``--verbose``)."""
    out = []
    for f in report.files:
        if f.status is FileStatus.DONE or (f.status is FileStatus.SKIPPED and not f.error):
            continue
        if f.cause == "dry_run":
            continue  # the plan lists them with their paths
        out.append(_file_line(f))
    return out


def _file_line(f: FileResult) -> str:
    cause = f" [{f.cause}]" if f.cause else ""
    where = f" -> {f.path}" if f.path else ""
    row = _row_label(f.row_number)
    return f"{f.status.value}{cause} {row} {f.drs_uri}{where}: {_clip(f.error)}"


_PLAN_PATHS = 20


def _plan_row(label: str, files: list[FileResult], note: str = "") -> str | None:
    if not files:
        return None
    sizes = [f.size for f in files if f.size is not None]
    size = format_size(sum(sizes)) if sizes else ""
    tail = f"  {note}" if note else ""
    return f"  {label:<16}{_plural(len(files), 'file'):>12}  {size:>10}{tail}"


def plan_lines(report: ImportReport, *, verbose: bool = False) -> list[str]:
    """A dry run's plan: what would be fetched, skipped or held back, where, and whether it
    fits in the free space."""
    fetch = [f for f in report.files if f.cause == "dry_run"]
    there = [f for f in report.files if f.status is FileStatus.SKIPPED and f.cause is None]
    conflicts = [f for f in report.files if f.cause == "conflict"]
    twice = [f for f in report.files if f.cause == "duplicate"]
    failed = [f for f in report.files if f.status is FileStatus.FAILED]
    rows = [
        _plan_row("would fetch", fetch),
        _plan_row("already there", there, "identical: skipped"),
        _plan_row("would conflict", conflicts, "a different file is there: not fetched"),
        _plan_row("listed twice", twice, "fetched once"),
        _plan_row("cannot import", failed, "causes below"),
    ]
    lines = [
        f"Dry run (nothing fetched, nothing written): {_plural(len(report.files), 'file')} "
        f"for {report.destination}",
        *(r for r in rows if r),
    ]
    space = report.space or {}
    if space:
        need = format_size(space.get("need"))
        free = space.get("free")
        verdict = "they fit" if space.get("fits") else "they do NOT fit"
        where = (
            "free where files are staged"
            if report.destination.startswith("s3://")
            else ("free there")
        )
        lines.append(
            f"  space: {need} to write, {format_size(free)} {where}: {verdict}"
            if free is not None
            else f"  space: {need} to write (free space unknown)"
        )
    shown = fetch if verbose else fetch[:_PLAN_PATHS]
    if shown:
        more = "" if len(shown) == len(fetch) else f" (first {len(shown)}; --verbose for all)"
        lines.append(f"  paths they would get{more}:")
        lines.extend(f"    {format_size(f.size):>10}  {f.path}" for f in shown)
    return lines


def summary_lines(report: ImportReport, *, verbose: bool = False) -> list[str]:
    """Everything the CLI prints after an import (without ``--quiet``)."""
    head = plan_lines(report, verbose=verbose) if report.dry_run else [totals_line(report)]
    lines = [*head, *cause_lines(report)]
    if verbose:
        lines.extend(file_lines(report))
    elif len(lines) > len(head):
        lines.append("Every file's line: --verbose, or --json-report FILE.")
    return lines


def quiet_line(report: ImportReport) -> str | None:
    """The one line ``--quiet`` still prints when a file failed or conflicted (else None)."""
    s = report.summary()
    if not s["failed"] and not report.conflicts:
        return None
    parts = [f"{s['failed']:,} of {s['files']:,} files failed"]
    groups = report.by_cause()
    if groups:
        parts[0] += " (" + ", ".join(f"{g['count']:,} {_group_title(g)}" for g in groups) + ")"
    if report.conflicts:
        parts.append(
            f"{_plural(report.conflicts, 'conflict')}: a different file is already there "
            "(--conflict rename|overwrite)"
        )
    return f"import into {report.destination}: " + "; ".join(parts) + "; details: --verbose"
