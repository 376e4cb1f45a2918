"""The idc source finds the installed idc-index-data files without importing the package
(its __init__ reads the distribution's RECORD and every schema: most of a CLI call's wait),
and finds exactly the files and version the package itself names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

idc_index_data = pytest.importorskip("idc_index_data", reason="needs the [idc] extra")


def test_located_files_are_the_packages_own() -> None:
    from htan_cds.catalog.sources.idc import installed_index

    index = installed_index()
    meta = idc_index_data.INDEX_METADATA
    assert index.series == Path(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)
    assert index.collections == Path(meta["collections_index"]["parquet_filepath"])
    versions = meta.get("version_metadata_index", {}).get("parquet_filepath")
    assert index.versions == (Path(versions) if versions else None)
    assert index.package_version == idc_index_data.__version__


def test_locating_does_not_import_the_package() -> None:
    code = (
        "import sys; from htan_cds.catalog.sources.idc import installed_index; "
        "index = installed_index(); print(index.series.name, 'idc_index_data' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["idc_index.parquet", "False"]
