"""Fixtures of the server tests: a small test commons, in-process clients, real processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from htan_cds.server import ServerConfig, create_app
from tests._servers import ServerProcess, start_server
from tests.server._catalog import SampleCommons, build_commons


@pytest.fixture(scope="session")
def commons(tmp_path_factory: pytest.TempPathFactory) -> SampleCommons:
    """The server area's own test commons (built once per session)."""
    return build_commons(tmp_path_factory.mktemp("server-commons") / "home")


@pytest.fixture(scope="session")
def client(commons: SampleCommons) -> Iterator[TestClient]:
    """The real ASGI app in-process, public URL http://127.0.0.1:8000."""
    app = create_app(ServerConfig(home=commons.home))
    with TestClient(app, base_url="http://127.0.0.1:8000") as tc:
        yield tc


@pytest.fixture(scope="session")
def client12(commons: SampleCommons) -> Iterator[TestClient]:
    """The app in the ``--drs-compat 1.2`` profile."""
    app = create_app(ServerConfig(home=commons.home, drs_compat="1.2"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as tc:
        yield tc


@pytest.fixture(scope="session")
def live_server(commons: SampleCommons) -> Iterator[ServerProcess]:
    """``htan-cds serve`` on the test commons, a real process on loopback."""
    with start_server(commons.home.root) as server:
        yield server


@pytest.fixture(scope="session")
def live_server12(commons: SampleCommons) -> Iterator[ServerProcess]:
    """``htan-cds serve --drs-compat 1.2`` on the test commons."""
    with start_server(commons.home.root, "--drs-compat", "1.2") as server:
        yield server
