"""``manifest create`` and the portal's manifest download: one writer, the same manifest.

The portal is the real app in-process on the demo commons; the CLI is the real entry point on
the same data home. Open files only, so the comparison does not depend on who may see
controlled metadata.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from htan_cds.manifest import ManifestReader, ManifestRow
from tests.conftest import run_cli

STUDY = "HTAN TNP SARDANA"
ASSAY = "t-CyCIF"


@pytest.fixture(scope="module")
def portal(demo_home: Path) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from htan_cds.config import DataHome
    from htan_cds.server import ServerConfig, create_app

    app = create_app(ServerConfig(home=DataHome.open(demo_home), port=8000))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def _rows(text: str) -> tuple[str, list[ManifestRow]]:
    with ManifestReader(io.StringIO(text, newline="")) as reader:
        return reader.format, list(reader)


def _comparable(rows: list[ManifestRow]) -> list[tuple[str, str | None, dict[str, str]]]:
    # The portal names this commons by its public address, the CLI by the catalog's authority:
    # compare URIs by their DRS id.
    return sorted((r.drs_uri.split("/", 3)[3], r.name, r.metadata) for r in rows)


@pytest.mark.parametrize("fmt", ["cds-portal", "cgc", "htan-portal", "gen3", "terra"])
def test_cli_and_portal_write_the_same_manifest(
    portal: Any, demo_home: Path, tmp_path: Path, fmt: str
) -> None:
    cart = {"filters": [{"atlas": [STUDY], "assay": [ASSAY], "access": ["open"]}]}
    response = portal.post("/api/cart/manifest", data={"cart": json.dumps(cart), "format": fmt})
    assert response.status_code == 200, response.text
    out = tmp_path / f"cli.{fmt}"
    result = run_cli(
        "manifest", "create", "--atlas", STUDY, "--assay", ASSAY, "--access", "open",
        "--format", fmt, "-o", str(out), home=demo_home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    portal_format, portal_rows = _rows(response.content.decode("utf-8-sig"))
    cli_format, cli_rows = _rows(out.read_bytes().decode("utf-8-sig"))
    # Each reads back as the format it was written in, and both hold the same rows.
    assert portal_format == cli_format == fmt
    assert portal_rows and _comparable(portal_rows) == _comparable(cli_rows)
    if fmt == "cds-portal":
        # What the CDS portal's cart download fills: participant, checksum, size.
        for row in cli_rows:
            assert row.metadata["Participant ID"].startswith("HTA")
            assert len(row.metadata["Md5sum"]) == 32
            assert int(row.metadata["File Size (in bytes)"]) > 0


def test_catalog_manifests_escape_formula_cells(tmp_path: Path) -> None:
    from datetime import datetime

    from htan_cds.catalog import Catalog
    from htan_cds.catalog.manifest_writer import write_selection_manifest
    from htan_cds.config import DataHome

    home = DataHome.open(tmp_path / "home")
    with Catalog.open(home) as catalog:
        catalog.set_meta("drs_authority", "127.0.0.1:9999")
        catalog.insert_rows(
            "files",
            [
                {
                    "drs_id": "dg.HCDS/f1",
                    "name": "=HYPERLINK(1)",
                    "atlas_name": "+SUM(A1)",
                    "HTAN_Center": "@evil",
                    "HTAN_Data_File_ID": "-1",
                    "access": "open",
                    "created_time": datetime(2024, 1, 1),
                }
            ],
        )
        for fmt in ("cgc", "cds-portal", "htan-portal", "terra"):
            out = io.StringIO(newline="")
            write_selection_manifest(catalog, ("TRUE", []), fmt, out)
            text = out.getvalue()
            for value in ("=HYPERLINK(1)", "+SUM(A1)", "@evil"):
                assert f"'{value}" in text, (fmt, text)
            _, (row,) = _rows(text)
            assert row.name == "=HYPERLINK(1)"
            assert "+SUM(A1)" in row.metadata.values() and "@evil" in row.metadata.values()
        out = io.StringIO()
        write_selection_manifest(catalog, ("TRUE", []), "gen3", out)
        assert '"file_name":"=HYPERLINK(1)"' in out.getvalue().replace(" ", "")
