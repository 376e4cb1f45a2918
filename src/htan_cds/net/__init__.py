"""Outgoing HTTP done carefully: the connection guard, bounded bodies, credential-safe redirects.

The names are loaded on first use (PEP 562): ``htan_cds.net.tls`` and ``htan_cds.net.environment``
are imported before aiohttp (see :mod:`htan_cds.net.tls`), so this package must not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from htan_cds._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
