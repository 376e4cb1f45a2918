"""IIIF tiles of a >= 1 GiB, 8-channel pyramidal OME-TIFF on the local store (issue: viewer).

Measured against a real ``htan-cds serve`` process on loopback, side by side in the same run
with the peer: the same tile cut in-process by tifffile + zarr (``zarr.open(tf.aszarr(level))``,
no server, no composition, no JPEG):

* a 256 x 256, 3-channel tile, p50/p95, **cold** (first view of the image on a running
  server: image not opened, display ranges not cached; the server process is fresh and has
  shown one other, small image), **cold just after start** (the same, but the very first
  request of the process, which also waits for the modules it loads in the background),
  **warm** (reader open; every tile distinct, so nothing comes from the decoded-tile or the
  rendered-tile cache: the server's ``X-Tile-Cache`` header must say ``miss``), and
  **repeated** (the first 100 warm tiles asked again, as when a viewer pans back: answered
  from the rendered-tile cache, header ``hit``); the goal's ratio is taken on **warm**; warm
  tiles are also asked through the standard library's ``http.client`` (another 100 fresh
  tiles), to show the share of httpx's own CPU in the round trip;
* the server's **own time** per warm tile, from its ``Server-Timing`` header (the request
  reaching the IIIF route to the encoded body: what the peer's in-process cut is, plus
  composition and JPEG encoding; without HTTP parsing, sending and the client);
* **bytes read per tile** by the server process (``rchar`` of ``/proc/PID/io``, which counts
  every byte read() returns, sockets included) against the compressed bytes of the source tiles
  the request covers (their TIFF byte counts);
* **memory under a pan** across the whole image at full resolution (every level-0 tile, in
  serpentine order, two requests in flight like a browser): peak RSS (``VmHWM``) of the server.

The ratio that counts is against the peer timed **in turn** with the server, tile by tile. The
CPU time per warm tile (server process, the httpx client, the peer) is printed too: on a shared
machine it moves less with the load than wall time does.

Usage: ``python benchmarks/imaging_tiles.py [--size 13312] [--channels 8] [--cold 7]
[--warm 150] [--keep]``. The image is written once to ``benchmarks/_work/`` (git-ignored) and
reused while ``--keep`` is given. Note ``uptime`` with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

WORK = Path(__file__).resolve().parent / "_work"
MARKERS = ["DAPI", "CD45", "panCK", "aSMA", "CD8", "Ki67", "CD4", "CD68", "CD3", "CD20"]
GIB = 1024**3
TILE = 256
CHANNELS = (0, 3, 5)
QUERY = {"channels": ",".join(map(str, CHANNELS))}
WARMUP = "dg.HCDS/00000000-0000-0000-0000-0000000000ff"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def image(size: int, channels: int) -> Path:
    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    path = WORK / f"tiles-{size}-{channels}.ome.tif"
    if not path.exists():
        WORK.mkdir(exist_ok=True)
        start = time.perf_counter()
        write_synthetic_ome_tiff(
            path.with_suffix(".part"),
            width=size,
            height=size,
            channel_names=MARKERS[:channels],
            seed=11,
        )
        path.with_suffix(".part").rename(path)
        took = time.perf_counter() - start
        print(f"wrote {path.name}: {path.stat().st_size / GIB:.2f} GiB in {took:.0f} s")
    return path


def commons(root: Path, path: Path) -> tuple[Path, str]:
    """A data home holding the big image and a small one (to warm a fresh server up with)."""
    from tests.viewer._commons import Entry, build_commons, object_id

    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    small = root / "warmup.ome.tif"
    write_synthetic_ome_tiff(small, width=512, height=512, channel_names=MARKERS[:2], seed=1)
    drs_id = object_id(1)
    entries = {"big": Entry(drs_id, path.name, path), "warm": Entry(WARMUP, small.name, small)}
    build_commons(root / "home", entries)
    return root / "home", drs_id


class Server:
    """``htan-cds serve`` on a free loopback port."""

    def __init__(self, home: Path) -> None:
        from tests._servers import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "htan_cds.cli.main",
                "--home",
                str(home),
                "serve",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ga4gh/drs/v1/service-info", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def rchar(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
        return 0

    def cpu(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def tile_url(base: str, x: int, y: int, scale: int, width: int, height: int) -> str:
    w, h = min(TILE * scale, width - x), min(TILE * scale, height - y)
    return f"{base}/{x},{y},{w},{h}/{math.ceil(w / scale)},{math.ceil(h / scale)}/0/default.jpg"


def server_timing(header: str) -> float:
    """Seconds in a ``Server-Timing: tile;dur=<ms>;...`` header."""
    fields = dict(part.split("=", 1) for part in header.split(";")[1:])
    return float(fields["dur"]) / 1000


def random_tiles(n: int, width: int, height: int, rng: random.Random) -> list[tuple[int, int]]:
    across, down = width // TILE, height // TILE
    cells = rng.sample(range(across * down), n)
    return [((c % across) * TILE, (c // across) * TILE) for c in cells]


def compressed_bytes(path: Path, x: int, y: int) -> int:
    import tifffile

    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        total = 0
        for c in CHANNELS:
            page = series.pages[c]
            key = page.keyframe
            across = math.ceil(key.imagewidth / key.tilewidth)
            total += page.databytecounts[(y // key.tilelength) * across + x // key.tilewidth]
        return int(total)


def peer(path: Path, tiles: list[tuple[int, int]]) -> tuple[list[float], list[float]]:
    """tifffile + zarr in-process: cold (open + cut) and warm (store open) per tile."""
    import tifffile
    import zarr

    cold = []
    for x, y in tiles[:7]:
        start = time.perf_counter()
        with tifffile.TiffFile(path) as tf:
            z = zarr.open_array(tf.series[0].aszarr(level=0), mode="r")
            for c in CHANNELS:
                _ = z[c, y : y + TILE, x : x + TILE]
        cold.append(time.perf_counter() - start)
    warm = []
    with tifffile.TiffFile(path) as tf:
        z = zarr.open_array(tf.series[0].aszarr(level=0), mode="r")
        for x, y in tiles:
            start = time.perf_counter()
            for c in CHANNELS:
                _ = z[c, y : y + TILE, x : x + TILE]
            warm.append(time.perf_counter() - start)
    return cold, warm


class PeerCut:
    """The peer's warm cut, open beside the server so that both are timed tile by tile in turn:
    the machine is shared, and a load spike then hits both, not one of two runs."""

    def __init__(self, path: Path) -> None:
        import tifffile
        import zarr

        self.tf = tifffile.TiffFile(path)
        self.z = zarr.open_array(self.tf.series[0].aszarr(level=0), mode="r")

    def __call__(self, x: int, y: int) -> float:
        start = time.perf_counter()
        for c in CHANNELS:
            _ = self.z[c, y : y + TILE, x : x + TILE]
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=13312)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cold", type=int, default=14, help="half right after start")
    parser.add_argument("--warm", type=int, default=150)
    parser.add_argument("--no-pan", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    path = image(args.size, args.channels)
    size = path.stat().st_size
    print(f"image {path.name}: {size / GIB:.2f} GiB, {args.channels} channels, {args.size}^2")
    rng = random.Random(5)
    tmp = Path(tempfile.mkdtemp(prefix="tiles-bench-"))
    try:
        home, drs_id = commons(tmp, path)
        base = "/iiif/3/" + quote(drs_id, safe="")
        tiles = random_tiles(args.cold + args.warm + 120, args.size, args.size, rng)
        cold_tiles, warm_tiles = tiles[: args.cold], tiles[args.cold : args.cold + args.warm]
        light_tiles = tiles[args.cold + args.warm : args.cold + args.warm + 100]

        cold: list[float] = []
        cold_start: list[float] = []
        warmup = "/iiif/3/" + quote(WARMUP, safe="")
        for n, (x, y) in enumerate(cold_tiles):
            shutil.rmtree(home / "thumbnails", ignore_errors=True)  # no cached display ranges
            server = Server(home)
            try:
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    if n % 2:  # a running server: modules loaded by a view of another image
                        client.get(warmup + "/full/64,/0/default.jpg").raise_for_status()
                    start = time.perf_counter()
                    r = client.get(tile_url(base, x, y, 1, args.size, args.size), params=QUERY)
                    (cold if n % 2 else cold_start).append(time.perf_counter() - start)
                    assert r.status_code == 200, r.text
            finally:
                server.stop()

        server = Server(home)
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                client.get(base + "/info.json").raise_for_status()
                spare = tiles[-1]  # not among the measured tiles, so those stay misses
                client.get(
                    tile_url(base, *spare, 1, args.size, args.size), params=QUERY
                ).raise_for_status()
                warm: list[float] = []
                app_time: list[float] = []  # the server's own time (Server-Timing)
                peer_beside: list[float] = []
                ratios: list[float] = []
                cut = PeerCut(path)
                # CPU seconds: server process, client (httpx) and peer (its process time, which
                # counts zarr's own I/O thread too), steadier than wall time on a shared machine.
                server_cpu, client_cpu, peer_cpu = server.cpu(), 0.0, 0.0
                for n, (x, y) in enumerate(warm_tiles):
                    if n % 2:  # the peer cuts the same tile just before or after, in turn
                        cpu_start = time.process_time()
                        peer_beside.append(cut(x, y))
                        peer_cpu += time.process_time() - cpu_start
                    before = server.rchar()
                    cpu_start = time.process_time()
                    start = time.perf_counter()
                    r = client.get(tile_url(base, x, y, 1, args.size, args.size), params=QUERY)
                    warm.append(time.perf_counter() - start)
                    client_cpu += time.process_time() - cpu_start
                    if not n % 2:
                        cpu_start = time.process_time()
                        peer_beside.append(cut(x, y))
                        peer_cpu += time.process_time() - cpu_start
                    assert r.status_code == 200, r.text
                    assert r.headers["X-Tile-Cache"] == "miss"  # a fresh render, never a hit
                    app_time.append(server_timing(r.headers["Server-Timing"]))
                    ratios.append((server.rchar() - before) / compressed_bytes(path, x, y))
                server_cpu = server.cpu() - server_cpu  # the server only served the tiles meanwhile
                repeat: list[float] = []
                for x, y in warm_tiles[:100]:  # panning back: the same tiles again
                    start = time.perf_counter()
                    r = client.get(tile_url(base, x, y, 1, args.size, args.size), params=QUERY)
                    repeat.append(time.perf_counter() - start)
                    assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "hit"
                # The same kind of fresh tiles through the standard library's client: httpx
                # spends ~1 ms of CPU per request on this machine, which the browser does not.
                light: list[float] = []
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                peer_light: list[float] = []
                for n, (x, y) in enumerate(light_tiles):
                    url = tile_url(base, x, y, 1, args.size, args.size) + "?" + urlencode(QUERY)
                    if n % 2:
                        peer_light.append(cut(x, y))
                    start = time.perf_counter()
                    conn.request("GET", url)
                    response = conn.getresponse()
                    response.read()
                    light.append(time.perf_counter() - start)
                    if not n % 2:
                        peer_light.append(cut(x, y))
                    assert response.status == 200 and response.getheader("X-Tile-Cache") == "miss"
                conn.close()
                cut.tf.close()
                rss_before = server.status("VmRSS")
                pan_s = 0.0
                if not args.no_pan:
                    across = math.ceil(args.size / TILE)
                    order = [
                        (col * TILE, row * TILE)
                        for row in range(across)
                        for col in (range(across) if row % 2 == 0 else reversed(range(across)))
                    ]

                    def fetch(xy: tuple[int, int]) -> None:
                        url = tile_url(base, xy[0], xy[1], 1, args.size, args.size)
                        client.get(url, params=QUERY).raise_for_status()

                    start = time.perf_counter()
                    with ThreadPoolExecutor(max_workers=2) as pool:
                        list(pool.map(fetch, order))
                    pan_s = time.perf_counter() - start
                peak = server.status("VmHWM")
                rss_after = server.status("VmRSS")
        finally:
            server.stop()

        peer_cold, peer_warm = peer(path, warm_tiles)

        def row(label: str, values: list[float]) -> None:
            p50, p95 = pct(values, 50) * 1000, pct(values, 95) * 1000
            print(f"{label:<44} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  (n={len(values)})")

        row("cold, just after the server started", cold_start)
        row("cold (first view of the image)", cold)
        row("warm (reader open, distinct tiles)", warm)
        row("repeated tile (rendered-tile cache hit)", repeat)
        row("warm, http.client instead of httpx", light)
        row("peer tifffile+zarr in-process, cold", peer_cold)
        row("peer tifffile+zarr in-process, warm, alone", peer_warm)
        row("peer, warm, in turn with the server's tiles", peer_beside)
        warm_ratio = (pct(warm, 50) / pct(peer_warm, 50), pct(warm, 95) / pct(peer_warm, 95))
        print(f"server / peer alone, warm: p50 {warm_ratio[0]:.2f}  p95 {warm_ratio[1]:.2f}")
        turn = (pct(warm, 50) / pct(peer_beside, 50), pct(warm, 95) / pct(peer_beside, 95))
        print(f"server / peer in turn, warm: p50 {turn[0]:.2f}  p95 {turn[1]:.2f}")
        row("server's own time per warm tile (Server-Timing)", app_time)
        own = (pct(app_time, 50) / pct(peer_beside, 50), pct(app_time, 95) / pct(peer_beside, 95))
        print(f"server's own time / peer in turn: p50 {own[0]:.2f}  p95 {own[1]:.2f}")
        n_warm = len(warm_tiles)
        print(
            f"CPU per warm tile: server {server_cpu / n_warm * 1000:.2f} ms + client (httpx) "
            f"{client_cpu / n_warm * 1000:.2f} ms; peer {peer_cpu / n_warm * 1000:.2f} ms"
        )
        row("peer, in turn with the http.client tiles", peer_light)
        light_ratio = (pct(light, 50) / pct(peer_light, 50), pct(light, 95) / pct(peer_light, 95))
        print(f"http.client / peer in turn: p50 {light_ratio[0]:.2f}  p95 {light_ratio[1]:.2f}")
        print(f"server / peer, cold: p95 {pct(cold, 95) / pct(peer_cold, 95):.2f}")
        median, worst = statistics.median(ratios), max(ratios)
        print(f"bytes read / compressed source-tile bytes: median {median:.2f}, max {worst:.2f}")
        if not args.no_pan:
            tiles_n = math.ceil(args.size / TILE) ** 2
            mib = 2**20
            print(
                f"pan over all {tiles_n} level-0 tiles in {pan_s:.0f} s: RSS before "
                f"{rss_before / mib:.0f} MiB, after {rss_after / mib:.0f} MiB, "
                f"peak {peak / mib:.0f} MiB"
            )
        print(f"load after: {os.getloadavg()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
