"""Remote imaging: `info` and `preview` of a >= 1 GiB pyramidal OME-TIFF over HTTP on loopback.

Side by side, same run, same nginx:
  * htan-cds (small ranged blocks): ``read_image_info`` and ``render(max_size=1024)``;
  * the obvious recipe: tifffile over fsspec's HTTP file with its default readahead cache;
  * what users do today: ``curl`` the whole file, then read metadata / render locally.
Bytes are counted by nginx itself (``$body_bytes_sent`` in its access log), so the figures are
what crossed the wire, not what the client believes it asked for.

Usage: ``python benchmarks/imaging_remote.py [--size 16384] [--channels 5] [--keep]``.
``--size 4096`` gives a quick, small run (the byte budgets then say less). The generated file
lives in ``benchmarks/_work/`` (git-ignored) and is deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import Nginx

WORK = Path(__file__).resolve().parent / "_work"
MARKERS = ["DAPI", "CD45", "panCK", "aSMA", "CD8", "Ki67", "CD4", "CD68"]
GIB = 1024**3


def _generate(path: Path, size: int, channels: int) -> float:
    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    start = time.perf_counter()
    write_synthetic_ome_tiff(
        path, width=size, height=size, channel_names=MARKERS[:channels], seed=7
    )
    return time.perf_counter() - start


def _timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def _fsspec_info(url: str) -> None:
    """The obvious recipe: tifffile over fsspec's HTTP file (default readahead cache)."""
    import fsspec
    import tifffile

    with fsspec.open(url, "rb") as fh, tifffile.TiffFile(fh) as tf:
        _ = tf.series[0].levels, tf.ome_metadata


def _cli(*args: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one ``htan-cds`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "htan_cds.cli.main", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384, help="width = height of level 0")
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()

    from htan_cds.imaging.info import read_image_info
    from htan_cds.imaging.preview import render
    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    WORK.mkdir(exist_ok=True)
    name = f"bench-{args.size}-{args.channels}ch.ome.tif"
    path = WORK / name
    if not path.exists():
        print(f"generating {name} …", flush=True)
        took = _generate(path, args.size, args.channels)
        print(f"  written in {took:.1f} s", flush=True)
    size = path.stat().st_size
    print(f"file: {name}, {size / GIB:.2f} GiB ({size:,} bytes)")
    if size < GIB:
        print("  note: below 1 GiB (scaled-down run); byte shares are larger than at full size")

    nginx = Nginx(WORK, log_bytes=True)
    download = WORK / "downloaded.ome.tif"
    rows: list[tuple[str, float, int, int]] = []
    try:
        url = f"{nginx.url}/{name}"
        # Warm imports so timings measure the work, not the first import of numpy/zarr.
        read_image_info(url)
        render(url, max_size=64)

        mark = nginx.mark()
        info, t_info = _timed(lambda: read_image_info(url))
        sent, reqs = nginx.since(mark)
        rows.append(("htan-cds info (library)", t_info, sent, reqs))
        assert info.bytes_read == sent, (info.bytes_read, sent)

        mark = nginx.mark()
        preview, t_prev = _timed(lambda: render(url, max_size=1024))
        sent, reqs = nginx.since(mark)
        rows.append((f"htan-cds preview 1024 (level {preview.level})", t_prev, sent, reqs))

        # The CLI adds an interpreter start and imports (numpy, tifffile, ome-types) to the
        # work above; the fixed cost is measured on a tiny local file in the same conditions.
        tiny = WORK / "tiny.ome.tif"
        write_synthetic_ome_tiff(tiny, width=64, height=64, channel_names=["DAPI"])
        out = WORK / "preview.png"
        for label, cli_args in (
            ("`htan-cds info URL` (CLI process)", ("info", url, "--json")),
            ("`htan-cds preview URL` (CLI process)", ("preview", url, "-o", str(out))),
            ("`htan-cds info` tiny local file (CLI fixed cost)", ("info", str(tiny))),
            (
                "`htan-cds preview` tiny local file (CLI fixed cost)",
                ("preview", str(tiny), "-o", str(out)),
            ),
        ):
            mark = nginx.mark()
            wall, cpu = _cli(*cli_args)
            sent, reqs = nginx.since(mark)
            rows.append((f"{label}; CPU {cpu:.2f} s", wall, sent, reqs))
        tiny.unlink()

        mark = nginx.mark()
        _, t_fs = _timed(lambda: _fsspec_info(url))
        sent, reqs = nginx.since(mark)
        rows.append(("tifffile + fsspec default cache: metadata", t_fs, sent, reqs))

        mark = nginx.mark()
        _, t_curl = _timed(
            lambda: subprocess.run(
                ["curl", "-sS", "-o", str(download), url], check=True, capture_output=True
            )
        )
        sent, reqs = nginx.since(mark)
        _, t_local_info = _timed(lambda: read_image_info(download))
        _, t_local_prev = _timed(lambda: render(download, max_size=1024))
        rows.append(("curl whole file", t_curl, sent, reqs))
        rows.append(("curl + local info", t_curl + t_local_info, sent, reqs))
        rows.append(("curl + local preview", t_curl + t_local_prev, sent, reqs))
    finally:
        nginx.stop()
        download.unlink(missing_ok=True)
        (WORK / "preview.png").unlink(missing_ok=True)
        if not args.keep:
            path.unlink(missing_ok=True)

    print()
    print("| what | time (s) | bytes sent by nginx | share of file | requests |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds, sent, reqs in rows:
        share = 100.0 * sent / size
        print(f"| {label} | {seconds:.2f} | {sent:,} | {share:.3f}% | {reqs} |")
    info_bytes, prev_bytes = rows[0][2], rows[1][2]
    curl_info, curl_prev = rows[-2][1], rows[-1][1]
    print()
    print(
        f"info: {100 * info_bytes / size:.3f}% of the file (budget 0.5%), {t_info:.2f} s "
        f"(budget 2 s); {curl_info / t_info:.0f}x faster than curl + local info"
    )
    print(
        f"preview: {100 * prev_bytes / size:.3f}% of the file (budget 2%), {t_prev:.2f} s "
        f"(budget 2 s); {curl_prev / t_prev:.0f}x faster than curl + local preview"
    )
    ok = info_bytes <= 0.005 * size and prev_bytes <= 0.02 * size and t_info < 2 and t_prev < 2
    print("budgets:", "all met" if ok else "NOT met")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
