"""The IIIF Image API validator (iiif-validator on PyPI, the IIIF community's own test suite)
against a real ``htan-cds serve`` process holding the official validation image.

The validator asks for the fixed identifier ``67352ccc-d1b0-11e1-89ae-279075081939``; the image
is ingested with that value as its HTAN Data File ID, which the DRS object lists in ``aliases``
and the IIIF service accepts as an identifier (docs/viewer.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._servers import start_server
from tests.conftest import run_cli, shared_path

IDENTIFIER = "67352ccc-d1b0-11e1-89ae-279075081939"


def _validator() -> str:
    found = shutil.which("iiif-validate.py") or str(
        Path(sys.executable).parent / "iiif-validate.py"
    )
    if not Path(found).exists():
        pytest.skip("iiif-validator is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.network
@pytest.mark.slow
def test_iiif_validator_level_1_and_2(tmp_path: Path) -> None:
    image = shared_path("data", "iiif", f"{IDENTIFIER}.png")
    validator = _validator()
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(image, folder / image.name)
    metadata = tmp_path / "metadata.csv"
    metadata.write_text(f"Filename,HTAN_Data_File_ID\n{image.name},{IDENTIFIER}\n")
    home = tmp_path / "home"
    result = run_cli("--home", str(home), "ingest", str(folder), "--metadata", str(metadata))
    assert result.returncode == 0, result.stderr
    with start_server(home) as server:
        for level in ("1", "2"):
            run = subprocess.run(
                [
                    sys.executable,
                    validator,
                    "--server",
                    f"127.0.0.1:{server.port}",
                    "--prefix",
                    "iiif/3",
                    "--identifier",
                    IDENTIFIER,
                    "--version=3.0",
                    "--level",
                    level,
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            report = run.stdout + run.stderr
            assert run.returncode == 0, report
            assert "0 failures" in report and "FAIL" not in report, report
