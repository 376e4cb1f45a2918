"""Tiles from an S3 object store (moto's S3 server on loopback, the stand-in for AWS S3): the
reader reads a presigned URL by ranges; pixels equal the local store's; access is the same."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from htan_cds.server import ServerConfig, create_app
from htan_cds.server.tokens import TokenStore
from tests.viewer._commons import GROUP, ViewerCommons

BUCKET = "viewer-tiles"


@pytest.fixture(scope="module")
def s3_client(moto_s3: str, viewer_commons: ViewerCommons) -> Iterator[TestClient]:
    from htan_cds.storage.s3 import S3ObjectStore

    store = S3ObjectStore(BUCKET, "objects", endpoint_url=moto_s3, region="us-east-1")
    store.client.create_bucket(Bucket=BUCKET)
    for role in ("mif", "pages", "he"):
        with viewer_commons.entries[role].path.open("rb") as fh:
            store.put_stream(fh)
    config = ServerConfig(
        home=viewer_commons.home,
        store=f"s3://{BUCKET}/objects",
        s3_endpoint=moto_s3,
        access_ttl=120,
    )
    with TestClient(create_app(config), base_url="http://127.0.0.1:8000") as tc:
        yield tc


def png(client: TestClient, url: str, **kw: object) -> np.ndarray:
    r = client.get(url, **kw)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text[:300]
    return np.asarray(Image.open(io.BytesIO(r.content)))


@pytest.mark.parametrize("role", ["mif", "he"])
def test_s3_tiles_equal_local_tiles(
    s3_client: TestClient, client: TestClient, viewer_commons: ViewerCommons, role: str
) -> None:
    base = "/iiif/3/" + quote(viewer_commons.id(role), safe="")
    assert (
        s3_client.get(base + "/info.json").json()["width"]
        == client.get(base + "/info.json").json()["width"]
    )
    for tile in ("/0,0,256,256/256,256/0/default.png", "/full/200,/0/default.png"):
        np.testing.assert_array_equal(png(s3_client, base + tile), png(client, base + tile))


def test_s3_controlled_tiles_need_the_grant(
    s3_client: TestClient, viewer_commons: ViewerCommons
) -> None:
    url = "/iiif/3/" + quote(viewer_commons.id("pages"), safe="") + "/full/128,/0/default.jpg"
    assert s3_client.get(url).status_code == 401
    token = TokenStore(viewer_commons.home).create([GROUP], label="s3 viewer test")
    assert s3_client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_s3_named_url_redirects_to_a_presigned_url(
    s3_client: TestClient, viewer_commons: ViewerCommons, moto_s3: str
) -> None:
    from htan_cds.server.named_bytes import named_url

    entry = viewer_commons.entries["mif"]
    url = named_url(
        "http://127.0.0.1:8000", viewer_commons.home.secret_key(), entry.drs_id, entry.name, 60
    )
    r = s3_client.get(url.split("8000", 1)[1], follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].startswith(moto_s3)
    assert "X-Amz-Signature=" in r.headers["location"]
