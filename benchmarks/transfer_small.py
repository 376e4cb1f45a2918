"""Many small objects: htan-cds import (DRS bulk resolution + verification of the declared
checksum included) vs ``aria2c -j16 -i urls`` given pre-resolved URLs (no verification). Files
per second.

    python benchmarks/transfer_small.py            # 5,000 x 64 KiB
    python benchmarks/transfer_small.py --small    # 1,000 x 64 KiB
    python benchmarks/transfer_small.py --checksum crc32c   # the server declares only crc32c
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import aria2c_command, run_measured, small_commons

KiB = 1 << 10
MiB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="1,000 files instead of 5,000")
    parser.add_argument("--size", type=int, default=64 * KiB)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--count", type=int, help="number of objects (overrides --small)")
    parser.add_argument("--no-peer", action="store_true", help="skip aria2c (memory runs)")
    parser.add_argument(
        "--checksum",
        choices=("sha256", "crc32c", "none"),
        default="sha256",
        help="what the DRS server declares: sha-256 + md5 (default), only crc32c, or only a type "
        "nobody checks (none: the cost of verification, by difference)",
    )
    args = parser.parse_args()
    count = args.count or (1000 if args.small else 5000)
    declare = {
        "sha256": lambda o: None,
        "crc32c": lambda o: [{"type": "crc32c", "checksum": o["crc32c"]}],
        "none": lambda o: [{"type": "x-unchecked", "checksum": o["crc32c"]}],
    }[args.checksum]
    with small_commons(count, args.size, "bench-small-", declare) as bench:
        work, objects, drs, urls = bench.work, bench.objects, bench.drs, bench.urls
        manifest = work / "manifest.csv"
        manifest.write_text(
            "drs_uri,name\n" + "".join(f"{drs.uri(o['id'])},{o['name']}\n" for o in objects)
        )
        aria: list[float] = []
        ours: list[float] = []
        rss = 0
        for _ in range(args.rounds):
            out = work / "aria"
            subprocess.run(["sync"], check=False)
            if args.no_peer:
                aria.append(float("nan"))
                out.mkdir()
            else:
                dt, rc, _ = run_measured(aria2c_command(urls, out))
                assert rc == 0
                aria.append(dt)
            shutil.rmtree(out)

            out = work / "htan"
            report = work / "report.json"
            subprocess.run(["sync"], check=False)
            dt, rc, peak = run_measured(
                [
                    sys.executable,
                    "-m",
                    "htan_cds.cli.main",
                    "import",
                    str(manifest),
                    "--to",
                    str(out),
                    "--quiet",
                    "--concurrency",
                    str(args.concurrency),
                    "--json-report",
                    str(report),
                ]
            )
            assert rc == 0, "import failed"
            summary = json.loads(report.read_text())["summary"]
            assert summary["done"] == count
            want = 0 if args.checksum == "none" else count
            assert summary["verified"] == want, "verification is not what was declared"
            ours.append(dt)
            rss = max(rss, peak)
            shutil.rmtree(out)
        a, o = statistics.median(aria), statistics.median(ours)
        print(f"{count} x {args.size // KiB} KiB from nginx on loopback, median of {args.rounds}")
        print(f"  aria2c -j16 (pre-resolved URLs)        {a:6.2f} s  {count / a:7.0f} files/s")
        what = {"sha256": "sha-256", "crc32c": "crc32c", "none": "nothing to verify"}
        label = f"htan-cds import (DRS + {what[args.checksum]})"
        print(f"  {label:38s} {o:6.2f} s  {count / o:7.0f} files/s")
        print(f"  ratio (files/s, ours / aria2c): {a / o:.2f}")
        ratios = [x / y for x, y in zip(aria, ours, strict=True)]
        print(
            f"  per round: best {max(ratios):.2f}, median {statistics.median(ratios):.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)})"
        )
        print(f"  htan-cds peak RSS: {rss / MiB:.0f} MiB")


if __name__ == "__main__":
    main()
