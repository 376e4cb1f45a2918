"""htan-cds: find, export, import, preview and serve HTAN imaging data over GA4GH DRS.

The public API is re-exported here; submodules are the architecture (see docs/architecture.md).
"""

from __future__ import annotations

from htan_cds.config import DataHome
from htan_cds.drs import DrsUri, normalize_drs_uri, parse_drs_uri
from htan_cds.errors import (
    AccessDenied,
    CatalogError,
    ChecksumMismatch,
    ConfigError,
    DrsError,
    HtanCdsError,
    ImagingError,
    InvalidDrsUri,
    ManifestError,
    ManifestFormatError,
    ManifestHasErrors,
    ObjectNotFound,
    StorageError,
    TransferError,
    UnknownPrefix,
    UsageError,
    WorkspaceError,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "CatalogError",
    "ChecksumMismatch",
    "ConfigError",
    "DataHome",
    "DrsError",
    "DrsUri",
    "HtanCdsError",
    "ImagingError",
    "InvalidDrsUri",
    "ManifestError",
    "ManifestFormatError",
    "ManifestHasErrors",
    "ObjectNotFound",
    "StorageError",
    "TransferError",
    "UnknownPrefix",
    "UsageError",
    "WorkspaceError",
    "__version__",
    "normalize_drs_uri",
    "parse_drs_uri",
]
