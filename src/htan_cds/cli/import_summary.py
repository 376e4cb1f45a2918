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
        out.append(_file_line(f))
    return out


def _file_line(f: FileResult) -> str:
    cause = f" [{f.cause}]" if f.cause else ""
    where = f" -> {f.path}" if f.path else ""
    row = _row_label(f.row_number)
    return f"{f.status.value}{cause} {row} {f.drs_uri}{where}: {_clip(f.error)}"


def summary_lines(report: ImportReport, *, verbose: bool = False) -> list[str]:
    """Everything the CLI prints after an import (without ``--quiet``)."""
    lines = [totals_line(report), *cause_lines(report)]
    if verbose:
        lines.extend(file_lines(report))
    elif len(lines) > 1:
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
