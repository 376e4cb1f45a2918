"""Thumbnails: the data-home cache, GET /thumbnails/{id}.png on the real app, DRS URI reads."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from htan_cds.config import DataHome
from htan_cds.errors import AccessDenied, ImagingError
from htan_cds.imaging.info import read_image_info
from htan_cds.imaging.preview import render
from htan_cds.imaging.thumbnails import ensure_thumbnail, thumbnail_path
from htan_cds.server import ServerConfig, create_app
from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess, start_server
from tests.conftest import run_cli
from tests.imaging._commons import GROUP, PANEL, ImageCommons, build_image_commons


@pytest.fixture(scope="module")
def commons(tmp_path_factory: pytest.TempPathFactory, images: Path) -> ImageCommons:
    return build_image_commons(tmp_path_factory.mktemp("img-commons") / "home", images)


@pytest.fixture(scope="module")
def client(commons: ImageCommons) -> Iterator[TestClient]:
    app = create_app(ServerConfig(home=commons.home))
    with TestClient(app, base_url="http://127.0.0.1:8000") as tc:
        yield tc


@pytest.fixture(scope="module")
def live(commons: ImageCommons) -> Iterator[ServerProcess]:
    with start_server(commons.home.root) as server:
        yield server


def _token(home: DataHome, *grants: str) -> str:
    return TokenStore(home).create(list(grants), label="imaging test")


def test_open_thumbnail_is_rendered_then_cached(client: TestClient, commons: ImageCommons) -> None:
    cached = thumbnail_path(commons.home, commons.open_image)
    cached.unlink(missing_ok=True)
    response = client.get(f"/thumbnails/{commons.open_image}.png")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert "public" in response.headers["cache-control"]
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) == 512 and image.mode == "RGB"
    assert cached.is_file() and cached.read_bytes() == response.content
    # The cache answers next time: a render would replace the file (a new inode); a hit only
    # touches its time (least recently used is pruned first, issue 11).
    inode = cached.stat().st_ino
    again = client.get(f"/thumbnails/{commons.open_image}.png")
    assert again.status_code == 200 and again.content == response.content
    assert cached.stat().st_ino == inode


def test_size_parameter(client: TestClient, commons: ImageCommons) -> None:
    response = client.get(f"/thumbnails/{commons.he_image}.png", params={"size": 128})
    assert response.status_code == 200
    assert max(Image.open(io.BytesIO(response.content)).size) == 128
    assert client.get(f"/thumbnails/{commons.he_image}.png?size=5").status_code == 400


def test_controlled_needs_a_covering_token(client: TestClient, commons: ImageCommons) -> None:
    url = f"/thumbnails/{commons.controlled_image}.png"
    assert client.get(url).status_code == 401
    wrong = _token(commons.home, "phs000999")
    assert client.get(url, headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
    good = _token(commons.home, GROUP)
    response = client.get(url, headers={"Authorization": f"Bearer {good}"})
    assert response.status_code == 200
    assert "private" in response.headers["cache-control"]
    # Cached now, but the cache never bypasses the access check.
    assert client.get(url).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert client.get(f"/thumbnails/{commons.open_image}.png", headers=bogus).status_code == 401


@pytest.mark.parametrize(
    ("suffix", "status"),
    [("table", 404), ("broken_image", 422)],
)
def test_not_an_image(client: TestClient, commons: ImageCommons, suffix: str, status: int) -> None:
    object_id = getattr(commons, suffix)
    response = client.get(f"/thumbnails/{object_id}.png")
    assert response.status_code == status
    assert response.json()["status_code"] == status


def test_unknown_ids_and_paths(client: TestClient, commons: ImageCommons) -> None:
    assert client.get("/thumbnails/dg.HCDS/nope.png").status_code == 404
    assert client.get(f"/thumbnails/{commons.open_image}").status_code == 404
    assert client.get("/thumbnails/../../secret.key.png").status_code == 404


def test_thumbnail_cache_paths_are_safe(tmp_path: Path) -> None:
    home = DataHome.open(tmp_path / "h")
    for object_id in ("dg.HCDS/abc", "../../etc/passwd", "a" * 500):
        path = thumbnail_path(home, object_id)
        assert home.thumbnails_dir in path.parents
    assert thumbnail_path(home, "x", 256) != thumbnail_path(home, "x", 512)
    with pytest.raises(ImagingError):
        thumbnail_path(home, "x", 4)


def test_precompute_for_ingest(tmp_path: Path, images: Path) -> None:
    home = DataHome.open(tmp_path / "h")
    path = ensure_thumbnail(home, "dg.HCDS/x", images / "mif.ome.tif", size=200)
    assert path == thumbnail_path(home, "dg.HCDS/x", 200)
    assert Image.open(path).size == (200, 167)
    stamp = path.stat().st_mtime_ns
    assert ensure_thumbnail(home, "dg.HCDS/x", images / "mif.ome.tif", size=200) == path
    assert path.stat().st_mtime_ns == stamp  # cached, not rendered again
    assert not list(path.parent.glob(".tmp-*"))


def test_drs_uri_read_through_the_commons(live: ServerProcess, commons: ImageCommons) -> None:
    uri = f"drs://127.0.0.1:{live.port}/{commons.open_image}"
    info = read_image_info(uri)
    assert info.size_x == 1536 and info.channels[0].name == "DAPI"
    assert info.bytes_read is not None and info.bytes_read < 0.2 * (info.file_size or 1)
    preview = render(uri, max_size=200)
    assert max(preview.image.size) == 200


def test_controlled_drs_uri_needs_a_token(live: ServerProcess, commons: ImageCommons) -> None:
    uri = f"drs://127.0.0.1:{live.port}/{commons.controlled_image}"
    with pytest.raises(AccessDenied):
        read_image_info(uri)
    token = _token(commons.home, GROUP)
    info = read_image_info(uri, token=token)
    assert info.pyramid_layout == "pages"
    result = run_cli("info", uri, "--json", "--token", token)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["size_x"] == 1200
    denied = run_cli("info", uri)
    assert denied.returncode != 0 and "Traceback" not in denied.stderr


def test_live_thumbnail_endpoint(live: ServerProcess, commons: ImageCommons) -> None:
    import httpx

    response = httpx.get(f"{live.url}/thumbnails/{commons.he_image}.png", timeout=30)
    assert response.status_code == 200
    assert response.content[:4] == b"\x89PNG"


def test_catalog_channel_csv_joined_for_drs_uris(
    live: ServerProcess, commons: ImageCommons
) -> None:
    """``Channel Metadata Filename`` of a catalogued object is joined without being asked."""
    uri = f"drs://127.0.0.1:{live.port}/{commons.open_image}"
    result = run_cli("--home", str(commons.home.root), "info", uri, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["channels_csv"] is not None
    assert [c["target"] for c in data["channels"]] == [t for _, t, _ in PANEL]
    assert data["channels"][1]["antibody_name"] == "D9M8I"
    assert data["channels"][1]["name"] == "CD45"  # the OME-XML name is kept


def test_thumbnail_from_an_s3_store(commons: ImageCommons, images: Path, moto_s3: str) -> None:
    """With ``--store s3://…`` the image is read by ranges from a presigned URL.

    moto's S3 server is a real HTTP S3 endpoint on loopback, the stand-in for AWS S3.
    """
    from htan_cds.storage.s3 import S3ObjectStore

    store = S3ObjectStore("imgs", "objects", endpoint_url=moto_s3, region="us-east-1")
    store.client.create_bucket(Bucket="imgs")
    store.put_file(images / "he.ome.tif")
    home = DataHome.open(commons.home.root.parent / "s3-thumbs-home")
    shutil.copy(commons.home.catalog_path, home.catalog_path)
    config = ServerConfig(home=home, store="s3://imgs/objects", s3_endpoint=moto_s3)
    with TestClient(create_app(config), base_url="http://127.0.0.1:8000") as tc:
        ok = tc.get(f"/thumbnails/{commons.he_image}.png", params={"size": 64})
        assert ok.status_code == 200, ok.text
        assert max(Image.open(io.BytesIO(ok.content)).size) == 64
        # Not uploaded to the bucket: a clear refusal, not a crash.
        missing = tc.get(f"/thumbnails/{commons.open_image}.png")
        assert missing.status_code == 422
