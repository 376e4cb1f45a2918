"""The ``htan-cds`` command: global options, error handling and the command areas."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import typer

from htan_cds import __version__
from htan_cds.cli import _common
from htan_cds.cli._common import CliState, loading_modules
from htan_cds.config import HOME_ENV
from htan_cds.errors import DrsError, HtanCdsError

# Each area module exposes register(app); one module per area keeps the CLI thin.
_AREAS = ("manifest", "demo", "catalog", "server", "tokens", "transfer", "imaging", "workspace")
# Top-level command (or group) -> the areas that register it, so that one command loads and
# builds only its own area: typer turns every registered command into a click command on each
# call, which cost `htan-cds import` a tenth of its start-up. `manifest create` comes from the
# catalog area. A name not listed here (help, typos) loads every area.
# (tests/test_cli_startup.py checks this table against what each area registers.)
COMMAND_AREAS: dict[str, tuple[str, ...]] = {
    "manifest": ("manifest", "catalog"),
    "demo": ("demo",),
    "find": ("catalog",),
    "facets": ("catalog",),
    "sql": ("catalog",),
    "ingest": ("catalog",),
    "cite": ("catalog",),
    "catalog": ("catalog",),
    "serve": ("server",),
    "token": ("tokens",),
    "import": ("transfer",),
    "info": ("imaging",),
    "preview": ("imaging",),
    "workspace": ("workspace",),
}
# Options of the root callback that take a value (the command name is the first other word).
_ROOT_VALUE_OPTIONS = frozenset({"--home"})

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


_loaded: list[str] = []


def load_areas(areas: tuple[str, ...] = _AREAS) -> typer.Typer:
    """Register the commands of ``areas`` (each once, in the order of ``_AREAS``) on ``app``."""
    for area in _AREAS:
        if area in areas and area not in _loaded:
            importlib.import_module(f"htan_cds.cli.{area}").register(app)
            _loaded.append(area)
    return app


def areas_for(args: list[str]) -> tuple[str, ...]:
    """The areas a command line needs: those of its command, or all of them."""
    words = iter(args)
    for word in words:
        if word in _ROOT_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return COMMAND_AREAS.get(word, _AREAS)
    return _AREAS


def _click_module(name: str) -> Any:
    """click's ``exceptions`` module as typer uses it: newer typer vendors click as
    ``typer._click`` (then the separate click package, if installed, is never imported: it
    costs start-up time and nothing in the CLI can raise its exceptions)."""
    try:
        return importlib.import_module(f"typer._click.{name}")
    except ImportError:
        return importlib.import_module(f"click.{name}")


def _click_exception_types() -> tuple[type[BaseException], ...]:
    # Accept the vendored and, when loaded, the separate click: an upgrade cannot leak tracebacks.
    types: list[type[BaseException]] = [_click_module("exceptions").ClickException]
    separate = sys.modules.get("click.exceptions")
    if separate is not None:
        types.append(separate.ClickException)
    return tuple(types)


def _is_click(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is click's exception ``name`` (vendored or separate click)."""
    for module in ("typer._click.exceptions", "click.exceptions"):
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def _cause_hint(exc: HtanCdsError) -> str:
    """For a DRS failure without a hint of its own, what its cause suggests (the same words
    as an import's summary: "is the server running…", "give --token…")."""
    if exc.hint is not None or not isinstance(exc, DrsError):
        return ""
    from htan_cds.transfer.causes import cause, classify

    code = classify(exc)
    return "" if code == "other" else f" — {cause(code).title}: {cause(code).hint}"


def _command_path(args: list[str]) -> str:
    """``htan-cds`` and the (sub)commands ``args`` name, as far as they are commands.

    click raises "Option '--grant' requires an argument" from its parser without a context,
    and for some of those the context is the root's: the hint would then point at
    ``htan-cds --help`` instead of the command the user typed.
    """
    import typer.main

    command: Any = typer.main.get_command(app)
    path = ["htan-cds"]
    words = iter(args)
    for word in words:
        if word in _ROOT_VALUE_OPTIONS and len(path) == 1:
            next(words, None)
            continue
        if word.startswith("-"):
            continue
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command = sub
        path.append(word)
    return " ".join(path)


def _usage_error(exc: BaseException, args: list[str]) -> None:
    """A wrong option or argument in one line, naming the command's --help (click's own
    display is a usage block of three lines)."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        exc.show()  # type: ignore[attr-defined]  # a bare command asks for its help
        return
    from rich.markup import escape

    message = getattr(exc, "format_message", lambda: str(exc))()
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "htan-cds"
    typed = _command_path(args)
    if len(typed) > len(command):  # the context is missing or the root's
        command = typed
    _common.err_console.print(
        f"[bold red]error:[/] {escape(message)} (see: {escape(command)} --help)",
        highlight=False,
        soft_wrap=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with loading_modules():
            load_areas(areas_for(args))
        result = app(args=args, prog_name="htan-cds", standalone_mode=False)
    except HtanCdsError as exc:
        if debug:
            traceback.print_exc()
        from rich.markup import escape

        # Escaped: messages quote user input and names like ``htan-cds[idc]`` verbatim.
        message = escape(str(exc) + _cause_hint(exc))
        label = escape(exc.label)
        _common.err_console.print(
            f"[bold red]{label}:[/] {message}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _common.err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        _common.err_console.print("interrupted")
        return 130
    except Exception as exc:
        if _is_click(exc, "Exit"):
            return int(getattr(exc, "exit_code", 0))
        if isinstance(exc, _click_exception_types()):
            _usage_error(exc, args)
            return 2
        if _is_click(exc, "Abort"):
            _common.err_console.print("aborted")
            return 130
        raise
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
