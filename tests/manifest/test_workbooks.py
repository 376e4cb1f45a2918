"""Manifests saved as spreadsheet workbooks (Excel's default "Save" of the CDS portal's CSV).

Workbooks are written here with openpyxl (the library that reads them); the ``.xls`` and
``.ods`` inputs carry the real signatures of those formats (OLE2 compound file; OpenDocument's
``mimetype`` member, ODF 1.2 part 3 §3.3).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from htan_cds.errors import ManifestError
from htan_cds.manifest import read_manifest
from htan_cds.manifest.encodings import decode_bytes
from tests.conftest import run_cli

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/0a1b2c3d-0000-4000-8000-000000000001"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/0a1b2c3d-0000-4000-8000-000000000002"


def _workbook(path: Path, sheets: dict[str, list[list[object]]], active: int = 0) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.active = active
    book.save(path)
    return path


def _run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    # TMPDIR is the test's folder, so a temporary sheet left behind would be seen.
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-m", "htan_cds", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_an_xlsx_reads_as_its_csv_save_would(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["name", "drs_uri", "File Size (in bytes)", "ratio", "public", "Data Release"],
        ["a.tif", U1, 123456789012, 0.5, True, dt.datetime(2024, 5, 1)],
        [None, None, None, None, None, None],  # a row the user cleared
        ["b.tif", U2, 42.0, 1.25, False, "Release 5.0"],
    ]
    path = _workbook(tmp_path / "cart.xlsx", {"cart": rows})
    read = read_manifest(path)
    assert [(r.name, r.drs_uri) for r in read] == [("a.tif", U1), ("b.tif", U2)]
    assert read[0].metadata["File Size (in bytes)"] == "123456789012"  # no ".0"
    assert read[1].metadata["File Size (in bytes)"] == "42"
    assert read[0].metadata["public"] == "TRUE" and read[0].metadata["ratio"] == "0.5"
    assert read[0].metadata["Data Release"] == "2024-05-01T00:00:00"
    (tmp_path / "work").mkdir()
    result = _run("manifest", "check", str(path), "--json", tmp=tmp_path / "work")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == 2 and report["blank_rows"] == 1 and report["errors"] == 0
    # A workbook has no delimiter or text encoding (its private CSV copy does not count).
    assert report["delimiter"] is None and report["encoding"] == "xlsx"
    said = _run("manifest", "check", str(path), tmp=tmp_path / "work").stderr
    assert "cgc, xlsx, 2 rows" in said and "separated" not in said
    out = tmp_path / "cgc.csv"
    converted = _run(
        "manifest",
        "convert",
        str(path),
        "--fix",
        "--to",
        "cgc",
        "-o",
        str(out),
        tmp=tmp_path / "work",
    )
    assert converted.returncode == 0, converted.stderr
    assert "(cgc, xlsx, 2 rows" in converted.stderr
    assert out.read_text().splitlines()[1].startswith("a.tif," + U1)
    assert list((tmp_path / "work").iterdir()) == []  # the temporary sheet is gone


def test_the_sheet_the_workbook_opens_at_is_read_and_named(tmp_path: Path) -> None:
    sheets: dict[str, list[list[object]]] = {
        "notes": [["just", "notes"]],
        "filtered": [["drs_uri", "name"], [U2, "b.tif"]],
    }
    path = _workbook(tmp_path / "two.xlsx", sheets, active=1)
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == 1 and report["counts"] == {"workbook_sheet": 1}
    assert report["findings"][0]["value"] == "filtered"


def _xls(path: Path) -> None:
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))  # OLE2 header signature


def _ods(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("m.csv", f"drs_uri\n{U1}\n")


@pytest.mark.parametrize(
    ("make", "needle"), [(_xls, ".xls"), (_ods, ".ods"), (_zip, "zip archive")]
)
def test_other_workbooks_get_one_line_saying_what_they_are(
    tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    path = tmp_path / "input"
    make(path)
    result = run_cli("manifest", "check", str(path))
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(ManifestError, match=needle.replace(".", r"\.")):
        decode_bytes(path.read_bytes(), "upload")


def test_a_workbook_piped_in_is_read_from_its_spooled_copy(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "cart.xlsx", {"cart": [["drs_uri", "name"], [U1, "a.tif"]]})
    work = tmp_path / "work"
    work.mkdir()
    fed = subprocess.run(
        [sys.executable, "-m", "htan_cds", "manifest", "check", "-", "--json"],
        input=path.read_bytes(),
        capture_output=True,
        env={**os.environ, "TMPDIR": str(work)},
        timeout=120,
    )
    assert fed.returncode == 0, fed.stderr
    assert json.loads(fed.stdout)["rows"] == 1
    assert list(work.iterdir()) == []  # stdin's copy and the sheet are both removed


def test_a_damaged_workbook_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    with pytest.raises(ManifestError, match="not a readable workbook"):
        read_manifest(path)
