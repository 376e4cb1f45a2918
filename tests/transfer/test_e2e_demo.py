"""End to end: the demo commons served by ``htan-cds serve`` → ``manifest create`` →
``import`` → every checksum matches the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._servers import ServerProcess
from tests.conftest import run_cli

pytestmark = [pytest.mark.network, pytest.mark.slow]


def test_demo_manifest_import_matches_catalog(demo_server: ServerProcess, tmp_path: Path) -> None:
    home = demo_server.home
    manifest = tmp_path / "manifest.csv"
    made = run_cli(
        "--home", str(home), "manifest", "create", "--access", "open", "-o", str(manifest)
    )
    assert made.returncode == 0, made.stderr
    # The demo was built for the port it is served on, so the manifest names that server.
    assert f"drs://127.0.0.1:{demo_server.port}/dg.HCDS/" in manifest.read_text()

    dest = tmp_path / "dest"
    report_path = tmp_path / "report.json"
    result = run_cli(
        "import",
        str(manifest),
        "--to",
        str(dest),
        "--layout",
        "{center}/{participant}/{name}",
        "--json-report",
        str(report_path),
        "--quiet",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["summary"]["failed"] == 0

    sql = run_cli("--home", str(home), "sql", "SELECT drs_id, size, sha256 FROM files", "--json")
    assert sql.returncode == 0, sql.stderr
    by_id = {r["drs_id"]: r for r in json.loads(sql.stdout)["rows"]}
    checked = 0
    for item in report["files"]:
        assert item["status"] == "done", item
        path = Path(item["path"])
        assert path.is_file() and dest in path.parents
        # center from atlas_name, participant derived from the biospecimen id
        center, participant = path.relative_to(dest).parts[:2]
        assert center.startswith("HTAN ") and participant.startswith("HTA"), path
        key = "/".join(item["drs_uri"].rsplit("/", 2)[-2:])  # drs://host/dg.HCDS/<uuid>
        if key in by_id:
            assert item["checksum"] == by_id[key]["sha256"]
            assert path.stat().st_size == by_id[key]["size"]
            checked += 1
    assert checked == len(report["files"]) > 0
