"""The portal with IDC's series beside the demo's files: a real server process on loopback.

The demo catalog is copied and IDC's HTAN collections are added from the installed
``idc-index-data``; expected ids, DOIs and viewer URLs are computed from the wheel's Parquet
files in the test. Slim links are only compared as text, never fetched.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pytest

from tests._servers import ServerProcess, start_server
from tests.conftest import run_cli

idc_index_data = pytest.importorskip("idc_index_data", reason="idc-index-data is not installed")

PARTICIPANT = "HTA9_1"  # in the demo (HTAN OHSU's first participant) and in htan_ohsu


@pytest.fixture(scope="module")
def mixed_server(
    demo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("portal-idc")
    shutil.copy(demo_home / "catalog.duckdb", home / "catalog.duckdb")
    built = run_cli("catalog", "build", "--from-idc", home=home)
    assert built.returncode == 0, built.stderr
    with start_server(home) as server:
        yield server


def _get(server: ServerProcess, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=30) as resp:
        body = resp.read().decode()
    return json.loads(body) if path.startswith("/api/") else body


def _post(server: ServerProcess, path: str, payload: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _series() -> dict[str, Any]:
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT crdc_series_uuid, StudyInstanceUID, SeriesInstanceUID, source_DOI "
            f"FROM read_parquet('{idc_index_data.IDC_INDEX_PARQUET_FILEPATH}') "
            f"WHERE PatientID = '{PARTICIPANT}' AND collection_id = 'htan_ohsu'"
        )
        .fetchall()
    )
    assert rows
    return {"rows": rows, "dois": {r[3] for r in rows}}


def test_participant_shows_demo_and_idc_files(mixed_server: ServerProcess) -> None:
    page = _get(mixed_server, f"/api/files?participant={PARTICIPANT}&limit=500")
    sources = {row["source"] for row in page["rows"]} if "rows" in page else set()
    if not sources:
        sources = {row["source"] for row in page.get("files", page.get("items", []))}
    assert sources == {"local", "IDC"}
    facets = {f["name"]: f for f in _get(mixed_server, "/api/facets")["facets"]}
    values = {v["value"] for v in facets["source"]["values"]}
    assert values == {"local", "IDC"}


def test_idc_file_page_links_to_slim(mixed_server: ServerProcess) -> None:
    uuid, study, series, _doi = _series()["rows"][0]
    html = _get(mixed_server, f"/file/idc/{uuid}")
    base = "https://viewer.imaging.datacommons.cancer.gov/slim/studies/"
    assert f'href="{base}{quote(study, safe="")}"' in html
    assert f'href="{base}{quote(study, safe="")}/series/{quote(series, safe="")}"' in html
    record = _get(mixed_server, f"/api/file/idc/{uuid}")
    assert {link["kind"] for link in record["viewer_links"]} == {"slim_study", "slim_series"}


def test_cart_citations(mixed_server: ServerProcess) -> None:
    expected = _series()["dois"]
    cart = {"filters": [{"participant": [PARTICIPANT]}], "ids": [], "removed": []}
    result = _post(mixed_server, "/api/cart/citations", {"cart": cart})
    dois = [c["doi"] for c in result["collections"]]
    assert sorted(dois) == sorted(expected) and len(dois) == len(set(dois))
    assert result["uncited"] == {"local": result["uncited"]["local"]}
    for doi in expected:
        assert result["text"].count(f"https://doi.org/{doi}") == 1
    html = _get(mixed_server, "/cart")
    assert 'data-testid="cart-citations"' in html
