"""Shared plumbing for CLI commands: the data home, JSON output, consoles."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

from htan_cds.config import DataHome
from htan_cds.net.tls import deferred_trust

if TYPE_CHECKING:
    from rich.console import Console

# Progress and human output go to stderr so that stdout stays clean for --json / --csv.
# ``err_console`` (stderr) and ``out_console`` (stdout) are made on first use (PEP 562): rich is
# a tenth of a quiet ``htan-cds import``'s start-up, and such an import may print nothing.
_CONSOLES = {"err_console": True, "out_console": False}  # name -> on stderr


def __getattr__(name: str) -> Console:
    stderr = _CONSOLES.get(name)
    if stderr is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    console = globals()[name] = Console(stderr=stderr)  # once made, a plain module attribute
    return console


JsonOption = typer.Option(False, "--json", help="Print a machine-readable JSON result.")


@dataclass
class CliState:
    """Options given before the command name (``htan-cds --home DIR CMD``)."""

    home: Path | None = None
    debug: bool = False


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, CliState):
        obj = CliState()
        root.obj = obj
    return obj


@contextlib.contextmanager
def loading_modules() -> Iterator[None]:
    """Load a command's modules without garbage collection, then freeze what they made.

    Importing the import engine's stack (aiohttp, pydantic models, typer's commands) allocates
    hundreds of thousands of long-lived objects: the collector ran ~100 times while they loaded,
    and one full collection during the transfer then scanned them all again — together about a
    tenth of a 4 x 256 MiB import's CPU time (measured with ``gc.callbacks``). Frozen objects
    (``gc.freeze``) are never scanned again; a short-lived CLI process loses nothing by it.

    TLS contexts made meanwhile (aiohttp makes two as it is imported) load their CA store at
    their first handshake, not now (:func:`htan_cds.net.tls.deferred_trust`): an import over
    plain HTTP loads none.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        with deferred_trust():
            yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def data_home(ctx: typer.Context, *, create: bool = True) -> DataHome:
    """The data home chosen by ``--home``, ``HTAN_CDS_HOME`` or the platform default."""
    return DataHome.open(state(ctx).home, create=create)


def _default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=True)
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def emit_json_line(payload: Any) -> None:
    """Write ``payload`` as one line of JSON on stdout, flushed: what a long-running command
    (``serve``) says once, for a script reading its output line by line."""
    sys.stdout.buffer.write(orjson.dumps(payload, default=_default) + b"\n")
    sys.stdout.flush()


def emit_json(payload: Any) -> None:
    """Write ``payload`` as indented JSON on stdout."""
    data = orjson.dumps(
        payload,
        default=_default,
        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY,
    )
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.flush()
