"""Manifests: read, check, repair, convert and write every DRS manifest format HTAN users meet.

Every format is read into one row type, :class:`ManifestRow`; formats are reader/writer pairs in
a registry (``cgc``, ``cds-portal``, ``htan-portal``, ``gen3``, and ``bigquery`` for reading).
"""

from __future__ import annotations

from htan_cds.manifest.checks import CODES, Checker, CheckReport, check_rows
from htan_cds.manifest.files import ManifestReader, iter_manifest, read_manifest, write_manifest
from htan_cds.manifest.formats._cells import escape_cell, unescape_cell
from htan_cds.manifest.names import is_safe_file_name, is_safe_name, safe_file_name, safe_name
from htan_cds.manifest.registry import (
    ManifestFormat,
    ReadContext,
    format_names,
    get_format,
    register_format,
    sniff_format,
)
from htan_cds.manifest.repair import Repairer, RepairResult, repair_rows
from htan_cds.manifest.row import Finding, ManifestRow

__all__ = [
    "CODES",
    "CheckReport",
    "Checker",
    "Finding",
    "ManifestFormat",
    "ManifestReader",
    "ManifestRow",
    "ReadContext",
    "RepairResult",
    "Repairer",
    "check_rows",
    "escape_cell",
    "format_names",
    "get_format",
    "is_safe_file_name",
    "is_safe_name",
    "iter_manifest",
    "read_manifest",
    "register_format",
    "repair_rows",
    "safe_file_name",
    "safe_name",
    "sniff_format",
    "unescape_cell",
    "write_manifest",
]
