"""Rows naming a public bucket prefix (``s3://bucket/<uuid>/*``, an IDC series): every object
under the prefix becomes one file of the import, fetched anonymously.

IDC's series live in public buckets that need no account; ``idc-index`` fetches them with
``s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com cp s3://bucket/<uuid>/* DEST``
(ImagingDataCommons/idc-index ``index.py``: ``aws_endpoint_url``). Here the prefix is listed
with S3's ``ListObjectsV2`` (``GET /{bucket}?list-type=2&prefix=…``, path-style, unsigned) and
each object becomes a DRS-shaped object whose one access method is the object's plain URL
(``{endpoint}/{bucket}/{key}``), so the engine's parallel ranged fetch, resume ledger and
verification apply unchanged. The ETag is declared as the object's checksum: a single-part
ETag is its md5, a multipart one (``…-N``) is checked by ``drs.checksums`` (S3 "Checking object
integrity").

No credentials are ever attached: bucket rows carry no DRS host, so the fetcher's
authorisation rule (tokens only to a DRS URI's own host) never matches. Everything read from
the bucket is bounded: each listing page (``MAX_LISTING_BYTES``), the pages per prefix and the
objects per prefix (``MAX_OBJECTS``); keys become names through the layout's safe-name rule.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import aiohttp

from htan_cds.drs.models import AccessMethod, AccessURL, Checksum, DrsObject
from htan_cds.errors import DrsError
from htan_cds.net.bounded import read_capped
from htan_cds.transfer.source import SourceRow

if TYPE_CHECKING:
    from xml.etree import ElementTree

# idc-index's AWS endpoint; override with ImportOptions.bucket_endpoint / --bucket-endpoint or
# HTAN_CDS_BUCKET_ENDPOINT (a mirror, or moto's S3 server in tests).
DEFAULT_ENDPOINT = "https://s3.amazonaws.com"
ENDPOINT_ENV = "HTAN_CDS_BUCKET_ENDPOINT"
# Where a series' objects land when the run's layout is the default: idc-index's hierarchy
# without the study and modality levels (DEST/<collection>/<participant>/<series>/<object>).
SERIES_LAYOUT = "{collection_id}/{participant}/{SeriesInstanceUID}/{name}"
MAX_LISTING_BYTES = 16 << 20
MAX_OBJECTS = 200_000
_MAX_PAGES = MAX_OBJECTS // 1000 + 1
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_PREFIX_RE = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/([^*\s]*)\*?$")

# crdc_series_uuid -> {"collection_id", "HTAN_Participant_ID", "SeriesInstanceUID", …}
SeriesLookup = Callable[[list[str]], Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True)
class BucketObject:
    """One listed object: key, size, ETag (unquoted), last modified."""

    key: str
    size: int
    etag: str
    modified: datetime


def parse_prefix(uri: str) -> tuple[str, str] | None:
    """``(bucket, prefix)`` of ``s3://bucket/prefix/*`` (or ``s3://bucket/prefix/``); None
    for anything else. A prefix names a folder: it ends with ``/``."""
    match = _PREFIX_RE.match(uri.strip())
    if match is None:
        return None
    bucket, prefix = match.groups()
    if prefix and not prefix.endswith("/"):
        if uri.strip().endswith("*"):
            return bucket, prefix  # s3://bucket/abc* : keys starting with abc
        return None  # one object, not a prefix: not a series
    return bucket, prefix


def is_bucket_row(row: SourceRow) -> bool:
    """True when the row names a bucket prefix rather than a DRS object."""
    return row.drs_uri.startswith("s3://")


def endpoint_of(configured: str | None) -> str:
    """The bucket endpoint: the option, else ``HTAN_CDS_BUCKET_ENDPOINT``, else AWS's."""
    return (configured or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).rstrip("/")


def _text(node: ElementTree.Element, tag: str) -> str:
    found = node.find(_S3_NS + tag)
    if found is None:
        found = node.find(tag)
    return (found.text or "") if found is not None else ""


def parse_listing(body: bytes) -> tuple[list[BucketObject], str | None]:
    """Objects and the continuation token of one ``ListObjectsV2`` answer (S3 API reference,
    ListObjectsV2 response elements ``Contents/Key|Size|ETag|LastModified``,
    ``IsTruncated``, ``NextContinuationToken``)."""
    if b"<!DOCTYPE" in body[:4096].upper():
        raise DrsError("bucket listing declares a DOCTYPE; refused")
    from xml.etree import ElementTree  # only bucket rows list; a DRS import never parses XML

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise DrsError(f"bucket listing is not XML: {exc}") from None
    objects = []
    for node in list(root.iter(_S3_NS + "Contents")) or list(root.iter("Contents")):
        key = _text(node, "Key")
        size = _text(node, "Size")
        if not key or not size.isdigit():
            raise DrsError("bucket listing entry without Key/Size")
        modified = _text(node, "LastModified")
        try:
            when = datetime.fromisoformat(modified.replace("Z", "+00:00"))
        except ValueError:
            when = datetime.now(UTC)
        objects.append(BucketObject(key, int(size), _text(node, "ETag").strip('"'), when))
    truncated = _text(root, "IsTruncated").lower() == "true"
    token = _text(root, "NextContinuationToken") if truncated else ""
    return objects, token or None


async def list_prefix(
    session: aiohttp.ClientSession, endpoint: str, bucket: str, prefix: str, timeout: float
) -> list[BucketObject]:
    """Every object under ``prefix`` (anonymous, path-style ListObjectsV2, page by page)."""
    found: list[BucketObject] = []
    token: str | None = None
    for _page in range(_MAX_PAGES):
        query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
        if token:
            query["continuation-token"] = token
        url = f"{endpoint}/{quote(bucket)}?{urlencode(query)}"
        async with session.get(
            url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
        ) as resp:
            body = await read_capped(resp, MAX_LISTING_BYTES, "bucket listing")
            if resp.status != 200:
                raise DrsError(f"listing s3://{bucket}/{prefix} answered HTTP {resp.status}")
        page, token = parse_listing(body)
        found.extend(o for o in page if not o.key.endswith("/"))
        if len(found) > MAX_OBJECTS:
            raise DrsError(f"s3://{bucket}/{prefix} holds more than {MAX_OBJECTS:,} objects")
        if token is None:
            return found
    raise DrsError(f"listing s3://{bucket}/{prefix} did not end after {_MAX_PAGES} pages")


def object_of(endpoint: str, bucket: str, obj: BucketObject) -> DrsObject:
    """A DRS-shaped object for one bucket object: its plain URL, size and ETag."""
    uri = f"s3://{bucket}/{obj.key}"
    return DrsObject(
        id=uri,
        self_uri=uri,
        size=obj.size,
        created_time=obj.modified,
        checksums=[Checksum(checksum=obj.etag or "unknown", type="etag")],
        name=posixpath.basename(obj.key),
        access_methods=[
            AccessMethod(
                type="https",
                access_url=AccessURL(url=f"{endpoint}/{quote(bucket)}/{quote(obj.key)}"),
            )
        ],
    )


def _series_values(
    row: SourceRow, bucket: str, prefix: str, info: Mapping[str, str] | None
) -> dict[str, str]:
    """Layout values of a series: from the lookup, else the manifest's relative destination
    (``<collection>/<participant>/<series>/`` as ``manifest create`` writes it), else the
    prefix."""
    uuid = prefix.rstrip("/").rsplit("/", 1)[-1] or bucket
    values = {"crdc_series_uuid": uuid, "bucket": bucket}
    if info:
        values.update({k: str(v) for k, v in info.items() if v})
        values.setdefault("participant", values.get("HTAN_Participant_ID", ""))
        return values
    dest = row.metadata.get("destination", "").strip().strip("/")
    parts = [p for p in dest.split("/") if p not in ("", ".", "..")]
    if len(parts) == 3:
        values.update(collection_id=parts[0], participant=parts[1], SeriesInstanceUID=parts[2])
    else:
        values.update(collection_id=bucket, participant="unknown", SeriesInstanceUID=uuid)
    return values


async def expand_bucket_rows(
    session: aiohttp.ClientSession,
    rows: list[SourceRow],
    endpoint: str,
    lookup: SeriesLookup | None,
    timeout: float,
) -> tuple[list[SourceRow], dict[str, DrsObject], dict[int, str]]:
    """Replace each bucket-prefix row by one row per object under it.

    Returns ``(rows, objects by URI, errors by source row number)``: DRS rows pass through
    unchanged; a prefix that cannot be listed (or is empty) is reported on its row.
    """
    wanted = [r for r in rows if is_bucket_row(r)]
    if not wanted:
        return rows, {}, {}
    uuids = []
    for row in wanted:
        parsed = parse_prefix(row.drs_uri)
        if parsed:
            uuids.append(parsed[1].rstrip("/").rsplit("/", 1)[-1])
    infos = lookup(uuids) if lookup and uuids else {}
    out: list[SourceRow] = []
    objects: dict[str, DrsObject] = {}
    errors: dict[int, str] = {}
    for row in rows:
        if not is_bucket_row(row):
            out.append(row)
            continue
        parsed = parse_prefix(row.drs_uri)
        if parsed is None:
            errors[row.row_number] = f"{row.drs_uri!r} is not a bucket prefix (s3://bucket/uuid/*)"
            continue
        bucket, prefix = parsed
        try:
            listed = await list_prefix(session, endpoint, bucket, prefix, timeout)
        except (DrsError, aiohttp.ClientError, TimeoutError) as exc:
            errors[row.row_number] = f"cannot list {row.drs_uri}: {exc}"
            continue
        if not listed:
            errors[row.row_number] = f"no objects under {row.drs_uri}"
            continue
        uuid = prefix.rstrip("/").rsplit("/", 1)[-1]
        values = _series_values(row, bucket, prefix, infos.get(uuid))
        for item in sorted(listed, key=lambda o: o.key):
            drs = object_of(endpoint, bucket, item)
            objects[drs.self_uri] = drs
            meta = {**row.metadata, **values}
            out.append(
                replace(
                    row, drs_uri=drs.self_uri, name=drs.name, metadata=meta, layout=SERIES_LAYOUT
                )
            )
    return out, objects, errors
