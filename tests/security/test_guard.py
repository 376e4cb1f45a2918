"""Issue 11.3: the outgoing-connection guard's decisions, tested without connecting anywhere.

Name resolution is stubbed (``StaticResolver``) or numeric-only (``AI_NUMERICHOST``: the C
library parses the string and never asks a DNS server), and every socket the process creates is
recorded: a refused connection must not have opened one. Nothing here sends a packet to any
address, loopback included, except the explicitly allowed loopback server of the last test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from htan_cds.drs.client import DrsClient
from htan_cds.errors import DrsError
from htan_cds.net.guard import OutboundGuard, OutboundRefused, StaticResolver, refusal
from tests.transfer.fault_server import FaultServer, payload

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.1",
    "192.168.1.1",
    "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack metadata
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.0.23",  # Tencent Cloud metadata
    "100.100.100.200",  # Alibaba Cloud metadata (CGNAT range)
    "100.64.0.1",
    "168.63.129.16",  # Azure wire server (a public-looking address)
    "192.0.0.192",  # Oracle Cloud's legacy metadata address
    "0.0.0.0",
    "0.1.2.3",
    "255.255.255.255",
    "224.0.0.1",
    "240.0.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "::",
    "::1",
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "fd20:ce::254",  # GCP metadata over IPv6
    "fc00::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT, RFC 2765) 127.0.0.1
    "::ffff:0:169.254.169.254",
    "::ffff:0:8.8.8.8",  # the translated range itself is refused, whatever it embeds
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::a9fe:a9fe",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
    "2001:db8::1",
    "3fff::1",  # documentation (RFC 9637)
    "5f00::1",  # SRv6 SID (RFC 9602)
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2002:5db8:d822::1"]


@pytest.mark.parametrize("text", REFUSED)
def test_internal_addresses_are_refused(text: str) -> None:
    assert refusal(ipaddress.ip_address(text)) is not None
    with pytest.raises(OutboundRefused):
        OutboundGuard().check("some.host", 443, [text])


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    assert refusal(ipaddress.ip_address(text)) is None
    OutboundGuard().check("some.host", 443, [text])


def test_one_internal_address_refuses_the_name() -> None:
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
        OutboundGuard().check("rebind.test", 443, ["93.184.216.34", "127.0.0.1"])


def test_operator_exceptions() -> None:
    guard = OutboundGuard(allow=["127.0.0.1:8000", "commons.internal", "10.9.0.0/16"])
    guard.check("127.0.0.1", 8000, ["127.0.0.1"])
    guard.check("localhost", 8000, ["127.0.0.1"])  # the address is what is allowed
    guard.check("commons.internal", 443, ["10.0.0.5"])
    guard.check("x.internal", 443, ["10.9.1.1"])
    for host, port, addr in [
        ("127.0.0.1", 8001, "127.0.0.1"),
        ("x.internal", 443, "10.8.1.1"),
        ("metadata", 80, "169.254.169.254"),
    ]:
        with pytest.raises(OutboundRefused):
            guard.check(host, port, [addr])
    allow_url = OutboundGuard(allow=["http://127.0.0.1:9000", "[::1]:9000"])
    allow_url.check("127.0.0.1", 9000, ["127.0.0.1"])
    allow_url.check("::1", 9000, ["::1"])


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, ...]]]:
    """Every fresh socket created from here on (socketpair's wrapping is not counted)."""
    made: list[tuple[Any, ...]] = []
    real = socket.socket

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kw: Any) -> None:
            if kw.get("fileno") is None and len(args) < 4:
                made.append(args)
            super().__init__(*args, **kw)

    monkeypatch.setattr(socket, "socket", Recording)
    yield made


class NumericResolver(AbstractResolver):
    """getaddrinfo with AI_NUMERICHOST: numeric spellings are parsed, names never looked up."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
        return [
            {
                "hostname": host,
                "host": str(info[4][0]),
                "port": port,
                "family": info[0],
                "proto": 0,
                "flags": 0,
            }
            for info in infos
        ]

    async def close(self) -> None:
        """Nothing to release."""


def _resolve(uri: str, resolver: AbstractResolver, guard: OutboundGuard) -> DrsError | None:
    async def run() -> DrsError | None:
        async with DrsClient(guard=guard, resolver=resolver) as client:
            result = (await client.resolve_bulk([uri]))[uri]
        return result if isinstance(result, DrsError) else None

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("uri", "table"),
    [
        ("drs://metadata.test/x", {"metadata.test": ["169.254.169.254"]}),
        ("drs://aws6.test/x", {"aws6.test": ["fd00:ec2::254"]}),
        ("drs://mapped.test/x", {"mapped.test": ["::ffff:169.254.169.254"]}),
        ("drs://rebind.test/x", {"rebind.test": ["93.184.216.34", "10.0.0.7"]}),
        ("drs://alibaba.test/x", {"alibaba.test": ["100.100.100.200"]}),
    ],
)
def test_guarded_client_opens_no_socket_to_internal_names(
    uri: str, table: dict[str, list[str]], sockets: list[tuple[Any, ...]]
) -> None:
    resolver = StaticResolver(table)
    guard = OutboundGuard()
    error = _resolve(uri, resolver, guard)
    assert isinstance(error, OutboundRefused), error
    assert "refused" in str(error)
    assert resolver.lookups and guard.refusals >= 1
    assert sockets == []


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "017700000001", "127.1", "0x7f.1", "[::ffff:7f00:1]"]
)
def test_numeric_spellings_of_loopback_are_refused(
    host: str, sockets: list[tuple[Any, ...]]
) -> None:
    guard = OutboundGuard()

    async def run() -> BaseException:
        async with aiohttp.ClientSession(connector=guard.connector(NumericResolver())) as s:
            try:
                async with s.get(f"http://{host}:8443/latest/meta-data/"):
                    pass
            except (OutboundRefused, aiohttp.InvalidUrlClientError) as exc:
                return exc
        raise AssertionError("the request went through")

    error = asyncio.run(run())
    # Either the guard saw 127.0.0.1 behind the spelling, or aiohttp refused the spelling.
    assert isinstance(error, aiohttp.InvalidUrlClientError) or "127.0.0.1" in str(error), error
    assert sockets == []


def test_allowed_loopback_server_is_reached() -> None:
    with FaultServer() as srv:
        uri = srv.uri(srv.add("o", payload("o", 100)))
        assert _resolve(uri, NumericResolver(), OutboundGuard(allow=[srv.authority])) is None
        refused = _resolve(uri, NumericResolver(), OutboundGuard(allow=["127.0.0.1:1"]))
        assert isinstance(refused, OutboundRefused)
        assert srv.requests == {} or set(srv.requests) <= {"service-info", "object"}


def test_manifest_fetch_to_a_metadata_name_opens_no_socket(
    sockets: list[tuple[Any, ...]],
) -> None:
    from htan_cds.workspace import sb_errors
    from htan_cds.workspace.manifest_fetch import fetch_manifest_text
    from htan_cds.workspace.settings import WorkspaceSettings

    resolver = StaticResolver({"metadata.test": ["169.254.169.254"], "v6.test": ["fd00:ec2::254"]})
    for url in ("http://metadata.test/latest/meta-data/", "http://v6.test/latest/api/token"):
        with pytest.raises(sb_errors.SbApiError) as refused:
            fetch_manifest_text(url, WorkspaceSettings(), resolver=resolver)
        assert (refused.value.status, refused.value.code) == (400, 9203)
    assert resolver.lookups == ["metadata.test", "v6.test"]
    assert sockets == []
