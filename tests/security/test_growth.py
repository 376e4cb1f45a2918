"""Unbounded growth (issue 11, item 6): saved carts, signed exports and thumbnails stay under
their caps, and no other website can make its visitors save carts.

Before the fix any web page could make its visitors' browsers save carts (57 MB in 2.5 s), and
a client asking for every thumbnail size filled 297 MiB in 40 s; nothing was ever pruned.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError
from htan_cds.imaging.thumbnails import thumbnail_path
from htan_cds.server.caps import MIB, FolderCap, FolderLimits
from tests._servers import ServerProcess, start_server
from tests.security.conftest import Commons, copy_home

_LIMITS = """
[limits]
saved_carts = 20
saved_cart_mib = 1
exports = 5
thumbnails = 8
"""


@pytest.fixture(scope="module")
def limited_server(
    demo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``htan-cds serve`` on a copy of the demo commons whose ``[limits]`` are small."""
    home = copy_home(demo_home, tmp_path_factory.mktemp("limited") / "home")
    (home / "config.toml").write_text(_LIMITS)
    with start_server(home) as server:
        yield server


def _same_site(server: ServerProcess) -> dict[str, str]:
    return {"sec-fetch-site": "same-origin", "origin": server.url}


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
        {"sec-fetch-site": "same-site", "origin": "https://other.127.0.0.1.nip.example"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
    ],
    ids=["fetch-metadata", "same-site-subdomain", "origin-only", "opaque-origin"],
)
def test_cross_site_posts_are_refused(
    secure_server: ServerProcess, headers: dict[str, str]
) -> None:
    cart = {"filters": [{"assay": ["t-CyCIF"]}]}
    refused = [
        httpx.post(secure_server.url + "/api/cart/cli", json={"cart": cart}, headers=headers),
        httpx.post(
            secure_server.url + "/api/cart/export",
            data={"cart": json.dumps(cart)},
            headers={**headers, "accept": "application/json"},
        ),
        httpx.post(
            secure_server.url + "/api/cart/manifest",
            data={"cart": json.dumps(cart)},
            headers=headers,
        ),
        httpx.post(secure_server.url + "/session", data={"token": "x"}, headers=headers),
    ]
    for answer in refused:
        assert answer.status_code == 403, (answer.request.url, answer.status_code, answer.text)
    ok = httpx.post(
        secure_server.url + "/api/cart/cli", json={"cart": cart}, headers=_same_site(secure_server)
    )
    assert ok.status_code == 200
    # Scripts and the CLI send neither header: not a browser page, so not refused.
    assert httpx.post(secure_server.url + "/api/cart/cli", json={"cart": cart}).status_code == 200


def test_saved_carts_are_capped(limited_server: ServerProcess) -> None:
    carts = limited_server.home / "exports" / "carts"
    keys = []
    for i in range(60):
        cart = {"filters": [{"text": [f"term-{i}"]}]}
        answer = httpx.post(
            limited_server.url + "/api/cart/cli",
            json={"cart": cart},
            headers=_same_site(limited_server),
        )
        assert answer.status_code == 200, answer.text
        keys.append(answer.json()["key"])
    assert len(list(carts.glob("*.json"))) <= 20
    newest = httpx.get(f"{limited_server.url}/api/carts/{keys[-1]}/manifest.csv")
    oldest = httpx.get(f"{limited_server.url}/api/carts/{keys[0]}/manifest.csv")
    assert newest.status_code == 200 and oldest.status_code == 400
    assert "no saved cart" in oldest.json()["msg"]
    too_big = {"ids": [f"dg.HCDS/{i:036d}" for i in range(60_000)]}
    answer = httpx.post(
        limited_server.url + "/api/cart/cli",
        json={"cart": too_big},
        headers=_same_site(limited_server),
        timeout=60,
    )
    assert answer.status_code == 400 and "can be saved" in answer.json()["msg"]


def test_signed_exports_are_capped(limited_server: ServerProcess) -> None:
    exports = limited_server.home / "exports"
    cart = {"filters": [{"assay": ["t-CyCIF"]}]}
    for _ in range(12):
        answer = httpx.post(
            limited_server.url + "/api/cart/export",
            data={"cart": json.dumps(cart)},
            headers={**_same_site(limited_server), "accept": "application/json"},
        )
        assert answer.status_code == 200, answer.text
    assert len([p for p in exports.iterdir() if p.is_file()]) <= 5
    latest = httpx.get(answer.json()["url"])
    assert latest.status_code == 200


def _images(commons_rows: list[dict[str, object]]) -> list[str]:
    return [
        str(r["drs_id"])
        for r in commons_rows
        if str(r["name"]).endswith(".ome.tif") and r.get("object_key")
    ]


def test_thumbnail_cache_holds_six_sizes_per_image_and_its_cap(
    limited_server: ServerProcess, secure_commons: Commons
) -> None:
    images = _images(secure_commons.open)
    first = images[0]
    for size in range(16, 2049, 97):
        answer = httpx.get(f"{limited_server.url}/thumbnails/{first}.png?size={size}", timeout=120)
        assert answer.status_code == 200, answer.text
        assert max(Image.open(io.BytesIO(answer.content)).size) <= size
    cache = limited_server.home / "thumbnails"
    # Other tests may have cached thumbnails of other images in the shared demo home: count
    # this image's files (named by the hash of its id, imaging/thumbnails.py).
    own = thumbnail_path(DataHome(limited_server.home), first).name.rsplit("-", 1)[0]
    assert 0 < len(list(cache.rglob(f"{own}-*.png"))) <= 6
    assert len(list(cache.rglob("*.png"))) <= 8
    for drs_id in images[1:6]:
        for size in (64, 128):
            assert httpx.get(f"{limited_server.url}/thumbnails/{drs_id}.png?size={size}").is_success
            time.sleep(0.01)
    assert httpx.get(f"{limited_server.url}/thumbnails/{images[6]}.png?size=256").is_success
    assert len(list(cache.rglob("*.png"))) <= 8


def _files(folder: Path, ages: list[float], size: int = 10) -> list[Path]:
    now = time.time()
    paths = []
    for i, age in enumerate(ages):
        path = folder / f"f{i}.json"
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))
        paths.append(path)
    return paths


def test_folder_cap_expires_then_evicts_least_recently_used(tmp_path: Path) -> None:
    paths = _files(tmp_path, [500, 400, 300, 200, 100, 0])
    cap = FolderCap(max_files=3, max_bytes=0, max_age=450, suffix=".json")
    assert cap.prune(tmp_path) == 3
    assert [p.exists() for p in paths] == [False, False, False, True, True, True]
    by_bytes = FolderCap(max_files=0, max_bytes=25, max_age=0)
    assert by_bytes.prune(tmp_path, keep=paths[3]) == 1
    assert [p.exists() for p in paths[3:]] == [True, False, True]
    (tmp_path / ".cart-tmp.part").write_bytes(b"y" * 1000)  # a write in progress is left alone
    assert by_bytes.prune(tmp_path) == 0


def test_limits_are_read_from_config(tmp_path: Path) -> None:
    home = DataHome.open(tmp_path / "home")
    home.config_path.write_text("[limits]\nsaved_carts = 3\nthumbnail_mib = 0.5\n")
    limits = FolderLimits.load(home)
    assert limits.carts.max_files == 3 and limits.thumbnails.max_bytes == MIB // 2
    home.config_path.write_text("[limits]\nsaved_cartz = 3\n")
    with pytest.raises(ConfigError, match="saved_cartz"):
        FolderLimits.load(home)
