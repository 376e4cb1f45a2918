"""The workspace's records: projects, files, import jobs and items, and their id rules."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

JOB_STATES = ("PENDING", "RUNNING", "FINISHED")
CONFLICT_POLICIES = ("SKIP", "OVERWRITE", "RENAME")
_SLUG_RE = re.compile(r"[^a-z0-9]+")


def now_iso() -> str:
    """UTC now as SB writes it (``2026-01-02T03:04:05Z``; the SDK parses exactly this)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_id(nbytes: int = 12) -> str:
    """A random hex id (24 hex digits by default, like SB's file ids)."""
    return secrets.token_hex(nbytes)


def slugify(name: str) -> str:
    """The short name SB derives from a project name (``My Project`` -> ``my-project``)."""
    return _SLUG_RE.sub("-", name.lower()).strip("-")


@dataclass(frozen=True)
class Project:
    """A project ``owner/slug``."""

    id: str
    owner: str
    name: str
    description: str | None
    tags: list[str]
    root_folder: str
    created_on: str
    modified_on: str


@dataclass(frozen=True)
class FileRecord:
    """A file in a project: bytes in the object store (by sha-256), metadata and tags."""

    id: str
    project: str
    name: str
    size: int
    sha256: str
    md5: str
    metadata: dict[str, str]
    tags: list[str]
    source_drs_uri: str | None
    created_on: str
    modified_on: str


@dataclass
class ImportItem:
    """One requested import: its request, state and outcome (file id or SB-shaped error)."""

    job_id: str
    index: int
    drs_uri: str
    name: str | None
    project: str
    metadata: dict[str, str]
    state: str = "PENDING"
    file_id: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class ImportJob:
    """A bulk DRS import: ``PENDING`` -> ``RUNNING`` -> ``FINISHED``."""

    id: str
    owner: str
    state: str
    conflict_resolution: str
    tags: list[str]
    created_on: str
    started_on: str | None
    finished_on: str | None
    items: list[ImportItem] = field(default_factory=list)
    token_id: str | None = None


@dataclass(frozen=True)
class ItemRequest:
    """What a caller asks to import (validated by the API before a job is made)."""

    drs_uri: str
    project: str
    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def project_from_row(row: sqlite3.Row) -> Project:
    """A :class:`Project` from its database row."""
    return Project(
        id=row["id"],
        owner=row["owner"],
        name=row["name"],
        description=row["description"],
        tags=json.loads(row["tags"]),
        root_folder=row["root_folder"],
        created_on=row["created_on"],
        modified_on=row["modified_on"],
    )


def file_from_row(row: sqlite3.Row) -> FileRecord:
    """A :class:`FileRecord` from its database row."""
    return FileRecord(
        id=row["id"],
        project=row["project"],
        name=row["name"],
        size=int(row["size"]),
        sha256=row["sha256"],
        md5=row["md5"],
        metadata=json.loads(row["metadata"]),
        tags=json.loads(row["tags"]),
        source_drs_uri=row["source_drs_uri"],
        created_on=row["created_on"],
        modified_on=row["modified_on"],
    )


def item_from_row(row: sqlite3.Row) -> ImportItem:
    """An :class:`ImportItem` from its database row."""
    return ImportItem(
        job_id=row["job_id"],
        index=int(row["idx"]),
        drs_uri=row["drs_uri"],
        name=row["name"],
        project=row["project"],
        metadata=json.loads(row["metadata"]),
        state=row["state"],
        file_id=row["file_id"],
        error=json.loads(row["error"]) if row["error"] else None,
    )


def renamed(name: str, n: int) -> str:
    """SB's RENAME policy: ``_1_name``, ``_2_name``, ..."""
    return f"_{n}_{name}"
