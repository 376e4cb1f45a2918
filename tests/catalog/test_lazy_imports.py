"""Opening the catalog does not import what only some commands need: sqlglot (only `sql`
queries are parsed) costs ~0.15 s of every find/facets/catalog build otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def test_catalog_modules_leave_sqlglot_unimported() -> None:
    code = (
        "import sys; import htan_cds.catalog, htan_cds.catalog.store, "
        "htan_cds.catalog.sources.idc; print('sqlglot' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False", result.stdout


def test_sql_still_checks_queries_once_sqlglot_is_imported_late(home: Path) -> None:
    built = run_cli("demo", "--no-serve", "--scale", "50", "--metadata-only", home=home)
    assert built.returncode == 0, built.stderr
    refused = run_cli("sql", "DELETE FROM files", home=home)
    assert refused.returncode != 0
    assert "read-only" in (refused.stderr + refused.stdout)
    counted = run_cli("sql", "SELECT count(*) AS n FROM files", "--json", home=home)
    assert counted.returncode == 0, counted.stderr
    assert "50" in counted.stdout
