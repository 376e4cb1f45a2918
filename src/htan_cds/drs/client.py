"""Async GA4GH DRS client: resolve many URIs fast (bulk where offered) and get access URLs.

Deviations tolerated on purpose: Gen3 indexd's ``resolved_drs_objects`` (plural) in bulk
answers, a missing ``summary``, and servers without bulk endpoints (fallback to bounded GETs).
202 and 429 answers are retried after their ``Retry-After`` (capped by the
:class:`RetryPolicy`); 5xx and connection errors with backoff.

Everything a DRS host sends is bounded: JSON answers by :data:`DEFAULT_JSON_CAP` bytes after
decompression and each API call by a total time; credentials go only to the hosts they are bound
to (:mod:`htan_cds.drs.credentials`) and never across a redirect to another origin. Given an
:class:`~htan_cds.net.guard.OutboundGuard`, every connection passes it (the workspace's mode).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from pydantic import ValidationError

from htan_cds.drs.access_calls import AccessCalls, normalise_bulk
from htan_cds.drs.access_methods import PublicCloud, routes
from htan_cds.drs.bundles import BundleNotFile
from htan_cds.drs.credentials import Credentials, origin
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.drs.models import AccessMethod, BulkObjectsResponse, DrsObject, DrsServiceInfo
from htan_cds.drs.passport_plan import PassportPlan
from htan_cds.drs.prefixes import PrefixRegistry, default_registry
from htan_cds.drs.resolver_cache import CompactResolver
from htan_cds.drs.retry import RETRYABLE_STATUS, RetryPolicy
from htan_cds.drs.uri import DrsUri, encode_object_id, normalize_drs_uri, parse_drs_uri
from htan_cds.errors import AccessDenied, DrsError, HtanCdsError, UnknownPrefix
from htan_cds.net.bounded import DEFAULT_JSON_CAP, read_capped
from htan_cds.net.environment import custom_ssl_context
from htan_cds.net.guard import OutboundGuard
from htan_cds.net.redirects import follow_redirects
from htan_cds.syncapi import run_sync

__all__ = [
    "Credentials",
    "DrsClient",
    "base_url_of",
    "choose_access_method",
    "resolve_access",
    "resolve_access_async",
]

# Access method types whose URLs this client can fetch, best first.
FETCHABLE_TYPES: tuple[str, ...] = ("https", "s3", "gs", "ftp", "file")
# Used when service-info offers no bulk limit but the server does accept bulk requests.
DEFAULT_BULK_LENGTH = 500


@dataclass
class _HostState:
    info: DrsServiceInfo | None = None
    info_loaded: bool = False
    bulk_objects: bool = True
    bulk_access: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def base_url_of(obj: DrsObject) -> str:
    """The default DRS API base URL of the server an object came from (its ``self_uri``'s
    host; :meth:`DrsClient.base_url_of` also applies ``[drs.endpoints]``)."""
    return parse_drs_uri(obj.self_uri).server_base_url()


def choose_access_method(obj: DrsObject) -> AccessMethod | None:
    """The method of the object's first route (see :mod:`htan_cds.drs.access_methods`)."""
    found, _ = routes(obj)
    return found[0].method if found else None


class DrsClient(AccessCalls):
    """Resolve DRS URIs and access URLs over one pooled aiohttp session.

    Use as ``async with DrsClient(...) as client``. ``per_host`` bounds concurrent API requests
    to each DRS host so a big manifest cannot flood one server.
    """

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        registry: PrefixRegistry | None = None,
        compact_resolver: CompactResolver | None = None,
        retry: RetryPolicy | None = None,
        per_host: int = 8,
        timeout: float = 60.0,
        session: aiohttp.ClientSession | None = None,
        guard: OutboundGuard | None = None,
        resolver: aiohttp.abc.AbstractResolver | None = None,
        max_json_bytes: int = DEFAULT_JSON_CAP,
        api_timeout: float | None = None,
        endpoints: EndpointMap | None = None,
        public_cloud: PublicCloud | None = None,
    ) -> None:
        self.credentials = credentials or Credentials()
        self.registry = (registry or default_registry()).copy()
        self.endpoints = endpoints.copy() if endpoints is not None else EndpointMap()
        self.public_cloud = public_cloud or PublicCloud.from_env()
        gen3 = self.credentials.gen3
        if gen3 is not None and gen3.origin is not None:
            # The user's [drs.endpoints] says who answers for the key's host: the key goes there.
            mirror = self.endpoints.mapped_origin(gen3.origin)
            if mirror is not None:
                gen3.mirrors.add(mirror)
        self.compact_resolver = compact_resolver or CompactResolver()
        self.retry = retry or RetryPolicy()
        self.per_host = per_host
        self.timeout = timeout
        self.guard = guard
        self._resolver = resolver
        self.max_json_bytes = max_json_bytes
        # A whole API request (connect, answer, body) is bounded too, not only each read.
        self.api_timeout = api_timeout or 2 * timeout
        self._session = session
        self._own_session = session is None
        self._hosts: dict[str, _HostState] = defaultdict(_HostState)
        self.passport_plan = PassportPlan(self)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self.requests = 0

    async def __aenter__(self) -> DrsClient:
        self.session  # noqa: B018 - create the session inside the running loop
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session (created lazily inside the running event loop)."""
        if self._session is None:
            connector: aiohttp.TCPConnector
            if self.guard is not None:
                connector = self.guard.connector(
                    self._resolver, ttl_dns_cache=300, ssl=custom_ssl_context() or True
                )
            else:
                connector = aiohttp.TCPConnector(
                    limit=0,
                    ttl_dns_cache=300,
                    resolver=self._resolver,
                    ssl=custom_ssl_context() or True,
                )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=self.timeout),
                # Like the rest of the user's machine: HTTPS_PROXY/HTTP_PROXY/NO_PROXY. A
                # guarded session connects only where the guard says: no proxy from the
                # environment may take the connection elsewhere.
                trust_env=self.guard is None,
            )
        return self._session

    async def close(self) -> None:
        """Close the session if this client made it."""
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def base_url(self, uri: DrsUri) -> str:
        """The DRS API base URL for a hostname-based URI (``[drs.endpoints]`` applied)."""
        return self.endpoints.base_url(uri)

    def base_url_of(self, obj: DrsObject) -> str:
        """The DRS API base URL of the server an object came from (``self_uri``'s host,
        compact forms mapped through the prefix registry, then ``[drs.endpoints]``)."""
        try:
            return self.base_url(normalize_drs_uri(obj.self_uri, self.registry))
        except HtanCdsError as exc:
            raise DrsError(f"object {obj.id!r} has an unusable self_uri: {exc}") from exc

    def _limit(self, origin: str) -> asyncio.Semaphore:
        sem = self._limits.get(origin)
        if sem is None:
            sem = self._limits[origin] = asyncio.Semaphore(self.per_host)
        return sem

    async def auth_headers(self, base_url: str, *, refresh: bool = False) -> dict[str, str]:
        """``Authorization`` for a DRS host: the Gen3 exchange's token or the bearer token, each
        only where it is bound (empty for every other host)."""
        creds = self.credentials
        gen3 = creds.gen3_for(base_url)
        if gen3 is not None:
            exchanged = await gen3.token(self.session, origin(base_url), force=refresh)
            return {"Authorization": f"Bearer {exchanged}"}
        token = creds.static_token(base_url)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def request(
        self, method: str, url: str, *, json: Any = None, base_url: str
    ) -> tuple[int, Any]:
        """One API call with retries; returns (status, parsed JSON or None) for final answers."""
        host = origin(base_url)
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = await self.auth_headers(base_url)
            try:
                async with self._limit(host), asyncio.timeout(self.api_timeout):
                    self.requests += 1
                    async with follow_redirects(
                        self.session, method, url, json=json, headers=headers
                    ) as r:
                        status = r.status
                        retry_after = r.headers.get("Retry-After")
                        body = await read_capped(r, self.max_json_bytes, f"{method} {url}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt >= self.retry.attempts:
                    raise DrsError(f"{method} {url} failed: {exc or type(exc).__name__}") from exc
                await asyncio.sleep(self.retry.backoff(attempt))
                continue
            if status == 202 or status in RETRYABLE_STATUS:
                # 202: the object is being staged; the spec says poll after Retry-After.
                if attempt >= self.retry.attempts:
                    raise DrsError(
                        f"{method} {url}: HTTP {status} after {attempt} tries", status_code=status
                    )
                await asyncio.sleep(self.retry.wait_for(retry_after, attempt))
                continue
            if status == 401 and not refreshed and self.credentials.gen3_for(base_url):
                refreshed = True
                await self.auth_headers(base_url, refresh=True)
                continue
            parsed: Any = None
            if body:
                try:
                    import orjson

                    parsed = orjson.loads(body)
                except ValueError:
                    parsed = None
            return status, parsed

    @staticmethod
    def _error(status: int, data: Any, what: str) -> DrsError:
        msg = data.get("msg") if isinstance(data, dict) else None
        text = f"{what}: HTTP {status}" + (f" ({msg})" if msg else "")
        if status in (401, 403):
            return AccessDenied(text, status_code=status)
        return DrsError(text, status_code=status)

    async def service_info(self, base_url: str) -> DrsServiceInfo | None:
        """The host's service-info (cached); None when it has none or it is not valid."""
        state = self._hosts[base_url]
        async with state.lock:
            if not state.info_loaded:
                state.info_loaded = True
                try:
                    status, data = await self.request(
                        "GET", f"{base_url}/service-info", base_url=base_url
                    )
                    if status == 200 and isinstance(data, dict):
                        state.info = DrsServiceInfo.model_validate(data)
                except (DrsError, ValidationError):
                    state.info = None
        return state.info

    async def normalize(self, uri: str) -> DrsUri:
        """Hostname form of any URI: prefix registry first, then identifiers.org / n2t."""
        parsed = parse_drs_uri(uri)
        try:
            return normalize_drs_uri(parsed, self.registry)
        except UnknownPrefix:
            assert parsed.prefix is not None and parsed.accession is not None
            entry = await self.compact_resolver.lookup(
                self.session, parsed.prefix, parsed.accession
            )
            self.registry.register(entry)
            return normalize_drs_uri(parsed, self.registry)

    async def resolve(self, uri: str) -> DrsObject:
        """Resolve one URI (raises :class:`DrsError`)."""
        result = (await self.resolve_bulk([uri]))[uri]
        if isinstance(result, DrsError):
            raise result
        return result

    async def resolve_bulk(self, uris: Iterable[str]) -> dict[str, DrsObject | DrsError]:
        """Resolve many URIs, grouped by host; failures come back as :class:`DrsError` values."""
        out: dict[str, DrsObject | DrsError] = {}
        groups: dict[str, list[tuple[str, DrsUri]]] = defaultdict(list)
        for uri in dict.fromkeys(uris):
            try:
                norm = await self.normalize(uri)
            except HtanCdsError as exc:
                if not isinstance(exc, DrsError):
                    wrapped = DrsError(str(exc))
                    wrapped.__cause__ = exc  # the import's summary names the cause from it
                    exc = wrapped
                out[uri] = exc
                continue
            groups[self.base_url(norm)].append((uri, norm))
        # A token given without hosts goes to the one host resolved here, or nowhere.
        self.credentials.bind_default(groups)
        results = await asyncio.gather(
            *(self._resolve_host(base, items) for base, items in groups.items())
        )
        for part in results:
            out.update(part)
        return out

    async def _resolve_host(
        self, base_url: str, items: Sequence[tuple[str, DrsUri]]
    ) -> dict[str, DrsObject | DrsError]:
        info = await self.service_info(base_url)
        limit = info.max_bulk_request_length() if info else None
        state = self._hosts[base_url]
        out: dict[str, DrsObject | DrsError] = {}
        if limit and limit > 1 and state.bulk_objects and len(items) > 1:
            chunks = [items[i : i + limit] for i in range(0, len(items), limit)]
            for res in await asyncio.gather(*(self._bulk(base_url, c) for c in chunks)):
                out.update(res)
            items = [item for item in items if item[0] not in out]
        if items:
            singles = await asyncio.gather(*(self._single(base_url, n) for _, n in items))
            out.update({uri: res for (uri, _), res in zip(items, singles, strict=True)})
        return out

    async def passports_for(self, base_url: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """The passports each object may be sent with (see :mod:`htan_cds.drs.passport_plan`)."""
        return await self.passport_plan.for_objects(base_url, ids)

    async def _single(self, base_url: str, uri: DrsUri) -> DrsObject | DrsError:
        url = f"{base_url}/objects/{encode_object_id(uri.object_id)}"
        try:
            passports = (await self.passports_for(base_url, [uri.object_id]))[uri.object_id]
            if passports:
                status, data = await self.request(
                    "POST", url, json={"passports": passports}, base_url=base_url
                )
            else:
                status, data = await self.request("GET", url, base_url=base_url)
        except DrsError as exc:
            return exc
        if status != 200:
            return self._error(status, data, f"resolving {uri}")
        _fill_self_uri(data, uri.authority)
        try:
            return DrsObject.model_validate(data)
        except ValidationError as exc:
            return DrsError(f"resolving {uri}: not a DRS object ({exc.error_count()} errors)")

    async def _bulk(
        self, base_url: str, items: Sequence[tuple[str, DrsUri]]
    ) -> dict[str, DrsObject | DrsError]:
        plan = await self.passports_for(base_url, [n.object_id for _, n in items])
        groups: dict[tuple[str, ...], list[tuple[str, DrsUri]]] = defaultdict(list)
        for item in items:
            groups[tuple(plan[item[1].object_id])].append(item)
        out: dict[str, DrsObject | DrsError] = {}
        for passports, group in groups.items():
            out.update(await self._bulk_group(base_url, group, list(passports)))
        return out

    async def _bulk_group(
        self, base_url: str, items: Sequence[tuple[str, DrsUri]], passports: list[str]
    ) -> dict[str, DrsObject | DrsError]:
        body: dict[str, Any] = {"bulk_object_ids": [n.object_id for _, n in items]}
        if passports:
            body["passports"] = passports
        try:
            status, data = await self.request(
                "POST", f"{base_url}/objects", json=body, base_url=base_url
            )
        except DrsError:
            return {}  # the caller falls back to single GETs for whatever is missing
        if status in (400, 404, 405, 413, 501) or status != 200:
            if status in (404, 405, 501):
                self._hosts[base_url].bulk_objects = False
            return {}
        data = normalise_bulk(data)
        if isinstance(data, dict) and isinstance(data.get("resolved_drs_object"), list):
            for entry in data["resolved_drs_object"]:
                _fill_self_uri(entry, items[0][1].authority)
        try:
            bulk = BulkObjectsResponse.model_validate(data)
        except ValidationError:
            return {}
        by_id: dict[str, DrsObject] = {}
        for obj in bulk.resolved_drs_object:
            by_id[obj.id] = obj
            for alias in obj.aliases or []:
                by_id.setdefault(alias, obj)
        errors: dict[str, int] = {}
        for group in bulk.unresolved_drs_objects:
            for oid in group.object_ids:
                errors[oid] = group.error_code
        out: dict[str, DrsObject | DrsError] = {}
        for uri, norm in items:
            oid = norm.object_id
            # Gen3 sometimes answers with the bare GUID for a "dg.XXXX/<guid>" request.
            found = by_id.get(oid) or by_id.get(oid.rsplit("/", 1)[-1])
            if found is not None:
                out[uri] = found
            elif oid in errors:
                out[uri] = self._error(errors[oid], None, f"resolving {norm}")
        return out


def _fill_self_uri(data: Any, authority: str) -> None:
    """Give an object without ``self_uri`` the hostname URI of the host that answered.

    DRS 1.5 requires ``self_uri``, but a missing one only costs the client the object's own
    address, which is the host it just asked (``drs://authority/<id>``)."""
    if isinstance(data, dict) and not data.get("self_uri") and isinstance(data.get("id"), str):
        data["self_uri"] = f"drs://{authority}/{encode_object_id(data['id'])}"


async def resolve_access_async(
    drs_uri: str, token: str | None = None, *, home: str | None = None
) -> tuple[str, dict[str, str]]:
    """Resolve one DRS URI (any form) to an URL and the headers to GET its bytes, with the data
    home's ``[drs.prefixes]``, ``[drs.endpoints]`` and public cloud endpoints."""
    from htan_cds.settings import drs_settings

    settings = drs_settings(home)
    # The token is bound to the URI's own host (the only one this call talks to).
    async with DrsClient(
        credentials=Credentials(token=token),
        registry=settings.registry,
        endpoints=settings.endpoints,
        public_cloud=settings.public_cloud,
    ) as client:
        obj = await client.resolve(drs_uri)
        if obj.is_bundle:
            raise BundleNotFile(obj)
        access = await client.access_url(obj)
        return access.url, access.header_dict()


def resolve_access(drs_uri: str, token: str | None = None) -> tuple[str, dict[str, str]]:
    """Sync :func:`resolve_access_async` (works inside a running event loop too)."""
    return run_sync(lambda: resolve_access_async(drs_uri, token))
