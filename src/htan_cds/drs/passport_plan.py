"""Which passports go with which DRS request: read from the objects' DRS 1.5 ``Authorizations``.

Passports are sent only to hosts that declare they take them for the object at hand
(``OPTIONS /objects/{id}``, or the bulk ``OPTIONS /objects``; for ``/access`` calls the access
method's own ``authorizations`` first), and of the user's passports only those carrying a visa
from one of the object's ``passport_auth_issuers`` (DRS 1.5, schema ``Authorizations``). A host
that answers no ``Authorizations`` gets no passport.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from htan_cds.drs.credentials import accepted_passports
from htan_cds.drs.models import DrsObject
from htan_cds.drs.uri import encode_object_id
from htan_cds.errors import DrsError

if TYPE_CHECKING:
    from htan_cds.drs.client import DrsClient


class PassportPlan:
    """Per-host cache of object ``Authorizations`` and the passport choice they imply."""

    def __init__(self, client: DrsClient) -> None:
        self.client = client
        self._auth: dict[str, dict[str, Any]] = defaultdict(dict)
        self._no_bulk: set[str] = set()
        self.options_requests = 0

    async def _bulk(self, base_url: str, ids: list[str]) -> None:
        info = await self.client.service_info(base_url)
        limit = (info.max_bulk_request_length() if info else None) or 0
        if limit < 2:
            return
        known = self._auth[base_url]
        for i in range(0, len(ids), limit):
            self.options_requests += 1
            try:
                status, data = await self.client.request(
                    "OPTIONS",
                    f"{base_url}/objects",
                    json={"bulk_object_ids": ids[i : i + limit]},
                    base_url=base_url,
                )
            except DrsError:
                status, data = 0, None
            if status != 200 or not isinstance(data, dict):
                self._no_bulk.add(base_url)
                return
            for auth in data.get("resolved_drs_object") or []:
                if isinstance(auth, dict) and isinstance(auth.get("drs_object_id"), str):
                    known[auth["drs_object_id"]] = auth

    async def authorizations(self, base_url: str, ids: Sequence[str]) -> dict[str, Any]:
        """The ``Authorizations`` of each object (None where the host gave none)."""
        known = self._auth[base_url]
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        if len(missing) > 1 and base_url not in self._no_bulk:
            await self._bulk(base_url, missing)
        for oid in missing:
            if oid in known:
                continue
            self.options_requests += 1
            url = f"{base_url}/objects/{encode_object_id(oid)}"
            try:
                status, data = await self.client.request("OPTIONS", url, base_url=base_url)
            except DrsError:
                status, data = 0, None
            known[oid] = data if status == 200 else None
        return {i: known.get(i) for i in ids}

    async def for_objects(self, base_url: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """The passports each object of ``base_url`` may be resolved with (often none)."""
        creds = self.client.credentials
        if not creds.passports or not creds.may_send_passports(base_url):
            return {i: [] for i in ids}
        auths = await self.authorizations(base_url, ids)
        return {i: accepted_passports(creds.passports, auths.get(i)) for i in ids}

    async def for_access(self, base_url: str, obj: DrsObject, access_id: str) -> list[str]:
        """Passports for an ``/access`` call: the access method's ``authorizations`` (where
        DRS 1.5 puts them for ``/access``), else the object's."""
        creds = self.client.credentials
        if not creds.passports or not creds.may_send_passports(base_url):
            return []
        for method in obj.access_methods or []:
            if method.access_id == access_id and method.authorizations is not None:
                auth = method.authorizations.model_dump(exclude_none=True)
                return accepted_passports(creds.passports, auth)
        return (await self.for_objects(base_url, [obj.id]))[obj.id]
