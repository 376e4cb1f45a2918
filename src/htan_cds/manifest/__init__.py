"""Manifests: read, check, repair, convert and write every DRS manifest format HTAN users meet.

Every format is read into one row type, :class:`ManifestRow`; formats are reader/writer pairs in
a registry (``cgc``, ``cds-portal``, ``htan-portal``, ``gen3``, and ``bigquery`` for reading).

The names are loaded on first use (PEP 562): ``htan_cds.manifest.names`` (the safe-name rule
the import engine lays files out by) does not load the readers, checks and Arrow paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from htan_cds._lazy import lazy_exports

if TYPE_CHECKING:
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

# Public name -> the submodule that defines it.
_EXPORTS = {
    "CODES": "checks",
    "CheckReport": "checks",
    "Checker": "checks",
    "Finding": "row",
    "ManifestFormat": "registry",
    "ManifestReader": "files",
    "ManifestRow": "row",
    "ReadContext": "registry",
    "RepairResult": "repair",
    "Repairer": "repair",
    "check_rows": "checks",
    "escape_cell": "formats._cells",
    "format_names": "registry",
    "get_format": "registry",
    "is_safe_file_name": "names",
    "is_safe_name": "names",
    "iter_manifest": "files",
    "read_manifest": "files",
    "register_format": "registry",
    "repair_rows": "repair",
    "safe_file_name": "names",
    "safe_name": "names",
    "sniff_format": "registry",
    "unescape_cell": "formats._cells",
    "write_manifest": "files",
}

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

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
