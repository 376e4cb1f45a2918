"""DRS 1.5 operations of the commons app, in-process, on the server area's test commons."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from htan_cds.drs.models import (
    Authorizations,
    BulkAccessResponse,
    BulkObjectsResponse,
    DrsObject,
    DrsServiceInfo,
)
from htan_cds.server.objects import bundle_checksum
from tests.server._catalog import SampleCommons

API = "/ga4gh/drs/v1"


def test_service_info_has_both_bulk_limits_and_counts(
    client: TestClient, commons: SampleCommons
) -> None:
    r = client.get(f"{API}/service-info")
    assert r.status_code == 200
    info = DrsServiceInfo.model_validate(r.json())
    assert info.type.group == "org.ga4gh" and info.type.artifact == "drs"
    assert info.type.version == "1.5.0"
    assert info.maxBulkRequestLength == 1000
    assert info.drs is not None
    assert info.drs["maxBulkRequestLength"] == 1000
    # 8 blobs + 4 biospecimen bundles; the CRDC-hosted row is not ours to serve.
    assert info.drs["objectCount"] == 8 + 4
    unique = {f.sha256: len(f.data) for f in commons.files}
    assert info.drs["totalObjectSize"] == sum(unique.values())


def test_get_object_blob_fields(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    r = client.get(f"{API}/objects/{f.drs_id}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    obj = DrsObject.model_validate(r.json())
    assert obj.id == f.drs_id
    assert obj.self_uri == f"drs://127.0.0.1:8000/{f.drs_id}"
    assert obj.size == len(f.data)
    assert obj.checksum("sha-256") == f.sha256
    assert obj.checksum("md5") == f.md5
    assert obj.access_methods and obj.access_methods[0].type == "https"
    assert obj.access_methods[0].access_id == "https"
    assert obj.aliases == ["HTA9_1_0"]
    assert obj.created_time.year == 2024


def test_percent_encoded_slash_is_the_same_object(
    client: TestClient, commons: SampleCommons
) -> None:
    f = commons.open[1]
    plain = client.get(f"{API}/objects/{f.drs_id}").json()
    encoded = client.get(f"{API}/objects/{quote(f.drs_id, safe='')}")
    assert encoded.status_code == 200
    assert encoded.json() == plain


def test_id_without_slash(client: TestClient) -> None:
    r = client.get(f"{API}/objects/plain-id-6")
    assert r.status_code == 200 and r.json()["name"] == "plain.txt"


def test_public_url_drives_self_uri_and_access_urls(commons: SampleCommons) -> None:
    from htan_cds.server import ServerConfig, create_app

    app = create_app(ServerConfig(home=commons.home, public_url="https://drs.example.org/"))
    with TestClient(app) as tc:
        f = commons.open[0]
        obj = tc.get(f"{API}/objects/{f.drs_id}").json()
        assert obj["self_uri"] == f"drs://drs.example.org/{f.drs_id}"
        url = tc.get(f"{API}/objects/{f.drs_id}/access/https").json()["url"]
        assert url.startswith(f"https://drs.example.org/bytes/{f.drs_id}?")


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "false", "FALSE", "1", "0"])
@pytest.mark.parametrize("name", ["expand", "Expand", "EXPAND"])
def test_expand_any_case(client: TestClient, name: str, value: str) -> None:
    r = client.get(f"{API}/objects/bundle/HTA9_1_1", params={name: value})
    assert r.status_code == 200
    assert len(r.json()["contents"]) == 2


def test_bogus_expand_is_400(client: TestClient) -> None:
    r = client.get(f"{API}/objects/bundle/HTA9_1_1", params={"expand": "maybe"})
    assert r.status_code == 400
    assert r.json() == {"msg": "expand must be true or false", "status_code": 400}


def test_bundle_contents_and_checksum(client: TestClient, commons: SampleCommons) -> None:
    r = client.get(f"{API}/objects/bundle/HTA9_1_1", params={"expand": "true"})
    obj = DrsObject.model_validate(r.json())
    members = [f for f in commons.files if f.biospecimen == "HTA9_1_1"]
    assert obj.is_bundle and not obj.access_methods
    assert obj.contents is not None
    assert sorted(c.id or "" for c in obj.contents) == sorted(m.drs_id for m in members)
    assert {c.name for c in obj.contents} == {m.name for m in members}
    assert obj.size == sum(len(m.data) for m in members)
    # Spec: digest of the sorted concatenation of the direct children's checksums.
    expected = hashlib.sha256("".join(sorted(m.sha256 for m in members)).encode()).hexdigest()
    assert (
        obj.checksum("sha-256")
        == expected
        == bundle_checksum("sha-256", [m.sha256 for m in members])
    )
    for c in obj.contents:
        assert c.drs_uri == [f"drs://127.0.0.1:8000/{c.id}"]


def test_post_object_with_body(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    r = client.post(f"{API}/objects/{f.drs_id}", json={"expand": False})
    assert r.status_code == 200 and r.json()["id"] == f.drs_id
    r = client.post(f"{API}/objects/{f.drs_id}", content=b"")
    assert r.status_code == 200


def test_options_object_lists_auth_types(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    r = client.options(f"{API}/objects/{f.drs_id}")
    assert r.status_code == 200
    assert Authorizations.model_validate(r.json()).supported_types == ["None"]
    c = commons.controlled[0]
    auth = Authorizations.model_validate(client.options(f"{API}/objects/{c.drs_id}").json())
    assert auth.supported_types == ["BearerAuth", "PassportAuth"]
    assert auth.bearer_auth_issuers == ["http://127.0.0.1:8000"]
    assert client.options(f"{API}/objects/nope").status_code == 404


def test_bulk_objects(client: TestClient, commons: SampleCommons) -> None:
    ids = [f.drs_id for f in commons.open] + ["unknown-1", commons.controlled[0].drs_id]
    r = client.post(f"{API}/objects", json={"bulk_object_ids": ids})
    assert r.status_code == 200
    body = BulkObjectsResponse.model_validate(r.json())
    assert body.summary.requested == len(ids)
    assert body.summary.resolved == len(commons.open)
    assert body.summary.unresolved == 2
    codes = {g.error_code: g.object_ids for g in body.unresolved_drs_objects}
    assert codes == {401: [commons.controlled[0].drs_id], 404: ["unknown-1"]}
    assert [o.id for o in body.resolved_drs_object] == [f.drs_id for f in commons.open]


def test_bulk_limit_413(client: TestClient) -> None:
    r = client.post(f"{API}/objects", json={"bulk_object_ids": [f"x{i}" for i in range(1001)]})
    assert r.status_code == 413
    assert r.json()["status_code"] == 413
    r = client.post(f"{API}/objects", json={"bulk_object_ids": [f"x{i}" for i in range(10_000)]})
    assert r.status_code == 413


def test_options_bulk(client: TestClient, commons: SampleCommons) -> None:
    ids = [commons.open[0].drs_id, commons.controlled[0].drs_id, "nope"]
    r = client.request("OPTIONS", f"{API}/objects", json={"bulk_object_ids": ids})
    assert r.status_code == 200
    body = r.json()
    assert body["summary"] == {"requested": 3, "resolved": 2, "unresolved": 1}
    assert [a["supported_types"] for a in body["resolved_drs_object"]] == [
        ["None"],
        ["BearerAuth", "PassportAuth"],
    ]


def test_access_url_get_and_post(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    for r in (
        client.get(f"{API}/objects/{f.drs_id}/access/https"),
        client.post(f"{API}/objects/{f.drs_id}/access/https", json={}),
    ):
        assert r.status_code == 200
        url = r.json()["url"]
        data = client.get(url.replace("http://127.0.0.1:8000", ""))
        assert data.status_code == 200 and data.content == f.data
    r = client.get(f"{API}/objects/{f.drs_id}/access/s3")
    assert r.status_code == 404 and r.json()["status_code"] == 404


def test_bulk_access(client: TestClient, commons: SampleCommons) -> None:
    items = [
        {"bulk_object_id": commons.open[0].drs_id, "bulk_access_ids": ["https"]},
        {"bulk_object_id": commons.open[1].drs_id, "bulk_access_ids": ["https"]},
        {"bulk_object_id": commons.controlled[0].drs_id, "bulk_access_ids": ["https"]},
        {"bulk_object_id": "nope", "bulk_access_ids": ["https"]},
    ]
    r = client.post(f"{API}/objects/access", json={"bulk_object_access_ids": items})
    assert r.status_code == 200
    body = BulkAccessResponse.model_validate(r.json())
    assert body.summary.requested == 4 and body.summary.resolved == 2
    assert [u.drs_object_id for u in body.resolved_drs_object_access_urls] == [
        commons.open[0].drs_id,
        commons.open[1].drs_id,
    ]
    assert all(u.drs_access_id == "https" for u in body.resolved_drs_object_access_urls)
    codes = {g.error_code: g.object_ids for g in body.unresolved_drs_objects}
    assert codes == {401: [commons.controlled[0].drs_id], 404: ["nope"]}


def test_framework_errors_have_spec_body(client: TestClient) -> None:
    for r, status in (
        (client.get(f"{API}/no-such-endpoint"), 404),
        (client.put(f"{API}/objects/x"), 405),
        (client.delete(f"{API}/service-info"), 405),
        (client.get(f"{API}/objects/does-not-exist"), 404),
    ):
        assert r.status_code == status
        assert r.json()["status_code"] == status and isinstance(r.json()["msg"], str)


def test_cors_exposes_content_range(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    url = client.get(f"{API}/objects/{f.drs_id}/access/https").json()["url"]
    r = client.get(url, headers={"Origin": "https://viewer.example", "Range": "bytes=0-3"})
    assert r.status_code == 206
    assert r.headers["access-control-allow-origin"] == "*"
    assert "content-range" in r.headers["access-control-expose-headers"].lower()
    pre = client.options(
        url.split("?")[0],
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.status_code == 200


def test_compat_12_leaves_out_later_fields(client12: TestClient, commons: SampleCommons) -> None:
    info = client12.get(f"{API}/service-info").json()
    assert info["type"]["version"] == "1.2.0"
    assert "drs" not in info and "maxBulkRequestLength" not in info
    obj = client12.get(f"{API}/objects/{commons.open[0].drs_id}").json()
    for method in obj["access_methods"]:
        assert set(method) <= {"type", "access_url", "access_id", "region"}
