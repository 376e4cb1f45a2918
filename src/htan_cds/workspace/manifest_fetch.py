"""Fetch a manifest named by URL, carefully: the import-redirect's only outbound request.

SSRF-conscious: http(s) only; no redirects followed; the host's addresses are checked before
connecting (link-local, multicast, unspecified and reserved ranges refused always — that covers
cloud metadata endpoints — private and loopback only when the settings allow, as an on-site
workspace next to its commons needs); a time limit and a byte limit on the body.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

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
    """Refuse URLs that are not http(s) or point at addresses a workspace must not reach."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"The manifest URL is malformed: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse("The manifest URL must be an absolute http(s) URL.")
    if parts.username or parts.password:
        raise _refuse("The manifest URL must not carry credentials.")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise sb_errors.SbApiError(
            400, MANIFEST_FETCH_FAILED, f"The manifest host {parts.hostname} cannot be resolved."
        ) from exc
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr.is_link_local or addr.is_multicast or addr.is_unspecified or addr.is_reserved:
            raise _refuse(f"The manifest host {parts.hostname} resolves to a refused address.")
        if (addr.is_private or addr.is_loopback) and not settings.allow_private_manifest_hosts:
            raise _refuse(f"The manifest host {parts.hostname} is private and not allowed here.")


def fetch_manifest_text(url: str, settings: WorkspaceSettings) -> str:
    """GET the manifest within the size and time limits; SB-shaped errors otherwise."""
    check_url(url, settings)
    limit = settings.manifest_max_bytes
    try:
        with httpx.stream(
            "GET", url, timeout=settings.manifest_timeout, follow_redirects=False
        ) as resp:
            if resp.status_code in (401, 403):
                raise sb_errors.SbApiError(
                    403,
                    MANIFEST_LINK_EXPIRED,
                    "The manifest link was refused (expired or invalid signature); "
                    "export the manifest again from the portal.",
                )
            if resp.status_code != 200:
                raise sb_errors.SbApiError(
                    502,
                    MANIFEST_FETCH_FAILED,
                    f"The manifest URL answered HTTP {resp.status_code}.",
                )
            chunks: list[bytes] = []
            size = 0
            # httpx's timeout bounds each read; a server dripping bytes needs a total bound.
            deadline = time.monotonic() + settings.manifest_timeout
            for chunk in resp.iter_bytes():
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the manifest took too long to arrive")
                size += len(chunk)
                if size > limit:
                    raise sb_errors.SbApiError(
                        413, MANIFEST_INVALID, f"The manifest is larger than {limit} bytes."
                    )
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise sb_errors.SbApiError(
            504, MANIFEST_FETCH_FAILED, f"The manifest URL did not answer in time ({exc})."
        ) from exc
    except httpx.HTTPError as exc:
        raise sb_errors.SbApiError(
            502, MANIFEST_FETCH_FAILED, f"The manifest URL is unreachable ({exc})."
        ) from exc
    try:
        return b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise sb_errors.SbApiError(
            400, MANIFEST_INVALID, "The manifest is not UTF-8 text."
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
        raise sb_errors.SbApiError(
            400,
            MANIFEST_INVALID,
            f"No row of the manifest has a valid DRS URI (row {rows[0].row_number}: "
            f"{rows[0].error}).",
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
            400, MANIFEST_INVALID, f"The manifest is unreadable: {exc}"
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
