"""Column names as people retype them in a spreadsheet ("DRS URI", "File Name", "drs-uri").

A retitled name column is still the name column (case, spaces, hyphens and underscores alike);
a retitled DRS column that no format claims is named in the one-line error with what to do, and
the hint offers only options the command has (``import`` takes no ``--drs-column``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

URI = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"


@pytest.mark.parametrize("drs", ["DRS URI", "drs-uri", "Drs Uri", "drs uri"])
def test_a_retitled_drs_column_is_named_in_the_error(drs: str, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f"File Name,{drs}\na.tif,{URI}\n")
    for args in (["manifest", "check", str(path)], ["import", str(path), "--to", "d"]):
        result = run_cli(*args, home=tmp_path / "home")
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert f"column {drs!r} looks like the DRS URIs: rename it drs_uri" in lines[0]
    # What the hint offers works, and the retitled name column is found without being named.
    result = run_cli("manifest", "check", str(path), "--drs-column", drs, "--json")
    assert result.returncode == 0, result.stderr
    assert '"warnings": 0' in result.stdout  # no name_missing: "File Name" is the name column


@pytest.mark.parametrize("name", ["File Name", "file-name", "FILENAME", "Name"])
def test_a_retitled_name_column_is_the_name(name: str, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(f"{name},drs_uri\nscan 1.tif,{URI}\n")
    target = tmp_path / "out.csv"
    result = run_cli("manifest", "convert", str(path), "--to", "cgc", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text().splitlines()[1] == f"scan 1.tif,{URI}"


def test_an_unrelated_header_keeps_the_general_hint(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("entityId,Filename\nsyn1,a.tif\n")
    result = run_cli("manifest", "check", str(path))
    assert result.returncode == 2 and "give manifest check/convert --drs-column" in result.stderr
