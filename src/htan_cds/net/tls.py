"""TLS trust stores loaded when a handshake needs them, not when a library is imported.

aiohttp builds two TLS contexts as it is imported (``aiohttp/connector.py``:
``_SSL_CONTEXT_VERIFIED = _make_ssl_context(True)`` and the unverified one, which calls
``set_default_verify_paths()`` too), and each loads the system CA store: OpenSSL 3 parses the
~150 PEM certificates in 50-90 ms each on the benchmark VM. ``htan-cds import`` paid both before
its first byte even when every URL was plain HTTP. While :func:`deferred_trust` is active,
``SSLContext.set_default_verify_paths()`` (which ``ssl.create_default_context()`` and
``load_default_certs()`` call) only marks the context; its store is loaded, once and under a
lock, just before the context's first handshake (``wrap_bio``, which asyncio's TLS transport
calls, or ``wrap_socket``) or when its store is inspected. What a context trusts and verifies
is unchanged: the same store, read at first use (OpenSSL reads ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` then, as it would have at import).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["deferred_trust"]

# The C method every default trust load ends in (ssl.SSLContext inherits it from _ssl).
_LOAD_DEFAULT_PATHS = ssl.SSLContext.set_default_verify_paths
_PENDING = "_htan_cds_trust_pending"
_LOCK = threading.Lock()


class _DeferredTrust(ssl.SSLContext):
    """A context whose default trust store is loaded right before it is first used."""

    def _load_trust(self) -> None:
        if _PENDING not in self.__dict__:
            return
        with _LOCK:
            # Cleared only once loaded: a second thread waits instead of handshaking early.
            if self.__dict__.get(_PENDING):
                _LOAD_DEFAULT_PATHS(self)
                del self.__dict__[_PENDING]

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_trust()
        return super().wrap_socket(*args, **kwargs)

    def get_ca_certs(self, binary_form: bool = False) -> Any:
        self._load_trust()
        return super().get_ca_certs(binary_form)

    def cert_store_stats(self) -> dict[str, int]:
        self._load_trust()
        return super().cert_store_stats()


def _defer_default_paths(self: ssl.SSLContext) -> None:
    if type(self) is ssl.SSLContext:
        # A plain context (what ssl.create_default_context makes) is given the hooks above;
        # a subclass may wrap sockets its own way, so it loads at once as before.
        self.__class__ = _DeferredTrust
    if isinstance(self, _DeferredTrust):
        self.__dict__[_PENDING] = True
    else:
        _LOAD_DEFAULT_PATHS(self)


@contextlib.contextmanager
def deferred_trust() -> Iterator[None]:
    """Contexts given the default trust store in this block load it at their first handshake.

    For loading modules at start-up (see ``htan_cds.cli._common.loading_modules``): the switch
    is process-wide while the block runs, so it is taken only while this is the only thread
    (a context another thread makes meanwhile would be deferred too, which is still correct,
    but nothing should change under a running server's feet). Nested blocks are no-ops."""
    if threading.active_count() > 1 or "set_default_verify_paths" in vars(ssl.SSLContext):
        yield
        return
    ssl.SSLContext.set_default_verify_paths = _defer_default_paths  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ssl.SSLContext.set_default_verify_paths
