"""HTTP like the rest of the user's machine: proxies and CA bundles from the environment.

* ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` (any case): aiohttp sessions are made with
  ``trust_env=True`` (``CONNECT`` through the proxy for https), httpx clients with its default
  ``trust_env=True``; both read them through urllib's ``getproxies``/``proxy_bypass``.
* ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (OpenSSL's own variables) and ``REQUESTS_CA_BUNDLE``
  (the requests library's, which institutional setups often set alone): one
  :func:`ssl_context` for aiohttp and httpx alike.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache

from htan_cds.errors import ConfigError

CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _ca_settings() -> tuple[str | None, str | None]:
    cafile = next((os.environ[v] for v in CA_VARIABLES if os.environ.get(v)), None)
    return cafile, os.environ.get("SSL_CERT_DIR") or None


def ssl_context() -> ssl.SSLContext:
    """A verifying TLS context trusting the system store, or the CA bundle the environment
    names (read again when the variables change)."""
    return _context(*_ca_settings())


def custom_ssl_context() -> ssl.SSLContext | None:
    """:func:`ssl_context` when the environment names a CA bundle, else None: the HTTP
    libraries' own default (verifying, system store) then serves, and no second CA store is
    loaded at start-up (tens of milliseconds per process)."""
    cafile, capath = _ca_settings()
    return _context(cafile, capath) if cafile or capath else None


@lru_cache(maxsize=8)
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the CA bundle {cafile or capath}: {exc}") from exc
