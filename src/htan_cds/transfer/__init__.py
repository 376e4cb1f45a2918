"""The import engine: resolve DRS objects, fetch them in parallel parts, verify, resume.

Public API: :func:`run_import` (and :func:`import_async`), :class:`ImportOptions`,
:class:`ImportReport`, the :class:`Destination` protocol and :func:`register_destination`.
"""

from htan_cds.transfer.destinations import Destination, open_destination, register_destination
from htan_cds.transfer.engine import import_async, run_import
from htan_cds.transfer.options import ConflictPolicy, ImportOptions, parse_size
from htan_cds.transfer.progress import ProgressEvent, RichProgress
from htan_cds.transfer.report import FileResult, FileStatus, ImportReport
from htan_cds.transfer.status import ledger_status

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
