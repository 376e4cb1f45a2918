"""Manifests of a selection that mixes sources: each file in the form its source needs.

CDS and local files are DRS objects (any DRS manifest format); IDC series are bucket prefixes
that only an ``s5cmd`` manifest can carry (``cp s3://bucket/<uuid>/* DEST``). ``manifest
create`` writes the DRS rows to the requested format and the IDC rows to an s5cmd manifest
beside it; a row that fits neither output is reported with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IDC_SOURCE = "IDC"
S5CMD = "s5cmd"


@dataclass
class SplitManifest:
    """A manifest table split by the form its rows need."""

    drs: Any  # Arrow table of the DRS-addressed rows (CDS, local)
    idc: Any  # Arrow table of the IDC series
    not_written: list[dict[str, Any]] = field(default_factory=list)


def split_by_source(table: Any) -> SplitManifest:
    """Rows of IDC series apart from DRS-addressed rows (by the ``source`` column)."""
    import pyarrow.compute as pc

    is_idc = pc.fill_null(pc.equal(table.column("source"), IDC_SOURCE), False)
    return SplitManifest(drs=table.filter(pc.invert(is_idc)), idc=table.filter(is_idc))


def series_destination(collection: Any, participant: Any, series: Any) -> str:
    """``<collection>/<participant>/<series>/``: where an import puts a series' objects."""
    parts = [str(v) if v else "unknown" for v in (collection, participant, series)]
    return "/".join(parts) + "/"


def s5cmd_rows(table: Any) -> list[Any]:
    """``ManifestRow`` per IDC series: its bucket URL, copied into its series folder."""
    from htan_cds.manifest import ManifestRow

    cols = {
        name: table.column(name).to_pylist()
        for name in ("drs_uri", "name", "collection_id", "HTAN_Participant_ID", "SeriesInstanceUID")
    }
    return [
        ManifestRow(
            uri,
            name,
            {"s5cmd_command": "cp", "destination": series_destination(coll, pid, series)},
            i,
        )
        for i, (uri, name, coll, pid, series) in enumerate(
            zip(
                cols["drs_uri"],
                cols["name"],
                cols["collection_id"],
                cols["HTAN_Participant_ID"],
                cols["SeriesInstanceUID"],
                strict=True,
            ),
            start=1,
        )
    ]


def refused(table: Any, reason: str) -> list[dict[str, Any]]:
    """One report entry per row of ``table`` that the chosen output cannot carry."""
    return [
        {"drs_id": d, "drs_uri": u, "name": n, "source": s, "reason": reason}
        for d, u, n, s in zip(
            table.column("drs_id").to_pylist(),
            table.column("drs_uri").to_pylist(),
            table.column("name").to_pylist(),
            table.column("source").to_pylist(),
            strict=True,
        )
    ]


@dataclass
class MixedResult:
    """What :func:`write_mixed` wrote: rows in the main output, companions, refused rows."""

    rows: int
    findings: list[Any]
    companions: list[dict[str, Any]]
    not_written: list[dict[str, Any]]


_NOT_BUCKET = (
    "a DRS object, not a bucket prefix: s5cmd cannot fetch it; write it with --format cgc "
    "(or another DRS format)"
)
_NOT_DRS = (
    "an IDC series (bucket prefix), which DRS manifests cannot carry; give -o FILE to get "
    "FILE.idc.s5cmd beside it, or use --format s5cmd"
)


def write_mixed(
    table: Any,
    manifest_format: str,
    output: Path | None,
    prepare: Callable[[Any], Any],
    write: Callable[..., int],
) -> MixedResult:
    """Write ``table`` (a manifest table) in ``manifest_format`` to ``output`` (stdout when
    None), each row in the form its source needs; see the module docstring."""
    import sys

    split = split_by_source(table)
    companions: list[dict[str, Any]] = []
    not_written: list[dict[str, Any]] = []
    findings: list[Any] = []
    if manifest_format == S5CMD:
        rows = s5cmd_rows(split.idc)
        not_written = refused(split.drs, _NOT_BUCKET)
    else:
        prepared = prepare(split.drs)
        rows, findings = prepared.rows, list(prepared.findings)
        if split.idc.num_rows:
            if output is None:
                not_written = refused(split.idc, _NOT_DRS)
            else:
                extra = companion_path(output)
                n = write(s5cmd_rows(split.idc), extra, S5CMD)
                companions.append({"output": str(extra), "format": S5CMD, "rows": int(n)})
    if output is None:
        written = write(rows, sys.stdout, manifest_format)
    else:
        written = write(rows, output, manifest_format)  # a temporary file renamed into place
    return MixedResult(int(written), findings, companions, not_written)


def companion_path(output: Path) -> Path:
    """Where the IDC rows of a DRS manifest ``output`` go: ``<stem>.idc.s5cmd`` beside it."""
    return output.with_name(f"{output.stem}.idc.s5cmd")
