"""``htan-cds manifest create``: an import-ready manifest of the files a facet query matches,
each file in the form its source needs (DRS manifests, s5cmd for IDC series)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from htan_cds.cli._common import JsonOption, emit_json, err_console
from htan_cds.cli._filters import report_unmatched
from htan_cds.cli.catalog import _open, _with_facets
from htan_cds.errors import UsageError

if TYPE_CHECKING:
    from htan_cds.catalog import FileFilter


@_with_facets(file_format=typer.Option(None, "--file-format", help="File format."))
def manifest_create(
    ctx: typer.Context,
    flt: FileFilter,
    manifest_format: str = typer.Option(
        "cgc",
        "--format",
        help="Manifest format: cgc, cds-portal, htan-portal, gen3, terra, s5cmd.",
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here (default stdout)."),
    escape_formulas: bool = typer.Option(
        True,
        "--escape-formulas/--no-escape-formulas",
        help="Write cells starting with = + - @ with a leading ' (spreadsheet formula guard).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Write an import-ready manifest of the files matching the facets.

    The DRS rows are written by the portal's manifest writer (``catalog.manifest_writer``): the
    same selection and format give the same file from the CLI and the portal. Note:
    ``--format`` is the manifest format here; filter by file format with ``--file-format``.
    """
    from htan_cds.catalog.manifest_writer import prepare_manifest
    from htan_cds.catalog.manifests import DUPLICATE_RULE, manifest_table
    from htan_cds.catalog.mixed import write_mixed
    from htan_cds.manifest import format_names, write_manifest
    from htan_cds.outputs import check_output

    if manifest_format not in format_names(writable=True):
        known = ", ".join(format_names(writable=True))
        raise UsageError(f"unknown manifest --format {manifest_format!r} (choose from {known})")
    if output is not None:
        check_output(output, "-o")
    with _open(ctx) as catalog:
        resolution = catalog.resolve(flt)
        table = manifest_table(catalog, resolution.filter)
    report_unmatched(resolution, json_out)
    if output is None and json_out:
        raise UsageError("--json reports on the written file; give -o FILE")
    mixed = write_mixed(
        table,
        manifest_format,
        output,
        functools.partial(prepare_manifest, fmt=manifest_format),
        functools.partial(write_manifest, escape_formulas=escape_formulas),
    )
    written = mixed.rows
    n_uris = table.column("n_uris").to_pylist()
    several = [i for i, n in enumerate(n_uris) if n > 1]
    report = {
        "output": str(output) if output else None,
        "format": manifest_format,
        "filter": flt.to_dict(),
        "matched": resolution.filter.to_dict(),
        "unmatched": [u.to_dict() for u in resolution.unmatched],
        "rows": int(written),
        "total_size": sum(v or 0 for v in table.column("size").to_pylist()),
        "ids_with_several_uris": len(several),
        "duplicate_rule": DUPLICATE_RULE,
        "chosen": [
            {
                "HTAN_Data_File_ID": table.column("HTAN_Data_File_ID")[i].as_py(),
                "drs_uri": table.column("drs_uri")[i].as_py(),
                "uris": n_uris[i],
            }
            for i in several
        ],
        "findings": [f.to_dict() for f in mixed.findings],
        "companions": mixed.companions,
        "not_written": mixed.not_written,
    }
    if json_out:
        emit_json(report)
        return
    if output is not None:
        err_console.print(f"wrote {written:,} rows to {output} ({manifest_format})")
    for extra in mixed.companions:
        err_console.print(
            f"wrote {extra['rows']:,} IDC series to {extra['output']} ({extra['format']})"
        )
    if mixed.not_written:
        first = mixed.not_written[0]
        err_console.print(
            f"{len(mixed.not_written):,} rows not written ({first['source']}: "
            f"{first['reason']}); --json lists them",
            highlight=False,
        )
    if len(several):
        err_console.print(
            f"{len(several)} HTAN Data File IDs map to several DRS URIs; kept one each "
            f"({DUPLICATE_RULE})"
        )
