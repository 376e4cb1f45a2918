"""Benchmark the commons server against nginx serving the same bytes, side by side in one run.

1. ``GET /objects/{id}`` under wrk: requests/s and p99 latency, vs nginx serving the same JSON
   as a static file.
2. A 1,000-id bulk ``POST /objects``: latency (median and worst of several).
3. A large object (1 GiB by default) through a signed URL vs the same file from nginx (curl).

Usage: ``python benchmarks/server_drs.py [--quick] [--big-mib N] [--workers N] [--seconds S]``.
``--quick`` scales down (64 MiB object, 3 s wrk runs) for a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import httpx

from htan_cds.catalog.schema import migrate
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore

N_OBJECTS = 2000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_home(root: Path, big_mib: int) -> tuple[DataHome, list[str], str, Path]:
    """A data home with N_OBJECTS small objects and one big one; returns ids and the big path."""
    home = DataHome.open(root)
    store = LocalObjectStore(home.objects_dir)
    con = duckdb.connect(str(home.catalog_path))
    migrate(con)
    rows = []
    ids = []
    for i in range(N_OBJECTS):
        data = f"object {i}\n".encode() * 10
        stored = store.put_stream(io.BytesIO(data))
        drs_id = f"dg.HCDS/{uuid.UUID(int=i + 1)}"
        ids.append(drs_id)
        rows.append(
            (
                drs_id,
                f"HTA9_1_{i}.ome.tif",
                len(data),
                stored.md5,
                stored.sha256,
                stored.key,
                [f"HTA9_1_{i // 4}"],
                datetime(2024, 1, 1),
            )
        )
    big_path = root / "big.bin"
    block = hashlib.sha256(b"bench").digest() * (1 << 15)  # 1 MiB
    with big_path.open("wb") as fh:
        for _ in range(big_mib):
            fh.write(block)
    stored = store.put_file(big_path)
    big_id = "dg.HCDS/" + str(uuid.UUID(int=10**9))
    rows.append(
        (
            big_id,
            "big.bin",
            stored.size,
            stored.md5,
            stored.sha256,
            stored.key,
            [],
            datetime(2024, 1, 1),
        )
    )
    con.executemany(
        "INSERT INTO files (drs_id, name, size, md5, sha256, object_key, biospecimen_ids, "
        "created_time, access) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')",
        rows,
    )
    con.close()
    return home, ids, big_id, store.path_for(stored.key)


@contextlib.contextmanager
def run_server(home: DataHome, port: int, workers: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "htan_cds.cli.main",
        "--home",
        str(home.root),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(url + "/ga4gh/drs/v1/service-info", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextlib.contextmanager
def run_nginx(root: Path, port: int, workers: int) -> Iterator[str]:
    conf = root / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""
{user}
worker_processes {workers};
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    types {{ application/json json; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root}/static;
    }}
}}
""")
    (root / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/obj.json", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process for {url} exited early")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready")


def wrk(url: str, seconds: int, connections: int = 32) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of wrk against ``url``."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert m, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    return rps, float(m.group(1)) * scale


def curl_speed(url: str) -> float:
    """Download speed (bytes/s) of curl fetching ``url`` to /dev/null."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scaled down for a shared machine")
    parser.add_argument("--big-mib", type=int, default=None, help="size of the big object")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn and nginx workers")
    parser.add_argument("--seconds", type=int, default=None, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="big-object downloads per side")
    args = parser.parse_args()
    big_mib = args.big_mib or (64 if args.quick else 1024)
    seconds = args.seconds or (3 if args.quick else 8)
    tmp = Path(tempfile.mkdtemp(prefix="htan-cds-bench-"))
    os.chmod(tmp, 0o755)
    try:
        print(f"building a commons: {N_OBJECTS} small objects + one {big_mib} MiB object ...")
        home, ids, big_id, big_path = build_home(tmp / "home", big_mib)
        static = tmp / "nginx" / "static"
        static.mkdir(parents=True)
        sp, np_ = _free_port(), _free_port()
        with run_server(home, sp, args.workers) as server:
            obj_url = f"{server}/ga4gh/drs/v1/objects/{ids[17]}"
            (static / "obj.json").write_bytes(httpx.get(obj_url).content)
            os.link(big_path, static / "big.bin")
            with run_nginx(tmp / "nginx", np_, args.workers) as nginx:
                results: dict[str, object] = {"workers": args.workers, "big_mib": big_mib}
                wrk(obj_url, 1)  # warm-up
                s_rps, s_p99 = wrk(obj_url, seconds)
                n_rps, n_p99 = wrk(f"{nginx}/obj.json", seconds)
                results["get_object"] = {
                    "server_rps": round(s_rps),
                    "server_p99_ms": round(s_p99, 2),
                    "nginx_rps": round(n_rps),
                    "nginx_p99_ms": round(n_p99, 2),
                    "ratio_rps": round(s_rps / n_rps, 3),
                }
                body = {"bulk_object_ids": ids[:1000]}
                times = []
                with httpx.Client(timeout=60) as http:
                    for _ in range(12):
                        t0 = time.perf_counter()
                        r = http.post(f"{server}/ga4gh/drs/v1/objects", json=body)
                        times.append(time.perf_counter() - t0)
                        assert r.status_code == 200 and r.json()["summary"]["resolved"] == 1000
                results["bulk_1000"] = {
                    "median_ms": round(statistics.median(times[2:]) * 1000, 1),
                    "max_ms": round(max(times[2:]) * 1000, 1),
                    "bytes": len(r.content),
                }
                access = httpx.get(f"{server}/ga4gh/drs/v1/objects/{big_id}/access/https").json()
                curl_speed(f"{nginx}/big.bin")  # page cache warm-up
                s_runs, n_runs = [], []
                for _ in range(args.rounds):  # alternate: both see the same machine load
                    s_runs.append(curl_speed(access["url"]))
                    n_runs.append(curl_speed(f"{nginx}/big.bin"))
                s_speed, n_speed = max(s_runs), max(n_runs)
                results["big_object"] = {
                    "server_runs_MiB_s": [round(x / 2**20) for x in s_runs],
                    "nginx_runs_MiB_s": [round(x / 2**20) for x in n_runs],
                    "server_MiB_s": round(s_speed / 2**20),
                    "nginx_MiB_s": round(n_speed / 2**20),
                    "ratio": round(s_speed / n_speed, 3),
                }
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
