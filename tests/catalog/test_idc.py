"""The ``idc`` catalog source, built from the installed ``idc-index-data`` wheel (no network).

Every expected figure is computed in the test straight from the wheel's Parquet files with
DuckDB, never written down: a new IDC release changes both sides alike.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import run_cli

idc_index_data = pytest.importorskip("idc_index_data", reason="idc-index-data is not installed")

NAMED_COLLECTIONS = {"htan_hms", "htan_ohsu", "htan_tnp_sardana", "htan_vanderbilt", "htan_wustl"}


def _json(*args: str, home: Path) -> Any:
    result = run_cli(*args, "--json", home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _parquet(name: str) -> str:
    path = idc_index_data.INDEX_METADATA[name]["parquet_filepath"]
    assert path is not None, f"{name} missing from idc-index-data"
    return str(path)


def expected_per_collection() -> dict[str, tuple[int, int, int]]:
    """(series, participants, bytes) per HTAN collection, straight from the Parquet files.

    HTAN collections: program ``htan`` in collections_index, or an id starting ``htan_``; bytes
    are ``series_size_MB`` * 10^6 (IDC computes the MB as the bytes of the instances / 10^6).
    """
    con = duckdb.connect()
    series = str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)
    rows = con.execute(
        f"""
        SELECT collection_id, count(*), count(DISTINCT PatientID),
               sum(CAST(round(series_size_MB * 1000000) AS BIGINT))
        FROM read_parquet('{series}')
        WHERE collection_id IN (
            SELECT collection_id FROM read_parquet('{_parquet("collections_index")}')
            WHERE lower(program_id) = 'htan')
           OR starts_with(collection_id, 'htan_')
        GROUP BY 1
        """
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


@pytest.fixture(scope="module")
def idc_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("idc-home")
    result = run_cli("catalog", "build", "--from-idc", "--json", home=home)
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def mixed_home(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo commons' catalog (copied) with IDC's rows added."""
    home = tmp_path_factory.mktemp("mixed-home")
    shutil.copy(demo_home / "catalog.duckdb", home / "catalog.duckdb")
    result = run_cli("catalog", "build", "--from-idc", "--json", home=home)
    assert result.returncode == 0, result.stderr
    return home


def test_counts_per_collection_equal_the_parquet(idc_home: Path) -> None:
    expected = expected_per_collection()
    assert expected.keys() >= NAMED_COLLECTIONS
    out = _json(
        "sql",
        "SELECT collection_id, count(*) AS series, count(DISTINCT HTAN_Participant_ID) AS p, "
        "sum(size) AS bytes FROM files WHERE source = 'IDC' GROUP BY 1",
        home=idc_home,
    )
    got = {r["collection_id"]: (r["series"], r["p"], r["bytes"]) for r in out["rows"]}
    assert got == expected
    info = _json("catalog", "info", home=idc_home)
    assert info["meta"]["idc_index_data"] == idc_index_data.__version__
    assert info["tables"]["collections"] == len(expected)


def test_rows_carry_idc_identifiers_and_metadata(idc_home: Path) -> None:
    con = duckdb.connect()
    series = str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)
    sample = con.execute(
        f"SELECT SeriesInstanceUID, StudyInstanceUID, PatientID, collection_id, Modality, "
        f"crdc_series_uuid, series_aws_url, source_DOI, license_short_name, SeriesDescription "
        f"FROM read_parquet('{series}') WHERE collection_id = 'htan_wustl' "
        f"AND Modality = 'SM' ORDER BY SeriesInstanceUID LIMIT 1"
    ).fetchone()
    assert sample is not None
    out = _json("find", "--participant", sample[2], "--source", "idc", home=idc_home)
    row = next(f for f in out["files"] if f["SeriesInstanceUID"] == sample[0])
    assert row["StudyInstanceUID"] == sample[1]
    assert row["collection_id"] == "htan_wustl" and row["HTAN_Center"] == "HTAN WUSTL"
    assert row["Modality"] == sample[4] and row["source"] == "IDC"
    assert row["crdc_series_uuid"] == sample[5] and row["drs_uri"] == sample[6]
    assert row["series_aws_url"] == sample[6] and sample[6].endswith(f"/{sample[5]}/*")
    assert row["doi"] == sample[7] and row["license"] == sample[8]
    assert row["assay"] == sample[9] and row["access"] == "open"
    assert row["idc_release"] == "v" + idc_index_data.__version__.split(".")[0]
    # Organ and diagnosis are the collection's, from collections_index.
    organ, diagnosis = con.execute(
        f"SELECT tumor_locations, cancer_types FROM read_parquet('{_parquet('collections_index')}')"
        " WHERE collection_id = 'htan_wustl'"
    ).fetchone()  # type: ignore[misc]
    assert row["Tissue_or_Organ_of_Origin"].lower() == organ.lower()
    assert row["Primary_Diagnosis"] == diagnosis


def test_assays_come_from_series_descriptions(idc_home: Path) -> None:
    facets = _json("facets", "--source", "IDC", home=idc_home)["facets"]
    assays = {v["value"] for v in facets["assay"]}
    assert {"t-CyCIF", "CyCIF", "mIHC", "IMC", "H&E"} <= assays
    assert {v["value"] for v in facets["source"]} == {"IDC"}


def test_added_to_a_catalog_without_dropping_other_sources(
    demo_home: Path, mixed_home: Path
) -> None:
    demo = _json("facets", home=demo_home)
    mixed = _json("facets", home=mixed_home)
    sources = {v["value"]: v["count"] for v in mixed["facets"]["source"]}
    assert sources["local"] == demo["summary"]["files"]
    assert sources["IDC"] == sum(v[0] for v in expected_per_collection().values())
    # Building again replaces the IDC rows, it does not add them twice.
    again = run_cli("catalog", "build", "--from-idc", home=mixed_home)
    assert again.returncode == 0, again.stderr
    assert _json("facets", home=mixed_home)["facets"]["source"] == mixed["facets"]["source"]


def test_find_participant_shows_demo_and_idc_files(demo_home: Path, mixed_home: Path) -> None:
    demo_ids = {
        r["HTAN_Participant_ID"]
        for r in _json("sql", "SELECT HTAN_Participant_ID FROM participants", home=demo_home)[
            "rows"
        ]
    }
    idc_ids = {
        r["p"]
        for r in _json(
            "sql",
            "SELECT DISTINCT HTAN_Participant_ID AS p FROM files WHERE source = 'IDC'",
            home=mixed_home,
        )["rows"]
    }
    shared = sorted(demo_ids & idc_ids)
    assert shared, "the demo's participant ids no longer meet IDC's"
    out = _json("find", "--participant", shared[0], home=mixed_home)
    assert {f["source"] for f in out["files"]} == {"local", "IDC"}
    only_idc = _json("find", "--participant", shared[0], "--source", "IDC", home=mixed_home)
    assert 0 < only_idc["count"] < out["count"]


def test_without_the_extra_one_line_error(home: Path) -> None:
    code = (
        "import sys; sys.modules['idc_index_data'] = None; "
        "from htan_cds.cli.main import main; "
        "sys.exit(main(['--home', sys.argv[1], 'catalog', 'build', '--from-idc']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(home)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "htan-cds[idc]" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def _collection_dois() -> dict[str, str]:
    """collection_id -> DOI of its original data, straight from collections_index."""
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT collection_id, s.source_doi FROM "
        f"(SELECT collection_id, unnest(sources) AS s FROM "
        f"read_parquet('{_parquet('collections_index')}') WHERE lower(program_id) = 'htan' "
        f"OR starts_with(collection_id, 'htan_')) WHERE s.source_type = 'original_data'"
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


@pytest.mark.parametrize("fmt", ["text", "bibtex", "csl-json"])
def test_cite_gives_each_collection_doi_once(mixed_home: Path, fmt: str) -> None:
    dois = _collection_dois()
    result = run_cli("cite", "--format", fmt, home=mixed_home)
    assert result.returncode == 0, result.stderr
    for doi in dois.values():
        assert result.stdout.lower().count(f"doi.org/{doi.lower()}") >= 1
        if fmt == "bibtex":
            assert result.stdout.count(f"doi = {{{doi}}}") == 1
        if fmt == "csl-json":
            items = json.loads(result.stdout)
            assert [i["DOI"] for i in items].count(doi) == 1
    if fmt == "text":
        assert result.stdout.count("DOI: https://doi.org/") == len(dois)
    # The demo's files have no recorded citation: said, not hidden.
    assert "no citation recorded" in result.stderr and "local" in result.stderr


def test_cite_a_manifest_and_a_participant(mixed_home: Path, tmp_path: Path) -> None:
    dois = _collection_dois()
    manifest = tmp_path / "wustl.s5cmd"
    made = run_cli(
        "manifest",
        "create",
        "--center",
        "WUSTL",
        "--format",
        "s5cmd",
        "-o",
        str(manifest),
        home=mixed_home,
    )
    assert made.returncode == 0, made.stderr
    out = _json("cite", "--manifest", str(manifest), home=mixed_home)
    assert [c["doi"] for c in out["collections"]] == [dois["htan_wustl"]]
    assert out["collections"][0]["files"] == sum(
        1 for line in manifest.read_text().splitlines() if line.startswith("cp ")
    )
    bad = run_cli("cite", "--format", "ris", home=mixed_home)
    assert bad.returncode == 2 and "unknown citation format" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cite_every_row_of_a_mixed_manifest_is_accounted_for(
    mixed_home: Path, tmp_path: Path
) -> None:
    """s5cmd lines as people edit them (idc-index writes ``cp URL "DEST"``; users add
    ``--show-progress``, drop the ``/*``, use ``sync``, comment lines), a CGC manifest mixing an
    IDC series URL with demo files in compact and hostname forms, and rows no catalog file has:
    each cited once, or said to match nothing."""
    dois = _collection_dois()
    series = _json(
        "sql",
        "SELECT crdc_series_uuid, collection_id FROM files WHERE source = 'IDC' ORDER BY 1 LIMIT 2",
        home=mixed_home,
    )
    (u1, c1), (u2, c2) = ((r["crdc_series_uuid"], r["collection_id"]) for r in series["rows"])
    missing = "00000000-0000-4000-8000-000000000000"
    s5cmd = tmp_path / "edited.s5cmd"
    s5cmd.write_text(
        "# s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run edited.s5cmd\n"
        "\n"
        f"cp --show-progress s3://idc-open-data/{u1}/* .\n"
        f'cp "s3://idc-open-data/{u2}/*" "my folder/"\n'
        f"sync s3://idc-open-data/{u1}/ ./again\n"
        f"cp s3://idc-open-data/{missing}/* .\n"
    )
    out = _json("cite", "--manifest", str(s5cmd), home=mixed_home)
    got = {c["collection_id"]: c["files"] for c in out["collections"]}
    want: dict[str, int] = {}
    for coll in (c1, c2):
        want[coll] = want.get(coll, 0) + 1
    assert got == want
    assert sorted(c["doi"] for c in out["collections"]) == sorted(dois[c] for c in want)
    assert out["not_in_catalog"] == [f"s3://idc-open-data/{missing}/*"]

    demo = _json(
        "sql",
        "SELECT drs_id FROM files WHERE source = 'local' "
        "AND drs_id LIKE 'dg.HCDS/%' ORDER BY 1 LIMIT 3",
        home=mixed_home,
    )
    ids = [r["drs_id"] for r in demo["rows"]]
    prefix, _, acc0 = ids[0].partition("/")
    uri2 = _json("sql", f"SELECT drs_uri FROM files_v WHERE drs_id = '{ids[2]}'", home=mixed_home)
    cgc = tmp_path / "mixed.csv"
    cgc.write_text(
        "drs_uri,name\n"
        f"s3://idc-open-data/{u1}/*,series\n"
        f"drs://{prefix.upper()}:{acc0},a\n"
        f"{ids[1]},b\n"
        f"{uri2['rows'][0]['drs_uri']},c\n"
        f"drs://{prefix}:{missing},gone\n"
    )
    result = run_cli("cite", "--manifest", str(cgc), home=mixed_home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"1 manifest URIs match no file in the catalog (drs://{prefix}:{missing})" in (
        " ".join(result.stderr.split())
    )
    out = _json("cite", "--manifest", str(cgc), home=mixed_home)
    assert [c["collection_id"] for c in out["collections"]] == [c1]
    assert out["uncited"] == {"local": 3}
    assert out["not_in_catalog"] == [f"drs://{prefix}:{missing}"]


def test_manifest_create_mixed_sources(mixed_home: Path, tmp_path: Path) -> None:
    pid = "HTA9_1"
    found = _json("find", "--participant", pid, home=mixed_home)
    by_source: dict[str, int] = {}
    for f in found["files"]:
        by_source[f["source"]] = by_source.get(f["source"], 0) + 1
    assert by_source.get("IDC") and by_source.get("local")
    out = tmp_path / "cart.csv"
    report = _json("manifest", "create", "--participant", pid, "-o", str(out), home=mixed_home)
    assert report["rows"] == by_source["local"] and not report["not_written"]
    [companion] = report["companions"]
    lines = [
        ln for ln in Path(companion["output"]).read_text().splitlines() if ln.startswith("cp ")
    ]
    assert companion["rows"] == len(lines) == by_source["IDC"]
    assert all(f"htan_ohsu/{pid}/" in ln for ln in lines)
    # s5cmd output: the DRS rows are named as not written, with the reason.
    s5 = _json(
        "manifest",
        "create",
        "--participant",
        pid,
        "--format",
        "s5cmd",
        "-o",
        str(tmp_path / "only.s5cmd"),
        home=mixed_home,
    )
    assert s5["rows"] == by_source["IDC"]
    assert len(s5["not_written"]) == by_source["local"]
    assert all("s5cmd" in r["reason"] for r in s5["not_written"])
