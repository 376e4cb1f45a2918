"""Fixtures of the security suite: a served copy of the demo commons with a controlled image."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._servers import ServerProcess, start_server
from tests.conftest import run_cli


@dataclass
class Commons:
    """A data home being served, and what its catalog says (read with plain DuckDB)."""

    home: Path
    controlled: list[dict[str, Any]]
    open: list[dict[str, Any]]


def copy_home(source: Path, dest: Path) -> Path:
    """A copy of a data home: object files hard-linked (read-only content), the rest copied."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("objects", "*.lock", "*.wal"))
    if (source / "objects").is_dir():
        shutil.copytree(source / "objects", dest / "objects", copy_function=os.link)
    return dest


def catalog_rows(home: Path, where: str) -> list[dict[str, Any]]:
    """Rows of ``files`` (plus channel names) by plain DuckDB: the independent view."""
    import duckdb

    con = duckdb.connect(str(home / "catalog.duckdb"), read_only=True)
    try:
        cur = con.execute(
            "SELECT f.*, (SELECT list(c.Channel_Name) FROM channels c WHERE c.drs_id = f.drs_id) "
            f"AS channel_names FROM files f WHERE {where}"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="session")
def secure_commons(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Commons:
    """The demo commons plus one controlled multi-channel OME-TIFF (imaging rows, channels)."""
    from htan_cds.imaging.synthetic import write_synthetic_ome_tiff

    base = tmp_path_factory.mktemp("secure")
    home = copy_home(demo_home, base / "home")
    images = base / "controlled-images"
    images.mkdir()
    write_synthetic_ome_tiff(
        images / "secret_patient_scan.ome.tif",
        width=256,
        height=256,
        tile=128,
        channel_names=["DAPI", "SecretMarkerCD99"],
    )
    result = run_cli("--home", str(home), "ingest", str(images), "--access", "controlled:phs002371")
    assert result.returncode == 0, result.stderr
    return Commons(
        home=home,
        controlled=catalog_rows(home, "lower(coalesce(access, 'open')) <> 'open'"),
        open=catalog_rows(home, "lower(coalesce(access, 'open')) = 'open'"),
    )


@pytest.fixture(scope="session")
def secure_server(secure_commons: Commons) -> Iterator[ServerProcess]:
    """``htan-cds serve --workspace`` on the secure commons, a real process on loopback."""
    with start_server(secure_commons.home, "--workspace", "--header-timeout", "2") as server:
        yield server
