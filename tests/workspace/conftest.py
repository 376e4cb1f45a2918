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
    """Write ``[workspace]`` settings into the home's config.toml."""
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
    token = make_token(home)
    with start_server(home, "--workspace", ready_path="/v2/user") as server:
        yield Workspace(server=server, token=token, home=home)


@pytest.fixture(scope="module")
def demo_files(demo_home: Path) -> list[dict[str, object]]:
    """The demo commons' smallest files (drs_id, name, size, sha256), read from its catalog."""
    from htan_cds.catalog import Catalog
    from htan_cds.config import DataHome

    catalog = Catalog.open(DataHome.open(demo_home), read_only=True)
    try:
        frame = catalog.find(None, sort="size", limit=12)
    finally:
        close = getattr(catalog, "close", None)
        if callable(close):
            close()
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
