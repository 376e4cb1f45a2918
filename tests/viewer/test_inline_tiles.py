"""Tiles answered on the event loop (no hop to a worker thread) when the answer is at hand or
cheap, and from a worker thread otherwise: the same bytes either way, the same refusals, and
nothing on the loop that may block (opening an image, reloading the catalog, computing
display ranges, a large render)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from htan_cds.imaging.readers import open_reader
from htan_cds.imaging.tiles import AutoRanges
from htan_cds.server import ServerConfig, create_app, iiif_routes
from htan_cds.server.objects import ObjectRepository
from htan_cds.server.tokens import TokenStore
from tests.viewer._commons import GROUP, ViewerCommons


@pytest.fixture
def fresh(viewer_commons: ViewerCommons) -> Iterator[TestClient]:
    """An app of its own: no image open, no tile rendered."""
    app = create_app(ServerConfig(home=viewer_commons.home))
    with TestClient(app, base_url="http://127.0.0.1:8000") as tc:
        yield tc


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests that were handed to a worker thread."""
    seen: list[str] = []
    original = iiif_routes.run_in_threadpool

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        seen.append(args[0].url.path)
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(iiif_routes, "run_in_threadpool", counting)
    return seen


def _url(commons: ViewerCommons, role: str, suffix: str) -> str:
    return "/iiif/3/" + quote(commons.id(role), safe="") + suffix


def test_first_view_in_a_worker_then_tiles_on_the_loop_with_the_same_bytes(
    fresh: TestClient, viewer_commons: ViewerCommons, hops: list[str]
) -> None:
    # Display ranges kept on disk by other tests' views would count as computed.
    shutil.rmtree(Path(viewer_commons.home.thumbnails_dir) / "ranges", ignore_errors=True)
    tile = _url(viewer_commons, "mif", "/256,512,256,256/256,256/0/default.jpg")
    first = fresh.get(tile, params={"channels": "0,2,4"})  # opens the image, computes ranges
    assert first.status_code == 200 and len(hops) == 1
    other = fresh.get(tile.replace("256,512,", "512,512,"), params={"channels": "0,2,4"})
    again = fresh.get(tile, params={"channels": "0,2,4"})
    assert other.status_code == 200 and other.headers["x-tile-cache"] == "miss"
    assert again.headers["x-tile-cache"] == "hit" and again.content == first.content
    assert len(hops) == 1  # both answered on the event loop
    # The same tile rendered on the loop is the one a worker renders.
    fresh.app.state.rendered_tiles.clear()  # type: ignore[attr-defined]
    inline = fresh.get(tile, params={"channels": "0,2,4"})
    assert inline.headers["x-tile-cache"] == "miss" and inline.content == first.content
    assert len(hops) == 1
    # Channels never shown before need their automatic range: computed in a worker.
    assert fresh.get(tile, params={"channels": "1"}).status_code == 200 and len(hops) == 2


@pytest.mark.parametrize(
    ("suffix", "why"),
    [
        ("/full/max/0/default.jpg", "a large render"),
        ("/0,0,256,256/256,256/0/default.png", "PNG"),
        ("/0,0,256,256/256,256/30/default.jpg", "a rotation off the right angles"),
        ("/channels.json", "channels.json"),
    ],
)
def test_large_or_slow_work_goes_to_a_worker(
    fresh: TestClient, viewer_commons: ViewerCommons, hops: list[str], suffix: str, why: str
) -> None:
    assert fresh.get(_url(viewer_commons, "flat", "/info.json")).status_code == 200  # opens it
    hops.clear()
    response = fresh.get(_url(viewer_commons, "flat", suffix), params={"channels": "0"})
    assert response.status_code == 200, why
    assert len(hops) == 1, why


def test_controlled_tiles_on_the_loop_are_refused_without_a_grant(
    fresh: TestClient, viewer_commons: ViewerCommons, hops: list[str]
) -> None:
    store = TokenStore(viewer_commons.home)
    good = store.create([GROUP], label="inline tiles test")
    wrong = store.create(["phs000999"], label="inline tiles test, other study")
    tile = _url(viewer_commons, "pages", "/0,0,256,256/256,256/0/default.jpg")
    bearer = {"Authorization": f"Bearer {good}"}
    assert fresh.get(tile, headers=bearer).status_code == 200  # opened in a worker
    hops.clear()
    fresh.app.state.rendered_tiles.clear()  # type: ignore[attr-defined]
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {wrong}"}, 403)):
        refused = fresh.get(tile.replace("0,0,", "256,0,"), headers=headers)
        assert refused.status_code == status and "x-tile-cache" not in refused.headers
    allowed = fresh.get(tile.replace("0,0,", "256,0,"), headers=bearer)
    assert allowed.status_code == 200 and allowed.headers["cache-control"].startswith("private")
    assert hops == []  # all answered on the loop, refusals included
    store.revoke(good)
    assert fresh.get(tile.replace("0,0,", "256,0,"), headers=bearer).status_code == 401


def test_a_changed_catalog_is_reloaded_in_a_worker(
    fresh: TestClient, viewer_commons: ViewerCommons, hops: list[str]
) -> None:
    tile = _url(viewer_commons, "mif", "/0,0,256,256/256,256/0/default.jpg")
    assert fresh.get(tile).status_code == 200
    repo: ObjectRepository = fresh.app.state.drs.repo  # type: ignore[attr-defined]
    repo._checked -= repo.check_interval  # the next request checks the file
    stat = repo.catalog_path.stat()
    os.utime(repo.catalog_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        hops.clear()
        assert repo.snapshot_nowait() is None
        assert fresh.get(tile).status_code == 200 and len(hops) == 1
        assert repo.snapshot_nowait() is not None  # reloaded by the worker
    finally:
        os.utime(repo.catalog_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_known_ranges_never_compute_or_wait(viewer_commons: ViewerCommons) -> None:
    reader = open_reader(viewer_commons.entries["mif"].path)
    try:
        ranges = AutoRanges()
        assert ranges.known(reader, [0, 1]) is None  # not computed yet
        computed = ranges.get(reader, [0])
        assert ranges.known(reader, [0]) == computed
        assert ranges.known(reader, [0, 1]) is None  # channel 1 still missing
        busy, release = threading.Event(), threading.Event()

        def hold() -> None:
            with ranges._lock:  # another thread computing ranges
                busy.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        busy.wait(10)
        try:
            assert ranges.known(reader, [0]) is None
        finally:
            release.set()
            holder.join()
        assert ranges.known(reader, [0]) == computed
    finally:
        reader.close()
