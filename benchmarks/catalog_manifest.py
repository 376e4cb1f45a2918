"""``manifest create`` of 100,000 rows from a catalog, against writing the same rows with pandas.

Builds a metadata-only catalog (``--catalog-files``, default 200,000) and times, best of
``--repeat``:

* the in-process path of ``htan-cds manifest create`` (query with one-URI-per-file-id rule,
  ``ManifestRow`` objects, ``repair_rows``, ``write_manifest`` in CGC format) for the first
  ``--rows`` (default 100,000) files of the filter;
* the whole CLI command in a fresh process (interpreter start and imports included);
* peer: the same columns fetched as a DataFrame and written by ``pandas.DataFrame.to_csv``
  (no checks, no name repair).

Usage: python benchmarks/catalog_manifest.py [--rows N] [--catalog-files N] [--repeat R]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.manifest_writer import prepare_manifest
from htan_cds.catalog.manifests import manifest_frame, manifest_table
from htan_cds.catalog.scale import build_scaled
from htan_cds.config import DataHome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--catalog-files", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from htan_cds.manifest import write_manifest

    root = Path(tempfile.mkdtemp(prefix="catalog-manifest-bench-"))
    home = DataHome.open(root / "home")
    build_scaled(home, files=args.catalog_files)
    # A filter that selects about --rows files: the first N participants' worth is awkward,
    # so select by center and trim the frame to exactly --rows.
    with Catalog.open(home, read_only=True) as cat:
        facets = dict(cat.facets()["level"])
    flt = FileFilter(level=[v for v, _ in sorted(facets.items())])
    out = root / "manifest.csv"

    def ours() -> int:
        with Catalog.open(home, read_only=True) as cat:
            table = manifest_table(cat, flt).slice(0, args.rows)
        prepared = prepare_manifest(table)
        with out.open("w", newline="") as fh:
            return int(write_manifest(prepared.rows, fh, "cgc"))

    def peer() -> int:
        with Catalog.open(home, read_only=True) as cat:
            frame = manifest_frame(cat, flt).head(args.rows)
        frame[["drs_uri", "name", "atlas_name", "biospecimen", "assay", "level"]].to_csv(
            root / "pandas.csv", index=False
        )
        return len(frame)

    cpu: dict[str, float] = {}

    def best(fn: object, label: str) -> tuple[float, int]:
        times = []
        cpus = []
        n = 0
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            n = fn()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
        cpu[label] = min(cpus)
        return min(times), n

    ours_s, rows = best(ours, "ours")
    peer_s, _ = best(peer, "peer")
    cli_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "htan_cds.cli.main",
                "--home",
                str(home.root),
                "manifest",
                "create",
                "--center",
                "HMS",
                "--center",
                "OHSU",
                "--format",
                "cgc",
                "-o",
                str(root / "cli.csv"),
                "--json",
            ],
            check=True,
            capture_output=True,
        )
        cli_times.append(time.perf_counter() - start)
    cli_rows = sum(1 for _ in (root / "cli.csv").open()) - 1
    print(f"catalog: {args.catalog_files:,} files; manifest rows: {rows:,}")
    print(
        f"manifest create, in process (query+names+rows+write): {ours_s * 1000:8.0f} ms wall, "
        f"{cpu['ours'] * 1000:.0f} ms CPU"
    )
    print(
        f"pandas to_csv of the same query (no checks):           {peer_s * 1000:8.0f} ms wall, "
        f"{cpu['peer'] * 1000:.0f} ms CPU"
    )
    print(
        f"htan-cds manifest create CLI, fresh process, {cli_rows:,} rows: "
        f"{min(cli_times) * 1000:8.0f} ms"
    )
    print(f"ratio ours/pandas: {ours_s / peer_s:.2f}x; {rows / ours_s:,.0f} rows/s")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
