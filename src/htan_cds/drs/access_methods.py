"""Which of an object's access methods this client can fetch, in which order, and how.

Real servers differ (sources in docs/import.md, "Servers and shapes we interoperate with"):

* Gen3 indexd (CRDC, BDC, AnVIL, Kids First) gives every method BOTH an inline cloud URL
  (``s3://bucket/key``, ``gs://…``, ``az://…``) and an ``access_id`` equal to the URL scheme
  (uc-cdis/indexd ``indexd/drs/blueprint.py``, ``indexd_to_drs``); the cloud URL is where the
  bytes are, not something to GET: fence's ``/objects/{id}/access/{access_id}`` signs it
  (uc-cdis/fence ``fence/blueprints/ga4gh.py``). DRS 1.5 allows both fields at once
  (ga4gh/data-repository-service-schemas issue #360).
* Our own server, TDR and many others give an ``https`` ``access_url`` inline.
* Azul/HCA and IDC also list ``gs://`` URLs of public buckets with no ``access_id``
  (DataBiosphere/azul pull request #1889): those are read anonymously over the cloud's public
  HTTPS endpoint.

A :class:`Route` is one way to get bytes: an inline http(s) URL, an ``access_id`` for
``/access``, or a public bucket's HTTPS URL. :func:`routes` orders them (usable ``available``
methods first; inline https, then ``/access``, then public buckets) and says why each other
method cannot be used; the client tries them in turn and reports every reason on failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlsplit

from htan_cds.drs.models import AccessMethod, DrsObject
from htan_cds.errors import ConfigError

S3_ENV = "HTAN_CDS_S3_PUBLIC_URL"
GS_ENV = "HTAN_CDS_GS_PUBLIC_URL"
# Anonymous reads of public buckets (AWS: "virtual-hosted-style requests"; Google: "Request
# endpoints", https://storage.googleapis.com/BUCKET/OBJECT).
S3_DEFAULT = "https://s3.amazonaws.com"
GS_DEFAULT = "https://storage.googleapis.com"
# Method types by preference among those reached through /access.
_TYPE_ORDER = ("https", "s3", "gs", "ftp", "gsiftp", "globus", "htsget", "file")
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


class RouteKind(StrEnum):
    """How a :class:`Route` yields an URL."""

    INLINE = "inline"
    ACCESS_ID = "access_id"
    PUBLIC = "public"


@dataclass(frozen=True)
class Route:
    """One way to the bytes: ``url`` for inline and public routes, ``access_id`` for /access."""

    kind: RouteKind
    method: AccessMethod
    url: str | None = None
    access_id: str | None = None

    def describe(self) -> str:
        if self.kind is RouteKind.ACCESS_ID:
            return f"{self.method.type} via /access/{self.access_id}"
        if self.kind is RouteKind.PUBLIC:
            return f"public {self.method.type} bucket"
        return f"{self.method.type} URL"


@dataclass(frozen=True)
class PublicCloud:
    """HTTPS endpoints public buckets are read from (configurable so tests use loopback)."""

    s3: str = S3_DEFAULT
    gs: str = GS_DEFAULT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PublicCloud:
        env = os.environ if environ is None else environ
        return cls(
            s3=_endpoint(env.get(S3_ENV) or S3_DEFAULT, S3_ENV),
            gs=_endpoint(env.get(GS_ENV) or GS_DEFAULT, GS_ENV),
        )

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> PublicCloud:
        """``[drs.public_cloud]`` ``s3``/``gs`` keys, overridden by the environment."""
        base = cls.from_env()
        drs = config.get("drs", {})
        table = drs.get("public_cloud", {}) if isinstance(drs, Mapping) else {}
        if not isinstance(table, Mapping):
            raise ConfigError("[drs.public_cloud] must be a table")
        s3, gs = base.s3, base.gs
        if table.get("s3") and not os.environ.get(S3_ENV):
            s3 = _endpoint(table["s3"], "[drs.public_cloud] s3")
        if table.get("gs") and not os.environ.get(GS_ENV):
            gs = _endpoint(table["gs"], "[drs.public_cloud] gs")
        return cls(s3=s3, gs=gs)

    def https_url(self, url: str) -> str | None:
        """The public HTTPS URL of ``s3://bucket/key`` or ``gs://bucket/key`` (None otherwise)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        bucket, key = parts.netloc, parts.path.lstrip("/")
        if scheme not in ("s3", "gs") or not key or not _BUCKET.match(bucket):
            return None
        quoted = quote(key, safe="/-_.~")
        if scheme == "gs":
            return f"{self.gs}/{bucket}/{quoted}"
        if self.s3 == S3_DEFAULT and _DNS_BUCKET.match(bucket):
            return f"https://{bucket}.s3.amazonaws.com/{quoted}"
        return f"{self.s3}/{bucket}/{quoted}"  # path style: dotted buckets, custom endpoints


def _endpoint(value: object, where: str) -> str:
    text = str(value).strip().rstrip("/")
    if urlsplit(text).scheme not in ("http", "https"):
        raise ConfigError(f"{where}: {value!r} is not an http(s) URL")
    return text


def _type_rank(method: AccessMethod) -> int:
    return _TYPE_ORDER.index(method.type) if method.type in _TYPE_ORDER else len(_TYPE_ORDER)


def routes(obj: DrsObject, cloud: PublicCloud | None = None) -> tuple[list[Route], list[str]]:
    """The object's routes to its bytes, best first, and why its other methods are unusable."""
    cloud = cloud or PublicCloud()
    inline: list[tuple[int, Route]] = []
    by_id: list[tuple[int, Route]] = []
    public: list[tuple[int, Route]] = []
    unusable: list[str] = []
    for method in obj.access_methods or []:
        later = 1 if method.available is False else 0
        url = method.access_url.url if method.access_url is not None else None
        usable = False
        if url is not None and url.lower().startswith(("https://", "http://")):
            inline.append((later, Route(RouteKind.INLINE, method, url=url)))
            usable = True
        if method.access_id:
            route = Route(RouteKind.ACCESS_ID, method, access_id=method.access_id)
            by_id.append((later * 100 + _type_rank(method), route))
            usable = True
        elif url is not None and not usable:
            # Only without an access_id: a bucket behind /access is not public, and asking the
            # cloud anyway would send a request nobody meant to send.
            https = cloud.https_url(url)
            if https is not None:
                public.append((later, Route(RouteKind.PUBLIC, method, url=https)))
                usable = True
        if not usable:
            shown = url.split(":", 1)[0] + ":" if url else "no URL"
            unusable.append(f"{method.type} method: {shown} is not fetchable, and no access_id")
    ordered = [r for _, r in sorted(inline, key=lambda x: x[0])]
    ordered += [r for _, r in sorted(by_id, key=lambda x: x[0])]
    ordered += [r for _, r in sorted(public, key=lambda x: x[0])]
    if not obj.access_methods:
        unusable.append("no access methods")
    return ordered, unusable
