"""Workspace bulk DRS import, end to end through the real sevenbridges SDK, vs aria2c.

N small objects sit behind nginx with a minimal DRS server in front (benchmarks/transfer_common);
``htan-cds serve --workspace`` imports them into a project (SDK ``bulk_submit`` in batches of
100, ``bulk_get`` until FINISHED: API, job runner, import engine with sha-256 verification,
content-addressed store, file records) while ``aria2c -j16`` downloads the same pre-resolved URLs
(no API, no verification, no records). Files per second, median of the rounds.

    python benchmarks/workspace_import.py           # 2,000 x 64 KiB
    python benchmarks/workspace_import.py --small   # 500 x 64 KiB
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer_common import (
    aria2c_command,
    free_port,
    run_measured,
    small_commons,
    wait_http,
)

KiB = 1 << 10


def _workspace(home: Path, port: int) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    # CGC's 500 files / 5 min would dominate; the benchmark measures the machinery.
    (home / "config.toml").write_text(
        "[workspace]\nimport_limit = 1000000\nimport_window_seconds = 1.0\n"
        # The commons is on loopback: the operator allows it explicitly (issue 11's guard).
        'allow_hosts = ["127.0.0.1"]\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "htan_cds.cli.main",
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
            "--workspace",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/ga4gh/drs/v1/service-info", timeout=60)
    return proc


def _import(api: object, uris: list[str], project: str) -> float:
    started = time.monotonic()
    jobs = []
    for i in range(0, len(uris), 100):
        batch = [
            {"drs_uri": u, "project": project, "name": f"f{i + k:05d}.bin"}
            for k, u in enumerate(uris[i : i + 100])
        ]
        jobs.append(api.drs_imports.bulk_submit(batch).id)  # type: ignore[attr-defined]
    for job_id in jobs:
        while True:
            job = api.drs_imports.bulk_get(job_id)  # type: ignore[attr-defined]
            if job.state == "FINISHED":
                assert all(r.resource is not None for r in job.result), "an item failed"
                break
            time.sleep(0.1)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="500 files instead of 2,000")
    parser.add_argument("--size", type=int, default=64 * KiB)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    count = 500 if args.small else 2000
    import sevenbridges as sbg

    from htan_cds.config import DataHome
    from htan_cds.server.tokens import TokenStore

    with small_commons(count, args.size, "bench-ws-") as bench:
        work, objects, drs, urls = bench.work, bench.objects, bench.drs, bench.urls
        ws = None
        try:
            uris = [drs.uri(o["id"]) for o in objects]
            home = work / "ws"
            home.mkdir()
            token = TokenStore(DataHome.open(home)).create(["open"], label="bench")
            port = free_port()
            ws = _workspace(home, port)
            api = sbg.Api(url=f"http://127.0.0.1:{port}/v2", token=token, debug=True)
            aria: list[float] = []
            ours: list[float] = []
            for r in range(args.rounds):
                out = work / "aria"
                dt, rc, _ = run_measured(aria2c_command(urls, out))
                assert rc == 0
                aria.append(dt)
                shutil.rmtree(out)
                project = api.projects.create(name=f"bench {r}").id
                ours.append(_import(api, uris, project))
            a, o = statistics.median(aria), statistics.median(ours)
            print(
                f"{count} x {args.size // KiB} KiB behind DRS + nginx on loopback, "
                f"median of {args.rounds}"
            )
            print(
                f"  aria2c -j16 (pre-resolved URLs, no records)   {a:6.2f} s  "
                f"{count / a:7.0f} files/s"
            )
            print(
                f"  workspace bulk DRS import via SDK              {o:6.2f} s  "
                f"{count / o:7.0f} files/s"
            )
            print(f"  ratio (files/s, workspace / aria2c): {a / o:.2f}")
        finally:
            if ws:
                ws.terminate()
                ws.wait(timeout=10)


if __name__ == "__main__":
    main()
