"""The outgoing-connection guard: where a server may connect on a user's behalf.

The workspace fetches manifests, DRS objects and access URLs that its users name. Every such
connection goes through :class:`GuardedConnector`, an aiohttp connector that resolves the name
once, checks every address the name resolved to, and connects to exactly those addresses (the
TLS server name and ``Host`` stay the original name). Checking and connecting the same resolved
list is what closes the DNS-rebinding window of a check-then-connect design (the approach of
``advocate``'s ``ValidatingHTTPConnection`` and Smokescreen's resolver hook).

Refused unless the operator allows the host (``allow``): loopback, private (RFC 1918), link-local
(169.254/16, fe80::/10 — the AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack metadata address
169.254.169.254 and AWS ECS' 169.254.170.2), unique-local fc00::/7 (AWS' IPv6 metadata
fd00:ec2::254, GCP's fd20:ce::254), CGNAT 100.64/10 (Alibaba's metadata 100.100.100.200),
Azure's wire server 168.63.129.16, unspecified, multicast, broadcast, reserved and
documentation ranges (2001:db8::/32, 3fff::/20), SRv6 segment ids 5f00::/16, the whole
IPv4-translated range ``::ffff:0:a.b.c.d`` (RFC 2765), and every other IPv6 form that embeds an
IPv4 address (mapped ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``, 6to4 2002::/16, Teredo
2001::/32, NAT64 64:ff9b::/96) when the embedded address is refused. Numeric host spellings
(``2130706433``, ``0x7f.1``) are resolved like any name, so the address checked is the address
connected to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from htan_cds.errors import DrsError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges no server of a user's should be reached at, beyond what ``is_global`` already refuses.
# Sources: IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890); cloud providers'
# instance-metadata documentation (AWS IMDS incl. IPv6 fd00:ec2::254, GCP metadata server,
# Azure IMDS and wire server 168.63.129.16, Alibaba 100.100.100.200, Oracle 192.0.0.192).
_REFUSED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "168.63.129.16/32",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765): a translator's view of IPv4
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers (RFC 9602), never a host
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


def embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one (mapped, translated, compatible, 6to4, Teredo, NAT64)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _TRANSLATED:
        return ipaddress.IPv4Address(addr.packed[12:])
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]  # the client's address; the server half is public by design
    packed = addr.packed
    if addr in _NAT64:
        return ipaddress.IPv4Address(packed[12:])
    if packed[:12] == bytes(12) and int(addr) > 0xFFFF:
        return ipaddress.IPv4Address(packed[12:])  # deprecated IPv4-compatible ::a.b.c.d
    return None


def refusal(addr: IPAddress) -> str | None:
    """Why a connection to ``addr`` is refused (None when it is a public unicast address)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            addr = ipaddress.IPv6Address(str(addr).split("%", 1)[0])
        inner = embedded_ipv4(addr)
        if inner is not None:
            why = refusal(inner)
            if why is not None:
                return f"{why} (inside {addr})"
    for net in _REFUSED_NETWORKS:
        if addr.version == net.version and addr in net:
            return f"{addr} is in the refused range {net}"
    if not addr.is_global or addr.is_multicast:
        return f"{addr} is not a public unicast address"
    return None


class OutboundRefused(DrsError):
    """A connection the guard refused (the address is internal and not allowed)."""


@dataclass(frozen=True)
class _Rule:
    host: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, port: int, addr: IPAddress | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return host.lower().rstrip(".") == self.host
        return addr is not None and self.network is not None and addr in self.network


def _parse_rule(text: str) -> _Rule:
    """``host``, ``host:port``, ``1.2.3.4``, ``10.0.0.0/8``, ``[::1]:8000`` or an origin URL."""
    from urllib.parse import urlsplit

    raw = text.strip()
    if "://" in raw:
        parts = urlsplit(raw)
        host, port = parts.hostname or "", parts.port
    elif raw.startswith("["):
        inside, _, rest = raw[1:].partition("]")
        host, port = inside, int(rest[1:]) if rest.startswith(":") else None
    elif raw.count(":") == 1:
        name, _, num = raw.partition(":")
        host, port = name, int(num)
    else:
        host, port = raw, None
    try:
        return _Rule(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        return _Rule(host=host.lower().rstrip("."), port=port)


@dataclass
class OutboundGuard:
    """Decides which (host, port, address) a server may connect to; see the module docstring.

    ``allow`` holds the operator's exceptions: host names, ``host:port``, IP addresses or CIDR
    networks (``127.0.0.1:8000``, ``10.1.0.0/16``, ``commons.internal``). ``refusals`` counts
    refused attempts (for tests and logs).
    """

    allow: Sequence[str] = ()
    refusals: int = 0
    _rules: list[_Rule] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._rules = [_parse_rule(a) for a in self.allow if a.strip()]
        except ValueError as exc:
            from htan_cds.errors import ConfigError

            raise ConfigError(f"allowed host list: {exc}") from exc

    def allowed_name(self, host: str, port: int) -> bool:
        """True when the operator allowed ``host`` (by name) on ``port``."""
        return any(r.host is not None and r.matches(host, port, None) for r in self._rules)

    def check(self, host: str, port: int, addresses: Iterable[str]) -> None:
        """Raise :class:`OutboundRefused` unless every address of ``host`` may be reached."""
        if self.allowed_name(host, port):
            return
        addrs = list(addresses)
        if not addrs:
            self.refusals += 1
            raise OutboundRefused(f"{host} resolved to no address")
        for text in addrs:
            try:
                addr = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                self.refusals += 1
                raise OutboundRefused(f"{host} resolved to {text!r}, not an address") from None
            if any(r.network is not None and r.matches(host, port, addr) for r in self._rules):
                continue
            why = refusal(addr)
            if why is not None:
                # One refused address refuses the name: a name that mixes public and internal
                # addresses is how rebinding attacks look.
                self.refusals += 1
                raise OutboundRefused(
                    f"connection to {host} refused: {why}",
                    hint="an operator may allow the host in the workspace's allow_hosts",
                )

    def connector(self, resolver: AbstractResolver | None = None, **kw: Any) -> GuardedConnector:
        """A new aiohttp connector that applies this guard to every connection."""
        return GuardedConnector(self, resolver=resolver, **kw)


class GuardedConnector(aiohttp.TCPConnector):
    """An aiohttp connector whose every connection (redirect hops included) passes the guard.

    aiohttp resolves a host in ``_resolve_host`` and connects to the addresses it returns, so
    checking that list here pins the connection to what was checked.
    """

    def __init__(
        self, guard: OutboundGuard, resolver: AbstractResolver | None = None, **kw: Any
    ) -> None:
        kw.setdefault("limit", 0)
        super().__init__(resolver=resolver, **kw)
        self.guard = guard

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        hosts = await super()._resolve_host(host, port, traces=traces)
        self.guard.check(host, port, (h["host"] for h in hosts))
        return hosts


class StaticResolver(AbstractResolver):
    """An aiohttp resolver answering from a fixed table (tests stub name resolution with it)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"{host}: no such host (stub)")
        out: list[ResolveResult] = []
        for text in self.table[host]:
            fam = socket.AF_INET6 if ":" in text else socket.AF_INET
            out.append(
                {
                    "hostname": host,
                    "host": text,
                    "port": port,
                    "family": fam,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return out

    async def close(self) -> None:
        """Nothing to release."""
