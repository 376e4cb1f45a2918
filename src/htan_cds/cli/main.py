"""The ``htan-cds`` command: global options, error handling and the command areas."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

import click
import typer
from rich.markup import escape

from htan_cds import __version__
from htan_cds.cli._common import CliState, err_console
from htan_cds.config import HOME_ENV
from htan_cds.errors import DrsError, HtanCdsError

# Each area module exposes register(app); one module per area keeps the CLI thin.
_AREAS = ("manifest", "demo", "catalog", "server", "tokens", "transfer", "imaging", "workspace")

app = typer.Typer(
    name="htan-cds",
    help="Find, export, import, preview and serve HTAN imaging data over GA4GH DRS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"htan-cds {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar=HOME_ENV,
        help="Data home (catalog, objects, keys). Default: the platform's user data dir.",
        file_okay=False,
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    ctx.obj = CliState(home=home, debug=debug)
    if home is not None:
        # Library defaults (e.g. the [drs] settings of info/preview) read the same data home.
        os.environ[HOME_ENV] = str(home)


for _area in _AREAS:
    importlib.import_module(f"htan_cds.cli.{_area}").register(app)


def _click_exception_types() -> tuple[type[BaseException], ...]:
    # Newer typer vendors click as typer._click; accept both so an upgrade cannot leak tracebacks.
    types: list[type[BaseException]] = [click.ClickException]
    try:
        vendored = importlib.import_module("typer._click.exceptions")
    except ImportError:
        return tuple(types)
    types.append(vendored.ClickException)
    return tuple(types)


_CLICK_ERRORS = _click_exception_types()


def _cause_hint(exc: HtanCdsError) -> str:
    """For a DRS failure without a hint of its own, what its cause suggests (the same words
    as an import's summary: "is the server running…", "give --token…")."""
    if exc.hint is not None or not isinstance(exc, DrsError):
        return ""
    from htan_cds.transfer.causes import cause, classify

    code = classify(exc)
    return "" if code == "other" else f" — {cause(code).title}: {cause(code).hint}"


def _usage_error(exc: BaseException) -> None:
    """A wrong option or argument in one line, naming the command's --help (click's own
    display is a usage block of three lines)."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]  # a bare command asks for its help
        return
    message = getattr(exc, "format_message", lambda: str(exc))()
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "htan-cds"
    err_console.print(
        f"[bold red]error:[/] {escape(message)} (see: {escape(command)} --help)",
        highlight=False,
        soft_wrap=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="htan-cds", standalone_mode=False)
    except HtanCdsError as exc:
        if debug:
            traceback.print_exc()
        # Escaped: messages quote user input and names like ``htan-cds[idc]`` verbatim.
        message = escape(str(exc) + _cause_hint(exc))
        label = escape(exc.label)
        err_console.print(f"[bold red]{label}:[/] {message}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except (click.exceptions.Exit, typer.Exit) as exc:
        return int(exc.exit_code)
    except _CLICK_ERRORS as exc:
        _usage_error(exc)
        return 2
    except (click.exceptions.Abort, typer.Abort):
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
