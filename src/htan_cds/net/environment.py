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
# OpenSSL reads these two itself whenever a default context loads its trust store (aiohttp
# builds its default context when it is imported); their values when this process started.
_OPENSSL_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_AT_START = {v: os.environ.get(v) for v in _OPENSSL_VARIABLES}


def _ca_settings() -> tuple[str | None, str | None]:
    cafile = next((os.environ[v] for v in CA_VARIABLES if os.environ.get(v)), None)
    return cafile, os.environ.get("SSL_CERT_DIR") or None


def ssl_context() -> ssl.SSLContext:
    """A verifying TLS context trusting the system store, or the CA bundle the environment
    names (read again when the variables change)."""
    return _context(*_ca_settings())


def custom_ssl_context() -> ssl.SSLContext | None:
    """:func:`ssl_context` when the environment names a CA bundle the HTTP libraries' default
    context does not already trust, else None: their own default (verifying) then serves.

    The default context is built by OpenSSL's ``set_default_verify_paths``, which reads
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` itself (as curl and the ``openssl`` tools do), so when
    those are all the environment names, and are what they were when the process started,
    building our own context would load the same CA store once more: a quarter of a second
    of start-up on the benchmark VM (OpenSSL 3 parsing ~150 PEM certificates). A bundle named
    only by ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (which OpenSSL does not read), or an
    OpenSSL variable changed since start-up, gets its own context."""
    cafile, capath = _ca_settings()
    if not (cafile or capath):
        return None
    openssl_reads_it = cafile in (None, os.environ.get("SSL_CERT_FILE"))
    unchanged = all(os.environ.get(v) == _AT_START[v] for v in _OPENSSL_VARIABLES)
    if openssl_reads_it and unchanged:
        return None
    return _context(cafile, capath)


@lru_cache(maxsize=8)
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the CA bundle {cafile or capath}: {exc}") from exc
