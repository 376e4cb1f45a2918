"""The HTAN metadata catalog: a DuckDB index of files, imaging, channels, participants, samples.

Public API: :class:`Catalog` (``Catalog.open(home)``) and :class:`FileFilter`.
"""

from htan_cds.catalog.filters import FACET_COLUMNS, FileFilter
from htan_cds.catalog.store import DEFAULT_AUTHORITY, LOCAL_ID_PREFIX, Catalog

__all__ = ["DEFAULT_AUTHORITY", "FACET_COLUMNS", "LOCAL_ID_PREFIX", "Catalog", "FileFilter"]
