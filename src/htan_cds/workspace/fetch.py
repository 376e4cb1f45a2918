"""Fetch DRS objects into a job's staging folder through the import engine.

The workspace never downloads on its own: it hands the job's distinct DRS URIs to
:func:`htan_cds.transfer.run_import` (resolve in bulk, parallel ranged parts, checksum
verification, resume from the ledger kept in the staging folder) and maps the engine's per-file
report back to the job's items. Each URI lands at ``<k>/<DRS name>`` so the staging path says
both which URI it was (``k``) and the object's own name (for items that give none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htan_cds.errors import HtanCdsError
from htan_cds.workspace import sb_errors

_KEY = "hcds_ws_key"
_LAYOUT = "{" + _KEY + "}/{name}"


@dataclass(frozen=True)
class Fetched:
    """The outcome for one DRS URI: a staged file (and the object's name) or an SB error."""

    drs_uri: str
    path: Path | None = None
    name: str | None = None
    error: dict[str, Any] | None = None


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message}


def _key(k: int) -> str:
    return f"{k:05d}"


def fetch_all(
    uris: Sequence[str], staging: Path, *, token: str | None = None, concurrency: int = 8
) -> dict[str, Fetched]:
    """Fetch each distinct URI into ``staging``; per-object failures become SB errors."""
    from htan_cds.transfer import FileStatus, ImportOptions, run_import
    from htan_cds.transfer.source import SourceRow

    staging.mkdir(parents=True, exist_ok=True)
    distinct = list(dict.fromkeys(uris))
    rows = [
        SourceRow(drs_uri=u, name=None, metadata={_KEY: _key(k)}, row_number=k + 1)
        for k, u in enumerate(distinct)
    ]
    options = ImportOptions(concurrency=concurrency, layout=_LAYOUT, token=token)
    out: dict[str, Fetched] = {}
    try:
        report = run_import(rows, str(staging), options)
    except HtanCdsError as exc:
        # The whole batch failed (e.g. no disk space): every URI carries the reason.
        err = _error(502, sb_errors.DRS_DOWNLOAD_FAILED, str(exc))
        return {u: Fetched(u, error=err) for u in distinct}
    for result in report.files:
        uri = result.drs_uri
        if result.status in (FileStatus.DONE, FileStatus.SKIPPED) and result.path:
            path = Path(result.path)
            if path.is_file():
                out[uri] = Fetched(uri, path=path, name=path.name)
                continue
        message = result.error or f"not imported ({result.status.value})"
        out[uri] = Fetched(uri, error=_error(*_classify(message), message))
    for uri in distinct:
        out.setdefault(
            uri,
            Fetched(
                uri,
                error=_error(
                    502, sb_errors.DRS_DOWNLOAD_FAILED, "the import engine gave no result"
                ),
            ),
        )
    return out


def _classify(message: str) -> tuple[int, int]:
    low = message.lower()
    if "not found" in low or "404" in low or "not resolved" in low:
        return 404, sb_errors.DRS_RESOLVE_FAILED
    if any(w in low for w in ("denied", "401", "403", "forbidden", "unauthorized")):
        return 403, sb_errors.DRS_RESOLVE_FAILED
    if "invalid" in low or "not a drs" in low:
        return 400, sb_errors.DRS_RESOLVE_FAILED
    return 502, sb_errors.DRS_DOWNLOAD_FAILED
