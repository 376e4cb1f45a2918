"""Origins (scheme, host, port): the identity of a host for credentials and redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from htan_cds.errors import UsageError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """``scheme://host:port`` of an URL, lower-cased, with the default port spelled out.

    Two URLs share an origin exactly when RFC 6454 says so; ``https://h`` and ``https://h:443``
    are the same origin, ``http://h`` is another one.
    """
    parts = urlsplit(url)
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError as exc:
        raise UsageError(f"{url!r} has a bad port") from exc
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"
