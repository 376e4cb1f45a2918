"""4 large objects from a local commons: htan-cds import (verifying the declared checksum) vs curl
one by one and aria2c -x8 (neither verifies). Bytes come from nginx; DRS resolution from a
separate process.

    python benchmarks/transfer_large.py            # 4 x 1 GiB (about a minute)
    python benchmarks/transfer_large.py --small    # 4 x 256 MiB
    python benchmarks/transfer_large.py --small --checksum crc32c  # server declares only crc32c
Big files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import google_crc32c

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import DrsServer, Nginx, installed_package, run_measured

MiB = 1 << 20


def _make(path: Path, size: int, seed: int) -> tuple[str, str, str]:
    # Random blocks, varied per file and offset, written once; digests computed on the way.
    block = os.urandom(16 * MiB)
    sha, md5 = hashlib.sha256(), hashlib.md5()
    crc = 0
    with path.open("wb") as fh:
        written = 0
        i = 0
        while written < size:
            piece = (seed.to_bytes(4, "big") + i.to_bytes(4, "big")) + block[8:]
            piece = piece[: size - written]
            fh.write(piece)
            sha.update(piece)
            md5.update(piece)
            crc = google_crc32c.extend(crc, piece)
            written += len(piece)
            i += 1
    return sha.hexdigest(), md5.hexdigest(), f"{crc:08x}"


def _sync() -> None:
    subprocess.run(["sync"], check=False)


def _drop_outputs(*dirs: Path) -> None:
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="4 x 256 MiB instead of 4 x 1 GiB")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--part-size", default="64MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--checksum",
        choices=("sha256", "crc32c", "none"),
        default="sha256",
        help="what the DRS server declares: sha-256 + md5 (default), only crc32c, or only a type "
        "nobody checks (none: the cost of verification, by difference)",
    )
    args = parser.parse_args()
    size = (256 if args.small else 1024) * MiB
    work = Path(tempfile.mkdtemp(prefix="bench-large-", dir="/tmp"))
    src = work / "src"
    src.mkdir()
    nginx = drs = None
    try:
        objects = []
        for i in range(args.count):
            sha, md5, crc = _make(src / f"big{i}.bin", size, i)
            obj = {"id": f"big{i}", "name": f"big{i}.bin", "size": size, "sha256": sha, "md5": md5}
            if args.checksum == "crc32c":
                obj["checksums"] = [{"type": "crc32c", "checksum": crc}]
            elif args.checksum == "none":
                obj["checksums"] = [{"type": "x-unchecked", "checksum": crc}]
            objects.append(obj)
        nginx = Nginx(src)
        for o in objects:
            o["url"] = f"{nginx.url}/{o['name']}"
        drs = DrsServer(objects, work)
        total = size * args.count
        label = {
            "sha256": "htan-cds import (sha-256 verified)",
            "crc32c": "htan-cds import (crc32c verified)",
            "none": "htan-cds import (nothing to verify)",
        }[args.checksum]
        results: dict[str, list[float]] = {
            "curl (sequential)": [],
            "aria2c -x8": [],
            label: [],
        }
        urls = work / "urls.txt"
        urls.write_text("\n".join(o["url"] for o in objects) + "\n")
        rss = 0
        reread = 0
        installed = installed_package(work)
        # Rounds alternate the tools and start with the page cache's dirty data flushed, so a
        # tool never pays for the previous one's writeback (this shared disk is noisy).
        for _ in range(args.rounds):
            out = work / "curl"
            out.mkdir()
            _sync()
            t = 0.0
            for o in objects:
                dt, rc, _ = run_measured(["curl", "-s", "-f", "-o", str(out / o["name"]), o["url"]])
                assert rc == 0
                t += dt
            results["curl (sequential)"].append(t)
            _drop_outputs(out)

            out = work / "aria2c"
            _sync()
            dt, rc, _ = run_measured(
                [
                    "aria2c",
                    "-q",
                    "-x8",
                    "-s8",
                    "-j4",
                    "--file-allocation=falloc",
                    "--allow-overwrite=true",
                    "-d",
                    str(out),
                    "-i",
                    str(urls),
                ]
            )
            assert rc == 0
            results["aria2c -x8"].append(dt)
            _drop_outputs(out)

            out = work / "htan"
            report = work / "report.json"
            cmd = [
                sys.executable,
                "-m",
                "htan_cds.cli.main",
                "import",
                *[drs.uri(o["id"]) for o in objects],
                "--to",
                str(out),
                "--quiet",
                "--concurrency",
                str(args.concurrency),
                "--part-size",
                args.part_size,
                "--json-report",
                str(report),
            ]
            _sync()
            dt, rc, peak = run_measured(cmd, env=installed)
            assert rc == 0, "import failed"
            summary = json.loads(report.read_text())["summary"]
            assert summary["done"] == args.count
            want = 0 if args.checksum == "none" else args.count
            assert summary["verified"] == want, "verification is not what was declared"
            results[label].append(dt)
            rss = max(rss, peak)
            reread = summary["bytes_reread"]
            _drop_outputs(out)

        medians = {k: statistics.median(v) for k, v in results.items()}
        # Per round, ours against each peer measured in that round (the machine is shared: a
        # round's tools see the same load, rounds do not).
        per_round = {
            k: [results[k][i] / results[label][i] for i in range(args.rounds)]
            for k in results
            if k != label
        }
        # The modules the CLI loads before the first byte, loaded the way it loads them.
        startup, _, _ = run_measured(
            [
                sys.executable,
                "-c",
                "from htan_cds.cli._common import loading_modules\n"
                "with loading_modules():\n"
                "    import htan_cds.cli.main, htan_cds.transfer.engine",
            ],
            env=installed,
        )
        print(f"{args.count} x {size // MiB} MiB = {total / MiB:.0f} MiB from nginx on loopback")
        print(f"  median of {args.rounds} rounds (wall time includes process start)")
        for name, secs in medians.items():
            print(f"  {name:36s} {secs:6.2f} s  {total / secs / MiB:7.1f} MiB/s")
        ours = medians[label]
        best_peer = min(v for k, v in medians.items() if not k.startswith("htan"))
        print(f"  ratio vs faster peer (throughput): {best_peer / ours:.2f}")
        for peer, ratios in per_round.items():
            print(
                f"  ratio vs {peer} per round: best {max(ratios):.2f}, "
                f"median {statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})"
            )
        print(
            f"  of which Python start-up and imports: {startup:.2f} s; "
            f"ratio without it: {best_peer / (ours - startup):.2f}"
        )
        print(
            f"  htan-cds peak RSS: {rss / MiB:.0f} MiB; bytes re-read for hashing: "
            f"{reread / MiB:.0f} MiB of {total / MiB:.0f}"
        )
    finally:
        if drs:
            drs.stop()
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
