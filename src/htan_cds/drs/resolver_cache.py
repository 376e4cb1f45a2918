"""Compact DRS prefixes unknown to the registry, looked up at identifiers.org or n2t.net.

A lookup of ``prefix:accession`` yields a URL such as
``https://drs.example.org/ga4gh/drs/v1/objects/<id>``; the host and the way the id is built from
the accession are kept per prefix in a small JSON cache on disk for 24 hours, so a manifest of
thousands of compact URIs costs one lookup per prefix. The resolver base URLs are settings (and
environment variables) so tests can point them at a loopback stand-in.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import aiohttp

from htan_cds.drs.prefixes import PrefixEntry
from htan_cds.drs.uri import DRS_API_PATH, is_loopback_host
from htan_cds.errors import DrsError, UnknownPrefix
from htan_cds.net.bounded import read_capped

IDENTIFIERS_URL = os.environ.get("HTAN_CDS_IDENTIFIERS_URL", "https://resolver.api.identifiers.org")
N2T_URL = os.environ.get("HTAN_CDS_N2T_URL", "https://n2t.net")
CACHE_TTL = 24 * 3600.0
_OBJECTS = DRS_API_PATH + "/objects/"


def default_cache_path() -> Path:
    """Where prefix lookups are cached when no path is given."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("htan-cds", appauthor=False)) / "drs-prefixes.json"


def entry_from_url(prefix: str, accession: str, url: str) -> PrefixEntry | None:
    """Turn a resolved DRS object URL into a :class:`PrefixEntry` (None if it is not DRS)."""
    parts = urlsplit(url)
    if not parts.hostname or _OBJECTS not in parts.path:
        return None
    object_id = unquote(parts.path.split(_OBJECTS, 1)[1])
    if not object_id:
        return None
    host = parts.hostname
    # Only loopback may carry a port (DRS is https:443 elsewhere), mirroring drs.uri.
    port = parts.port if parts.port is not None and is_loopback_host(host) else None
    template = object_id.replace(accession, "{accession}") if accession in object_id else None
    if template is None:
        return None
    return PrefixEntry(prefix=prefix, host=host, port=port, id_template=template)


@dataclass
class CompactResolver:
    """Look up unknown compact prefixes; results cached on disk for :data:`CACHE_TTL` seconds."""

    cache_path: Path | None = None
    identifiers_url: str = IDENTIFIERS_URL
    n2t_url: str = N2T_URL
    ttl: float = CACHE_TTL
    lookups: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _load(self) -> dict[str, dict[str, object]]:
        path = self.cache_path or default_cache_path()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, object]]) -> None:
        path = self.cache_path or default_cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache we cannot write only costs a lookup next time

    def cached(self, prefix: str) -> PrefixEntry | None:
        """The cached entry for ``prefix`` if younger than the TTL."""
        item = self._load().get(prefix.lower())
        if not item or time.time() - float(str(item.get("at", 0))) > self.ttl:
            return None
        port = item.get("port")
        return PrefixEntry(
            prefix=prefix,
            host=str(item["host"]),
            port=int(str(port)) if port is not None else None,
            id_template=str(item["id_template"]),
        )

    async def lookup(
        self, session: aiohttp.ClientSession, prefix: str, accession: str
    ) -> PrefixEntry:
        """Resolve ``prefix`` via the cache, then identifiers.org, then n2t.net."""
        async with self._lock:
            hit = self.cached(prefix)
            if hit is not None:
                return hit
            entry = await self._identifiers(session, prefix, accession)
            if entry is None:
                entry = await self._n2t(session, prefix, accession)
            if entry is None:
                raise UnknownPrefix(
                    f"no DRS host known for compact prefix {prefix!r}",
                    hint="identifiers.org and n2t.net had no DRS resolver for it; "
                    "add it under [drs.prefixes] in config.toml",
                )
            data = self._load()
            data[prefix.lower()] = {
                "host": entry.host,
                "port": entry.port,
                "id_template": entry.id_template,
                "at": time.time(),
            }
            self._save(data)
            return entry

    async def _identifiers(
        self, session: aiohttp.ClientSession, prefix: str, accession: str
    ) -> PrefixEntry | None:
        url = f"{self.identifiers_url.rstrip('/')}/{quote(prefix)}:{quote(accession, safe='/')}"
        self.lookups += 1
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=15)) as resp:
                if resp.status != 200:
                    return None
                data = json.loads(await read_capped(resp, 1 << 20, "identifiers.org answer"))
        except (aiohttp.ClientError, TimeoutError, ValueError, DrsError):
            return None
        payload = data.get("payload") if isinstance(data, dict) else None
        resources = payload.get("resolvedResources") if isinstance(payload, dict) else None
        for res in resources if isinstance(resources, list) else []:
            if not isinstance(res, dict):
                continue
            resolved = res.get("compactIdentifierResolvedUrl")
            if isinstance(resolved, str):
                entry = entry_from_url(prefix, accession, resolved)
                if entry is not None:
                    return entry
        return None

    async def _n2t(
        self, session: aiohttp.ClientSession, prefix: str, accession: str
    ) -> PrefixEntry | None:
        url = f"{self.n2t_url.rstrip('/')}/{quote(prefix)}:{quote(accession, safe='/')}"
        self.lookups += 1
        try:
            async with session.get(
                url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=15)
            ) as resp:
                location = resp.headers.get("Location")
        except (aiohttp.ClientError, TimeoutError):
            return None
        return entry_from_url(prefix, accession, location) if location else None
