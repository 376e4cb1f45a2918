"""Fetch DRS objects into a job's staging folder through the import engine, for one user.

The workspace never downloads on its own: it hands the job's distinct DRS URIs to the import
engine (resolve in bulk, parallel ranged parts, checksum verification, resume from the ledger
kept in the staging folder) and maps the engine's per-file report back to the job's items. Each
URI lands at ``<k>/<DRS name>`` so the staging path says both which URI it was (``k``) and the
object's own name (for items that give none).

Every connection goes through the workspace's outgoing-connection guard, with the credentials
this user may use (:mod:`htan_cds.workspace.sources`). URIs are grouped by source host and each
group is its own engine run with a deadline, so one slow or hanging host delays only its own
items. Error messages are the workspace's own words and HTTP statuses: a source's answer body is
never echoed to the user.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htan_cds.drs.credentials import Credentials
from htan_cds.drs.retry import RetryPolicy
from htan_cds.errors import HtanCdsError
from htan_cds.net.origins import origin
from htan_cds.workspace import sb_errors
from htan_cds.workspace.settings import WorkspaceSettings

_KEY = "hcds_ws_key"
_LAYOUT = "{" + _KEY + "}/{name}"
# "... HTTP 403 (whatever the server wrote)": the status stays, the server's words go.
_SERVER_WORDS_RE = re.compile(r"(HTTP \d{3}) \(.*\)")


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


def _host_of(uri: str) -> str:
    from htan_cds.drs.uri import normalize_drs_uri

    try:
        return origin(normalize_drs_uri(uri).server_base_url())
    except HtanCdsError:
        return ""  # compact URIs with unknown prefixes: the engine resolves (or fails) them


def fetch_all(
    uris: Sequence[str],
    staging: Path,
    *,
    credentials: Credentials | None = None,
    settings: WorkspaceSettings | None = None,
) -> dict[str, Fetched]:
    """Fetch each distinct URI into ``staging``; per-object failures become SB errors."""
    settings = settings or WorkspaceSettings()
    distinct = list(dict.fromkeys(uris))
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for k, uri in enumerate(distinct):
        groups[_host_of(uri)].append((k, uri))
    creds = credentials or Credentials()

    async def run_all() -> list[dict[str, Fetched]]:
        return await asyncio.gather(
            *(_fetch_group(host, items, staging, creds, settings) for host, items in groups.items())
        )

    out: dict[str, Fetched] = {}
    for part in asyncio.run(run_all()):
        out.update(part)
    return out


async def _fetch_group(
    host: str,
    items: list[tuple[int, str]],
    staging: Path,
    credentials: Credentials,
    settings: WorkspaceSettings,
) -> dict[str, Fetched]:
    from htan_cds.transfer import FileStatus, ImportOptions
    from htan_cds.transfer.engine import import_async
    from htan_cds.transfer.source import SourceRow

    folder = staging / hashlib.sha256(host.encode()).hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        SourceRow(drs_uri=u, name=None, metadata={_KEY: _key(k)}, row_number=k + 1)
        for k, u in items
    ]
    options = ImportOptions(
        concurrency=settings.import_concurrency,
        per_host=settings.host_limit,
        layout=_LAYOUT,
        credentials=credentials,
        guard=settings.guard(),
        item_timeout=settings.item_timeout,
        request_timeout=settings.request_timeout,
        retry=RetryPolicy(attempts=4, max_retry_after=min(60.0, settings.request_timeout)),
    )
    # The whole group: resolution (a few tries of a few requests) plus its items' time.
    rounds = math.ceil(len(rows) / max(1, settings.import_concurrency))
    deadline = settings.item_timeout * rounds + settings.request_timeout * 4
    uris = [u for _, u in items]
    try:
        async with asyncio.timeout(deadline):
            report = await import_async(rows, str(folder), options)
    except TimeoutError:
        err = _error(
            504,
            sb_errors.DRS_DOWNLOAD_FAILED,
            f"The source did not answer in time ({deadline:g} s).",
        )
        return {u: Fetched(u, error=err) for u in uris}
    except HtanCdsError as exc:
        # The whole batch failed (e.g. no disk space): every URI carries the reason.
        err = _error(502, sb_errors.DRS_DOWNLOAD_FAILED, _public(str(exc)))
        return {u: Fetched(u, error=err) for u in uris}
    out: dict[str, Fetched] = {}
    for result in report.files:
        uri = result.drs_uri
        if result.status in (FileStatus.DONE, FileStatus.SKIPPED) and result.path:
            path = Path(result.path)
            if path.is_file():
                out[uri] = Fetched(uri, path=path, name=path.name)
                continue
        message = _public(result.error or f"not imported ({result.status.value})")
        out[uri] = Fetched(uri, error=_error(*_classify(message), message))
    for uri in uris:
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


def _public(message: str) -> str:
    """A failure as the user sees it: no text a source server wrote."""
    return _SERVER_WORDS_RE.sub(r"\1", message)


def _classify(message: str) -> tuple[int, int]:
    low = message.lower()
    if "not found" in low or "404" in low or "not resolved" in low:
        return 404, sb_errors.DRS_RESOLVE_FAILED
    if any(w in low for w in ("denied", "401", "403", "forbidden", "unauthorized")):
        return 403, sb_errors.DRS_RESOLVE_FAILED
    if "refused" in low and "connection to" in low:
        return 403, sb_errors.DRS_RESOLVE_FAILED
    if "invalid" in low or "not a drs" in low:
        return 400, sb_errors.DRS_RESOLVE_FAILED
    if "timed out" in low:
        return 504, sb_errors.DRS_DOWNLOAD_FAILED
    return 502, sb_errors.DRS_DOWNLOAD_FAILED
