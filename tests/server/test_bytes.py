"""Signed byte serving: Range, If-Range, ETag, 416, signature and expiry checks."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from htan_cds.drs.uri import encode_object_id
from htan_cds.server.bytes_routes import parse_range
from htan_cds.server.signing import sign
from tests._servers import ServerProcess
from tests.server._catalog import SampleCommons

API = "/ga4gh/drs/v1"


def _url(client: TestClient, drs_id: str) -> str:
    url = client.get(f"{API}/objects/{drs_id}/access/https").json()["url"]
    return str(url).replace("http://127.0.0.1:8000", "")


def test_whole_object(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    r = client.get(_url(client, f.drs_id))
    assert r.status_code == 200
    assert r.content == f.data
    assert r.headers["content-length"] == str(len(f.data))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"] == f'"{f.sha256}"'
    assert r.headers["content-type"] == "image/tiff"
    assert f.name in r.headers["content-disposition"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=100-", 100, None),
        ("bytes=-7", -7, None),
    ],
)
def test_single_ranges(
    client: TestClient, commons: SampleCommons, header: str, start: int, end: int | None
) -> None:
    f = commons.open[0]
    r = client.get(_url(client, f.drs_id), headers={"Range": header})
    assert r.status_code == 206
    expected = f.data[start : (end + 1 if end is not None else None)]
    assert r.content == expected
    assert r.headers["content-length"] == str(len(expected))
    first = start if start >= 0 else len(f.data) + start
    assert r.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(f.data)}"


def test_unsatisfiable_range_416(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    r = client.get(_url(client, f.drs_id), headers={"Range": f"bytes={len(f.data)}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(f.data)}"
    assert r.json()["status_code"] == 416


def test_malformed_or_multi_range_sends_everything(
    client: TestClient, commons: SampleCommons
) -> None:
    f = commons.open[0]
    for header in ("bytes=abc", "items=0-5", "bytes=0-1,5-6", "bytes=9-2"):
        r = client.get(_url(client, f.drs_id), headers={"Range": header})
        assert r.status_code == 200 and r.content == f.data, header


def test_if_range(client: TestClient, commons: SampleCommons) -> None:
    f = commons.open[0]
    url = _url(client, f.drs_id)
    hit = client.get(url, headers={"Range": "bytes=0-4", "If-Range": f'"{f.sha256}"'})
    assert hit.status_code == 206 and hit.content == f.data[:5]
    miss = client.get(url, headers={"Range": "bytes=0-4", "If-Range": '"something-else"'})
    assert miss.status_code == 200 and miss.content == f.data
    weak = client.get(url, headers={"Range": "bytes=0-4", "If-Range": f'W/"{f.sha256}"'})
    assert weak.status_code == 200


def test_head_and_empty_object(client: TestClient, commons: SampleCommons) -> None:
    empty = next(f for f in commons.files if f.name == "empty.txt")
    url = _url(client, empty.drs_id)
    r = client.get(url)
    assert r.status_code == 200 and r.content == b"" and r.headers["content-length"] == "0"
    assert client.get(url, headers={"Range": "bytes=0-"}).status_code == 416
    f = commons.open[0]
    h = client.head(_url(client, f.drs_id))
    assert h.status_code == 200 and h.content == b""
    assert h.headers["content-length"] == str(len(f.data))


def test_tampered_and_expired_signatures_403(client: TestClient, commons: SampleCommons) -> None:
    f, g = commons.open[0], commons.open[1]
    url = _url(client, f.drs_id)
    path, _, query = url.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&"))
    other_path = "/bytes/" + encode_object_id(g.drs_id)
    cases = [
        f"{other_path}?{query}",  # signature moved to another object
        f"{path}?expires={int(params['expires']) + 10}&sig={params['sig']}",  # extended
        f"{path}?expires={params['expires']}&sig={params['sig'][:-2]}AA",  # altered
        f"{path}?expires={params['expires']}",  # missing sig
        path,  # no query at all
        f"{path}?expires=soon&sig={params['sig']}",
    ]
    key = commons.home.secret_key()
    past = int(time.time()) - 5
    cases.append(f"{path}?expires={past}&sig={sign(key, path, past)}")  # expired, validly signed
    for bad in cases:
        r = client.get(bad)
        assert r.status_code == 403, bad
        assert r.json() == {"msg": "invalid or expired signature", "status_code": 403}
        assert f.data[:16] not in r.content


def test_post_is_not_a_byte_method(client: TestClient, commons: SampleCommons) -> None:
    url = _url(client, commons.open[0].drs_id)
    assert client.post(url).status_code == 405


def test_big_object_streams_over_a_real_socket(
    live_server: ServerProcess, commons: SampleCommons
) -> None:
    big = next(f for f in commons.files if f.name == "big.bin")
    r = httpx.get(f"{live_server.url}{API}/objects/{big.drs_id}/access/https", timeout=10)
    url = r.json()["url"]
    assert url.startswith(live_server.url)
    with httpx.stream("GET", url, timeout=30) as resp:
        assert resp.status_code == 200
        body = b"".join(resp.iter_bytes())
    assert body == big.data
    mid = httpx.get(url, headers={"Range": "bytes=1048570-5242879"}, timeout=30)
    assert mid.status_code == 206 and mid.content == big.data[1048570:5242880]


@given(size=st.integers(0, 10_000), a=st.integers(0, 12_000), b=st.integers(0, 12_000))
def test_parse_range_properties(size: int, a: int, b: int) -> None:
    for header in (f"bytes={a}-{b}", f"bytes={a}-", f"bytes=-{b}"):
        got = parse_range(header, size)
        if isinstance(got, tuple):
            start, end = got
            assert 0 <= start <= end < size
        else:
            assert got is None or got is False


@given(st.text(max_size=40))
def test_parse_range_never_raises(header: str) -> None:
    got = parse_range(header, 100)
    assert got is None or got is False or (isinstance(got, tuple) and 0 <= got[0] <= got[1] < 100)
