"""find / facets / sql / manifest create / catalog info through the real CLI, on the demo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import run_cli


def _json(*args: str, home: Path) -> dict:  # type: ignore[type-arg]
    result = run_cli(*args, "--json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_find_json_fields_and_filters(demo_home: Path) -> None:
    out = _json("find", "--center", "HTAN HMS", "--level", "2", home=demo_home)
    assert out["count"] == len(out["files"]) > 0
    for f in out["files"]:
        assert {"drs_uri", "name", "size", "md5", "HTAN_Data_File_ID"} <= f.keys()
        assert f["HTAN_Center"] == "HTAN HMS" and f["level"] == "Level 2"
    both = _json("find", "--center", "HMS", "--center", "OHSU", home=demo_home)
    hms = _json("find", "--center", "HMS", home=demo_home)
    assert both["count"] > hms["count"]


def test_find_csv_and_table(demo_home: Path) -> None:
    result = run_cli("find", "--assay", "t-CyCIF", "--csv", home=demo_home)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert rows and all(r["assay"] == "t-CyCIF" for r in rows)
    table = run_cli("find", "--organ", "Colon, NOS", "--limit", "3", home=demo_home)
    assert table.returncode == 0 and "files" in table.stderr


def test_facets_json(demo_home: Path) -> None:
    out = _json("facets", "--access", "controlled", home=demo_home)
    assert out["summary"]["files"] == sum(v["count"] for v in out["facets"]["level"])
    assert {v["value"] for v in out["facets"]["access"]} == {"open", "controlled"}


def test_sql_and_refusal(demo_home: Path) -> None:
    out = _json("sql", "SELECT count(*) AS n FROM participants", home=demo_home)
    assert out["rows"] == [{"n": 40}]
    refused = run_cli("sql", "DELETE FROM files", home=demo_home)
    assert refused.returncode == 2
    assert "read-only" in refused.stderr and "Traceback" not in refused.stderr


def test_manifest_create(demo_home: Path, tmp_path: Path) -> None:
    dest = tmp_path / "m.csv"
    out = _json(
        "manifest",
        "create",
        "--center",
        "HTAN TNP SARDANA",
        "--level",
        "2",
        "-o",
        str(dest),
        home=demo_home,
    )
    assert out["rows"] > 0 and out["duplicate_rule"]
    rows = list(csv.DictReader(dest.open()))
    assert len(rows) == out["rows"]
    assert rows[0]["drs_uri"].startswith("drs://127.0.0.1:")
    assert len({r["name"] for r in rows}) == len(rows)
    # CGC keeps the HTAN attribute names (the portal's CGC download has the same columns).
    assert {"atlas_name", "HTAN_Biospecimen_ID", "assay", "level", "HTAN_Data_File_ID"} <= set(
        rows[0]
    )


def test_catalog_info(demo_home: Path) -> None:
    out = _json("catalog", "info", home=demo_home)
    assert out["tables"]["participants"] == 40
    assert out["meta"]["drs_authority"].startswith("127.0.0.1:")


def test_no_catalog_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("find", home=tmp_path / "empty")
    assert result.returncode == 2
    assert "no catalog" in result.stderr and "Traceback" not in result.stderr


def test_a_build_says_it_replaced_the_catalog(home: Path) -> None:
    """`catalog build` replaces the whole catalog (the demo too); the second build says so."""
    from tests.conftest import shared_path

    drs_map = shared_path("data", "manifests", "isb-cgc_gc_drs_map_current_head100.csv")
    first = run_cli("catalog", "build", "--from-files", str(drs_map), "--json", home=home)
    assert first.returncode == 0, first.stderr
    assert not any("replaced" in h for h in json.loads(first.stdout)["hints"])
    again = run_cli("catalog", "build", "--from-files", str(drs_map), home=home)
    assert again.returncode == 0, again.stderr
    assert "this replaced the previous catalog (100 files from 'files: isb-cgc_gc" in again.stderr
