"""Route order over real servers' access methods, public bucket URLs, AccessURL header shapes
(no network: these are decisions, the stand-in tests exercise the requests)."""

from __future__ import annotations

from typing import Any

from htan_cds.drs.access_methods import PublicCloud, RouteKind, routes
from htan_cds.drs.models import AccessURL, DrsObject


def _obj(methods: list[dict[str, Any]]) -> DrsObject:
    return DrsObject.model_validate(
        {
            "id": "dg.4DFC/x",
            "self_uri": "drs://nci-crdc.datacommons.io/dg.4DFC/x",
            "size": 1,
            "created_time": "2023-11-07T18:03:41.123456",  # indexd: no time zone
            "checksums": [],
            "contents": [],
            "access_methods": methods,
        }
    )


def test_route_order_and_reasons() -> None:
    obj = _obj(
        [
            {"type": "gs", "access_url": {"url": "gs://b/k"}, "access_id": "gs"},  # indexd
            {"type": "az", "access_url": {"url": "az://acct/c/k"}},  # az, no access_id
            {"type": "s3", "access_url": {"url": "s3://pub/k"}},  # public bucket
            {"type": "https", "access_url": {"url": "https://h/k"}, "available": False},
            {"type": "https", "access_url": {"url": "https://h/k2"}},
            {"type": "s3", "access_id": "s3"},
        ]
    )
    found, unusable = routes(obj)
    kinds = [(r.kind, r.method.type) for r in found]
    assert kinds == [
        (RouteKind.INLINE, "https"),  # usable inline URL first
        (RouteKind.INLINE, "https"),  # the unavailable one after it
        (RouteKind.ACCESS_ID, "s3"),
        (RouteKind.ACCESS_ID, "gs"),
        (RouteKind.PUBLIC, "s3"),
    ]
    assert found[0].url == "https://h/k2"
    assert unusable == ["az method: az: is not fetchable, and no access_id"]


def test_public_bucket_urls() -> None:
    cloud = PublicCloud()
    assert cloud.https_url("s3://my-bucket/a b/c.tif") == (
        "https://my-bucket.s3.amazonaws.com/a%20b/c.tif"
    )
    assert cloud.https_url("s3://my.dotted.bucket/k") == (
        "https://s3.amazonaws.com/my.dotted.bucket/k"  # path style: TLS names have no dots
    )
    assert cloud.https_url("gs://b/k/x.tif") == "https://storage.googleapis.com/b/k/x.tif"
    local = PublicCloud(s3="http://127.0.0.1:9/s3", gs="http://127.0.0.1:9/gcs")
    assert local.https_url("s3://b/k") == "http://127.0.0.1:9/s3/b/k"
    assert cloud.https_url("az://a/b") is None and cloud.https_url("s3://b/") is None
    env = PublicCloud.from_env({"HTAN_CDS_GS_PUBLIC_URL": "http://127.0.0.1:9/g/"})
    assert env.gs == "http://127.0.0.1:9/g"


def test_access_url_headers_in_every_shape() -> None:
    listed = AccessURL(url="u", headers=["Authorization: Bearer a:b", "X-K:  v "])
    assert listed.header_dict() == {"Authorization": "Bearer a:b", "X-K": "v"}
    mapping = AccessURL.model_validate({"url": "u", "headers": {"X-Api-Key": "k"}})
    assert mapping.header_dict() == {"X-Api-Key": "k"}
    single = AccessURL.model_validate({"url": "u", "headers": "X-One: 1"})
    assert single.header_dict() == {"X-One": "1"}
    hostile = AccessURL.model_validate(
        {"url": "u", "headers": {"X-A": "1\r\nHost: evil", "Bad Name": "x", "X-B": "2"}}
    )
    assert hostile.header_dict() == {"X-B": "2"}
    many = AccessURL(url="u", headers=[f"X-{i}: {i}" for i in range(500)])
    assert len(many.header_dict()) == 64
