"""CLI commands of the manifest area: ``htan-cds manifest check`` and ``manifest convert``.

``manifest_app`` is module-level so other areas can add commands to it (the catalog area adds
``manifest create``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from htan_cds.cli._common import JsonOption, emit_json, err_console

if TYPE_CHECKING:
    from htan_cds.drs.prefixes import PrefixRegistry

manifest_app = typer.Typer(
    name="manifest",
    help="Check, repair and convert DRS manifests (CGC, CDS portal, HTAN portal, Gen3, BigQuery, "
    "Terra).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_FORMAT_HELP = "Input format: auto, cgc, cds-portal, htan-portal, gen3, bigquery, terra, table."
_SHOWN = 50


def _input_format(value: str) -> str:
    from htan_cds.errors import UsageError
    from htan_cds.manifest import format_names

    if value != "auto" and value not in format_names():
        known = ", ".join(["auto", *format_names()])
        raise UsageError(f"unknown --format {value!r} (choose from {known})")
    return value


@contextlib.contextmanager
def _progress(reader: Any, label: str) -> Iterator[Any]:
    """A byte-based progress bar on stderr for files on a terminal; a no-op otherwise."""
    size = None
    if label not in ("<stdin>", "<stream>") and err_console.is_terminal:
        with contextlib.suppress(OSError):
            size = os.path.getsize(label)
    if size is None or size < 8 * 1024 * 1024:
        yield None
        return
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    from htan_cds.transfer.rich_progress import BytesColumn

    columns = (BarColumn(), BytesColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=size)
        yield lambda: progress.update(task, completed=reader.bytes_read() or 0)


def _print_findings(findings: list[Any], total: int) -> None:
    from rich.markup import escape

    # Messages quote manifest cells and name config sections ("[drs.prefixes]"): text, not
    # markup.
    for finding in findings[:_SHOWN]:
        where = "file" if finding.row is None else f"row {finding.row}"
        colour = "red" if finding.severity == "error" else "yellow"
        err_console.print(
            f"  {where:>10}  [{colour}]{finding.severity:7}[/] {finding.code:22} "
            f"{escape(finding.column or '-'):10} {escape(finding.message)}",
            highlight=False,
            soft_wrap=True,
        )
    if total > _SHOWN:
        err_console.print(f"  … {total - _SHOWN} more findings (see --json)", highlight=False)


def _prefixes() -> PrefixRegistry:
    """The data home's prefix registry (built-ins plus ``[drs.prefixes]`` of config.toml; the
    root callback has put ``--home`` into HTAN_CDS_HOME)."""
    from htan_cds.settings import drs_settings

    return drs_settings().registry


_DRS_COLUMN_HELP = "The DRS URI column of a delimited file (any name; e.g. object_id)."
_NAME_COLUMN_HELP = "The file name column of a delimited file."


def _shape(report: Any) -> str:
    from htan_cds.manifest.formats._dialect import describe

    parts = [str(report.format)]
    if report.delimiter is not None:
        parts.append(f"{describe(report.delimiter)}-separated")
    if report.encoding != "UTF-8":
        parts.append(report.encoding)
    parts.append(f"{report.rows} rows")
    if report.blank_rows:
        parts.append(f"{report.blank_rows} blank rows skipped")
    return ", ".join(parts)


@manifest_app.command("check")
def check(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="Manifest file (.gz allowed), or - for stdin."),
    fmt: str = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP),
    drs_column: str | None = typer.Option(None, "--drs-column", help=_DRS_COLUMN_HELP),
    name_column: str | None = typer.Option(None, "--name-column", help=_NAME_COLUMN_HELP),
    as_json: bool = JsonOption,
    max_findings: int = typer.Option(
        1000,
        "--max-findings",
        min=0,
        help="Findings kept per code (counts stay exact); 0 keeps all.",
    ),
) -> None:
    """Check a manifest: URIs, duplicates, names and size limits.

    Exit 0 when there are no errors (warnings allowed), 1 when there are errors, 2 when the file
    cannot be read.
    """
    from htan_cds.manifest import ManifestReader
    from htan_cds.manifest.checks import check_reader

    fmt = _input_format(fmt)
    registry = _prefixes()
    with (
        ManifestReader(file, fmt, drs_column=drs_column, name_column=name_column) as reader,
        _progress(reader, reader.label) as tick,
    ):
        report = check_reader(reader, registry=registry, max_per_code=max_findings, tick=tick)
        found = reader.context
    if as_json:
        payload = {"file": reader.label, **report.to_dict()}
        payload["dropped_columns"] = found.dropped_columns
        emit_json(payload)
    else:
        from rich.markup import escape

        verdict = "[green]ok[/]" if report.ok else "[red]has errors[/]"
        err_console.print(
            f"{escape(reader.label)}: {_shape(report)}, {report.errors} errors, "
            f"{report.warnings} warnings — {verdict}",
            highlight=False,
            soft_wrap=True,
        )
        _print_findings(report.findings, sum(report.counts.values()))
    if not report.ok:
        raise typer.Exit(1)


def _summary(repairer: Any, rows_in: int, rows_out: int) -> str:
    parts = [f"{n} {code}" for code, n in sorted(repairer.counts.items())] if repairer else []
    return f"{rows_in} rows in, {rows_out} out" + (f"; {', '.join(parts)}" if parts else "")


def _preference(ctx: typer.Context) -> Any:
    """The catalog's pick among several URIs of one file id, when the data home has a catalog."""
    from htan_cds.cli._common import data_home

    home = data_home(ctx, create=False)
    if not home.catalog_path.exists():
        return None
    from htan_cds.catalog import Catalog
    from htan_cds.catalog.manifests import CatalogUriPreference
    from htan_cds.errors import HtanCdsError

    try:
        return CatalogUriPreference(Catalog.open(home, read_only=True))
    except HtanCdsError:
        return None  # a catalog that cannot be read now: the first URI listed is kept


@manifest_app.command("convert")
def convert(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="Manifest file (.gz allowed), or - for stdin."),
    to: str = typer.Option(
        ..., "--to", help="Output format: cgc, htan-portal, gen3, cds-portal, terra."
    ),
    output: str = typer.Option(..., "-o", "--output", help="Output file, or - for stdout."),
    fmt: str = typer.Option("auto", "--format", "-f", help=_FORMAT_HELP),
    fix: bool = typer.Option(
        False,
        "--fix",
        help="Full DRS URIs, one URI per HTAN file, unique safe names; drop only unusable or "
        "repeated rows.",
    ),
    keep_all_uris: bool = typer.Option(
        False,
        "--keep-all-uris",
        help="With --fix: keep every DRS URI of an HTAN_Data_File_ID (default: one).",
    ),
    keep_delimiter: bool = typer.Option(
        False,
        "--keep-delimiter",
        help="Write the input's delimiter (; or tab) back instead of the format's own.",
    ),
    escape_formulas: bool = typer.Option(
        True,
        "--escape-formulas/--no-escape-formulas",
        help="Write cells starting with = + - @ (tab, CR) with a leading ' so spreadsheets "
        "do not run them as formulas (readers here undo it).",
    ),
    drs_column: str | None = typer.Option(None, "--drs-column", help=_DRS_COLUMN_HELP),
    name_column: str | None = typer.Option(None, "--name-column", help=_NAME_COLUMN_HELP),
    report: Path | None = typer.Option(
        None, "--report", help="Write a JSON report: every dropped row with its reason, findings."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Convert a manifest to another format, optionally repairing it (--fix).

    Every input row ends in the output or, with --fix, in the report's ``dropped`` list with its
    reason (blank rows are counted in ``blank_rows``). Exit 1 when rows were dropped as
    unusable (with --fix) or the output still has errors (without --fix).
    """
    import orjson

    from htan_cds.errors import UsageError
    from htan_cds.manifest import format_names
    from htan_cds.manifest.convert import ConvertRequest, convert_manifest
    from htan_cds.outputs import check_output, write_bytes_atomic

    fmt = _input_format(fmt)
    if to not in format_names(writable=True):
        raise UsageError(
            f"cannot write --to {to!r} (choose from {', '.join(format_names(writable=True))})"
        )
    if output == "-" and as_json:
        raise UsageError("--json prints to stdout; give -o a file to use it")
    if keep_all_uris and not fix:
        raise UsageError("--keep-all-uris goes with --fix (without --fix every row is kept)")
    check_output(output, "-o")
    if report is not None:
        check_output(report, "--report", {"the manifest": file, "-o": output})
    request = ConvertRequest(
        file,
        to,
        output,
        fmt=fmt,
        fix=fix,
        keep_all_uris=keep_all_uris,
        keep_delimiter=keep_delimiter,
        escape_formulas=escape_formulas,
        drs_column=drs_column,
        name_column=name_column,
    )
    registry = _prefixes()
    prefer = _preference(ctx) if fix and not keep_all_uris else None
    try:
        result = convert_manifest(
            request,
            registry=registry,
            prefer=prefer,
            progress=lambda reader: _progress(reader, reader.label),
            check_aside=True,
        )
    finally:
        if prefer is not None:
            prefer.close()
    payload, repairer, dropped = result.payload, result.repairer, result.dropped
    check_report, written, failed = result.check, result.written, result.failed
    if report is not None:
        data = orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"
        write_bytes_atomic(report, data, "--report")
    if as_json:
        emit_json(payload)
    else:
        err_console.print(
            f"{result.label} ({_shape(check_report)}) -> {output} ({to}): "
            f"{_summary(repairer, check_report.rows, written)}",
            highlight=False,
            soft_wrap=True,
        )
        if dropped:
            err_console.print(f"dropped {len(dropped)} rows:", highlight=False)
            _print_findings(dropped, len(dropped))
            if repairer is not None and any(f.code == "file_id_multiple_uris" for f in dropped):
                err_console.print(
                    f"one DRS URI kept per HTAN_Data_File_ID: {repairer.uri_rule} "
                    "(--keep-all-uris keeps them all)",
                    highlight=False,
                )
        elif not fix and not check_report.ok:
            err_console.print(
                f"the output keeps {check_report.errors} errors; --fix repairs what it can",
                highlight=False,
            )
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``htan-cds manifest …`` to the ``htan-cds`` app."""
    app.add_typer(manifest_app, name="manifest")
