"""Fetch a manifest named by URL, carefully: the import-redirect's only outbound request.

Through the outgoing-connection guard (:mod:`htan_cds.net.guard`): http(s) only, no credentials
in the URL; the name is resolved once and the connection pinned to the checked addresses
(internal and cloud-metadata addresses refused unless the operator lists the host in
``allow_hosts``); redirects followed by hand (at most 5, each hop through the same guard); a
total time limit and a byte limit on the body. Errors describe what went wrong in the
workspace's own words and never echo what the URL answered.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from htan_cds.errors import DrsError
from htan_cds.net.bounded import BodyTooLarge, read_capped
from htan_cds.net.guard import OutboundRefused
from htan_cds.net.redirects import follow_redirects
from htan_cds.workspace import sb_errors
from htan_cds.workspace.settings import WorkspaceSettings

MANIFEST_FETCH_FAILED = 9201
MANIFEST_INVALID = 9202
MANIFEST_URL_REFUSED = 9203
MANIFEST_LINK_EXPIRED = 9204


@dataclass
class ManifestRowData:
    """One manifest row as the confirm page needs it (errors shown, never dropped)."""

    row_number: int
    drs_uri: str
    name: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (kept in the store until the user confirms)."""
        return {
            "row_number": self.row_number,
            "drs_uri": self.drs_uri,
            "name": self.name,
            "metadata": self.metadata,
            "error": self.error,
        }


def _refuse(message: str, code: int = MANIFEST_URL_REFUSED) -> sb_errors.SbApiError:
    return sb_errors.SbApiError(400, code, message)


def check_url(url: str, settings: WorkspaceSettings) -> None:
    """Refuse URLs that are not http(s), carry credentials, or name a refused address literally.

    Names are checked when the fetch connects (resolved once, pinned), not here: a check here
    could be raced by DNS rebinding, and it would let anonymous callers make the server resolve.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse("The manifest URL is malformed.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse("The manifest URL must be an absolute http(s) URL.")
    if parts.username or parts.password:
        raise _refuse("The manifest URL must not carry credentials.")
    try:
        ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        return
    try:
        default = 443 if parts.scheme == "https" else 80
        settings.guard().check(parts.hostname, port or default, [parts.hostname])
    except OutboundRefused as exc:
        raise _refuse(f"The manifest host {parts.hostname} is not allowed here.") from exc


def fetch_manifest_text(
    url: str, settings: WorkspaceSettings, *, resolver: AbstractResolver | None = None
) -> str:
    """GET the manifest within the size and time limits; SB-shaped errors otherwise.

    ``resolver`` replaces name resolution (tests stub it; the guard checks what it returns).
    """
    check_url(url, settings)
    body = asyncio.run(_fetch(url, settings, resolver))
    from htan_cds.errors import ManifestError
    from htan_cds.manifest.encodings import decode_bytes

    try:
        return decode_bytes(body, "The manifest")[0]  # UTF-8, UTF-16/32 with a BOM, Windows-1252
    except ManifestError as exc:
        raise sb_errors.SbApiError(400, MANIFEST_INVALID, f"{exc.message}.") from exc


async def _fetch(url: str, settings: WorkspaceSettings, resolver: AbstractResolver | None) -> bytes:
    host = urlsplit(url).hostname
    connector = settings.guard().connector(resolver)
    timeout = aiohttp.ClientTimeout(total=settings.manifest_timeout)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as s,
            follow_redirects(s, "GET", url, max_hops=5) as resp,
        ):
            if resp.status in (401, 403):
                raise sb_errors.SbApiError(
                    403,
                    MANIFEST_LINK_EXPIRED,
                    "The manifest link was refused (expired or invalid signature); "
                    "export the manifest again from the portal.",
                )
            if resp.status != 200:
                raise sb_errors.SbApiError(
                    502, MANIFEST_FETCH_FAILED, f"The manifest URL answered HTTP {resp.status}."
                )
            return await read_capped(resp, settings.manifest_max_bytes, "the manifest")
    except BodyTooLarge as exc:
        raise sb_errors.SbApiError(
            413,
            MANIFEST_INVALID,
            f"The manifest is larger than {settings.manifest_max_bytes} bytes.",
        ) from exc
    except OutboundRefused as exc:
        raise _refuse(
            f"The manifest host {host} (or a host it redirects to) is an internal address "
            "and not allowed here."
        ) from exc
    except TimeoutError as exc:
        raise sb_errors.SbApiError(
            504,
            MANIFEST_FETCH_FAILED,
            f"The manifest URL did not answer in time ({settings.manifest_timeout:g} s).",
        ) from exc
    except (aiohttp.ClientError, DrsError) as exc:
        raise sb_errors.SbApiError(
            502, MANIFEST_FETCH_FAILED, f"The manifest URL at {host} is unreachable."
        ) from exc


def parse_manifest(text: str, settings: WorkspaceSettings) -> list[ManifestRowData]:
    """Rows of a manifest (any format the manifest toolkit reads; CSV/TSV otherwise)."""
    from htan_cds.drs.uri import normalize_drs_uri
    from htan_cds.errors import HtanCdsError

    rows = _rows_via_toolkit(text)
    if rows is None:
        rows = _rows_plain(text)
    if not rows:
        raise sb_errors.SbApiError(400, MANIFEST_INVALID, "The manifest lists no files.")
    if len(rows) > settings.manifest_max_rows:
        raise sb_errors.SbApiError(
            400,
            MANIFEST_INVALID,
            f"The manifest lists {len(rows)} files; at most {settings.manifest_max_rows}.",
        )
    for row in rows:
        if not row.drs_uri:
            row.error = "no DRS URI"
            continue
        try:
            row.drs_uri = str(normalize_drs_uri(row.drs_uri))
        except HtanCdsError as exc:
            row.error = str(exc)
    if all(row.error for row in rows):
        # Counts only: the rows' text is whatever the URL answered, never echoed in an error.
        raise sb_errors.SbApiError(
            400,
            MANIFEST_INVALID,
            f"No row of the manifest has a valid DRS URI ({len(rows)} rows read).",
        )
    return rows


def _rows_via_toolkit(text: str) -> list[ManifestRowData] | None:
    try:
        from htan_cds.manifest import read_manifest
    except ImportError:
        return None
    from htan_cds.errors import HtanCdsError

    try:
        parsed = read_manifest(io.StringIO(text))
    except HtanCdsError as exc:
        raise sb_errors.SbApiError(
            400,
            MANIFEST_INVALID,
            "The manifest is unreadable: not a manifest format this workspace reads "
            "(CSV/TSV with a drs_uri column, or a portal, Gen3 or BigQuery export).",
        ) from exc
    return [
        ManifestRowData(
            row_number=r.row_number,
            drs_uri=(r.drs_uri or "").strip(),
            name=r.name,
            metadata={str(k): str(v) for k, v in r.metadata.items()},
        )
        for r in parsed
    ]


_URI_COLUMNS = ("drs_uri", "drs uri", "drs_id", "file_drs_uri")
_NAME_COLUMNS = ("name", "file_name", "file name", "filename")


def _rows_plain(text: str) -> list[ManifestRowData]:
    dialect = "excel-tab" if text.split("\n", 1)[0].count("\t") else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    uri_col = next((header[c] for c in _URI_COLUMNS if c in header), None)
    if uri_col is None:
        raise sb_errors.SbApiError(
            400, MANIFEST_INVALID, "The manifest has no drs_uri column (is it a CSV manifest?)."
        )
    name_col = next((header[c] for c in _NAME_COLUMNS if c in header), None)
    out: list[ManifestRowData] = []
    for i, rec in enumerate(reader, start=1):
        meta = {k: v for k, v in rec.items() if k not in (uri_col, name_col) and k and v}
        name = (rec.get(name_col) or "").strip() if name_col else ""
        out.append(
            ManifestRowData(
                row_number=i,
                drs_uri=(rec.get(uri_col) or "").strip(),
                name=name or None,
                metadata=meta,
            )
        )
    return out
