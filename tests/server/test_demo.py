"""The demo commons (``htan-cds demo``) served over DRS 1.5 by a real ``htan-cds serve``."""

from __future__ import annotations

import hashlib

import duckdb
import httpx
import pytest

from htan_cds.drs.models import BulkObjectsResponse, DrsObject, DrsServiceInfo
from tests._servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.network]

API = "/ga4gh/drs/v1"


def _files(server: ServerProcess) -> list[tuple[str, str, int, str, str]]:
    con = duckdb.connect(str(server.home / "catalog.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT drs_id, access, size, sha256, name FROM files "
            "WHERE drs_host IS NULL ORDER BY size"
        ).fetchall()
    finally:
        con.close()


def test_demo_commons_over_drs(demo_server: ServerProcess) -> None:
    files = _files(demo_server)
    assert files
    with httpx.Client(base_url=demo_server.url + API, timeout=30) as http:
        info = DrsServiceInfo.model_validate(http.get("/service-info").json())
        assert info.drs is not None and info.drs["objectCount"] >= len(files)

        open_files = [f for f in files if f[1] == "open"]
        drs_id, _, size, sha256, name = open_files[len(open_files) // 2]
        obj = DrsObject.model_validate(http.get(f"/objects/{drs_id}").json())
        assert obj.size == size and obj.checksum("sha-256") == sha256 and obj.name == name
        url = http.get(f"/objects/{drs_id}/access/https").json()["url"]
        data = httpx.get(url, timeout=60).content
        assert hashlib.sha256(data).hexdigest() == sha256

        controlled = [f for f in files if f[1] != "open"]
        if controlled:
            r = http.get(f"/objects/{controlled[0][0]}/access/https")
            assert r.status_code == 401 and "url" not in r.json()

        ids = [f[0] for f in files][:1000]
        bulk = BulkObjectsResponse.model_validate(
            http.post("/objects", json={"bulk_object_ids": ids}).json()
        )
        assert bulk.summary.requested == len(ids)
        assert bulk.summary.resolved == len([f for f in files[:1000] if f[1] == "open"])


def test_demo_biospecimen_bundle(demo_server: ServerProcess) -> None:
    con = duckdb.connect(str(demo_server.home / "catalog.duckdb"), read_only=True)
    try:
        row = con.execute(
            "SELECT b, list(drs_id) FROM (SELECT unnest(biospecimen_ids) AS b, drs_id FROM files "
            "WHERE access = 'open' AND drs_host IS NULL) GROUP BY b ORDER BY b LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    bid, members = row
    r = httpx.get(f"{demo_server.url}{API}/objects/bundle/{bid}", params={"expand": "true"})
    if r.status_code == 401:  # a biospecimen with a controlled file: the bundle is closed too
        return
    obj = DrsObject.model_validate(r.json())
    assert obj.contents is not None
    assert set(members) <= {c.id for c in obj.contents}
