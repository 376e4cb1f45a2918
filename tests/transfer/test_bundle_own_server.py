"""Our own server's bundles (one per biospecimen, ``bundle/<HTAN_Biospecimen_ID>``) import like
any other server's: every member into ``DEST/<biospecimen>/<member name>``, verified."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests._servers import ServerProcess
from tests.conftest import run_cli

pytestmark = [pytest.mark.network, pytest.mark.slow]


def test_own_server_bundle_imports_its_members(demo_server: ServerProcess, tmp_path: Path) -> None:
    con = duckdb.connect(str(demo_server.home / "catalog.duckdb"), read_only=True)
    try:
        found = con.execute(
            # A bundle of open files only: one controlled member makes the bundle controlled.
            "SELECT fb.HTAN_Biospecimen_ID, count(*) FROM file_biospecimens fb "
            "JOIN files f ON f.drs_id = fb.drs_id GROUP BY 1 "
            "HAVING count(*) > 1 AND bool_and(f.access = 'open') ORDER BY 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert found is not None
    biospecimen, _ = found
    uri = f"drs://127.0.0.1:{demo_server.port}/bundle/{biospecimen}"
    listed = run_cli("info", uri, "--json")
    assert listed.returncode == 0, listed.stderr
    members = json.loads(listed.stdout)["members"]
    report = tmp_path / "r.json"
    result = run_cli("import", uri, "--to", str(tmp_path / "d"), "--json-report", str(report))
    assert result.returncode == 0, result.stderr
    files = json.loads(report.read_text())["files"]
    assert len(files) == len(members)
    for entry in files:
        assert entry["status"] == "done" and entry["verified"], entry
        assert entry["bundle"] == uri
        assert Path(entry["path"]).parent.name == biospecimen
