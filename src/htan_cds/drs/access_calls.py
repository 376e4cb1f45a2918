"""Getting an URL for an object's bytes: the routes of :mod:`htan_cds.drs.access_methods`
tried in turn, ``/objects/{id}/access/{access_id}`` (single and bulk) where a route needs it.

:class:`AccessCalls` is mixed into :class:`~htan_cds.drs.client.DrsClient`; it uses the client's
``request``, passport plan, host state and base-URL mapping.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError

from htan_cds.drs.access_methods import PublicCloud, Route, RouteKind, routes
from htan_cds.drs.models import AccessURL, BulkAccessResponse, DrsObject
from htan_cds.drs.uri import encode_object_id
from htan_cds.errors import AccessDenied, DrsError

if TYPE_CHECKING:
    from htan_cds.drs.client import _HostState
    from htan_cds.drs.models import DrsServiceInfo
    from htan_cds.drs.passport_plan import PassportPlan


def normalise_bulk(data: Any) -> Any:
    # Gen3 indexd says "resolved_drs_objects"; the spec says "resolved_drs_object".
    if isinstance(data, dict):
        if "resolved_drs_object" not in data and "resolved_drs_objects" in data:
            data["resolved_drs_object"] = data.pop("resolved_drs_objects")
        data.setdefault("summary", {})
    return data


class NoRoute(DrsError):
    """No access method of an object led to its bytes; the message gives each reason."""


def no_route(obj: DrsObject, reasons: Sequence[str]) -> NoRoute:
    """The error for an object none of whose routes worked (every reason, in order)."""
    detail = "; ".join(reasons) if reasons else "no access method"
    denied = any("HTTP 401" in r or "HTTP 403" in r for r in reasons)
    err = NoRoute(f"{obj.self_uri}: no access method worked ({detail})")
    if denied:
        err.status_code = 403
    return err


class AccessCalls:
    """Access-URL calls of the DRS client (see the module docstring)."""

    public_cloud: PublicCloud

    if TYPE_CHECKING:  # provided by DrsClient
        passport_plan: PassportPlan
        _hosts: dict[str, _HostState]

        async def request(
            self, method: str, url: str, *, json: Any = None, base_url: str
        ) -> tuple[int, Any]: ...

        async def service_info(self, base_url: str) -> DrsServiceInfo | None: ...

        def base_url_of(self, obj: DrsObject) -> str: ...

        @staticmethod
        def _error(status: int, data: Any, what: str) -> DrsError: ...

    def routes(self, obj: DrsObject) -> tuple[list[Route], list[str]]:
        """The object's routes to its bytes, best first, and why other methods are unusable."""
        return routes(obj, self.public_cloud)

    async def route_url(self, obj: DrsObject, route: Route) -> AccessURL:
        """The URL of one route (``/access`` is called for an ``access_id`` route)."""
        if route.kind is RouteKind.ACCESS_ID:
            assert route.access_id is not None
            access = await self.fetch_access_url(obj, route.access_id)
            if not access.url.lower().startswith(("https://", "http://")):
                scheme = access.url.split(":", 1)[0]
                raise DrsError(f"/access/{route.access_id} gave a {scheme}: URL, not http(s)")
            return access
        assert route.url is not None
        if route.kind is RouteKind.INLINE and route.method.access_url is not None:
            return route.method.access_url
        return AccessURL(url=route.url)

    async def first_route_url(
        self, obj: DrsObject, start: int = 0, reasons: list[str] | None = None
    ) -> tuple[int, AccessURL]:
        """The first route from ``start`` whose URL can be had: (its index, the URL).

        Each failing route adds its reason to ``reasons``; when none is left, :class:`NoRoute`
        names them all (and the methods that were never usable).
        """
        found, unusable = self.routes(obj)
        reasons = reasons if reasons is not None else []
        for index in range(start, len(found)):
            route = found[index]
            try:
                return index, await self.route_url(obj, route)
            except DrsError as exc:
                reasons.append(f"{route.describe()}: {exc}")
        raise no_route(obj, [*reasons, *unusable])

    async def access_url(self, obj: DrsObject) -> AccessURL:
        """An URL (plus headers) to GET the object's bytes; ``/access`` only when needed."""
        return (await self.first_route_url(obj))[1]

    async def fetch_access_url(
        self, obj: DrsObject, access_id: str, *, base_url: str | None = None
    ) -> AccessURL:
        """Ask the server for a fresh URL for ``access_id`` (after expiry too)."""
        base = base_url or self.base_url_of(obj)
        url = f"{base}/objects/{encode_object_id(obj.id)}/access/{quote(access_id, safe='')}"
        passports = await self.passport_plan.for_access(base, obj, access_id)
        if passports:
            status, data = await self.request(
                "POST", url, json={"passports": passports}, base_url=base
            )
        else:
            status, data = await self.request("GET", url, base_url=base)
        if status != 200:
            raise self._error(status, data, f"access URL for {obj.self_uri}")
        try:
            return AccessURL.model_validate(data)
        except ValidationError as exc:
            raise DrsError(f"access URL for {obj.self_uri}: not an AccessURL") from exc

    async def access_urls_bulk(
        self, objects: Sequence[DrsObject]
    ) -> dict[str, AccessURL | DrsError]:
        """First-route URLs for many objects (keyed by object id); one bulk
        ``POST /objects/access`` per host where service-info offers bulk, else per object.
        Objects whose first route needs no call cost nothing; a failed first route falls
        back to the next ones (see :meth:`first_route_url`)."""
        out: dict[str, AccessURL | DrsError] = {}
        need: dict[str, list[tuple[DrsObject, str]]] = defaultdict(list)
        for obj in objects:
            found, _ = self.routes(obj)
            if not found or found[0].kind is not RouteKind.ACCESS_ID:
                try:
                    out[obj.id] = await self.access_url(obj)
                except DrsError as exc:
                    out[obj.id] = exc
                continue
            assert found[0].access_id is not None
            need[self.base_url_of(obj)].append((obj, found[0].access_id))
        for base, items in need.items():
            info = await self.service_info(base)
            limit = info.max_bulk_request_length() if info else None
            if limit and limit > 1 and self._hosts[base].bulk_access and len(items) > 1:
                for i in range(0, len(items), limit):
                    out.update(await self._bulk_access(base, items[i : i + limit]))
            missing = [o for o, _ in items if o.id not in out]

            async def one(o: DrsObject) -> AccessURL | DrsError:
                try:
                    return await self.access_url(o)
                except DrsError as exc:
                    return exc

            got = await asyncio.gather(*(one(o) for o in missing))
            out.update({o.id: g for o, g in zip(missing, got, strict=True)})
        return out

    async def _bulk_access(
        self, base: str, items: Sequence[tuple[DrsObject, str]]
    ) -> dict[str, AccessURL | DrsError]:
        plans = [await self.passport_plan.for_access(base, o, a) for o, a in items]
        if len({tuple(p) for p in plans}) > 1:
            return {}  # different passports per object: the caller asks one by one
        body: dict[str, Any] = {
            "bulk_object_access_ids": [
                {"bulk_object_id": o.id, "bulk_access_ids": [a]} for o, a in items
            ]
        }
        if plans and plans[0]:
            body["passports"] = plans[0]
        try:
            status, data = await self.request(
                "POST", f"{base}/objects/access", json=body, base_url=base
            )
        except DrsError:
            return {}
        if status != 200:
            if status in (404, 405, 501):
                self._hosts[base].bulk_access = False
            return {}
        try:
            bulk = BulkAccessResponse.model_validate(normalise_bulk(data))
        except ValidationError:
            return {}
        out: dict[str, AccessURL | DrsError] = {}
        for item in bulk.resolved_drs_object_access_urls:
            if item.drs_object_id and item.url.lower().startswith(("https://", "http://")):
                out[item.drs_object_id] = AccessURL(url=item.url, headers=item.headers)
        return out


__all__ = ["AccessCalls", "AccessDenied", "NoRoute", "no_route"]
