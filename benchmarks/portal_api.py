"""Portal API latency on a big catalog: facet counts and a page of the Files tab, p50/p95.

Builds (or reuses) a metadata-only catalog with ``htan-cds demo --scale N --metadata-only``,
starts a real ``htan-cds serve`` on loopback and times, with one httpx client, the requests the
Data Explorer makes when a user clicks a facet: ``/api/facets``, ``/api/summary`` and
``/api/files`` (sorted pages, first/middle/last). Filters vary from request to request, so
per-filter memos only help as much as a user re-visiting a view would.

Peer, measured in the same run: the same answers computed with pandas on the ``files`` table
held in memory (value_counts per facet under the other selections; sort + slice for a page),
which is what a small script over an exported table would do.

    python benchmarks/portal_api.py                 # 1,000,000 files (about 30 s to build)
    python benchmarks/portal_api.py --scale 100000  # quicker
    python benchmarks/portal_api.py --home DIR      # reuse a catalog built earlier
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests._servers import start_server  # noqa: E402

from htan_cds.catalog.filters import FACET_COLUMNS  # noqa: E402

SORTS = [("name", "asc"), ("size", "desc"), ("HTAN_Participant_ID", "asc"), ("assay", "asc")]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _build(home: Path, scale: int) -> None:
    print(f"building a {scale:,}-file metadata-only catalog in {home} …", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "htan_cds.cli.main",
            "--home",
            str(home),
            "demo",
            "--scale",
            str(scale),
            "--metadata-only",
            "--no-serve",
        ],
        check=True,
        capture_output=True,
    )


def _filters(home: Path, count: int, seed: int) -> list[dict[str, list[str]]]:
    """Realistic selections: 0-3 facets, 1-2 values each, drawn from the catalog's values."""
    import duckdb

    con = duckdb.connect(str(home / "catalog.duckdb"), read_only=True)
    values = {
        facet: [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM files").fetchall() if r[0]]
        for facet, col in FACET_COLUMNS.items()
    }
    con.close()
    rng = random.Random(seed)
    out: list[dict[str, list[str]]] = [{}]
    while len(out) < count:
        chosen = rng.sample(sorted(values), rng.randint(1, 3))
        out.append(
            {f: rng.sample(values[f], min(len(values[f]), rng.randint(1, 2))) for f in chosen}
        )
    return out


def _time(client: httpx.Client, path: str, params: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed * 1000


def _params(flt: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in flt.items() for v in vs]


def _pandas_peer(home: Path, filters: list[dict[str, list[str]]]) -> dict[str, list[float]]:
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(home / "catalog.duckdb"), read_only=True)
    cols = ", ".join(["drs_id", "name", "size", "HTAN_Participant_ID", *FACET_COLUMNS.values()])
    df: pd.DataFrame = con.execute(f"SELECT {cols} FROM files").df()
    con.close()
    for col in FACET_COLUMNS.values():
        df[col] = df[col].astype("category")
    timings: dict[str, list[float]] = {"facets": [], "files page": []}
    for flt, (sort, order) in zip(filters, itertools.cycle(SORTS), strict=False):
        start = time.perf_counter()
        masks = {f: df[FACET_COLUMNS[f]].isin(v) for f, v in flt.items()}
        for facet, col in FACET_COLUMNS.items():
            mask = pd.Series(True, index=df.index)
            for other, m in masks.items():
                if other != facet:
                    mask &= m
            df.loc[mask, col].value_counts()
        timings["facets"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        mask = pd.Series(True, index=df.index)
        for m in masks.values():
            mask &= m
        sub = df[mask]
        sub.sort_values([sort, "drs_id"], ascending=[order == "asc", True]).iloc[:25]
        timings["files page"].append((time.perf_counter() - start) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="files in the catalog")
    parser.add_argument("--home", type=Path, help="reuse this data home (built if empty)")
    parser.add_argument("--requests", type=int, default=150, help="requests per endpoint")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        home = args.home or Path(tmp) / "home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "catalog.duckdb").exists():
            _build(home, args.scale)
        filters = _filters(home, args.requests, args.seed)
        with start_server(home, ready_path="/api/config", timeout=300) as server:
            client = httpx.Client(base_url=server.url, timeout=60)
            total = client.get("/api/summary").json()["files"]
            print(
                f"catalog: {total:,} files; {len(filters)} distinct selections; server {server.url}"
            )
            for flt in filters[:5]:  # warm-up: open the catalog, fill DuckDB's caches
                client.get("/api/facets", params=_params(flt))
                client.get("/api/files", params=_params(flt))
            results: dict[str, list[float]] = {
                "facets": [],
                "summary": [],
                "files page": [],
                "files last page": [],
                "files middle page": [],
            }
            for flt, (sort, order) in zip(filters, itertools.cycle(SORTS), strict=False):
                base = _params(flt)
                page = [*base, ("sort", sort), ("order", order), ("limit", "25")]
                results["facets"].append(_time(client, "/api/facets", base))
                results["summary"].append(_time(client, "/api/summary", base))
                first = client.get("/api/files", params=page)
                n = first.json()["total"]
                results["files page"].append(_time(client, "/api/files", page))
                last = max(0, (n - 1) // 25 * 25)
                results["files last page"].append(
                    _time(client, "/api/files", [*page, ("offset", str(last))])
                )
                middle = n // 2 // 25 * 25
                results["files middle page"].append(
                    _time(client, "/api/files", [*page, ("offset", str(middle))])
                )
            client.close()
        peer = _pandas_peer(home, filters)

    print(f"\n{'request':<22}{'p50 ms':>10}{'p95 ms':>10}{'pandas p50':>12}{'pandas p95':>12}")
    for name, values in results.items():
        p50, p95 = statistics.median(values), _pct(values, 0.95)
        row = f"{name:<22}{p50:>10.1f}{p95:>10.1f}"
        if name in peer:
            row += f"{statistics.median(peer[name]):>12.1f}{_pct(peer[name], 0.95):>12.1f}"
        print(row)
    for name in ("facets", "files page"):
        ratio = _pct(peer[name], 0.95) / _pct(results[name], 0.95)
        print(f"{name}: portal over HTTP p95 is {ratio:.1f}x the in-memory pandas peer's speed")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average during the run (1/5/15 min): {load} on {os.cpu_count()} cores")
    target = max(_pct(results["facets"], 0.95), _pct(results["files page"], 0.95))
    print(f"target p95 < 150 ms for facets and a Files page: {'met' if target < 150 else 'MISSED'}")


if __name__ == "__main__":
    main()
