"""The import engine: resolve DRS objects, fetch them in parallel parts, verify, resume.

Public API: :func:`run_import` (and :func:`import_async`), :class:`ImportOptions`,
:class:`ImportReport`, the :class:`Destination` protocol and :func:`register_destination`.

The names are loaded on first use (PEP 562): ``import htan_cds.transfer`` or a submodule such as
``htan_cds.transfer.report`` does not pull in the HTTP client, pydantic and the engine, which
other commands (and ``htan-cds import --help``) never need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from htan_cds._lazy import lazy_exports

if TYPE_CHECKING:
    from htan_cds.transfer.destinations import (
        Destination,
        open_destination,
        register_destination,
    )
    from htan_cds.transfer.engine import import_async, run_import
    from htan_cds.transfer.options import ConflictPolicy, ImportOptions, parse_size
    from htan_cds.transfer.progress import ProgressEvent
    from htan_cds.transfer.report import FileResult, FileStatus, ImportReport
    from htan_cds.transfer.rich_progress import RichProgress
    from htan_cds.transfer.status import ledger_status

# Public name -> the submodule that defines it.
_EXPORTS = {
    "ConflictPolicy": "options",
    "Destination": "destinations",
    "FileResult": "report",
    "FileStatus": "report",
    "ImportOptions": "options",
    "ImportReport": "report",
    "ProgressEvent": "progress",
    "RichProgress": "rich_progress",
    "import_async": "engine",
    "ledger_status": "status",
    "open_destination": "destinations",
    "parse_size": "options",
    "register_destination": "destinations",
    "run_import": "engine",
}

__all__ = [
    "ConflictPolicy",
    "Destination",
    "FileResult",
    "FileStatus",
    "ImportOptions",
    "ImportReport",
    "ProgressEvent",
    "RichProgress",
    "import_async",
    "ledger_status",
    "open_destination",
    "parse_size",
    "register_destination",
    "run_import",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
