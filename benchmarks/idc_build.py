"""Building the ``idc`` catalog source from the installed ``idc-index-data`` wheel, and facet
counts once its rows are added to a large catalog.

1. ``build_from_idc`` into a fresh data home (in process; ``--repeat`` runs, the first cold), and
   the CLI once (``htan-cds catalog build --from-idc``: a fresh process, interpreter start
   included). Target: under 5 s.
   Peer in the same run: what ``idc-index`` does to answer anything, reading the whole
   ``idc_index.parquet`` into pandas (``IDCClient.__init__``: ``pd.read_parquet``) and
   filtering the HTAN collections.
2. Facets (all facets, ``source`` included) on a ``--files`` synthetic catalog (default
   1,000,000 rows, ``demo --scale N --metadata-only``) with IDC's rows added: unfiltered,
   ``source=IDC``, ``center=HMS``; p50/p95 over ``--repeat`` runs on a read-only catalog with
   its memo cleared. Target: under 100 ms.

Usage: python benchmarks/idc_build.py [--files N] [--repeat R] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.scale import build_scaled
from htan_cds.catalog.sources.idc import build_from_idc, installed_index
from htan_cds.config import DataHome


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _times(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def _build(repeat: int) -> None:
    index = installed_index()
    print(f"idc-index-data {index.package_version} ({index.release}), {index.series}")
    for run in range(repeat):
        home = DataHome.open(tempfile.mkdtemp(prefix="idc-bench-"))
        wall, cpu = time.perf_counter(), _cpu()
        result = build_from_idc(home, index)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        print(
            f"build_from_idc run {run + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"({result['files']} series, {result['participants']} participants, "
            f"{result['collections']} collections)"
        )
    home = tempfile.mkdtemp(prefix="idc-bench-cli-")
    env = dict(os.environ, HTAN_CDS_HOME=home)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "htan_cds.cli.main", "catalog", "build", "--from-idc"],
        check=True,
        env=env,
        capture_output=True,
    )
    cli = time.perf_counter() - start
    print(f"CLI `htan-cds catalog build --from-idc` (fresh process): {cli:.2f} s wall")
    start = time.perf_counter()
    import pandas as pd

    frame = pd.read_parquet(index.series)
    htan = frame[frame["collection_id"].str.startswith("htan_")]
    peer = time.perf_counter() - start
    print(
        f"peer, idc-index's way (whole index into pandas, then filter): {peer:.2f} s wall "
        f"({len(frame):,} series read, {len(htan)} kept)"
    )


def _facets(root: Path, files: int, repeat: int) -> None:
    home = DataHome.open(root)
    existing = None
    if home.catalog_path.exists():
        with Catalog.open(home, read_only=True) as cat:
            existing = cat.count(FileFilter(source=["local"]))
    if existing != files:
        build_scaled(home, files=files)
    build_from_idc(home)
    with Catalog.open(home, read_only=True) as cat:
        # Each figure a real count, not a remembered answer. The cube's rows, which a
        # read-only catalog reads once when first asked (as `htan-cds serve` holds it), are
        # read by the warm-up call below, not timed.
        cat._memo.enabled = False
        cat.facets(FileFilter())
        total = cat.count()
        print(f"\nfacets on {total:,} files ({files:,} synthetic + IDC's series), {repeat} runs:")
        print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8}")
        for label, flt in (
            ("facets (all), no filter", FileFilter()),
            ("facets, source=IDC", FileFilter(source=["IDC"])),
            ("facets, center=HMS", FileFilter(center=["HMS"])),
            ("facets, source=IDC + assay=H&E", FileFilter(source=["IDC"], assay=["H&E"])),
        ):

            def run(f: FileFilter = flt) -> Any:
                return cat.facets(f)

            p50, p95 = _times(run, repeat)
            print(f"{label:<34} {p50:>8.1f} {p95:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="build runs (facets: x5)")
    parser.add_argument("--home", type=Path, default=None, help="reuse/keep the big catalog")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average)")
    _build(args.repeat)
    _facets(args.home or Path(tempfile.mkdtemp(prefix="idc-facets-")), args.files, args.repeat * 5)


if __name__ == "__main__":
    main()
