"""CLI commands of the catalog area: find, facets, sql, ingest, catalog …, manifest create."""

from __future__ import annotations

import csv
import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from htan_cds.cli._common import (
    JsonOption,
    data_home,
    emit_json,
    err_console,
    out_console,
)
from htan_cds.cli._filters import report_unmatched
from htan_cds.errors import UsageError
from htan_cds.units import format_size, summary_size

if TYPE_CHECKING:
    import pandas as pd

    from htan_cds.catalog import Catalog, FileFilter

# Each facet option is repeatable: OR within a facet.
_FacetValues = list[str] | None

catalog_app = typer.Typer(
    help="Build, inspect, export and import the metadata catalog.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Facet options shared by find, facets and manifest create (repeatable: OR within a facet).
CenterOpt = typer.Option(None, "--center", help="HTAN center, e.g. 'HTAN HMS' or HMS.")
AtlasOpt = typer.Option(None, "--atlas", help="Atlas name.")
AssayOpt = typer.Option(None, "--assay", help="Assay, e.g. t-CyCIF, 'H&E', scRNA-seq.")
OrganOpt = typer.Option(None, "--organ", help="Tissue or organ of origin, e.g. 'Colon, NOS'.")
DiagnosisOpt = typer.Option(None, "--diagnosis", help="Primary diagnosis.")
LevelOpt = typer.Option(None, "--level", help="Data level: 1, 2, 3, 4 or Auxiliary.")
ParticipantOpt = typer.Option(None, "--participant", help="HTAN Participant ID.")
BiospecimenOpt = typer.Option(None, "--biospecimen", help="HTAN Biospecimen ID.")
ReleaseOpt = typer.Option(None, "--release", help="Data release, e.g. 'Release 5.0'.")
FormatOpt = typer.Option(None, "--format", help="File format, e.g. OME-TIFF, csv.")
AccessOpt = typer.Option(None, "--access", help="open or controlled.")
SourceOpt = typer.Option(None, "--source", help="Where the bytes are: CDS, IDC or local.")
TextOpt = typer.Option(
    None, "--text", help="Substring of name, file id, participant or assay, or a channel marker."
)
MarkerOpt = typer.Option(
    None,
    "--marker",
    help="Images with a channel of this marker, e.g. CD8 (case-insensitive; repeat: all of them).",
)


# (parameter name, option) of each facet, in the order the commands list them.
_FACETS: tuple[tuple[str, Any], ...] = (
    ("center", CenterOpt),
    ("atlas", AtlasOpt),
    ("assay", AssayOpt),
    ("organ", OrganOpt),
    ("diagnosis", DiagnosisOpt),
    ("level", LevelOpt),
    ("participant", ParticipantOpt),
    ("biospecimen", BiospecimenOpt),
    ("release", ReleaseOpt),
    ("file_format", FormatOpt),
    ("access", AccessOpt),
    ("source", SourceOpt),
    ("text", TextOpt),
    ("marker", MarkerOpt),
)


def _filter_of(params: dict[str, Any]) -> FileFilter:
    """The FileFilter of a command's facet options (``file_format`` is the ``format`` facet)."""
    from dataclasses import fields

    from htan_cds.catalog import FileFilter

    names = {f.name for f in fields(FileFilter)}
    values = {k: v for k, v in params.items() if k in names}
    values["format"] = params.get("file_format")
    return FileFilter.from_mapping(values)


def _with_facets(
    file_format: Any = FormatOpt,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the facet options (right after ``ctx``) and pass their filter as ``flt``.

    One list of facet options keeps find, facets and manifest create in step; typer reads
    the options from the wrapper's signature, so ``--help`` shows them as if written out.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        facets = [(n, file_format if n == "file_format" else o) for n, o in _FACETS]
        # ``flt`` is typed with a TYPE_CHECKING-only name, so evaluate the others one by one.
        own = {
            name: p.replace(annotation=eval(p.annotation, func.__globals__))
            for name, p in inspect.signature(func).parameters.items()
            if name != "flt"
        }
        added = [
            inspect.Parameter(
                name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=opt, annotation=_FacetValues
            )
            for name, opt in facets
        ]
        params = [own["ctx"], *added, *(p for n, p in own.items() if n != "ctx")]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> None:
            kwargs["flt"] = _filter_of({name: kwargs.pop(name) for name, _ in facets})
            func(*args, **kwargs)

        # typer reads the options from __signature__ and the types from __annotations__.
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def _open(ctx: typer.Context, read_only: bool = True) -> Catalog:
    from htan_cds.catalog import Catalog

    return Catalog.open(data_home(ctx), read_only=read_only)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from htan_cds.catalog.records import clean_record

    return [clean_record(r) for r in frame.to_dict("records")]


def _join_list(value: Any) -> str:
    """A list cell as comma-separated text ('' for NULL/NA)."""
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        return ",".join(str(v) for v in list(value))
    return ""


# -- find / facets / sql ------------------------------------------------------------------------
def _cell(value: Any) -> str:
    """A table cell: missing values (None, NaN, pandas.NA) are blank, never ``<NA>``."""
    import pandas as pd

    missing = value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
    return "" if missing else str(value)


def _write_csv(frame: Any, escape: bool) -> None:
    """``frame`` as CSV on stdout; with ``escape``, text cells a spreadsheet would run as a
    formula get a leading ``'`` (docs/security.md). csv's minimal quoting leaves a lone CR bare
    with "\n" line ends (readers split the row there), so such a table is written fully quoted.
    """
    import pandas as pd

    from htan_cds.manifest import escape_cell

    lone_cr = False
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            lone_cr = lone_cr or bool(values.map(lambda v: isinstance(v, str) and "\r" in v).any())
            if escape:
                frame[column] = values.map(lambda v: escape_cell(v) if isinstance(v, str) else v)
    frame.to_csv(sys.stdout, index=False, quoting=csv.QUOTE_ALL if lone_cr else csv.QUOTE_MINIMAL)


_TABLE_COLUMNS = ("name", "HTAN_Data_File_ID", "HTAN_Center", "assay", "level", "size", "drs_uri")


@_with_facets()
def find(
    ctx: typer.Context,
    flt: FileFilter,
    sort: str | None = typer.Option(None, "--sort", help="Sort by this files column."),
    descending: bool = typer.Option(False, "--desc", help="Sort descending."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="At most this many files."),
    csv_out: bool = typer.Option(False, "--csv", help="Write CSV (all columns) to stdout."),
    escape_formulas: bool = typer.Option(
        True,
        "--escape-formulas/--no-escape-formulas",
        help="With --csv, write text cells starting with = + - @ (tab, CR) with a leading ' so "
        "spreadsheets show them as text (the manifest readers drop it again).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Find files by facets; print a table, CSV or JSON."""
    with _open(ctx) as catalog:
        resolution = catalog.resolve(flt)
        frame = catalog.find(flt, sort=sort, descending=descending, limit=limit)
    report_unmatched(resolution, json_out)
    if json_out:
        emit_json(
            {
                "filter": flt.to_dict(),
                "matched": resolution.filter.to_dict(),
                "unmatched": [u.to_dict() for u in resolution.unmatched],
                "count": len(frame),
                "files": _records(frame),
            }
        )
        return
    if csv_out:
        frame = frame.copy()
        for column in ("biospecimen_ids", "HTAN_Parent_Data_File_ID"):
            frame[column] = frame[column].map(_join_list)
        _write_csv(frame, escape_formulas)
        return
    from rich.table import Table

    shown = frame if limit is not None else frame.head(50)
    table = Table(*_TABLE_COLUMNS, show_lines=False)
    for record in shown[list(_TABLE_COLUMNS)].itertuples(index=False):
        values = [_cell(v) for v in record]
        values[5] = format_size(record[5])
        table.add_row(*values)
    out_console.print(table)
    more = len(frame) - len(shown)
    tail = f" (first {len(shown)} shown; --limit, --csv or --json for all)" if more else ""
    err_console.print(f"{len(frame):,} files{tail}")


@_with_facets()
def facets(
    ctx: typer.Context,
    flt: FileFilter,
    json_out: bool = JsonOption,
) -> None:
    """File counts per facet value under the given filters (a facet ignores its own filter)."""
    with _open(ctx) as catalog:
        resolution = catalog.resolve(flt)
        counts = catalog.facets(flt)
        summary = catalog.summary(flt)
    report_unmatched(resolution, json_out)
    if json_out:
        emit_json(
            {
                "filter": flt.to_dict(),
                "matched": resolution.filter.to_dict(),
                "unmatched": [u.to_dict() for u in resolution.unmatched],
                "summary": summary,
                "facets": {
                    k: [{"value": v, "count": n} for v, n in values] for k, values in counts.items()
                },
            }
        )
        return
    from rich.table import Table

    for facet, values in counts.items():
        table = Table("value", "files", title=facet, title_justify="left")
        for value, n in values:
            table.add_row(value, f"{n:,}")
        out_console.print(table)
    err_console.print(
        f"{summary['files']:,} files, {summary['participants']} participants, "
        f"{summary['samples']} biospecimens, {summary_size(summary)}"
    )


def sql(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="One SELECT or WITH query (read-only)."),
    csv_out: bool = typer.Option(False, "--csv", help="Write CSV to stdout."),
    json_out: bool = JsonOption,
) -> None:
    """Run a read-only SQL query on the catalog (anything but SELECT/WITH is refused)."""
    from htan_cds.catalog.readonly import check_read_only
    from htan_cds.catalog.store import TABLES

    check_read_only(query, {*TABLES, "files_v"})  # refuse before touching the data home
    with _open(ctx) as catalog:
        frame = catalog.sql(query)
    if json_out:
        emit_json({"columns": list(frame.columns), "rows": _records(frame)})
    elif csv_out:
        _write_csv(frame, escape=False)  # query results as stored
    else:
        from rich.table import Table

        table = Table(*[str(c) for c in frame.columns])
        shown = frame.head(200).astype(object).where(frame.head(200).notna(), None)
        for row in shown.itertuples(index=False):
            table.add_row(*["" if v is None else str(v) for v in row])
        out_console.print(table)
        err_console.print(f"{len(frame):,} rows")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.command("find")(find)
    app.command("facets")(facets)
    app.command("sql")(sql)
    _register_catalog_commands(app)
    app.add_typer(catalog_app, name="catalog")
    from htan_cds.cli.cite import cite

    app.command("cite")(cite)
    try:
        from htan_cds.cli.manifest import manifest_app  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # the manifest area has not published its sub-app yet
        return
    from htan_cds.cli.manifest_create import manifest_create

    manifest_app.command("create")(manifest_create)


# -- catalog build / info / export / import, ingest ---------------------------------------------
def catalog_info(ctx: typer.Context, json_out: bool = JsonOption) -> None:
    """Schema version, commons metadata and row counts of the catalog."""
    from htan_cds.catalog.schema import CURRENT_SCHEMA_VERSION

    with _open(ctx) as catalog:
        with catalog.cursor() as cur:
            meta = dict(cur.execute("SELECT key, value FROM commons_meta ORDER BY key").fetchall())
        payload: dict[str, Any] = {
            "catalog": str(catalog.home.catalog_path),
            "schema_version": CURRENT_SCHEMA_VERSION,
            "meta": meta,
            "tables": catalog.table_counts(),
            "summary": catalog.summary(),
        }
    if json_out:
        emit_json(payload)
        return
    out_console.print(f"catalog  {payload['catalog']}  (schema v{CURRENT_SCHEMA_VERSION})")
    for key, value in meta.items():
        out_console.print(f"  {key}: {value}", highlight=False)
    for table, n in payload["tables"].items():
        out_console.print(f"  {table:<18} {n:>12,}")


def catalog_build(
    ctx: typer.Context,
    from_bigquery: bool = typer.Option(
        False, "--from-bigquery", help="Read ISB-CGC's HTAN tables in BigQuery."
    ),
    billing_project: str | None = typer.Option(
        None, "--billing-project", help="Google Cloud project billed for the BigQuery queries."
    ),
    release: str = typer.Option("current", "--release", help="current, or r5, r6, ..."),
    from_files: list[Path] | None = typer.Option(
        None, "--from-files", help="CSV/NDJSON/Parquet/JSON exports of the HTAN tables."
    ),
    from_idc: bool = typer.Option(
        False,
        "--from-idc",
        help="Add IDC's HTAN collections from the installed idc-index-data (keeps other sources).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Build the catalog from ISB-CGC's BigQuery tables or exported table files, and/or add
    IDC's HTAN image series (``--from-idc``, no network, keeps the catalog's other sources)."""
    extra = [Path(a) for a in ctx.args]
    if from_bigquery and (from_files or extra):
        raise UsageError("give one of --from-bigquery or --from-files F…, not both")
    if not (from_bigquery or from_files or extra or from_idc):
        raise UsageError("give --from-bigquery, --from-files F… or --from-idc")
    home = data_home(ctx)
    if not (from_bigquery or from_files or extra):
        from htan_cds.cli.idc import build_idc

        build_idc(home, json_out)
        return
    if from_bigquery:
        from htan_cds.catalog.sources.bigquery import build_from_bigquery

        if not billing_project:
            raise UsageError("--from-bigquery needs --billing-project PROJECT")
        with err_console.status(f"Querying isb-cgc-bq HTAN tables ({release})"):
            result = build_from_bigquery(home, billing_project=billing_project, release=release)
    else:
        from htan_cds.catalog.sources.files import build_from_files

        paths = [*(from_files or []), *extra]
        with err_console.status(f"Reading {len(paths)} table files"):
            result = build_from_files(home, paths)
    if from_idc:
        from htan_cds.catalog.sources.idc import build_from_idc

        result["idc"] = build_from_idc(home)
    if json_out:
        emit_json(result)
    else:
        err_console.print(
            f"catalog built: {result['files']:,} files, {result['imaging']:,} imaging rows "
            f"({result['seconds']:.2f} s)"
        )
        if from_idc:
            from htan_cds.cli.idc import describe_idc

            describe_idc(result["idc"])
        for hint in result.get("hints", []):
            err_console.print(f"hint: {hint}", highlight=False, soft_wrap=True)


def catalog_export(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Folder to write the snapshot into."),
    json_out: bool = JsonOption,
) -> None:
    """Export the catalog as a versioned Parquet snapshot (manifest.json + one file per table)."""
    from htan_cds.catalog.snapshot import export_snapshot

    with _open(ctx) as catalog:
        manifest = export_snapshot(catalog, directory)
    if json_out:
        emit_json(manifest)
    else:
        err_console.print(f"snapshot written to {directory} ({manifest['tables']['files']} files)")


def catalog_import(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="A folder written by `catalog export`."),
    json_out: bool = JsonOption,
) -> None:
    """Replace the catalog with a Parquet snapshot."""
    from htan_cds.catalog.snapshot import import_snapshot

    with _open(ctx, read_only=False) as catalog:
        manifest = import_snapshot(catalog, directory)
    if json_out:
        emit_json(manifest)
    else:
        err_console.print(f"imported snapshot {directory} ({manifest['tables']['files']} files)")


def ingest(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Folder of files to register (recursively)."),
    metadata: Path | None = typer.Option(
        None, "--metadata", help="CSV with a Filename/name column and HTAN attributes per file."
    ),
    center: str | None = typer.Option(None, "--center", help="HTAN center of these files."),
    access: str = typer.Option("open", "--access", help="open or controlled:GROUP."),
    authority: str | None = typer.Option(
        None,
        "--authority",
        metavar="HOST[:PORT]",
        help="Name this commons' DRS URIs drs://HOST[:PORT]/id (see `catalog set-authority`).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Register local files: checksums, bytes into the object store, DRS ids minted."""
    from rich.progress import Progress

    from htan_cds.catalog.authority import parse_authority
    from htan_cds.catalog.sources.ingest import ingest_directory

    if authority is not None:
        authority = parse_authority(authority)

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("Ingesting", total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = ingest_directory(
            data_home(ctx),
            directory,
            metadata=metadata,
            center=center,
            access=access,
            progress=report,
            authority=authority,
        )
    if json_out:
        emit_json(result)
    else:
        err_console.print(
            f"ingested {result['added']} new, {result['unchanged']} already registered "
            f"({result['files']} files)"
        )


def _register_catalog_commands(app: typer.Typer) -> None:
    from htan_cds.cli import authority

    catalog_app.command("info")(catalog_info)
    authority.register(catalog_app)
    catalog_app.command(
        "build", context_settings={"allow_extra_args": True, "ignore_unknown_options": False}
    )(catalog_build)
    catalog_app.command("export")(catalog_export)
    catalog_app.command("import")(catalog_import)
    app.command("ingest")(ingest)
