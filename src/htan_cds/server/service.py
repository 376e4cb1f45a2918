"""The DRS service logic, independent of HTTP routing: objects, authorizations, access URLs."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from htan_cds import __version__
from htan_cds.drs.uri import encode_object_id
from htan_cds.server import compat
from htan_cds.server.access import Caller, decide
from htan_cds.server.config import ServerConfig
from htan_cds.server.errors import DrsHttpError
from htan_cds.server.objects import BundleRecord, FileRecord, ObjectRepository, Snapshot
from htan_cds.server.passports import PassportVerifier
from htan_cds.server.signing import signed_url

BYTES_PREFIX = "/bytes/"
_MAX_ID_LEN = 512
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DOT_SEGMENT_RE = re.compile(r"(?:^|/)\.{0,2}(?:/|$)")


class AccessProvider(Protocol):
    """Where bytes come from: the signed local route, or a presigned S3 URL."""

    def methods(self, rec: FileRecord) -> list[dict[str, Any]]:
        """Access methods (without authorizations) for a blob."""
        ...

    def access_url(self, rec: FileRecord, access_id: str) -> dict[str, Any] | None:
        """The AccessURL dict for ``access_id``, or None if no such method."""
        ...


class LocalAccess:
    """Bytes served by this app at ``/bytes/<id>`` behind an HMAC signature."""

    def __init__(self, config: ServerConfig, key: bytes) -> None:
        self.config = config
        self.key = key

    def methods(self, rec: FileRecord) -> list[dict[str, Any]]:
        if not rec.object_key:
            return []
        return [{"type": "https", "access_id": "https", "available": True}]

    def access_url(self, rec: FileRecord, access_id: str) -> dict[str, Any] | None:
        if access_id != "https" or not rec.object_key:
            return None
        path = BYTES_PREFIX + encode_object_id(rec.drs_id)
        return {"url": signed_url(self.config.base_url, self.key, path, self.config.access_ttl)}


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_object_id(object_id: str) -> None:
    """400 for ids that cannot name an object (empty, control chars, dot segments)."""
    if not object_id or len(object_id) > _MAX_ID_LEN or _CONTROL_RE.search(object_id):
        raise DrsHttpError(400, "malformed object id")
    if _DOT_SEGMENT_RE.search(object_id):
        raise DrsHttpError(400, "malformed object id: empty, '.' or '..' segment")


@dataclass
class Outcome:
    """Result of resolving one id for one caller: a record, or an HTTP error status."""

    record: FileRecord | BundleRecord | None
    status: int
    msg: str


class DrsService:
    """Turns catalog records into DRS answers for one caller at a time."""

    def __init__(
        self,
        config: ServerConfig,
        repo: ObjectRepository,
        access: AccessProvider,
        verifier: PassportVerifier,
    ) -> None:
        self.config = config
        self.repo = repo
        self.access = access
        self.verifier = verifier
        self._cache_for: Snapshot | None = None
        self._cache: dict[tuple[str, bool], bytes] = {}
        self._lock = threading.Lock()

    # --- service-info -----------------------------------------------------------------
    def service_info(self) -> dict[str, Any]:
        """GA4GH service-info for DRS 1.5 (or 1.2 under the compat profile)."""
        snap = self.repo.snapshot()
        info: dict[str, Any] = {
            "id": "org.htan-cds." + self.config.authority.replace(":", "-"),
            "name": "htan-cds commons",
            "type": {"group": "org.ga4gh", "artifact": "drs", "version": compat.SPEC_VERSION},
            "description": "GA4GH DRS server of an htan-cds commons (HTAN imaging data).",
            "organization": {"name": "htan-cds", "url": self.config.base_url},
            "version": __version__,
            "environment": "dev",
            "maxBulkRequestLength": self.config.max_bulk,
            "drs": {
                "maxBulkRequestLength": self.config.max_bulk,
                "objectCount": snap.object_count,
                "totalObjectSize": snap.total_size,
            },
        }
        return compat.service_info_12(info) if self.config.compat_12 else info

    # --- lookups ------------------------------------------------------------------------
    def resolve(self, object_id: str, caller: Caller) -> Outcome:
        """Find ``object_id`` and check ``caller`` may see it (never raises for 4xx)."""
        try:
            check_object_id(object_id)
        except DrsHttpError as exc:
            return Outcome(None, exc.status_code, exc.message)
        rec = self.repo.snapshot().get(object_id)
        if rec is None:
            return Outcome(None, 404, "no such object")
        status = decide(rec.groups, caller)
        if status == 401:
            return Outcome(None, 401, "authorization required: bearer token or passport")
        if status == 403:
            return Outcome(None, 403, "the credentials given do not grant access")
        return Outcome(rec, 200, "")

    def get(self, object_id: str, caller: Caller) -> FileRecord | BundleRecord:
        """The record, or a DrsHttpError (400/401/403/404)."""
        out = self.resolve(object_id, caller)
        if out.record is None:
            headers = {"WWW-Authenticate": "Bearer"} if out.status == 401 else None
            raise DrsHttpError(out.status, out.msg, headers=headers)
        return out.record

    # --- rendering ----------------------------------------------------------------------
    def self_uri(self, object_id: str) -> str:
        return f"drs://{self.config.authority}/{encode_object_id(object_id)}"

    def authorizations(self, rec: FileRecord | BundleRecord) -> dict[str, Any]:
        """The DRS ``Authorizations`` of one object."""
        if not rec.controlled:
            return {"drs_object_id": rec.drs_id, "supported_types": ["None"]}
        out: dict[str, Any] = {
            "drs_object_id": rec.drs_id,
            "supported_types": ["BearerAuth", "PassportAuth"],
            "bearer_auth_issuers": [self.config.base_url],
        }
        if self.verifier.issuer_names:
            out["passport_auth_issuers"] = self.verifier.issuer_names
        return out

    def object_dict(self, rec: FileRecord | BundleRecord) -> dict[str, Any]:
        """The DrsObject dict of a record (in the configured profile)."""
        obj: dict[str, Any] = {
            "id": rec.drs_id,
            "name": rec.name,
            "self_uri": self.self_uri(rec.drs_id),
            "size": rec.size,
            "created_time": _iso(rec.created_time),
        }
        if isinstance(rec, BundleRecord):
            obj["checksums"] = [{"checksum": v, "type": k} for k, v in rec.checksums]
            obj["contents"] = [
                {"name": self._member_name(m), "id": m, "drs_uri": [self.self_uri(m)]}
                for m in rec.members
            ]
            obj["description"] = f"all files of biospecimen {rec.name}"
        else:
            sums = []
            if rec.sha256:
                sums.append({"checksum": rec.sha256, "type": "sha-256"})
            if rec.md5:
                sums.append({"checksum": rec.md5, "type": "md5"})
            obj["checksums"] = sums
            obj["mime_type"] = rec.mime_type or "application/octet-stream"
            methods = self.access.methods(rec)
            auth = self.authorizations(rec)
            obj["access_methods"] = [{**m, "authorizations": auth} for m in methods]
            if rec.description:
                obj["description"] = rec.description
            if rec.aliases:
                obj["aliases"] = list(rec.aliases)
        return compat.object_12(obj) if self.config.compat_12 else obj

    def _member_name(self, drs_id: str) -> str:
        rec = self.repo.snapshot().files.get(drs_id)
        return rec.name if rec else drs_id

    def object_bytes(self, rec: FileRecord | BundleRecord) -> bytes:
        """Serialised DrsObject, cached per snapshot (objects are immutable within one)."""
        snap = self.repo.snapshot()
        key = (rec.drs_id, isinstance(rec, BundleRecord))
        with self._lock:
            if self._cache_for is not snap:
                self._cache_for = snap
                self._cache = {}
            cached = self._cache.get(key)
        if cached is None:
            cached = orjson.dumps(self.object_dict(rec))
            with self._lock:
                if self._cache_for is snap:
                    self._cache[key] = cached
        return cached

    # --- access -------------------------------------------------------------------------
    def access_url(self, object_id: str, access_id: str, caller: Caller) -> dict[str, Any]:
        """AccessURL for one object/method, or DrsHttpError."""
        rec = self.get(object_id, caller)
        if isinstance(rec, BundleRecord):
            raise DrsHttpError(404, "a bundle has no access methods; fetch its contents")
        url = self.access.access_url(rec, access_id)
        if url is None:
            raise DrsHttpError(404, f"object has no access method with access_id {access_id!r}")
        return url
