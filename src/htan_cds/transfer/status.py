"""``htan-cds import status``: what the ledger of an import says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from htan_cds.transfer.destinations import open_destination
from htan_cds.transfer.ledger import LEDGER_NAME, Ledger
from htan_cds.transfer.options import ImportOptions


def ledger_status(dest: str | Path, options: ImportOptions | None = None) -> dict[str, Any]:
    """Summary and per-object rows of the ledger of an import into ``dest``."""
    destination = open_destination(str(dest), options)
    path = destination.state_dir() / LEDGER_NAME
    ledger = Ledger.open_existing(path)
    try:
        objects = [
            {
                "drs_uri": e.drs_uri,
                "path": e.path,
                "size": e.size,
                "status": e.status,
                "checksum_type": e.checksum_type,
                "checksum": e.checksum,
                "verified": e.verified,
                "error": e.error,
                "attempts": e.attempts,
            }
            for e in ledger.entries()
        ]
        return {"ledger": str(path), **ledger.summary(), "files": objects}
    finally:
        ledger.close()
