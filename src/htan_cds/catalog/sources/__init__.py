"""Catalog builders, registered by name: ``files`` (table exports), ``bigquery`` (ISB-CGC),
``ingest`` (local files) and ``idc`` (IDC's HTAN collections from the ``idc-index-data`` wheel).
Each replaces or extends the catalog in a data home."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BUILDERS: dict[str, str] = {
    "files": "htan_cds.catalog.sources.files:build_from_files",
    "bigquery": "htan_cds.catalog.sources.bigquery:build_from_bigquery",
    "ingest": "htan_cds.catalog.sources.ingest:ingest_directory",
    "idc": "htan_cds.catalog.sources.idc:build_from_idc",
}


def builder(name: str) -> Callable[..., Any]:
    """The builder function registered as ``name``."""
    import importlib

    from htan_cds.errors import UsageError

    try:
        target = BUILDERS[name]
    except KeyError as exc:
        raise UsageError(f"unknown catalog source {name!r}; known: {', '.join(BUILDERS)}") from exc
    module, _, attr = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn
