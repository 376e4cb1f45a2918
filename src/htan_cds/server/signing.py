"""HMAC-SHA256 signed URLs: short-lived capabilities for one object, one method.

The signature covers the method, the URL path (which names the object) and the expiry, so a
URL cannot be moved to another object, extended or used with another method.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(key: bytes, path: str, expires: int, method: str = "GET") -> str:
    """The signature (url-safe base64) of ``method path expires`` under ``key``."""
    message = f"{method.upper()}\n{path}\n{int(expires)}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def verify(
    key: bytes,
    path: str,
    expires: int | str,
    signature: str,
    method: str = "GET",
    *,
    now: float | None = None,
) -> bool:
    """True if ``signature`` is valid for this path/method and ``expires`` is in the future."""
    try:
        exp = int(expires)
    except (TypeError, ValueError):
        return False
    if exp < (time.time() if now is None else now):
        return False
    expected = sign(key, path, exp, method)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def signed_query(key: bytes, path: str, ttl: int, method: str = "GET") -> str:
    """The query string (``expires=…&sig=…``) that makes ``path`` valid for ``ttl`` seconds."""
    expires = int(time.time()) + int(ttl)
    return urlencode({"expires": expires, "sig": sign(key, path, expires, method)})


def signed_url(base_url: str, key: bytes, path: str, ttl: int, method: str = "GET") -> str:
    """``base_url + path`` with a signature valid for ``ttl`` seconds."""
    return f"{base_url.rstrip('/')}{path}?{signed_query(key, path, ttl, method)}"
