"""Which base URL answers for a DRS host: ``[drs.endpoints]`` and ``HTAN_CDS_DRS_ENDPOINTS``.

DRS puts a host's API at ``https://HOST/ga4gh/drs/v1`` (DRS 1.5, "Hostname-based DRS URIs").
Mirrors, institutional gateways and tests answer for a host elsewhere; the map says where::

    [drs.endpoints]
    "nci-crdc.datacommons.io" = "http://127.0.0.1:8123"

or ``HTAN_CDS_DRS_ENDPOINTS="nci-crdc.datacommons.io=http://127.0.0.1:8123,other=https://gw"``
(a JSON object works too). A value is the server root (``/ga4gh/drs/v1`` is added) or a full base
URL ending in ``/ga4gh/drs/v1``. The environment wins over the config file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from htan_cds.drs.uri import DRS_API_PATH, DrsUri
from htan_cds.errors import ConfigError

ENV = "HTAN_CDS_DRS_ENDPOINTS"
# A config file or variable is user input too: bounded.
MAX_ENDPOINTS = 1000


def _base(host: str, value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: the endpoint for {host!r} must be an URL")
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: the endpoint for {host!r} must be an http(s) URL: {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: the endpoint for {host!r} may not have a query: {value!r}")
    return url if url.endswith(DRS_API_PATH) else url + DRS_API_PATH


@dataclass
class EndpointMap:
    """DRS authority (``host`` or ``host:port``, lower case) → DRS API base URL."""

    _bases: dict[str, str] = field(default_factory=dict)

    def add(self, host: str, value: object, where: str = "[drs.endpoints]") -> None:
        key = host.strip().lower()
        if not key:
            raise ConfigError(f"{where}: an empty host name")
        if len(self._bases) >= MAX_ENDPOINTS:
            raise ConfigError(f"{where}: more than {MAX_ENDPOINTS} endpoints")
        self._bases[key] = _base(key, value, where)

    def update(self, table: Mapping[str, object], where: str) -> None:
        for host, value in table.items():
            self.add(str(host), value, where)

    def update_from_config(self, config: Mapping[str, object]) -> None:
        """Add the ``[drs.endpoints]`` table of a parsed ``config.toml``."""
        drs = config.get("drs", {})
        table = drs.get("endpoints", {}) if isinstance(drs, Mapping) else {}
        if not isinstance(table, Mapping):
            raise ConfigError("[drs.endpoints] must be a table")
        self.update(table, "[drs.endpoints]")

    def update_from_env(self, environ: Mapping[str, str] | None = None) -> None:
        """Add ``HTAN_CDS_DRS_ENDPOINTS`` (``host=url`` pairs separated by commas, or JSON)."""
        text = (os.environ if environ is None else environ).get(ENV, "").strip()
        if not text:
            return
        if text.startswith("{"):
            try:
                table = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"{ENV} is not a JSON object: {exc}") from exc
            if not isinstance(table, dict):
                raise ConfigError(f"{ENV} must map hosts to URLs")
            self.update(table, ENV)
            return
        for pair in filter(None, (p.strip() for p in text.split(","))):
            host, sep, url = pair.partition("=")
            if not sep:
                raise ConfigError(f"{ENV}: {pair!r} is not host=url")
            self.add(host, url, ENV)

    def base_url(self, uri: DrsUri) -> str:
        """The DRS API base URL for a hostname-based URI (mapped, else the DRS default)."""
        mapped = self._bases.get(uri.authority.lower())
        if mapped is None and uri.port is not None:
            mapped = self._bases.get((uri.host or "").lower())
        return mapped or uri.server_base_url()

    def mapped_origin(self, url: str) -> str | None:
        """The origin ``[drs.endpoints]`` maps the host of ``url`` (an origin or URL) to, if any
        (``https://h:443`` is looked up as ``h``, other ports as ``h:port``)."""
        from htan_cds.net.origins import origin

        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
        default = {"https": 443, "http": 80}.get(parts.scheme.lower())
        key = host if port in (None, default) else f"{host}:{port}"
        mapped = self._bases.get(key)
        return origin(mapped) if mapped else None

    def items(self) -> list[tuple[str, str]]:
        return sorted(self._bases.items())

    def __bool__(self) -> bool:
        return bool(self._bases)

    def copy(self) -> EndpointMap:
        return EndpointMap(dict(self._bases))
