"""Outgoing HTTP done carefully: the connection guard, bounded bodies, credential-safe redirects.

The names are loaded on first use (PEP 562): ``htan_cds.net.tls`` and ``htan_cds.net.environment``
are imported before aiohttp (see :mod:`htan_cds.net.tls`), so this package must not import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from htan_cds.net.bounded import BodyTooLarge, read_capped
    from htan_cds.net.guard import GuardedConnector, OutboundGuard, OutboundRefused, refusal
    from htan_cds.net.redirects import follow_redirects

# Public name -> the submodule that defines it.
_EXPORTS = {
    "BodyTooLarge": "bounded",
    "GuardedConnector": "guard",
    "OutboundGuard": "guard",
    "OutboundRefused": "guard",
    "follow_redirects": "redirects",
    "read_capped": "bounded",
    "refusal": "guard",
}

__all__ = [
    "BodyTooLarge",
    "GuardedConnector",
    "OutboundGuard",
    "OutboundRefused",
    "follow_redirects",
    "read_capped",
    "refusal",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
