"""S3 object store: ``s3`` and ``https`` access methods, presigned URLs, against moto's S3 server.

moto's server is a real HTTP S3 endpoint on loopback (a stand-in for AWS S3, which cannot be
reached here); boto3 signs real SigV4 requests against it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from htan_cds.server import ServerConfig, create_app
from htan_cds.server.tokens import TokenStore
from htan_cds.storage.s3 import S3ObjectStore, parse_s3_url
from tests.server._catalog import SampleCommons

API = "/ga4gh/drs/v1"
BUCKET = "htan-commons"


@pytest.fixture(scope="module")
def s3_client(moto_s3: str, commons: SampleCommons) -> Iterator[TestClient]:
    store = S3ObjectStore(BUCKET, "objects", endpoint_url=moto_s3, region="us-east-1")
    store.client.create_bucket(Bucket=BUCKET)
    for f in commons.files:
        stored = store.put_stream(__import__("io").BytesIO(f.data))
        assert stored.key == f.sha256
    config = ServerConfig(
        home=commons.home, store=f"s3://{BUCKET}/objects", s3_endpoint=moto_s3, access_ttl=60
    )
    with TestClient(create_app(config), "http://127.0.0.1:8000") as tc:
        yield tc


def test_s3_objects_have_s3_and_https_methods(
    s3_client: TestClient, commons: SampleCommons
) -> None:
    f = commons.open[0]
    obj = s3_client.get(f"{API}/objects/{f.drs_id}").json()
    methods = {m["access_id"]: m for m in obj["access_methods"]}
    assert set(methods) == {"s3", "https"}
    assert methods["s3"]["type"] == "s3" and methods["s3"]["region"] == "us-east-1"
    s3 = s3_client.get(f"{API}/objects/{f.drs_id}/access/s3").json()["url"]
    assert s3 == f"s3://{BUCKET}/objects/{f.sha256[:2]}/{f.sha256[2:4]}/{f.sha256}"


def test_presigned_https_url_fetches_bytes(
    s3_client: TestClient, commons: SampleCommons, moto_s3: str
) -> None:
    f = commons.open[0]
    url = s3_client.get(f"{API}/objects/{f.drs_id}/access/https").json()["url"]
    assert url.startswith(moto_s3) and "X-Amz-Signature=" in url
    r = httpx.get(url, timeout=10)
    assert r.status_code == 200 and r.content == f.data
    part = httpx.get(url, headers={"Range": "bytes=4-9"}, timeout=10)
    assert part.status_code == 206 and part.content == f.data[4:10]
    # (moto does not verify SigV4 signatures, so tampering cannot be tested against it.)


def test_controlled_s3_object_needs_grant(s3_client: TestClient, commons: SampleCommons) -> None:
    c = commons.controlled[0]
    for access_id in ("https", "s3"):
        r = s3_client.get(f"{API}/objects/{c.drs_id}/access/{access_id}")
        assert r.status_code == 401 and "url" not in r.json()
    token = TokenStore(commons.home).create(["phs002371"])
    r = s3_client.get(
        f"{API}/objects/{c.drs_id}/access/https", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    assert httpx.get(r.json()["url"], timeout=10).content == c.data


def test_bytes_route_absent_with_s3_store(s3_client: TestClient, commons: SampleCommons) -> None:
    r = s3_client.get(f"/bytes/{commons.open[0].drs_id}?expires=9999999999&sig=x")
    assert r.status_code == 404


def test_store_roundtrip_and_url_parsing(moto_s3: str, commons: SampleCommons) -> None:
    store = S3ObjectStore.from_url(f"s3://{BUCKET}/objects", moto_s3)
    f = commons.open[1]
    assert store.exists(f.sha256) and store.size(f.sha256) == len(f.data)
    assert store.open(f.sha256).read() == f.data
    assert not store.exists("0" * 64)
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    with pytest.raises(Exception, match="bucket name"):
        parse_s3_url("s3://B_AD/x")
