"""Catalogs built from real ISB-CGC exports (../shared) answer every command without a crash,
say "unknown" for sizes the exports lack, and a build that finds no files says what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests._servers import start_server
from tests.conftest import run_cli, shared_path

MANIFESTS = ("data", "manifests")


def _no_traceback(result: object) -> None:
    out = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    assert "Traceback" not in out, out[-3000:]


def test_imaging_metadata_alone_says_what_is_missing(tmp_path: Path) -> None:
    imaging = shared_path(*MANIFESTS, "isb-cgc_imaging_level2_metadata_current_rows.csv")
    result = run_cli("catalog", "build", "--from-files", str(imaging), home=tmp_path / "h")
    _no_traceback(result)
    assert result.returncode == 0
    assert "0 files" in result.stderr
    hint = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hint and "no DRS map" in hint[0] and "drs_uri" in hint[0], result.stderr
    as_json = run_cli(
        "catalog", "build", "--from-files", str(imaging), "--json", home=tmp_path / "h"
    )
    assert any("no DRS map" in h for h in json.loads(as_json.stdout)["hints"])


def test_map_that_matches_no_imaging_row_says_so(tmp_path: Path) -> None:
    m = shared_path(*MANIFESTS)
    result = run_cli(
        "catalog",
        "build",
        "--from-files",
        str(m / "isb-cgc_imaging_level2_metadata_current_rows.csv"),
        str(m / "isb-cgc_gc_drs_map_current_head100.csv"),
        home=tmp_path / "h",
    )
    _no_traceback(result)
    assert "imaging metadata rows matched no file" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def export_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    m = shared_path(*MANIFESTS)
    home = tmp_path_factory.mktemp("exports") / "home"
    result = run_cli(
        "catalog",
        "build",
        "--from-files",
        str(m / "isb-cgc_gc_drs_map_current_head100.csv"),
        str(m / "isb-cgc_cds_drs_map_r5_head100.csv"),
        str(m / "isb-cgc_imaging_level2_metadata_current_rows.csv"),
        str(m / "isb-cgc_cds_imaging_manifest_full_uri.csv"),
        home=home,
    )
    assert result.returncode == 0, result.stderr
    return home


def test_every_reading_command_works_on_sizeless_exports(export_home: Path, tmp_path: Path) -> None:
    table = run_cli("find", "--limit", "5", home=export_home)
    _no_traceback(table)
    assert table.returncode == 0, table.stderr
    assert "unknown" in table.stdout and "0 B" not in table.stdout and "<NA>" not in table.stdout
    everything = run_cli("find", home=export_home)
    assert everything.returncode == 0, everything.stderr
    _no_traceback(everything)
    as_json = run_cli("find", "--json", home=export_home)
    files = json.loads(as_json.stdout)["files"]
    assert files and all(f["size"] is None for f in files)
    assert run_cli("find", "--csv", home=export_home).returncode == 0
    facets = run_cli("facets", home=export_home)
    _no_traceback(facets)
    assert facets.stderr.strip().endswith("unknown"), facets.stderr
    summary = json.loads(run_cli("facets", "--json", home=export_home).stdout)["summary"]
    assert summary["total_size"] is None and summary["files_without_size"] == summary["files"]
    out = tmp_path / "cart.csv"
    made = run_cli("manifest", "create", "--format", "cgc", "-o", str(out), home=export_home)
    _no_traceback(made)
    assert made.returncode == 0 and out.stat().st_size > 0, made.stderr
    info = run_cli("catalog", "info", home=export_home)
    _no_traceback(info)
    assert info.returncode == 0


def test_portal_says_unknown_for_sizeless_exports(export_home: Path) -> None:
    with start_server(export_home) as server:
        landing = httpx.get(server.url + "/", timeout=10)
        assert landing.status_code == 200
        assert "unknown" in landing.text and "0 B" not in landing.text
        assert "synthetic-banner" not in landing.text  # real exports are not called synthetic
        summary = httpx.get(server.url + "/api/summary", timeout=10).json()
        assert summary["total_size"] is None
        page = httpx.get(server.url + "/api/files?limit=1", timeout=10).json()
        drs_id = page["items"][0]["drs_id"]
        detail = httpx.get(f"{server.url}/file/{drs_id}", timeout=10)
        assert detail.status_code == 200, detail.text[:500]
        assert "<dt>Size</dt><dd>unknown</dd>" in detail.text
