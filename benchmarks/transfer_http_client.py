"""Which HTTP client carries the import engine's bytes: aiohttp vs httpx, same nginx, same run.

Measures (1) one 512 MiB body streamed and discarded (client CPU is the limit on loopback) and
(2) 2,000 small GETs over 16 concurrent connections. ``--small`` halves both.

    python benchmarks/transfer_http_client.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import Nginx

MiB = 1 << 20


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _aiohttp_big(url: str) -> int:
    n = 0
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        async for chunk in resp.content.iter_chunked(MiB):
            n += len(chunk)
    return n


async def _httpx_big(url: str) -> int:
    n = 0
    async with httpx.AsyncClient() as client, client.stream("GET", url) as resp:
        async for chunk in resp.aiter_bytes(MiB):
            n += len(chunk)
    return n


async def _aiohttp_many(urls: list[str]) -> int:
    sem = asyncio.Semaphore(16)
    conn = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one(u: str) -> int:
            async with sem, session.get(u) as resp:
                return len(await resp.read())

        return sum(await asyncio.gather(*(one(u) for u in urls)))


async def _httpx_many(urls: list[str]) -> int:
    sem = asyncio.Semaphore(16)
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(u: str) -> int:
            async with sem:
                resp = await client.get(u)
                return len(resp.content)

        return sum(await asyncio.gather(*(one(u) for u in urls)))


def _time(label: str, func: Callable[[], Awaitable[int]]) -> tuple[float, float]:
    c0, t0 = _cpu(), time.perf_counter()
    asyncio.run(func())  # type: ignore[arg-type]
    return time.perf_counter() - t0, _cpu() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    big = (256 if args.small else 512) * MiB
    count = 1000 if args.small else 2000
    work = Path(tempfile.mkdtemp(prefix="bench-http-", dir="/tmp"))
    nginx = None
    try:
        (work / "big.bin").write_bytes(os.urandom(MiB) * (big // MiB))
        for i in range(count):
            (work / f"s{i}.bin").write_bytes(os.urandom(64 * 1024))
        nginx = Nginx(work)
        url = f"{nginx.url}/big.bin"
        urls = [f"{nginx.url}/s{i}.bin" for i in range(count)]
        rows = []
        for name, bigf, manyf in (
            ("aiohttp", _aiohttp_big, _aiohttp_many),
            ("httpx", _httpx_big, _httpx_many),
        ):
            wall, cpu = _time(name, lambda f=bigf: f(url))  # type: ignore[misc]
            wall2, cpu2 = _time(name, lambda f=manyf: f(urls))  # type: ignore[misc]
            rows.append((name, big / wall / MiB, cpu, count / wall2, cpu2))
        print(f"one {big // MiB} MiB body (discarded); {count} x 64 KiB GETs at 16 connections")
        for name, rate, cpu, rps, cpu2 in rows:
            print(
                f"  {name:8s} {rate:7.0f} MiB/s ({cpu:.2f} s CPU)   "
                f"{rps:6.0f} req/s ({cpu2:.2f} s CPU)"
            )
        print(
            f"  aiohttp / httpx: {rows[0][1] / rows[1][1]:.2f}x bytes, "
            f"{rows[0][3] / rows[1][3]:.2f}x requests"
        )
    finally:
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
