"""The portal's catalog lease: open while busy, closed when idle so a writer can get in."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from htan_cds.catalog import Catalog
from htan_cds.config import DataHome
from htan_cds.server.portal.state import CatalogLease


def test_idle_lease_closes_lets_a_writer_in_and_forgets_memos(
    demo_home: Path, tmp_path: Path
) -> None:
    home = DataHome.open(tmp_path / "home")
    shutil.copy(demo_home / "catalog.duckdb", home.catalog_path)
    lease = CatalogLease(home, idle_seconds=0.2)
    with lease.use() as catalog:
        before = catalog.count()
    assert lease.remember("n", lambda: before) == before
    deadline = time.monotonic() + 10
    while lease._catalog is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lease._catalog is None, "the lease did not close when idle"
    # With the lease closed, a read-write open (what `htan-cds ingest` does) succeeds.
    with Catalog.open(home) as writer, writer.cursor() as cur:
        cur.execute("DELETE FROM files WHERE drs_id IN (SELECT drs_id FROM files LIMIT 1)")
        cur.execute("CHECKPOINT")
    with lease.use() as catalog:
        assert catalog.count() == before - 1
    assert lease.remember("n", lambda: -1) == -1  # the file changed: memo recomputed
    lease.close()
