"""The proof of issue 12: ISB-CGC's real manifest of 30 HTAN files in compact ``dg.4DFC/<uuid>``
form, repaired with ``manifest convert --fix`` and imported with nci-crdc.datacommons.io mapped
(``[drs.endpoints]``) to a CRDC-shaped stand-in serving exactly those ids: indexd objects, fence
``/access``, the Gen3 API-key exchange for a controlled third of them. All 30 verified."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.drs.real_servers import CRDC_HOST, RealShapesServer
from tests.transfer.fault_server import payload

pytestmark = pytest.mark.network


def test_real_isb_cgc_manifest_repaired_and_imported(shared: Path, tmp_path: Path) -> None:
    manifest = shared / "data" / "manifests" / "isb-cgc_gc_imaging_manifest_compact_uri.csv"
    with manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30
    home = tmp_path / "home"
    home.mkdir()
    fixed = tmp_path / "cgc.csv"
    convert = run_cli(
        "manifest", "convert", str(manifest), "--to", "cgc", "--fix", "-o", str(fixed), home=home
    )
    assert convert.returncode == 0, convert.stderr
    with fixed.open(newline="") as fh:
        repaired = list(csv.DictReader(fh))
    assert all(r["drs_uri"].startswith(f"drs://{CRDC_HOST}/dg.4DFC/") for r in repaired)

    with RealShapesServer() as srv:
        data: dict[str, bytes] = {}
        for i, row in enumerate(rows):
            did = row["drs_uri"]  # dg.4DFC/<uuid>: indexd's id
            data[row["name"]] = payload(row["name"], 20_000 + 997 * i)
            srv.add(did, data[row["name"]], row["name"], controlled=i % 3 == 0)
        (home / "config.toml").write_text(f'[drs.endpoints]\n"{CRDC_HOST}" = "{srv.url}"\n')
        creds = tmp_path / "credentials.json"
        creds.write_text(json.dumps(srv.api_key()))
        report_path = tmp_path / "report.json"
        result = run_cli(
            "import",
            str(fixed),
            "--to",
            str(tmp_path / "htan"),
            "--gen3-credentials",
            str(creds),
            "--json-report",
            str(report_path),
            home=home,
        )
        assert result.returncode == 0, result.stderr
        assert "30 done (30 verified, 0 unverified)" in result.stderr
        report = json.loads(report_path.read_text())
        assert report["summary"]["verified"] == 30
        for entry in report["files"]:
            assert entry["status"] == "done" and entry["verified"] is True
            assert entry["checksum_type"] == "md5"
        for name, content in data.items():
            got = (tmp_path / "htan" / name).read_bytes()
            assert hashlib.md5(got).digest() == hashlib.md5(content).digest()
        assert srv.exchanges == 1  # one key exchange for the controlled ten
        assert srv.requests["access"] >= 30  # fence signs every download
