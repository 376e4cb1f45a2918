"""The ``htan-cds demo`` command: build (and serve) a local synthetic demo commons."""

from __future__ import annotations

from typing import Any

import typer

from htan_cds.cli._common import JsonOption, data_home, emit_json, err_console
from htan_cds.errors import UsageError
from htan_cds.units import summary_size


def demo(
    ctx: typer.Context,
    no_serve: bool = typer.Option(False, "--no-serve", help="Build only; do not start a server."),
    port: int = typer.Option(
        8000, "--port", help="Port the demo commons is served on.", min=1, max=65535
    ),
    scale: int | None = typer.Option(
        None,
        "--scale",
        min=1,
        help="With --metadata-only: number of synthetic files (e.g. 1000000).",
    ),
    metadata_only: bool = typer.Option(
        False, "--metadata-only", help="Catalog rows only, no bytes (for benchmarks)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the synthetic content."),
    authority: str | None = typer.Option(
        None,
        "--authority",
        metavar="HOST[:PORT]",
        help="Name the demo's DRS URIs drs://HOST[:PORT]/id. Default: 127.0.0.1:PORT",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Build a local demo commons (synthetic HTAN-shaped data with real bytes) and serve it."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from htan_cds.catalog.authority import parse_authority

    drs_authority = parse_authority(authority if authority else f"127.0.0.1:{port}")
    if not no_serve:
        from htan_cds.server.listen import ensure_can_listen

        ensure_can_listen("127.0.0.1", port)  # before a minute of building, not after
    home = data_home(ctx)
    started = time.monotonic()
    if scale is not None or metadata_only:
        if not (scale and metadata_only):
            raise UsageError("--scale N and --metadata-only go together")
        from htan_cds.catalog.scale import build_scaled

        with err_console.status(f"Generating {scale:,} synthetic catalog rows"):
            summary = build_scaled(home, files=scale, port=port, seed=seed)
    else:
        from htan_cds.catalog.demo import build_demo

        with Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        ) as bar:
            tasks: dict[str, Any] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = build_demo(home, port=port, seed=seed, progress=report)
    if authority:
        from htan_cds.catalog import Catalog
        from htan_cds.catalog.authority import set_authority

        with Catalog.open(home) as catalog:
            set_authority(catalog, drs_authority)
    elapsed = time.monotonic() - started
    url = f"http://127.0.0.1:{port}/"
    payload = {
        "home": str(home.root),
        "catalog": str(home.catalog_path),
        "drs_authority": drs_authority,
        "seconds": round(elapsed, 2),
        "portal_url": url,
        **summary,
    }
    if json_out:
        emit_json(payload)
    else:
        err_console.print(
            f"Demo commons in {home.root}: {summary['participants']} participants, "
            f"{summary['samples']} biospecimens, {summary['files']:,} files, "
            f"{summary_size(summary)} ({elapsed:.1f} s)"
        )
    if no_serve:
        return
    from htan_cds.cli.server import warn_if_elsewhere
    from htan_cds.server import ServerConfig, serve  # type: ignore[attr-defined,unused-ignore]

    config = ServerConfig(home=home, port=port)
    from htan_cds.server.listen import ensure_can_serve

    ensure_can_serve(config)  # before saying it serves
    warn_if_elsewhere(config)
    err_console.print(f"Serving the demo commons: portal at {url}  (Ctrl-C to stop)")
    serve(config)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the ``htan-cds`` app."""
    app.command("demo")(demo)
