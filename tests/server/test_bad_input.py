"""Bad input never gives a 500 or leaks a path: bad JSON, wrong types, huge bodies, odd ids."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server._catalog import SampleCommons

API = "/ga4gh/drs/v1"


def _spec_error(r: object, status: int) -> None:
    resp = r  # typed loosely: httpx.Response
    assert resp.status_code == status, (resp.status_code, resp.text)  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"msg", "status_code"} and body["status_code"] == status
    assert "/tmp" not in body["msg"] and "objects/" not in body["msg"].replace(API, "")


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/objects", b"{not json", 400),
        ("/objects", b"[1,2,3]", 400),
        ("/objects", b'{"bulk_object_ids": "x"}', 400),
        ("/objects", b'{"bulk_object_ids": [1, 2]}', 400),
        ("/objects", b'{"bulk_object_ids": []}', 400),
        ("/objects", b"{}", 400),
        ("/objects", b"", 400),
        ("/objects", b'{"bulk_object_ids": ["a"], "expand": "yes"}', 400),
        ("/objects", b'{"bulk_object_ids": ["a"], "passports": [1]}', 400),
        ("/objects/access", b'{"bulk_object_access_ids": "x"}', 400),
        ("/objects/access", b'{"bulk_object_access_ids": [{"bulk_access_ids": ["https"]}]}', 400),
        ("/objects/access", b'{"bulk_object_access_ids": [{"bulk_object_id": 5}]}', 400),
        ("/objects/plain-id-6", b"\xff\xfe", 400),
        ("/objects/plain-id-6", b'{"expand": "sure"}', 400),
        ("/objects/plain-id-6/access/https", b'{"passports": {"a": 1}}', 400),
    ],
)
def test_malformed_bodies(client: TestClient, path: str, body: bytes, status: int) -> None:
    r = client.post(API + path, content=body, headers={"content-type": "application/json"})
    _spec_error(r, status)


def test_huge_body_413(client: TestClient) -> None:
    big = b'{"bulk_object_ids": ["' + b"a" * (9 * 1024 * 1024) + b'"]}'
    _spec_error(client.post(f"{API}/objects", content=big), 413)

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(10):
            yield b" " * (1024 * 1024)

    _spec_error(client.post(f"{API}/objects", content=chunks()), 413)


def test_ten_thousand_ids_413(client: TestClient) -> None:
    ids = [f"dg.HCDS/{i:08d}" for i in range(10_000)]
    _spec_error(client.post(f"{API}/objects", json={"bulk_object_ids": ids}), 413)
    items = [{"bulk_object_id": i, "bulk_access_ids": ["https"]} for i in ids]
    _spec_error(client.post(f"{API}/objects/access", json={"bulk_object_access_ids": items}), 413)


@pytest.mark.parametrize(
    "raw_id",
    [
        "..",
        "../secret.key",
        "dg.HCDS/../../secret.key",
        "%2E%2E%2Fsecret.key",
        "dg.HCDS%2F..%2F..%2Fcatalog.duckdb",
        "a//b",
        "%00",
        "a%0Ab",
        "x" * 600,
    ],
)
def test_dot_dot_and_encoded_ids(client: TestClient, raw_id: str) -> None:
    for suffix in ("", "/access/https"):
        r = client.get(f"{API}/objects/{raw_id}{suffix}")
        assert r.status_code in (400, 404), (raw_id, r.status_code)
        _spec_error(r, r.status_code)
    b = client.get(f"/bytes/{raw_id}?expires=9999999999&sig=x")
    # The client may normalise "/bytes/.." away to another page; never to a file of the home.
    assert b.status_code in (200, 403, 404)
    assert client.app.state.config.home.secret_key().hex().encode() not in b.content
    assert b"DUCK" not in b.content[:16]


def test_unknown_ids(client: TestClient) -> None:
    _spec_error(client.get(f"{API}/objects/dg.HCDS/00000000-0000-0000-0000-000000000000"), 404)
    _spec_error(client.get(f"{API}/objects/bundle/NOPE"), 404)
    _spec_error(client.get(f"{API}/objects/nope/access/https"), 404)
    _spec_error(client.get(f"{API}/objects/bundle/HTA9_1_1/access/https"), 404)
    _spec_error(client.get(f"{API}/objects/dg.4DFC/00000000-0000-0000-0000-000000000001"), 404)


def test_wrong_methods_and_content(client: TestClient, commons: SampleCommons) -> None:
    _spec_error(client.patch(f"{API}/objects/plain-id-6"), 405)
    _spec_error(client.get(f"{API}/objects"), 405)
    _spec_error(client.get(f"{API}/objects/plain-id-6/access/nope"), 404)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    object_id=st.text(min_size=1, max_size=80), expand=st.sampled_from(["", "true", "x", "TRUE"])
)
def test_any_id_never_500(client: TestClient, object_id: str, expand: str) -> None:
    # Dots are encoded too, or the client would resolve "." and ".." segments away.
    path = f"{API}/objects/{quote(object_id, safe='').replace('.', '%2E')}"
    r = client.get(path, params={"expand": expand} if expand else None)
    assert r.status_code in (200, 400, 401, 404), (object_id, r.status_code)
    assert r.json().get("status_code", 200) == r.status_code
    r = client.post(f"{API}/objects", json={"bulk_object_ids": [object_id]})
    assert r.status_code == 200


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=20), c, max_size=3),
        max_leaves=8,
    )
)
def test_any_json_body_never_500(client: TestClient, body: object) -> None:
    for path in (
        "/objects",
        "/objects/access",
        "/objects/plain-id-6",
        "/objects/plain-id-6/access/https",
    ):
        r = client.post(API + path, json=body)
        assert r.status_code in (200, 400, 404, 413), (path, body, r.status_code)
