"""Fixtures of the workspace tests: a workspace server (its own home) beside the demo commons."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._servers import ServerProcess, start_server


@dataclass
class Workspace:
    """A running ``htan-cds serve --workspace`` and a token of its user ``alice``."""

    server: ServerProcess
    token: str
    home: Path

    @property
    def api_url(self) -> str:
        return self.server.url + "/v2"


def make_token(home: Path, label: str = "alice") -> str:
    """A workspace token minted the way ``htan-cds token create`` mints it."""
    from htan_cds.config import DataHome
    from htan_cds.server.tokens import TokenStore

    return TokenStore(DataHome.open(home)).create(["open"], label=label)


def write_workspace_config(home: Path, **values: object) -> None:
    """Write ``[workspace]`` settings into the home's config.toml.

    Tests' commons run on loopback, which the workspace's outgoing-connection guard refuses
    unless allowed: ``allow_hosts`` defaults to 127.0.0.1 here, as the docs tell operators.
    """
    values.setdefault("allow_hosts", ["127.0.0.1"])
    lines = ["[workspace]"]
    for key, value in values.items():
        lines.append(
            f"{key} = {value!r}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}"
        )
    (home / "config.toml").write_text("\n".join(lines).replace("'", '"') + "\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace server with CGC's default limits (100 items per call)."""
    home = tmp_path_factory.mktemp("ws") / "home"
    home.mkdir()
    write_workspace_config(home)
    token = make_token(home)
    with start_server(home, "--workspace", ready_path="/v2/user") as server:
        yield Workspace(server=server, token=token, home=home)


@pytest.fixture(scope="module")
def demo_files(demo_home: Path) -> list[dict[str, object]]:
    """The demo commons' smallest files (drs_id, name, size, sha256), read from its catalog."""
    from htan_cds.catalog import Catalog, FileFilter
    from htan_cds.config import DataHome

    with Catalog.open(DataHome.open(demo_home), read_only=True) as catalog:
        frame = catalog.find(FileFilter(access=["open"]), sort="size", limit=12)
    return [
        {"drs_id": r["drs_id"], "name": r["name"], "size": int(r["size"]), "sha256": r["sha256"]}
        for r in frame.to_dict("records")
    ]


def drs_uri(server: ServerProcess, drs_id: str) -> str:
    """The URI of a commons object at the server's real port."""
    return f"drs://127.0.0.1:{server.port}/{drs_id}"


def clone_commons(demo_home: Path, dest: Path, port: int) -> Path:
    """A copy of the demo home whose DRS authority is ``127.0.0.1:port`` (objects hard-linked)."""
    import duckdb

    dest.mkdir(parents=True)
    shutil.copytree(demo_home / "objects", dest / "objects", copy_function=os.link)
    shutil.copy2(demo_home / "catalog.duckdb", dest / "catalog.duckdb")
    for name in ("secret.key",):
        if (demo_home / name).exists():
            shutil.copy2(demo_home / name, dest / name)
    con = duckdb.connect(str(dest / "catalog.duckdb"))
    try:
        con.execute(
            "UPDATE commons_meta SET value = ? WHERE key = 'drs_authority'", [f"127.0.0.1:{port}"]
        )
    finally:
        con.close()
    return dest


@pytest.fixture
def sdk() -> Callable[[Workspace], object]:
    """The real sevenbridges SDK pointed at a workspace (``debug=True`` allows plain http)."""
    import sevenbridges as sbg

    def make(ws: Workspace, token: str | None = None) -> object:
        return sbg.Api(url=ws.api_url, token=token or ws.token, debug=True)

    return make


@dataclass
class Pair:
    """A commons (demo data, exporting to the workspace) and a workspace, both on loopback."""

    commons: ServerProcess
    workspace: Workspace


@pytest.fixture(scope="module")
def pair(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two servers: ``serve --export-target <workspace>/import-redirect/drs/csv`` and
    ``serve --workspace``; the commons' DRS authority is its real port."""
    from tests.conftest import free_port

    root = tmp_path_factory.mktemp("pair")
    commons_port, ws_port = free_port(), free_port()
    commons_home = clone_commons(demo_home, root / "commons", commons_port)
    ws_home = root / "ws"
    ws_home.mkdir()
    write_workspace_config(ws_home)
    token = make_token(ws_home)
    target = f"http://127.0.0.1:{ws_port}/import-redirect/drs/csv"
    with (
        start_server(ws_home, "--workspace", port=ws_port, ready_path="/v2/user") as ws,
        start_server(commons_home, "--export-target", target, port=commons_port) as commons,
    ):
        yield Pair(commons=commons, workspace=Workspace(server=ws, token=token, home=ws_home))
