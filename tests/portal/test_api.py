"""The portal's JSON API on the demo commons, checked against plain SQL on the same catalog."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from htan_cds.manifest import read_manifest
from htan_cds.server.portal import queries
from htan_cds.server.portal.manifests import manifest_format, write_cart_manifest

STUDY = "HTAN TNP SARDANA"
ASSAY = "t-CyCIF"


def _scalar(con: Any, sql: str, params: list[Any] | None = None) -> Any:
    return con.execute(sql, params or []).fetchone()[0]


def test_summary_matches_sql(portal_client: TestClient, catalog_sql: Any) -> None:
    got = portal_client.get("/api/summary", params={"atlas": STUDY, "assay": ASSAY}).json()
    where = "atlas_name = ? AND assay = ?"
    params = [STUDY, ASSAY]
    assert got["files"] == _scalar(catalog_sql, f"SELECT count(*) FROM files WHERE {where}", params)
    assert got["files"] > 0
    assert got["total_size"] == _scalar(
        catalog_sql, f"SELECT sum(size) FROM files WHERE {where}", params
    )
    assert got["participants"] == _scalar(
        catalog_sql,
        f"SELECT count(DISTINCT HTAN_Participant_ID) FROM files WHERE {where}",
        params,
    )
    assert got["samples"] == _scalar(
        catalog_sql,
        "SELECT count(DISTINCT b) FROM (SELECT unnest(biospecimen_ids) b FROM files "
        f"WHERE {where})",
        params,
    )


def test_facets_count_under_the_other_selections(
    portal_client: TestClient, catalog_sql: Any
) -> None:
    body = portal_client.get("/api/facets", params={"atlas": STUDY, "assay": ASSAY}).json()
    facets = {f["name"]: f for f in body["facets"]}
    assert [f["name"] for f in body["facets"]] == [
        "atlas",
        "center",
        "organ",
        "diagnosis",
        "assay",
        "level",
        "format",
        "release",
        "access",
        "source",
    ]
    # Assay counts ignore the assay selection but apply the study one.
    expected = dict(
        catalog_sql.execute(
            "SELECT assay, count(*) FROM files WHERE atlas_name = ? GROUP BY 1", [STUDY]
        ).fetchall()
    )
    assert {v["value"]: v["count"] for v in facets["assay"]["values"]} == expected
    assert facets["assay"]["selected"] == [ASSAY]
    # Level counts apply both selections.
    levels = dict(
        catalog_sql.execute(
            "SELECT level, count(*) FROM files WHERE atlas_name = ? AND assay = ? GROUP BY 1",
            [STUDY, ASSAY],
        ).fetchall()
    )
    assert {v["value"]: v["count"] for v in facets["level"]["values"]} == levels


def test_selected_value_excluded_by_others_still_listed(portal_client: TestClient) -> None:
    body = portal_client.get("/api/facets", params={"atlas": STUDY, "assay": "no-such"}).json()
    assay = next(f for f in body["facets"] if f["name"] == "assay")
    assert {"value": "no-such", "count": 0} in assay["values"]


@pytest.mark.parametrize("narrow_from", [2_000, 0])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_file_pages_are_sorted_and_complete(
    portal_client: TestClient,
    catalog_sql: Any,
    monkeypatch: pytest.MonkeyPatch,
    narrow_from: int,
    order: str,
) -> None:
    # narrow_from=0 sends every page down the deep-page (sort narrow rows, join back) path.
    monkeypatch.setattr(queries, "_NARROW_FROM", narrow_from)
    params = {"atlas": STUDY, "sort": "size", "order": order, "limit": 7}
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = portal_client.get("/api/files", params={**params, "offset": offset}).json()
        seen.extend(page["items"])
        offset += 7
        if offset >= page["total"]:
            break
    expected = catalog_sql.execute(
        f"SELECT drs_id FROM files WHERE atlas_name = ? ORDER BY size {order}, rowid", [STUDY]
    ).fetchall()
    assert [r["drs_id"] for r in seen] == [r[0] for r in expected]
    assert all(r["drs_uri"] == f"drs://127.0.0.1:8000/{r['drs_id']}" for r in seen)


@pytest.mark.parametrize("table", ["participants", "samples"])
def test_participant_and_sample_tables_agree_with_summary(
    portal_client: TestClient, table: str
) -> None:
    summary = portal_client.get("/api/summary", params={"assay": ASSAY}).json()
    key = "HTAN_Participant_ID" if table == "participants" else "HTAN_Biospecimen_ID"
    page = portal_client.get(
        f"/api/{table}", params={"assay": ASSAY, "limit": 500, "sort": key, "order": "desc"}
    ).json()
    assert page["total"] == summary[table]
    ids = [row[key] for row in page["items"]]
    assert ids == sorted(ids, reverse=True)
    assert sum(row["files"] for row in page["items"]) >= summary["files"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"sort": "drs_id; DROP TABLE files"}, "cannot sort"),
        ({"order": "sideways"}, "order must be"),
        ({"limit": "0"}, "limit must be"),
        ({"offset": "-1"}, "must not be negative"),
        ({"access": "secret"}, "access must be one of"),
    ],
)
def test_bad_parameters_are_one_line_400s(
    portal_client: TestClient, params: dict[str, str], fragment: str
) -> None:
    response = portal_client.get("/api/files", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["msg"]


def _cart_post(client: TestClient, path: str, cart: dict[str, Any], **extra: Any) -> Any:
    response = client.post(path, json={"cart": cart, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_cart_is_filters_plus_ids_minus_removed(
    portal_client: TestClient, catalog_sql: Any
) -> None:
    by_filter = _scalar(catalog_sql, "SELECT count(*) FROM files WHERE assay = ?", [ASSAY])
    other = catalog_sql.execute(
        "SELECT drs_id, size FROM files WHERE assay <> ? ORDER BY drs_id LIMIT 2", [ASSAY]
    ).fetchall()
    inside = catalog_sql.execute(
        "SELECT drs_id, size FROM files WHERE assay = ? ORDER BY drs_id LIMIT 1", [ASSAY]
    ).fetchone()
    cart = {
        "filters": [{"assay": [ASSAY]}, {"assay": [ASSAY]}],
        "ids": [other[0][0], other[1][0], inside[0]],
        "removed": [other[1][0]],
    }
    summary = _cart_post(portal_client, "/api/cart/summary", cart)
    assert summary["files"] == by_filter + 1
    total = _scalar(catalog_sql, "SELECT sum(size) FROM files WHERE assay = ?", [ASSAY])
    assert summary["total_size"] == total + other[0][1]
    page = _cart_post(portal_client, "/api/cart/files", cart, limit=500)
    ids = {r["drs_id"] for r in page["items"]}
    assert other[0][0] in ids and other[1][0] not in ids and inside[0] in ids
    assert _cart_post(portal_client, "/api/cart/summary", {})["files"] == 0


def test_cart_refuses_junk(portal_client: TestClient) -> None:
    for cart in ({"filters": [{"nope": ["x"]}]}, {"ids": "abc"}, {"filters": "x"}):
        response = portal_client.post("/api/cart/summary", json={"cart": cart})
        assert response.status_code == 400, cart
    assert portal_client.post("/api/cart/summary", content=b"{not json").status_code == 400


@pytest.mark.parametrize("fmt", ["cgc", "cds-portal", "htan-portal", "gen3", "terra"])
def test_manifest_download_every_format(
    portal_client: TestClient, catalog_sql: Any, fmt: str
) -> None:
    cart = {"filters": [{"atlas": [STUDY], "assay": [ASSAY]}]}
    response = portal_client.post(
        "/api/cart/manifest", data={"cart": json.dumps(cart), "format": fmt}
    )
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    rows = read_manifest(io.StringIO(response.text), format=fmt)
    expected = catalog_sql.execute(
        "SELECT drs_id FROM files WHERE atlas_name = ? AND assay = ?", [STUDY, ASSAY]
    ).fetchall()
    assert sorted(r.drs_uri for r in rows) == sorted(
        f"drs://127.0.0.1:8000/{r[0]}" for r in expected
    )
    names = [r.name for r in rows]
    assert all(names) and len(set(names)) == len(names)
    assert all("/" not in str(n) for n in names)


def test_manifest_names_made_unique_and_safe(tmp_path: Path) -> None:
    # The demo has no clashing basenames, so feed the writer rows the way HTAN has them.
    files = [
        {"drs_uri": "drs://127.0.0.1:8000/dg.HCDS/a", "name": "HTA9_1_channels.csv", "size": 1},
        {"drs_uri": "drs://127.0.0.1:8000/dg.HCDS/b", "name": "HTA9_1_channels.csv", "size": 2},
        {"drs_uri": "drs://127.0.0.1:8000/dg.HCDS/c", "name": "../../etc/passwd", "size": 3},
    ]
    dest = tmp_path / "m.csv"
    assert write_cart_manifest(files, dest, manifest_format("cgc")) == 3
    rows = read_manifest(dest, format="cgc")
    names = [str(r.name) for r in rows]
    assert len(set(names)) == 3
    assert all("/" not in n and n not in (".", "..") for n in names)
    assert rows[0].metadata["size"] == "1"


def test_empty_cart_manifest_is_refused(portal_client: TestClient) -> None:
    response = portal_client.post("/api/cart/manifest", data={"cart": "{}"})
    assert response.status_code == 400
    assert "empty" in response.json()["msg"]


def test_export_redirect_carries_a_signed_manifest_url(portal_client: TestClient) -> None:
    cart = {"filters": [{"atlas": [STUDY], "assay": [ASSAY]}]}
    response = portal_client.post(
        "/api/cart/export", data={"cart": json.dumps(cart)}, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("https://cgc.sbgenomics.com/import-redirect/drs/csv?URL=")
    signed = parse_qs(urlsplit(location).query)["URL"][0]
    parts = urlsplit(signed)
    assert parts.netloc == "127.0.0.1:8000"
    got = portal_client.get(f"{parts.path}?{parts.query}")
    assert got.status_code == 200
    rows = read_manifest(io.StringIO(got.text), format="cgc")
    summary = portal_client.get("/api/summary", params={"atlas": STUDY, "assay": ASSAY}).json()
    assert len(rows) == summary["files"]
    # Any change to the path or the expiry breaks the signature.
    query = parse_qs(parts.query)
    forged = f"{parts.path}?expires={int(query['expires'][0]) + 100}&sig={query['sig'][0]}"
    assert portal_client.get(forged).status_code == 403
    assert portal_client.get(parts.path).status_code == 403


def test_export_link_expires(short_ttl_client: TestClient) -> None:
    cart = {"filters": [{"assay": [ASSAY]}]}
    response = short_ttl_client.post(
        "/api/cart/export",
        data={"cart": json.dumps(cart)},
        headers={"Accept": "application/json"},
    )
    body = response.json()
    assert body["redirect"].startswith("http://127.0.0.1:9/receive?URL=")
    parts = urlsplit(body["url"])
    assert short_ttl_client.get(f"{parts.path}?{parts.query}").status_code == 200
    time.sleep(max(0.0, body["expires"] - time.time()) + 1.1)
    expired = short_ttl_client.get(f"{parts.path}?{parts.query}")
    assert expired.status_code == 403
    assert "expired" in expired.json()["msg"]


def test_cli_command_names_a_durable_manifest(portal_client: TestClient) -> None:
    cart = {"filters": [{"assay": [ASSAY]}]}
    body = _cart_post(portal_client, "/api/cart/cli", cart)
    assert body["command"].startswith("curl -fsSL ")
    assert "| htan-cds import - --to htan-data" in body["command"]
    again = _cart_post(portal_client, "/api/cart/cli", {"filters": [{"assay": [ASSAY]}]})
    assert again["key"] == body["key"]
    parts = urlsplit(body["manifest_url"])
    got = portal_client.get(f"{parts.path}?{parts.query}")
    assert got.status_code == 200
    summary = portal_client.get("/api/summary", params={"assay": ASSAY}).json()
    assert len(read_manifest(io.StringIO(got.text), format="cgc")) == summary["files"]
    assert portal_client.get("/api/carts/0123456789abcdef0123456789abcdef/m.csv").status_code == 400


def test_file_detail_api_and_page(portal_client: TestClient, catalog_sql: Any) -> None:
    drs_id, md5, sha = catalog_sql.execute(
        "SELECT f.drs_id, md5, sha256 FROM files f JOIN channels c USING (drs_id) LIMIT 1"
    ).fetchone()
    record = portal_client.get(f"/api/file/{drs_id}").json()
    assert record["drs_uri"] == f"drs://127.0.0.1:8000/{drs_id}"
    assert record["channels"]
    page = portal_client.get(f"/file/{drs_id}")
    assert page.status_code == 200
    assert md5 in page.text and sha in page.text
    assert f"/thumbnails/{drs_id}.png" in page.text
    assert record["channels"][0]["Channel_Name"] in page.text
    assert portal_client.get("/file/dg.HCDS/nope").status_code == 404
    assert portal_client.get("/api/file/dg.HCDS/nope").status_code == 404


def test_pages_render(portal_client: TestClient, catalog_sql: Any) -> None:
    landing = portal_client.get("/")
    assert landing.status_code == 200
    files = _scalar(catalog_sql, "SELECT count(*) FROM files")
    assert f"{files:,}" in landing.text
    assert "Explore Data" in landing.text
    for path in ("/explore", "/cart", "/portal/static/js/explore.js", "/portal/static/portal.css"):
        assert portal_client.get(path).status_code == 200, path
    config = portal_client.get("/api/config").json()
    assert config["export_ttl"] == 600
    assert [f["name"] for f in config["formats"]] == [
        "cgc",
        "cds-portal",
        "htan-portal",
        "gen3",
        "terra",
    ]
