"""``htan-cds catalog set-authority``: the one identity of a commons' DRS URIs."""

from __future__ import annotations

import typer

from htan_cds.cli._common import JsonOption, data_home, emit_json, err_console


def set_authority_command(
    ctx: typer.Context,
    authority: str = typer.Argument(
        ..., metavar="HOST[:PORT]", help="e.g. 127.0.0.1:9000 or commons.example.org"
    ),
    json_out: bool = JsonOption,
) -> None:
    """Make HOST[:PORT] the authority of this commons' DRS URIs (drs://HOST[:PORT]/id).

    Serve the commons at that address (`htan-cds serve --port PORT`, or --public-url behind a
    proxy) so the URIs that find, manifest create and the portal hand out reach it.
    """
    from htan_cds.catalog import Catalog
    from htan_cds.catalog.authority import parse_authority, set_authority

    parse_authority(authority)  # refuse a bad value before touching the data home
    with Catalog.open(data_home(ctx)) as catalog:
        change = set_authority(catalog, authority)
    payload = change.to_dict()
    if json_out:
        emit_json(payload)
        return
    if change.previous == change.authority:
        err_console.print(f"authority already {change.authority}", highlight=False, soft_wrap=True)
        return
    err_console.print(
        f"authority {change.previous or '(default)'} -> {change.authority}: "
        f"{change.local_files:,} local files now drs://{change.authority}/… "
        f"({change.seconds:.2f} s)",
        highlight=False,
        soft_wrap=True,
    )


def register(catalog_app: typer.Typer) -> None:
    """Add ``set-authority`` to the ``catalog`` sub-app."""
    catalog_app.command("set-authority")(set_authority_command)
