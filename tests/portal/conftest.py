"""Portal fixtures: the real commons app in-process on the demo home, and plain SQL to check it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"


def _app(home: Path, **config: Any) -> Any:
    from htan_cds.config import DataHome
    from htan_cds.server import ServerConfig, create_app

    return create_app(ServerConfig(home=DataHome.open(home), **config))


@pytest.fixture(scope="session")
def portal_client(demo_home: Path) -> Iterator[TestClient]:
    """The real ``create_app`` app on the demo commons, called in-process."""
    with TestClient(_app(demo_home, port=8000), base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def short_ttl_client(demo_home: Path) -> Iterator[TestClient]:
    """The same app with a 1-second export TTL, to watch signed links expire."""
    app = _app(demo_home, port=8000, export_ttl=1, export_target="http://127.0.0.1:9/receive")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture(scope="session")
def catalog_sql(demo_home: Path) -> Iterator[Any]:
    """A plain read-only DuckDB connection to the demo catalog: the independent answer."""
    import duckdb

    con = duckdb.connect(str(demo_home / "catalog.duckdb"), read_only=True)
    yield con
    con.close()
