"""Benchmark: ``htan-cds manifest check`` (and ``convert --fix``) on a 1,000,000-row manifest.

Peers measured in the same run on the same file: pandas ``read_csv`` (every column as text, no
checks; also with ``sep=";"``), Python's csv module reading every row (no checks), awk counting
rows, and ``wc -l``; for ``convert --fix``, a pandas script doing the same job's core (read,
compact URIs made full, duplicate URIs dropped, CSV written). Wall time, CPU time and peak RSS
come from GNU time (or ``os.wait4``) on each child process. A second, 10x smaller file shows how
memory scales. The same rows saved with ``;`` (a European-locale spreadsheet) are checked too, and
``manifest convert --fix --report`` of the big file is timed (targets: check < 3 s wall, flat
memory; convert --fix < 10 s wall and < 400 MiB peak RSS, on a quiet machine).

htan-cds runs from a copy of the package with its bytecode compiled, as ``pip install`` leaves
it (``transfer_common.installed_package``): with ``PYTHONDONTWRITEBYTECODE=1`` (this VM's) a
source tree would compile every project module it imports on each start.

    python benchmarks/manifest_check_1m.py              # 1,000,000 rows
    python benchmarks/manifest_check_1m.py --rows 200000 --compact
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from htan_cds.units import format_size

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import installed_package

CSV_PEER = (
    "import csv, sys\n"
    "n = sum(1 for _ in csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))\n"
    "print(n - 1)\n"
)
PANDAS_PEER = (
    "import sys, pandas as pd\n"
    "df = pd.read_csv(sys.argv[1], sep=sys.argv[2], dtype=str, keep_default_na=False)\n"
    "print(len(df))\n"
)
# What convert --fix does at its core, the way a pandas user would write it (no name checks).
PANDAS_FIX_PEER = (
    "import sys, pandas as pd\n"
    "df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)\n"
    "uri = df['drs_uri']\n"
    "compact = uri.str.startswith('dg.')\n"
    "df['drs_uri'] = uri.where(~compact, 'drs://nci-crdc.datacommons.io/' + uri)\n"
    "df = df.drop_duplicates('drs_uri')\n"
    "df[['name', 'drs_uri', *df.columns.drop(['name', 'drs_uri'])]].to_csv(sys.argv[2], "
    "index=False)\n"
)


def generate(path: Path, rows: int, *, compact: bool, delimiter: str = ",") -> None:
    """A CGC manifest like ISB-CGC's exports: URI, file name, HTAN file id, center."""
    prefix = "dg.4DFC/" if compact else "drs://nci-crdc.datacommons.io/dg.4DFC/"
    d = delimiter
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(f"drs_uri{d}name{d}HTAN_Data_File_ID{d}HTAN_Center\n")
        chunk = []
        for i in range(rows):
            h = os.urandom(16).hex()
            uid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            chunk.append(f"{prefix}{uid}{d}HTA9_{i}_{i % 97}.ome.tif{d}HTA9_1_{i}{d}HTAN HMS\n")
            if len(chunk) == 10000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


_ENV: dict[str, str] | None = None  # the environment of the installed copy (set in main)


def measure(argv: list[str]) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, peak RSS in KiB and exit code of one child process.

    GNU time reports the RSS of the program itself; ``os.wait4`` (the fallback) also counts the
    forked Python before exec, which puts a ~20 MiB floor under tiny tools such as wc.
    """
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        if gnu_time:
            argv = [gnu_time, "-q", "-o", stats.name, "-f", "%e %U %S %M %x", *argv]
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if gnu_time:
            fields = stats.read().split()
            return float(fields[0]), float(fields[1]) + float(fields[2]), int(fields[3]), code
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the big file")
    parser.add_argument("--compact", action="store_true", help="compact dg.4DFC/<uuid> URIs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; best is kept")
    args = parser.parse_args()

    global _ENV
    htan = [sys.executable, "-m", "htan_cds.cli.main", "manifest", "check"]
    with tempfile.TemporaryDirectory(prefix="manifest-bench-") as tmp:
        _ENV = installed_package(Path(tmp))
        big, small = Path(tmp) / "big.csv", Path(tmp) / "small.csv"
        t0 = time.perf_counter()
        generate(big, args.rows, compact=args.compact)
        generate(small, max(args.rows // 10, 1), compact=args.compact)
        print(
            f"generated {args.rows:,} rows ({format_size(big.stat().st_size)}) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        tools = {
            "htan-cds manifest check": [*htan, str(big), "--json"],
            "pandas read_csv (read only)": [sys.executable, "-c", PANDAS_PEER, str(big), ","],
            "python csv.reader (read only)": [sys.executable, "-c", CSV_PEER, str(big)],
            "awk row count": ["awk", "END {print NR}", str(big)],
            "wc -l": ["wc", "-l", str(big)],
        }
        results = {}
        for label, argv in tools.items():
            runs = [measure(argv) for _ in range(args.repeat)]
            results[label] = min(runs)
            wall, cpu, rss, code = results[label]
            print(f"{label:32} {wall:6.2f} s wall {cpu:6.2f} s cpu {rss / 1024:7.1f} MiB", end="")
            print(f" (exit {code})")
        ours = results["htan-cds manifest check"]
        for label in list(tools)[1:]:
            wall_ratio = ours[0] / results[label][0]
            cpu_ratio = ours[1] / max(results[label][1], 0.01)
            print(f"ratio htan-cds / {label}: {wall_ratio:.1f}x wall, {cpu_ratio:.1f}x cpu")
        semi = Path(tmp) / "semicolon.csv"
        generate(semi, args.rows, compact=args.compact, delimiter=";")
        semi_run = min(measure([*htan, str(semi), "--json"]) for _ in range(args.repeat))
        semi_pandas = [sys.executable, "-c", PANDAS_PEER, str(semi), ";"]
        semi_peer = min(measure(semi_pandas) for _ in range(args.repeat))
        _line("htan-cds manifest check (;)", semi_run)
        _line("pandas read_csv(sep=';')", semi_peer)
        print(f"ratio htan-cds / pandas (;): {semi_run[0] / semi_peer[0]:.1f}x wall")
        convert = [
            sys.executable, "-m", "htan_cds.cli.main", "manifest", "convert", str(big),
            "--to", "cgc", "--fix", "-o", str(Path(tmp) / "fixed.csv"),
            "--report", str(Path(tmp) / "report.json"),
        ]  # fmt: skip
        fix_run = min(measure(convert) for _ in range(args.repeat))
        fix_pandas = [sys.executable, "-c", PANDAS_FIX_PEER, str(big), str(Path(tmp) / "p.csv")]
        fix_peer = min(measure(fix_pandas) for _ in range(args.repeat))
        _line("htan-cds manifest convert --fix", fix_run)
        _line("pandas read/fix/write", fix_peer)
        print(
            f"ratio htan-cds convert --fix / pandas: {fix_run[0] / fix_peer[0]:.1f}x wall, "
            f"{fix_run[2] / fix_peer[2]:.2f}x peak RSS"
        )
        small_run = min(measure([*htan, str(small), "--json"]) for _ in range(args.repeat))
        per_row = (ours[2] - small_run[2]) * 1024 / (args.rows - max(args.rows // 10, 1))
        print(
            f"peak RSS {small_run[2] / 1024:.1f} MiB at {max(args.rows // 10, 1):,} rows, "
            f"{ours[2] / 1024:.1f} MiB at {args.rows:,} rows: {per_row:.0f} bytes per extra row"
        )
        print(f"rows per second (htan-cds, wall): {args.rows / ours[0]:,.0f}")


def _line(label: str, run: tuple[float, float, int, int]) -> None:
    wall, cpu, rss, code = run
    print(f"{label:32} {wall:6.2f} s wall {cpu:6.2f} s cpu {rss / 1024:7.1f} MiB (exit {code})")


if __name__ == "__main__":
    main()
