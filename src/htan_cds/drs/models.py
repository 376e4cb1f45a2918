"""GA4GH DRS 1.5 data models (pydantic v2), shared by the server and the resolver client.

Fields added after DRS 1.2 are listed in :data:`FIELDS_AFTER_1_2` so the server's
``--drs-compat 1.2`` profile can leave them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

AccessMethodType = Literal["s3", "gs", "ftp", "gsiftp", "globus", "htsget", "https", "file"]
AuthorizationType = Literal["None", "BasicAuth", "BearerAuth", "PassportAuth"]

# IANA "Hash Name String" (what DRS sends) -> hashlib name.
IANA_TO_HASHLIB: dict[str, str] = {
    "sha-256": "sha256",
    "sha256": "sha256",
    "sha-512": "sha512",
    "sha-384": "sha384",
    "sha-1": "sha1",
    "sha1": "sha1",
    "md5": "md5",
    "etag": "",  # not a digest of the bytes; never verified
    "crc32c": "",
}

FIELDS_AFTER_1_2: dict[str, frozenset[str]] = {
    "AccessMethod": frozenset({"cloud", "available", "authorizations"}),
    "DrsObject": frozenset(),
}


def _no_items() -> list[Any]:
    # Not ``default_factory=list``: pydantic inspects a factory's signature, and a builtin's
    # is parsed from text with tokenize's regular expressions, compiled for it alone (~10 ms
    # of every CLI start-up that loads these models).
    return []


class _Model(BaseModel):
    # Servers in the wild add fields; keep them rather than fail (and re-emit them).
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Checksum(_Model):
    checksum: str
    type: str


# An AccessURL's headers come from a peer: at most this many, each at most this long.
MAX_ACCESS_HEADERS = 64
MAX_ACCESS_HEADER_CHARS = 16 * 1024


class AccessURL(_Model):
    """An URL to GET the bytes and the headers to send with every byte request.

    DRS 1.5 types ``headers`` as a list of ``"Name: value"`` strings, but its own example, the
    GA4GH starter kit and other servers send a JSON object ``{"Name": "value"}``
    (ga4gh/data-repository-service-schemas issue #307); fence's bulk access model even declares
    one string. All three are accepted.
    """

    url: str
    headers: list[str] | dict[str, str] | str | None = None

    def header_dict(self) -> dict[str, str]:
        """The headers as a dict, whichever shape they came in (bounded; CR/LF refused)."""
        raw = self.headers
        pairs: list[tuple[str, str]] = []
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, dict):
            pairs = [(str(k), str(v)) for k, v in raw.items()]
        elif isinstance(raw, list):
            for line in raw:
                name, sep, value = str(line).partition(":")
                if sep:
                    pairs.append((name, value))
        out: dict[str, str] = {}
        for name, value in pairs[:MAX_ACCESS_HEADERS]:
            name, value = name.strip(), value.strip()
            if not name or len(name) + len(value) > MAX_ACCESS_HEADER_CHARS:
                continue
            if any(c in name + value for c in "\r\n\x00") or " " in name:
                continue  # header injection: never sent
            out[name] = value
        return out


class Authorizations(_Model):
    drs_object_id: str | None = None
    supported_types: list[AuthorizationType] | None = None
    passport_auth_issuers: list[str] | None = None
    bearer_auth_issuers: list[str] | None = None


class AccessMethod(_Model):
    # Servers write other types too (indexd: the URL scheme, e.g. "az"): kept, not refused.
    type: AccessMethodType | str
    access_url: AccessURL | None = None
    access_id: str | None = None
    cloud: str | None = None
    region: str | None = None
    available: bool | None = None
    authorizations: Authorizations | None = None


class ContentsObject(_Model):
    # DRS 1.5 requires ``name``, but members named only by ``drs_uri`` or ``id`` occur (a
    # member's name then comes from its id, see :func:`htan_cds.drs.bundles.members_of`), and
    # servers write ``drs_uri`` as one string as well as the spec's list.
    name: str | None = None
    id: str | None = None
    drs_uri: list[str] | None = None
    contents: list[ContentsObject] | None = None

    @field_validator("drs_uri", mode="before")
    @classmethod
    def _one_uri_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class DrsObject(_Model):
    id: str
    self_uri: str
    size: int
    created_time: datetime
    # DRS requires one, but indexd answers [] for records without hashes: such files import
    # unverified instead of failing to parse.
    checksums: list[Checksum] = Field(default_factory=_no_items)
    name: str | None = None
    updated_time: datetime | None = None
    version: str | None = None
    mime_type: str | None = None
    access_methods: list[AccessMethod] | None = None
    contents: list[ContentsObject] | None = None
    description: str | None = None
    aliases: list[str] | None = None

    @field_validator("checksums", mode="before")
    @classmethod
    def _usable_checksums(cls, value: object) -> object:
        # One entry without a type or value (null, missing) must not make the whole object
        # unreadable: it is left out, and the file is verified by the others or not at all.
        if value is None:
            return []
        if not isinstance(value, list):
            return value
        return [
            c
            for c in value
            if not isinstance(c, dict)
            or (isinstance(c.get("checksum"), str) and isinstance(c.get("type"), str))
        ]

    @property
    def is_bundle(self) -> bool:
        return self.contents is not None and not self.access_methods

    def checksum(self, iana_type: str) -> str | None:
        """The hex checksum of the given IANA type (case-insensitive), if declared."""
        for item in self.checksums:
            if item.type.lower() == iana_type.lower():
                return item.checksum.lower()
        return None


class Error(_Model):
    msg: str | None = None
    status_code: int | None = None


class BulkSummary(_Model):
    requested: int = 0
    resolved: int = 0
    unresolved: int = 0


class UnresolvedGroup(_Model):
    error_code: int
    object_ids: list[str]


class BulkObjectsResponse(_Model):
    summary: BulkSummary
    unresolved_drs_objects: list[UnresolvedGroup] = Field(default_factory=_no_items)
    resolved_drs_object: list[DrsObject] = Field(default_factory=_no_items)


class BulkAccessURL(AccessURL):
    drs_object_id: str | None = None
    drs_access_id: str | None = None


class BulkAccessResponse(_Model):
    summary: BulkSummary
    unresolved_drs_objects: list[UnresolvedGroup] = Field(default_factory=_no_items)
    resolved_drs_object_access_urls: list[BulkAccessURL] = Field(default_factory=_no_items)


class ServiceType(_Model):
    group: str
    artifact: str
    version: str


class Organization(_Model):
    name: str
    url: str


class DrsServiceInfo(_Model):
    id: str
    name: str
    type: ServiceType
    organization: Organization
    version: str
    description: str | None = None
    contactUrl: str | None = None
    documentationUrl: str | None = None
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    environment: str | None = None
    maxBulkRequestLength: int | None = None
    drs: dict[str, int] | None = None

    def max_bulk_request_length(self) -> int | None:
        """The bulk limit from the ``drs`` block or the deprecated top-level field."""
        if self.drs and isinstance(self.drs.get("maxBulkRequestLength"), int):
            return self.drs["maxBulkRequestLength"]
        return self.maxBulkRequestLength
