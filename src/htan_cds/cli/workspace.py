"""CLI commands of the workspace area: ``htan-cds workspace serve|project|files|jobs|job``."""

from __future__ import annotations

import os
from typing import Any

import typer

from htan_cds.cli._common import (
    JsonOption,
    data_home,
    emit_json,
    emit_json_line,
    err_console,
    out_console,
)
from htan_cds.errors import UsageError

workspace_app = typer.Typer(
    name="workspace",
    help="The CGC-side workspace: projects, files and DRS import jobs (SB /v2 compatible).",
    no_args_is_help=True,
)
project_app = typer.Typer(help="Workspace projects (owner/project).", no_args_is_help=True)
workspace_app.add_typer(project_app, name="project")


def _store(ctx: typer.Context) -> Any:
    from htan_cds.workspace.store import WorkspaceStore

    return WorkspaceStore.open(data_home(ctx))


@workspace_app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8100, "--port", help="Port to listen on.", min=1, max=65535),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="Public base URL of the links it hands out (default http://HOST:PORT).",
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
    """Serve only the workspace (SB /v2 API, import-redirect, DRS for imported files).

    ``htan-cds serve --workspace`` serves it beside a commons instead."""
    from htan_cds.errors import UsageError
    from htan_cds.server import slow_clients
    from htan_cds.workspace.app import create_workspace_app

    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise UsageError(f"--public-url must start with http:// or https://, not {public_url!r}")
    shown = f"[{host}]" if ":" in host else ("127.0.0.1" if host == "0.0.0.0" else host)
    base_url = (public_url or f"http://{shown}:{port}").rstrip("/")
    from htan_cds.server.listen import ensure_can_listen

    ensure_can_listen(host, port)  # a taken port in one line, before saying it serves
    home = data_home(ctx)
    app = create_workspace_app(home, base_url)
    if json_out:
        said = {"home": str(home.root), "url": base_url, "workspace": f"{base_url}/v2"}
        emit_json_line(said | {"pid": os.getpid()})
    err_console.print(f"workspace of {home.root} at {base_url}/v2 (Ctrl-C to stop)")
    # Slow clients get the commons' header deadline (htan_cds.server.slow_clients).
    slow_clients.run(
        slow_clients.uvicorn_config(
            app,
            header_timeout=header_timeout,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
    )


@project_app.command("create")
def project_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name; its id is OWNER/<short name>."),
    owner: str = typer.Option(..., "--owner", help="Owner: the label of the owner's token."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    as_json: bool = JsonOption,
) -> None:
    """Create a project (what api.projects.create(name=...) does, for a given owner)."""
    from htan_cds.workspace.sb_errors import SbApiError

    store = _store(ctx)
    try:
        project = store.create_project(owner, name, description=description)
    except SbApiError as exc:
        raise UsageError(exc.message) from exc
    finally:
        store.close()
    if as_json:
        emit_json(project)
    else:
        out_console.print(project.id)


@project_app.command("list")
def project_list(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's projects."),
    as_json: bool = JsonOption,
) -> None:
    """List projects."""
    store = _store(ctx)
    try:
        projects, _ = store.list_projects(owner=owner, limit=100_000)
    finally:
        store.close()
    if as_json:
        emit_json(projects)
        return
    for p in projects:
        out_console.print(f"{p.id}\t{p.name}", highlight=False)


@workspace_app.command("files")
def files(
    ctx: typer.Context,
    project: str = typer.Argument(..., help="OWNER/PROJECT"),
    as_json: bool = JsonOption,
) -> None:
    """List the files of a project."""
    store = _store(ctx)
    try:
        if store.get_project(project) is None:
            raise UsageError(f"no project {project} (see: htan-cds workspace project list)")
        records, _ = store.list_files(project, limit=10_000_000)
    finally:
        store.close()
    if as_json:
        emit_json(records)
        return
    for f in records:
        out_console.print(f"{f.id}\t{f.size}\t{f.name}", highlight=False)


def _job_summary(job: Any) -> dict[str, Any]:
    states = [it.state for it in job.items]
    return {
        "id": job.id,
        "owner": job.owner,
        "state": job.state,
        "items": len(states),
        "done": states.count("DONE"),
        "failed": states.count("FAILED"),
        "created_on": job.created_on,
        "finished_on": job.finished_on,
    }


@workspace_app.command("jobs")
def jobs(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's jobs."),
    as_json: bool = JsonOption,
) -> None:
    """List DRS import jobs, newest first."""
    store = _store(ctx)
    try:
        summaries = [_job_summary(j) for j in store.list_jobs(owner)]
    finally:
        store.close()
    if as_json:
        emit_json(summaries)
        return
    for s in summaries:
        out_console.print(
            f"{s['id']}\t{s['state']}\t{s['done']}/{s['items']} done\t{s['failed']} failed",
            highlight=False,
        )


@workspace_app.command("job")
def job(
    ctx: typer.Context,
    job_id: str = typer.Argument(..., help="Import job id."),
    as_json: bool = JsonOption,
) -> None:
    """Show one import job and every item's result; exit 1 if any item failed."""
    store = _store(ctx)
    try:
        found = store.get_job(job_id)
    finally:
        store.close()
    if found is None:
        raise UsageError(f"no import job {job_id} (see: htan-cds workspace jobs)")
    failed = any(it.state == "FAILED" for it in found.items)
    if as_json:
        emit_json({**_job_summary(found), "results": found.items})
    else:
        out_console.print(f"{found.id}: {found.state}", highlight=False)
        for it in found.items:
            detail = it.file_id or (it.error or {}).get("message", "")
            out_console.print(f"  {it.index}\t{it.state}\t{it.drs_uri}\t{detail}", highlight=False)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
    app.add_typer(workspace_app, name="workspace")
