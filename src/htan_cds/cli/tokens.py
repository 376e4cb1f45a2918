"""CLI commands of the tokens area: ``htan-cds token create|list|revoke``."""

from __future__ import annotations

import typer

from htan_cds.cli._common import JsonOption, data_home, emit_json, err_console, out_console

token_app = typer.Typer(help="Bearer tokens for controlled data (stored hashed in the home).")


@token_app.command("create")
def create_command(
    ctx: typer.Context,
    grant: list[str] = typer.Option(
        ..., "--grant", help="Consent group the token opens (repeatable), e.g. phs002371."
    ),
    ttl: int | None = typer.Option(None, "--ttl", min=1, help="Expire after this many seconds."),
    label: str | None = typer.Option(None, "--label", help="A note to recognise the token by."),
    as_json: bool = JsonOption,
) -> None:
    """Mint a bearer token and print it (it is shown only this once)."""
    from htan_cds.server.tokens import TokenStore

    store = TokenStore(data_home(ctx))
    token = store.create(grant, ttl=ttl, label=label)
    info = store.verify(token)
    if as_json:
        emit_json({"token": token, **(info.to_json() if info else {})})
        return
    typer.echo(token)
    err_console.print(f"grants: {', '.join(grant)} (keep this token secret)", highlight=False)


@token_app.command("list")
def list_command(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List tokens (ids, grants, state; never the secrets)."""
    from htan_cds.server.tokens import TokenStore

    items = TokenStore(data_home(ctx)).list()
    if as_json:
        emit_json([t.to_json() for t in items])
        return
    from rich.table import Table

    table = Table("id", "grants", "label", "state")
    for t in items:
        state = "active" if t.active else ("revoked" if t.revoked else "expired")
        table.add_row(t.id, ", ".join(t.grants), t.label or "", state)
    out_console.print(table)


@token_app.command("revoke")
def revoke_command(
    ctx: typer.Context,
    token: str = typer.Argument(..., help="Token id (from token list) or the token itself."),
    as_json: bool = JsonOption,
) -> None:
    """Revoke a token; servers refuse it from their next request on."""
    from htan_cds.server.tokens import TokenStore

    info = TokenStore(data_home(ctx)).revoke(token)
    if as_json:
        emit_json(info.to_json())
        return
    err_console.print(f"revoked token {info.id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.add_typer(token_app, name="token")
