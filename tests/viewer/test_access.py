"""Access to tiles is decided as for bytes: a controlled image's tiles, info and channels are
refused without a covering credential (bearer token or the portal's session cookie)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from htan_cds.server.session import COOKIE, issue
from htan_cds.server.tokens import TokenStore
from tests.viewer._commons import GROUP, ViewerCommons

PATHS = [
    "/info.json",
    "/channels.json",
    "/full/128,/0/default.jpg",
    "/0,0,256,256/256,256/0/default.png",
]


@pytest.fixture(scope="module")
def tokens(viewer_commons: ViewerCommons) -> dict[str, str]:
    store = TokenStore(viewer_commons.home)
    return {
        "good": store.create([GROUP], label="access test"),
        "wrong": store.create(["phs000999"], label="access test, other study"),
        "revoked": store.create([GROUP], label="access test, revoked"),
    }


def url(commons: ViewerCommons, suffix: str) -> str:
    return "/iiif/3/" + quote(commons.id("pages"), safe="") + suffix


@pytest.mark.parametrize("suffix", PATHS)
def test_controlled_image_refused_without_a_covering_token(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str], suffix: str
) -> None:
    target = url(viewer_commons, suffix)
    anonymous = client.get(target)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "image" not in anonymous.headers["content-type"]
    for bad in ("wrong",):
        r = client.get(target, headers={"Authorization": f"Bearer {tokens[bad]}"})
        assert r.status_code == 403
    assert client.get(target, headers={"Authorization": "Bearer hcds_x_y"}).status_code == 401
    assert client.get(target, headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    good = client.get(target, headers={"Authorization": f"Bearer {tokens['good']}"})
    assert good.status_code == 200
    assert good.headers["cache-control"].startswith("private")


def test_the_same_rule_as_the_bytes_route(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str]
) -> None:
    """What the DRS access endpoint refuses, tiles refuse; what it grants, tiles serve."""
    object_url = f"/ga4gh/drs/v1/objects/{viewer_commons.id('pages')}/access/https"
    tile = url(viewer_commons, "/full/64,/0/default.jpg")
    for headers in (
        {},
        {"Authorization": f"Bearer {tokens['wrong']}"},
        {"Authorization": f"Bearer {tokens['good']}"},
    ):
        assert (
            client.get(object_url, headers=headers).status_code
            == client.get(tile, headers=headers).status_code
        )


def test_session_cookie_opens_controlled_tiles_and_dies_with_its_token(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str]
) -> None:
    target = url(viewer_commons, "/full/64,/0/default.jpg")
    store = TokenStore(viewer_commons.home)
    # Signing in through the form sets the cookie (same-site POST).
    signin = client.post(
        "/session",
        data={"token": tokens["revoked"], "next": "/explore"},
        headers={"Origin": "http://127.0.0.1:8000"},
        follow_redirects=False,
    )
    assert signin.status_code == 303 and signin.headers["location"] == "/explore"
    cookie = signin.cookies.get(COOKIE)
    assert cookie and tokens["revoked"] not in cookie  # the token itself is never in the cookie
    client.cookies.set(COOKIE, cookie)
    try:
        assert client.get(target).status_code == 200
        assert client.get("/session").json() == {"signed_in": True, "grants": [GROUP]}
        store.revoke(tokens["revoked"])
        assert client.get(target).status_code == 401
    finally:
        client.cookies.clear()


def test_forged_or_expired_session_cookies_are_anonymous(
    client: TestClient, viewer_commons: ViewerCommons, tokens: dict[str, str]
) -> None:
    target = url(viewer_commons, "/full/64,/0/default.jpg")
    key = viewer_commons.home.secret_key()
    token_id = tokens["good"].split("_")[1]
    forged = issue(b"another key" * 3, token_id)
    expired = issue(key, token_id, now=time.time() - 10 * 24 * 3600)
    for value in (forged, expired, "garbage", f"{token_id}.9999999999.00"):
        client.cookies.set(COOKIE, value)
        try:
            assert client.get(target).status_code == 401, value
        finally:
            client.cookies.clear()
    client.cookies.set(COOKIE, issue(key, token_id))
    try:
        assert client.get(target).status_code == 200
    finally:
        client.cookies.clear()


def test_sign_in_from_another_site_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        r = client.post(
            "/session", data={"token": tokens["good"]}, headers=headers, follow_redirects=False
        )
        assert r.status_code == 403 and COOKIE not in r.cookies
    bad = client.post(
        "/session", data={"token": "hcds_nope_nope", "next": "/view/x"}, follow_redirects=False
    )
    assert bad.status_code == 303 and "signin=failed" in bad.headers["location"]
    off_site = client.post(
        "/session",
        data={"token": tokens["good"], "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert off_site.headers["location"] == "/"
    client.cookies.clear()


def test_open_images_need_no_credential(client: TestClient, viewer_commons: ViewerCommons) -> None:
    r = client.get(
        "/iiif/3/" + quote(viewer_commons.id("mif"), safe="") + "/full/64,/0/default.jpg"
    )
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
