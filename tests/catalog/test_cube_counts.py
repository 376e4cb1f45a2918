"""Facet counts of a read-only catalog come from its cube's rows in memory
(``catalog/cube.py``); they must equal a scan of ``files`` for every facet filter: values
matched exactly, a facet's own constraint ignored for its counts, NULLs never listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.filters import FACET_COLUMNS
from htan_cds.catalog.scale import build_scaled
from htan_cds.config import DataHome

_SCAN = ("TRUE", [])  # a restriction sends facets() to the SQL scan of files


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic files plus IDC's series (NULL levels and releases, a second source)."""
    root = tmp_path_factory.mktemp("cube-home")
    home = DataHome.open(root)
    build_scaled(home, files=3000, seed=4)
    try:
        from htan_cds.catalog.sources.idc import build_from_idc

        build_from_idc(home)
    except Exception as exc:  # the [idc] extra is optional; the synthetic rows still test
        print(f"without IDC rows: {exc}")
    return root


@pytest.fixture(scope="module")
def values(mixed: Path) -> dict[str, list[str]]:
    with Catalog.open(DataHome.open(mixed), read_only=True) as cat:
        scanned = cat.facets(FileFilter(), restrict=_SCAN)
    return {facet: [v for v, _ in counts] for facet, counts in scanned.items()}


def test_the_cube_answers_read_only_facets_from_memory(mixed: Path) -> None:
    with Catalog.open(DataHome.open(mixed), read_only=True) as cat:
        rows = cat.cube_rows()
        assert rows, "a current cube is read into memory"
        assert sum(int(r[-1]) for r in rows) == cat.count()
    with Catalog.open(DataHome.open(mixed)) as writable:
        assert writable.cube_rows() is None  # writers keep asking DuckDB


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_cube_counts_equal_a_scan_of_files(
    mixed: Path, values: dict[str, list[str]], data: st.DataObject
) -> None:
    chosen: dict[str, list[str]] = {}
    for facet in data.draw(st.lists(st.sampled_from(list(FACET_COLUMNS)), max_size=3)):
        known = values[facet] or ["none"]
        picks = data.draw(st.lists(st.sampled_from([*known, "no such value"]), min_size=1))
        chosen[facet] = list(dict.fromkeys(picks))
    if "access" in chosen:
        chosen["access"] = [v for v in chosen["access"] if v in ("open", "controlled")] or ["open"]
    flt = FileFilter(**chosen)
    with Catalog.open(DataHome.open(mixed), read_only=True) as cat:
        assert cat.facets(flt) == cat.facets(flt, restrict=_SCAN), chosen
