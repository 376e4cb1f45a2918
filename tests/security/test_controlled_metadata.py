"""Controlled metadata stays controlled on every route (issue 11, item 5).

The attack: an anonymous browser (or a user whose grants cover other studies) walks every
route of a real ``htan-cds serve --workspace`` — every route the app has, found by walking the
app itself — with every kind of request the routes take (ids of controlled files in paths,
searches for their names, carts holding them, manifest downloads in every format, DRS bulk
bodies) and looks for anything identifying a controlled file: name, checksums, DRS id, HTAN
ids and paths, Synapse id, channel names, sizes. Before the fix the portal's ``/api/files``,
file pages, search and manifests listed them all while the DRS API answered 401.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess
from tests.security._routes import RouteSpec, app_routes
from tests.security.conftest import Commons

_IDENTIFYING = ("name", "md5", "sha256", "drs_id", "HTAN_Data_File_ID", "Filename", "entityId")
_SIZE_KEYS = {"size", "file_size", "File Size (in bytes)"}
_FORMATS = ("cgc", "cds-portal", "htan-portal", "gen3")


def _secrets(commons: Commons) -> set[str]:
    """Strings that identify a controlled file and no open one."""
    shared = {str(r[k]) for r in commons.open for k in _IDENTIFYING if r.get(k)}
    found: set[str] = set()
    for row in commons.controlled:
        for key in _IDENTIFYING:
            if row.get(key):
                found.add(str(row[key]))
        found.update(str(c) for c in row.get("channel_names") or [] if c not in ("DAPI",))
    found |= {quote(s, safe="") for s in found if "/" in s}
    return {s for s in found - shared if len(s) >= 6}


def _controlled_sizes(commons: Commons) -> set[int]:
    return {int(r["size"]) for r in commons.controlled} - {int(r["size"]) for r in commons.open}


def _json_sizes(value: Any) -> Iterator[int]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SIZE_KEYS and str(item).isdigit():
                yield int(item)
            else:
                yield from _json_sizes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_sizes(item)


class Prober:
    """Sends requests as one caller and checks each answer for controlled metadata."""

    def __init__(
        self, server: ServerProcess, commons: Commons, headers: dict[str, str], who: str
    ) -> None:
        self.base = server.url
        self.secrets = _secrets(commons)
        self.sizes = _controlled_sizes(commons)
        # A browser-like client on this site's own pages (so the same-site check lets it in).
        self.client = httpx.Client(
            base_url=server.url,
            timeout=60,
            headers={"sec-fetch-site": "same-origin", "origin": server.url, **headers},
        )
        self.who = who
        self.requests = 0

    def check(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        self.requests += 1
        sent = unquote(url) + url + json.dumps(kwargs.get("json")) + json.dumps(kwargs.get("data"))
        body = response.content.decode("utf-8", "replace")
        for secret in self.secrets:
            if secret in sent:
                continue  # echoing what the client sent reveals nothing
            assert secret not in body, (
                f"{self.who}: {method} {url} -> {response.status_code} reveals {secret!r}"
            )
        assert response.status_code < 500, (method, url, response.status_code, body[:300])
        if "json" in response.headers.get("content-type", ""):
            leaked = set(_json_sizes(response.json())) & self.sizes
            assert not leaked, f"{self.who}: {method} {url} reveals sizes {leaked}"
        return response


def _path_values(commons: Commons, saved_cart: str) -> list[dict[str, str]]:
    image = next(r for r in commons.controlled if r["name"].endswith(".ome.tif"))
    other = next(r for r in commons.controlled if r is not image)
    bundle = next(r for r in commons.controlled if r.get("biospecimen_ids"))
    common = {"access_id": "https", "key": saved_cart, "filename": "manifest.csv", "path": "x"}
    return [
        {**common, "object_id": image["drs_id"], "drs_id": image["drs_id"]},
        {**common, "object_id": image["drs_id"] + ".png", "drs_id": other["drs_id"]},
        {
            **common,
            "object_id": "bundle/" + bundle["biospecimen_ids"][0],
            "drs_id": quote(other["drs_id"], safe=""),
            "filename": "manifest.json",
        },
    ]


def _queries(commons: Commons) -> list[str]:
    row = commons.controlled[0]
    return [
        "",
        "?limit=500&sort=size&order=desc",
        "?access=controlled&limit=500",
        f"?text={quote(row['name'][:12])}&limit=500",
        f"?drs_ids={quote(row['drs_id'])}&limit=500",
        f"?participant={quote(str(row['HTAN_Participant_ID']))}&limit=500",
        "?format=gen3",
    ]


def _bodies(commons: Commons) -> list[dict[str, Any]]:
    ids = [r["drs_id"] for r in commons.controlled]
    cart = {"filters": [{}], "ids": ids}
    bodies: list[dict[str, Any]] = [
        {"json": {"cart": cart, "limit": 500, "sort": "size", "order": "desc"}},
        {"json": {"bulk_object_ids": ids[:50]}},
        {"json": {"bulk_object_access_ids": [{"bulk_object_id": i} for i in ids[:50]]}},
    ]
    bodies += [{"data": {"cart": json.dumps(cart), "format": f}} for f in _FORMATS]
    return bodies


def _walk(prober: Prober, routes: list[RouteSpec], commons: Commons, saved_cart: str) -> None:
    for spec in routes:
        fills = [spec.fill(v) for v in _path_values(commons, saved_cart)] if spec.params else []
        urls = list(dict.fromkeys(fills)) or [spec.path]
        queries = _queries(commons) if not spec.params or spec.path.startswith("/api") else [""]
        for method in sorted(spec.methods - {"HEAD"}):
            for url in urls:
                if method in ("GET", "OPTIONS", "DELETE"):
                    for query in queries:
                        prober.check(method, url + query)
                else:
                    for body in _bodies(commons):
                        prober.check(method, url, **body)


@pytest.fixture(scope="module")
def granted_token(secure_commons: Commons) -> str:
    return TokenStore(DataHome.open(secure_commons.home)).create(["phs002371"], label="granted")


@pytest.fixture(scope="module")
def saved_cart(secure_server: ServerProcess, secure_commons: Commons, granted_token: str) -> str:
    """A cart of controlled files saved by a granted user (its link is public, by design)."""
    ids = [r["drs_id"] for r in secure_commons.controlled]
    response = httpx.post(
        secure_server.url + "/api/cart/cli",
        json={"cart": {"ids": ids}},
        headers={"authorization": f"Bearer {granted_token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["key"])


def test_granted_caller_sees_controlled_metadata(
    secure_server: ServerProcess, secure_commons: Commons, granted_token: str
) -> None:
    """The positive control: the detector finds the secrets where a grant covers them."""
    client = httpx.Client(
        base_url=secure_server.url, headers={"authorization": f"Bearer {granted_token}"}
    )
    files = client.get("/api/files?access=controlled&limit=500").json()
    assert {i["drs_id"] for i in files["items"]} == {r["drs_id"] for r in secure_commons.controlled}
    image = next(r for r in secure_commons.controlled if r["name"].endswith(".ome.tif"))
    page = client.get(f"/api/file/{image['drs_id']}").json()
    assert "SecretMarkerCD99" in {c["Channel_Name"] for c in page["channels"]}
    thumb = client.get(f"/thumbnails/{image['drs_id']}.png?size=64")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert any(s in client.get(f"/file/{image['drs_id']}").text for s in _secrets(secure_commons))


def test_anonymous_walk_of_every_route_reveals_nothing(
    secure_server: ServerProcess, secure_commons: Commons, saved_cart: str
) -> None:
    routes = app_routes(secure_commons.home, workspace=True)
    prober = Prober(secure_server, secure_commons, {}, "anonymous")
    _walk(prober, routes, secure_commons, saved_cart)
    assert prober.requests > 200


def test_second_user_without_the_grant_sees_nothing(
    secure_server: ServerProcess, secure_commons: Commons, saved_cart: str
) -> None:
    """A token for another study, as a bearer header and as a portal session."""
    token = TokenStore(DataHome.open(secure_commons.home)).create(["phs000999"], label="other")
    routes = [r for r in app_routes(secure_commons.home, workspace=True) if "/v2" not in r.path]
    bearer = Prober(secure_server, secure_commons, {"authorization": f"Bearer {token}"}, "bearer")
    _walk(bearer, routes, secure_commons, saved_cart)
    session = Prober(secure_server, secure_commons, {}, "session")
    signed = session.client.post("/session", data={"token": token, "next": "/explore"})
    assert signed.status_code == 303 and "hcds_session" in session.client.cookies
    portal = [r for r in routes if r.path.startswith(("/api", "/file", "/thumbnails", "/"))]
    _walk(session, portal, secure_commons, saved_cart)


def test_totals_add_only_visible_sizes(
    secure_server: ServerProcess, secure_commons: Commons
) -> None:
    """Counts include controlled files; bytes add only files the caller may list."""
    summary = httpx.get(secure_server.url + "/api/summary").json()
    everything = secure_commons.open + secure_commons.controlled
    assert summary["files"] == len(everything)
    assert summary["hidden_files"] == len(secure_commons.controlled)
    assert summary["listed_files"] == len(secure_commons.open)
    assert summary["total_size"] == sum(int(r["size"]) for r in secure_commons.open)
    facets = httpx.get(secure_server.url + "/api/facets").json()["facets"]
    access = {v["value"]: v["count"] for f in facets if f["name"] == "access" for v in f["values"]}
    assert access["controlled"] == len(secure_commons.controlled)
    # A search by a controlled file's name or id counts nothing, hidden or not: no oracle.
    row = secure_commons.controlled[0]
    for query in ({"text": row["name"]}, {"drs_ids": row["drs_id"]}):
        found = httpx.get(secure_server.url + "/api/summary", params=query).json()
        assert (found["files"], found["hidden_files"], found["listed_files"]) == (0, 0, 0)
        facets = httpx.get(secure_server.url + "/api/facets", params=query).json()["facets"]
        assert all(v["count"] == 0 for f in facets for v in f["values"]), query
