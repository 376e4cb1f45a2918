"""CLI commands of the server area: ``htan-cds serve``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from htan_cds.cli._common import data_home, emit_json_line, err_console

if TYPE_CHECKING:
    from htan_cds.server import ServerConfig


def serve_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port.", min=1, max=65535),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="Public base URL (self_uri, signed URLs). Default: http://HOST:PORT",
    ),
    drs_compat: str | None = typer.Option(
        None, "--drs-compat", help="Answer as DRS 1.2 (leave out fields added later)."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Object store: a folder or s3://bucket/prefix. Default: HOME/objects"
    ),
    s3_endpoint: str | None = typer.Option(
        None, "--s3-endpoint", help="S3 endpoint URL (MinIO, moto, ...)."
    ),
    access_ttl: int = typer.Option(
        3600, "--access-ttl", min=1, help="Lifetime of signed/presigned access URLs, seconds."
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes."),
    max_bulk: int = typer.Option(1000, "--max-bulk", min=1, help="maxBulkRequestLength."),
    nginx_accel: str | None = typer.Option(
        None,
        "--nginx-accel",
        help="Hand bytes to a front nginx: internal location prefix for X-Accel-Redirect.",
    ),
    workspace: bool = typer.Option(False, "--workspace", help="Also serve the workspace API."),
    export_target: str = typer.Option(
        "https://cgc.sbgenomics.com/import-redirect/drs/csv",
        "--export-target",
        help="Where the portal's 'Export to CGC' sends the browser (?URL=<signed manifest>).",
    ),
    export_ttl: int = typer.Option(
        600, "--export-ttl", min=1, help="Lifetime of the portal's signed export URLs, seconds."
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    ssl_certfile: str | None = typer.Option(
        None, "--ssl-certfile", help="Serve HTTPS with this PEM certificate (chain)."
    ),
    ssl_keyfile: str | None = typer.Option(
        None, "--ssl-keyfile", help="Private key (PEM) for --ssl-certfile."
    ),
    header_timeout: float = typer.Option(
        10.0,
        "--header-timeout",
        min=0.1,
        help="Seconds a client has to send a request's headers (then 408 and close).",
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Say where it serves as one JSON line on stdout, then serve."
    ),
) -> None:
    """Serve this data home over GA4GH DRS 1.5 (plus signed byte URLs) until interrupted."""
    from htan_cds.errors import UsageError
    from htan_cds.server import ServerConfig, serve

    if drs_compat is not None and drs_compat not in ("1.2", "1.2.0"):
        raise UsageError(f"--drs-compat supports only 1.2, not {drs_compat!r}")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise UsageError("--ssl-certfile and --ssl-keyfile go together")
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise UsageError(f"--public-url must start with http:// or https://, not {public_url!r}")
    config = ServerConfig(
        home=data_home(ctx),
        host=host,
        port=port,
        public_url=public_url,
        drs_compat=drs_compat,
        store=store,
        s3_endpoint=s3_endpoint,
        access_ttl=access_ttl,
        workspace=workspace,
        export_target=export_target,
        export_ttl=export_ttl,
        workers=workers,
        max_bulk=max_bulk,
        nginx_accel=nginx_accel,
        log_level=log_level,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        header_timeout=header_timeout,
    )
    from htan_cds.server.listen import ensure_can_serve

    ensure_can_serve(config)  # before saying it serves
    warn_if_elsewhere(config)
    if json_out:
        base = config.base_url
        emit_json_line(
            {
                "home": str(config.home.root),
                "url": base,
                "drs": f"{base}/ga4gh/drs/v1",
                "portal": f"{base}/",
                "workspace": f"{base}/v2" if workspace else None,
                "pid": os.getpid(),
            }
        )
    err_console.print(
        f"serving {config.home.root} at {config.base_url}/ga4gh/drs/v1 (Ctrl-C to stop)",
        highlight=False,
        soft_wrap=True,
    )
    serve(config)


def warn_if_elsewhere(config: ServerConfig) -> None:
    """One line on stderr when the catalog's DRS URIs name another address than this server."""
    from htan_cds.catalog.authority import authority_mismatch, catalog_identity, url_authority

    line = authority_mismatch(
        catalog_identity(config.home),
        url_authority(config.base_url),
        public=config.public_url is not None,
    )
    if line:
        err_console.print(line, highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.command("serve")(serve_command)
