"""JSON resources as SB's ``/v2`` API writes them (what the sevenbridges SDK parses)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from htan_cds.workspace.auth import User
from htan_cds.workspace.store import FileRecord, ImportJob, Project


def user_resource(base: str, user: User) -> dict[str, Any]:
    """``GET /v2/user``."""
    return {
        "href": f"{base}/users/{quote(user.username)}",
        "username": user.username,
        "email": None,
        "first_name": user.username,
        "last_name": "",
        "affiliation": "htan-cds workspace",
        "role": "USER",
    }


def project_resource(base: str, project: Project) -> dict[str, Any]:
    """A project (``id`` is ``owner/short-name``)."""
    return {
        "href": f"{base}/projects/{project.id}",
        "id": project.id,
        "name": project.name,
        "type": "v2",
        "description": project.description or "",
        "tags": project.tags,
        "settings": {"locked": False, "controlled": False},
        "root_folder": project.root_folder,
        "created_by": project.owner,
        "created_on": project.created_on,
        "modified_on": project.modified_on,
        "category": "PRIVATE",
    }


def file_resource(base: str, record: FileRecord, root_folder: str | None) -> dict[str, Any]:
    """A file; ``drs_uri`` says where this workspace serves it over DRS."""
    out: dict[str, Any] = {
        "href": f"{base}/files/{record.id}",
        "id": record.id,
        "type": "file",
        "name": record.name,
        "size": record.size,
        "project": record.project,
        "parent": root_folder,
        "created_on": record.created_on,
        "modified_on": record.modified_on,
        "origin": {"drs_uri": record.source_drs_uri},
        "storage": {"type": "PLATFORM", "hosted_on_locations": ["htan-cds-workspace"]},
        "metadata": record.metadata,
        "tags": record.tags,
    }
    return out


def job_resource(base: str, job: ImportJob, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A bulk DRS import: one ``result`` entry per item, in submission order.

    A finished item holds ``resource`` (the file) or ``error``; an unfinished one only
    ``state`` (SB sends results as they come; the SDK ignores the extra key).
    """
    result: list[dict[str, Any]] = []
    for item in job.items:
        if item.error is not None:
            result.append({"error": item.error})
        elif item.file_id is not None and item.file_id in files:
            result.append({"resource": files[item.file_id]})
        else:
            result.append({"state": "PENDING" if job.state == "PENDING" else "RUNNING"})
    return {
        "href": f"{base}/bulk/drs/imports/{job.id}",
        "id": job.id,
        "state": job.state,
        "conflict_resolution": job.conflict_resolution,
        "tags": job.tags,
        "created_on": job.created_on,
        "started_on": job.started_on,
        "finished_on": job.finished_on,
        "result": result,
    }


def collection(
    href: str, items: list[dict[str, Any]], *, offset: int, limit: int, total: int, next_href: str
) -> dict[str, Any]:
    """SB's paged envelope (``X-Total-Matching-Query`` goes in a header)."""
    links: list[dict[str, str]] = []
    if offset + limit < total:
        links.append({"href": next_href, "rel": "next", "method": "GET"})
    return {"href": href, "items": items, "links": links}
