"""Outgoing HTTP done carefully: the connection guard, bounded bodies, credential-safe redirects."""

from htan_cds.net.bounded import BodyTooLarge, read_capped
from htan_cds.net.guard import GuardedConnector, OutboundGuard, OutboundRefused, refusal
from htan_cds.net.redirects import follow_redirects

__all__ = [
    "BodyTooLarge",
    "GuardedConnector",
    "OutboundGuard",
    "OutboundRefused",
    "follow_redirects",
    "read_capped",
    "refusal",
]
