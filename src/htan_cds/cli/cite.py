"""``htan-cds cite``: citations and DOIs of the collections behind a selection (no network)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from htan_cds.cli._common import JsonOption, emit_json, err_console
from htan_cds.cli.catalog import _open, _with_facets

if TYPE_CHECKING:
    from htan_cds.catalog import FileFilter


@_with_facets(file_format=typer.Option(None, "--file-format", help="File format."))
def cite(
    ctx: typer.Context,
    flt: FileFilter,
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Cite the files of this manifest (any format, s5cmd too)."
    ),
    fmt: str = typer.Option("text", "--format", help="Citation format: text, bibtex, csl-json."),
    json_out: bool = JsonOption,
) -> None:
    """Citations and DOIs of the collections behind the selected files, each DOI once.

    Select with facet options or ``--manifest FILE``; ``--format`` is the citation format here
    (filter by file format with ``--file-format``).
    """
    import dataclasses

    from htan_cds.catalog.cite import collect, match_uris, render
    from htan_cds.errors import UsageError

    render([], fmt)  # refuse an unknown format before opening anything
    unmatched: list[str] = []
    with _open(ctx) as catalog:
        if manifest is not None:
            from htan_cds.manifest import read_manifest

            if not flt.is_empty():
                raise UsageError("give facet options or --manifest, not both")
            uris = [row.drs_uri for row in read_manifest(manifest)]
            ids, unmatched = match_uris(catalog, uris)
            flt = dataclasses.replace(flt, drs_ids=ids or ["\x00none"])
        result = collect(catalog, flt)
    # Every manifest row is accounted for: rows naming no catalog file are said, not dropped.
    result["not_in_catalog"] = unmatched
    entries = result["collections"]
    if json_out:
        emit_json(
            {
                "filter": flt.to_dict() if manifest is None else {"manifest": str(manifest)},
                "format": fmt,
                **result,
                "rendered": render(entries, fmt),
            }
        )
        return
    sys.stdout.write(render(entries, fmt))
    uncited = result["uncited"]
    if uncited:
        parts = ", ".join(f"{n:,} {source}" for source, n in sorted(uncited.items()))
        err_console.print(f"no citation recorded for {parts} files", highlight=False)
    if unmatched:
        shown = ", ".join(unmatched[:3]) + (" …" if len(unmatched) > 3 else "")
        err_console.print(
            f"{len(unmatched):,} manifest URIs match no file in the catalog ({shown})",
            highlight=False,
            markup=False,
        )
    if not entries:
        err_console.print("no cited collection behind the selection", highlight=False)
