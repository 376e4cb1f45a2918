"""Concurrent writers (issue 11, item 7): token changes are atomic, and ``htan-cds ingest``
succeeds while a real server answers portal traffic.

Before the fix two ``token`` commands run at once each rewrote ``tokens.json`` from what they
had read, so a revoke that printed success could leave its token active and created tokens were
lost; and ingest failed with DuckDB's "Could not set lock" whenever the portal held the catalog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess, start_server
from tests.security.conftest import copy_home


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "htan_cds.cli.main", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_token_create_and_revoke_lose_nothing(tmp_path: Path) -> None:
    home = DataHome.open(tmp_path / "home")
    store = TokenStore(home)
    victims = [store.create(["phs002371"], label=f"victim-{i}") for i in range(12)]
    created: list[str] = []
    for round_ in range(3):
        procs = [
            _cli(
                home.root, "token", "create", "--grant", "phs002371", "--label", f"new-{round_}-{i}"
            )
            for i in range(6)
        ] + [
            _cli(home.root, "token", "revoke", victim, "--json")
            for victim in victims[round_ * 4 : round_ * 4 + 4]
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            if list(proc.args[5:7]) == ["token", "create"]:
                created.append(out.strip().splitlines()[-1])
    fresh = TokenStore(home)
    for token in created:
        assert token.startswith("hcds_") and fresh.verify(token) is not None, (
            "a created token was lost"
        )
    for victim in victims:
        assert fresh.verify(victim) is None, "a revoke that printed success left its token active"
    assert len(created) == 18
    assert len(fresh.list()) == len(victims) + len(created)
    assert (home.root / "tokens.json").stat().st_mode & 0o077 == 0


@pytest.fixture
def busy_home(demo_home: Path, tmp_path: Path) -> Path:
    return copy_home(demo_home, tmp_path / "home")


def _load(server: ServerProcess, stop: threading.Event, errors: list[str], done: list[int]) -> None:
    """Portal traffic as the explorer makes it: summary, facets, pages, a file page."""
    paths = ["/api/summary", "/api/facets", "/api/files?limit=50&sort=size", "/", "/explore"]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        i = 0
        while not stop.is_set():
            answer = client.get(paths[i % len(paths)])
            if answer.status_code >= 500:
                errors.append(f"{answer.request.url}: {answer.status_code} {answer.text[:200]}")
            done[0] += 1
            i += 1


def test_ingest_succeeds_while_the_portal_is_busy(busy_home: Path, tmp_path: Path) -> None:
    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    folder = tmp_path / "new-images"
    folder.mkdir()
    for i in range(3):
        write_synthetic_ome_tiff(
            folder / f"fresh_{i}.ome.tif", width=256, height=256, tile=128, channel_names=["DAPI"]
        )
    with start_server(busy_home) as server:
        before = httpx.get(server.url + "/api/summary").json()["files"]
        stop, errors, done = threading.Event(), [], [0]
        workers = [
            threading.Thread(target=_load, args=(server, stop, errors, done)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        try:
            time.sleep(1.0)
            started = time.monotonic()
            for attempt in range(3):  # three ingests in a row, each under load
                sub = folder / f"batch-{attempt}"
                sub.mkdir()
                os.link(folder / f"fresh_{attempt}.ome.tif", sub / f"fresh_{attempt}.ome.tif")
                result = _cli(busy_home, "ingest", str(sub), "--json")
                out, err = result.communicate(timeout=300)
                assert result.returncode == 0, f"ingest under load failed: {err}"
                assert json.loads(out)["added"] == 1
            took = time.monotonic() - started
            deadline = time.monotonic() + 20
            after = before
            while after != before + 3 and time.monotonic() < deadline:
                after = httpx.get(server.url + "/api/summary").json()["files"]
                time.sleep(0.2)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    assert not errors, errors[:5]
    assert done[0] > 20, "the load did not run"
    assert after == before + 3, "the served portal never showed the ingested files"
    assert took < 240
    # The DRS API serves the new objects too.
    assert server.log().count("Could not set lock") == 0


_KILLED_WRITER = """
import os, sys
from htan_cds.catalog import Catalog
from htan_cds.config import DataHome
catalog = Catalog.open(DataHome.open(sys.argv[1]))
with catalog.cursor() as cur:
    cur.execute("DELETE FROM files")
os._exit(9)  # killed mid-write: never closes, never publishes
"""


def test_a_killed_writer_leaves_the_catalog_as_it_was(demo_home: Path, tmp_path: Path) -> None:
    import duckdb

    from htan_cds.catalog import Catalog

    home = copy_home(demo_home, tmp_path / "home")

    def files() -> int:
        con = duckdb.connect(str(home / "catalog.duckdb"), read_only=True)
        try:
            return int(con.execute("SELECT count(*) FROM files").fetchone()[0])
        finally:
            con.close()

    before = files()
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(home)], capture_output=True, timeout=120
    )
    assert killed.returncode == 9, killed.stderr
    assert files() == before
    assert list(home.glob("catalog.duckdb.writing-*")), "the dead writer's copy is there"
    with Catalog.open(DataHome.open(home)) as writer:  # the next writer cleans up
        with pytest.raises(Exception, match="already open for writing"):
            Catalog.open(DataHome.open(home))
        with writer.cursor() as cur:
            cur.execute("DELETE FROM files WHERE drs_id IN (SELECT drs_id FROM files LIMIT 1)")
    assert files() == before - 1
    assert not list(home.glob("catalog.duckdb.writing-*"))
