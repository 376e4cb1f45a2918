"""CLI commands of the transfer area: ``htan-cds import SOURCE --to DEST`` and
``htan-cds import status DEST``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from htan_cds.cli import _common
from htan_cds.cli._common import data_home, emit_json, loading_modules, state
from htan_cds.cli.import_summary import quiet_line, summary_lines
from htan_cds.errors import UsageError
from htan_cds.units import format_size

_STATUS_NOTES = {
    "resolved": "not started",
    "partial": "being fetched (parts recorded)",
    "verified": "in place, checksum verified",
    "done": "in place, no checksum could verify it",
    "skipped": "held back (see the reasons)",
    "failed": "failed",
    "staged": "verified, not yet moved into place (the next run does)",
    "missing": "recorded, but no longer at its path",
}


def _status(dest: str, as_json: bool, s3_endpoint: str | None) -> int:
    from htan_cds.transfer import ImportOptions, ledger_status

    data = ledger_status(dest, ImportOptions(s3_endpoint=s3_endpoint))
    if as_json:
        emit_json(data)
        return 0
    from rich.table import Table

    state = "an import is running now" if data["running"] else "no import running"
    table = Table(title=f"import into {data['destination']} ({state})", title_justify="left")
    for col in ("status", "files", "bytes", ""):
        table.add_column(col, justify="right" if col in ("files", "bytes") else "left")
    for status, count in data["by_status"].items():
        if count:
            size = format_size(data["bytes_by_status"][status])
            table.add_row(status, f"{count:,}", size, _STATUS_NOTES.get(status, ""))
    _common.err_console.print(table)
    progress = data["in_progress"]
    if progress["files"]:
        _common.err_console.print(
            f"in progress: {progress['files']:,} files, "
            f"{format_size(progress['bytes_on_disk'])} of their parts on disk",
            highlight=False,
        )
    for group in data["failures"]:
        hosts = f" ({', '.join(group['hosts'])})" if group["hosts"] else ""
        _common.err_console.print(
            f"{group['count']:,} failed: {group['title']}{hosts} — {group['hint']}",
            highlight=False,
            markup=False,
        )
        for example in group["examples"]:
            _common.err_console.print(
                f"    {example['drs_uri']}: {example['error']}", highlight=False, markup=False
            )
    unfinished = sum(data["by_status"][s] for s in ("resolved", "partial", "failed", "staged"))
    if unfinished and not data["running"]:
        _common.err_console.print("Run the same import command again to resume.", highlight=False)
    return 0


def _series_lookup(ctx: typer.Context) -> Callable[[list[str]], dict[str, dict[str, str]]]:
    """IDC series metadata (for DEST/<collection>/<participant>/<series>/) from the catalog of
    the data home, else the installed idc-index-data.

    The catalog code (sqlglot, DuckDB) is imported on the first call, i.e. only when a row is a
    bucket prefix: an import of DRS objects never loads it."""
    home = data_home(ctx, create=False)

    def lookup(uuids: list[str]) -> dict[str, dict[str, str]]:
        from htan_cds.catalog.sources.idc import series_lookup

        return series_lookup(home)(uuids)

    return lookup


def import_command(
    ctx: typer.Context,
    sources: list[str] = typer.Argument(
        ...,
        metavar="SOURCE...",
        help="A manifest file (any format), DRS URIs, or - for stdin. "
        "'import status DEST' reports the ledger of an import.",
    ),
    to: str | None = typer.Option(
        None, "--to", help="Destination: a folder or s3://bucket/prefix."
    ),
    concurrency: int = typer.Option(8, "--concurrency", "-j", help="Parallel connections."),
    part_size: str = typer.Option("64MiB", "--part-size", help="Size of ranged parts."),
    layout: str = typer.Option(
        "{name}", "--layout", help="Path template, e.g. '{center}/{participant}/{name}'."
    ),
    conflict: str = typer.Option(
        "skip", "--conflict", help="When a different file exists: skip, rename or overwrite."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Resolve and plan; fetch nothing."),
    verify_all: bool = typer.Option(
        False, "--verify-all", help="Compute every declared checksum, not only the strongest."
    ),
    require_verified: bool = typer.Option(
        False,
        "--require-verified",
        help="Fail files whose bytes no declared checksum could verify "
        "(e.g. a multipart ETag of unknown part size), instead of keeping them unverified.",
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="HTAN_CDS_TOKEN", help="Bearer token."
    ),
    token_host: list[str] = typer.Option(
        [],
        "--token-host",
        help="A host the --token was issued for (repeatable; host, host:port or https://host). "
        "Default: the manifest's DRS host when it names exactly one.",
    ),
    passport: Path | None = typer.Option(
        None, "--passport", help="File of GA4GH passport JWTs (one per line)."
    ),
    passport_host: list[str] = typer.Option(
        [],
        "--passport-host",
        help="Send passports only to these hosts (repeatable); they still go only where the "
        "object's DRS Authorizations accept their issuer.",
    ),
    gen3_credentials: Path | None = typer.Option(
        None, "--gen3-credentials", help="Gen3 credentials.json (API key) from the CRDC portal."
    ),
    s3_endpoint: str | None = typer.Option(
        None, "--s3-endpoint", help="S3-compatible endpoint URL for s3:// destinations."
    ),
    bucket_endpoint: str | None = typer.Option(
        None,
        "--bucket-endpoint",
        envvar="HTAN_CDS_BUCKET_ENDPOINT",
        help="Endpoint for s3:// bucket prefixes in SOURCE (IDC series; default AWS S3).",
    ),
    cgc_url: str | None = typer.Option(
        None,
        "--cgc-url",
        envvar="SB_API_ENDPOINT",
        help="SB API endpoint for cgc:OWNER/PROJECT (default https://cgc-api.sbgenomics.com/v2).",
    ),
    json_report: Path | None = typer.Option(
        None, "--json-report", help="Write a per-file JSON report here."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress display; one summary line only when a file failed or conflicted.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="A line for every file that failed or was held back."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Import the objects of a DRS manifest into a folder or bucket: resolve, fetch in
    parallel, verify checksums, resume after interruption."""
    if sources and sources[0] == "status" and to is None:
        if len(sources) != 2:
            raise UsageError("usage: htan-cds import status DEST [--json]")
        raise typer.Exit(_status(sources[1], as_json, s3_endpoint))
    if to is None:
        raise UsageError("--to DEST is required (a folder or s3://bucket/prefix)")
    if json_report is not None:
        from htan_cds.outputs import check_output

        # Before hours of transfer, not after.
        inputs: dict[str, Path | str] = {f"the manifest {given}": given for given in sources}
        check_output(json_report, "--json-report", inputs)
    with loading_modules():
        from htan_cds.transfer import ConflictPolicy, ImportOptions, parse_size, run_import

    try:
        policy = ConflictPolicy(conflict)
    except ValueError as exc:
        raise UsageError("--conflict must be skip, rename or overwrite") from exc
    options = ImportOptions(
        concurrency=concurrency,
        part_size=parse_size(part_size),
        layout=layout,
        conflict=policy,
        dry_run=dry_run,
        verify_all=verify_all,
        require_verified=require_verified,
        token=token,
        token_hosts=tuple(token_host),
        passport_file=passport,
        passport_hosts=tuple(passport_host) or None,
        gen3_credentials=gen3_credentials,
        s3_endpoint=s3_endpoint,
        bucket_endpoint=bucket_endpoint,
        series_lookup=_series_lookup(ctx),
    )
    from htan_cds.settings import drs_settings

    settings = drs_settings(state(ctx).home)  # [drs.prefixes], [drs.endpoints] of the home
    options.registry = settings.registry
    options.endpoints = settings.endpoints
    options.public_cloud = settings.public_cloud
    if to.lower().startswith("cgc:"):
        # cgc: hands the rows to CGC's own bulk DRS import (workspace area), same report.
        from htan_cds.workspace.cgc_destination import cgc_runner

        run_import = cgc_runner(cgc_url)
    source: str | list[str] = sources[0] if len(sources) == 1 else sources
    if len(sources) == 1 and sources[0].startswith("drs://"):
        source = sources
    if quiet or as_json or dry_run:
        report = run_import(source, to, options)
    else:
        from htan_cds.transfer.rich_progress import RichProgress

        with RichProgress(_common.err_console) as display:
            report = run_import(source, to, options, display)
    if json_report is not None:
        report.write_json(json_report)
    if as_json:
        emit_json(report.to_dict())
    elif quiet:
        line = quiet_line(report)
        if line:
            _common.err_console.print(line, highlight=False, soft_wrap=True, markup=False)
    else:
        for line in summary_lines(report, verbose=verbose):
            _common.err_console.print(line, highlight=False, soft_wrap=True, markup=False)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.command(
        "import",
        help="Import DRS objects into a folder or bucket; 'import status DEST' shows the ledger.",
        no_args_is_help=True,
    )(import_command)
